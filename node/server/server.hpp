// `agora serve`: the composition root. Owns the io_context (every connection, timer and
// session runs on it), the writer, verifier and indexer job threads, both listeners and
// shutdown; wires the peer manager (sync/), the router (http/) and the search index
// (search/) together (docs/architecture.md).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "node/local/data_dir.hpp"
#include "node/net/transport.hpp"
#include "node/sync/peer_manager.hpp"

namespace agora {

// Every option of `agora serve`, with its default: the CLI's defaults are these.
struct ServeOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 7400;
  std::string http_host = "127.0.0.1";
  uint16_t http_port = 8080;
  net::TransportLimits transport;
  net::TlsSettings tls;                // a certificate and key make the sync port wss://
  size_t http_max_page = 100;          // `limit` of list routes
  size_t http_max_connections = 1024;  // open HTTP connections (503 beyond)
  size_t http_max_streams = 64;        // open change event streams (503 beyond)
  sync::SyncLimits sync;
  bool search_index = true;  // false: no indexer; q= searches answer 503, lists come from LMDB
};

class Server {
 public:
  Server(DataDir& dir, ServeOptions options);
  ~Server();

  // Binds both ports, calls on_ready(sync_url, http_url), then serves until stop() or
  // SIGINT/SIGTERM; returns after in-flight writes are committed and peers were told.
  void run(const std::function<void(const std::string&, const std::string&)>& on_ready);
  void stop();  // from any thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora
