// `agora serve`: the running node. One io_context thread for all connections, and the
// writer, verifier and indexer job threads (docs/architecture.md); peers are authenticated
// both ways and kept in sync (docs/protocol.md).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "node/data_dir.hpp"
#include "node/net/transport.hpp"

namespace agora {

struct SyncOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 7400;
  std::string http_host = "127.0.0.1";
  uint16_t http_port = 8080;
  net::TransportLimits transport;
  net::TlsSettings tls;  // a certificate and key make the sync port wss://
  size_t http_max_page = 100;               // `limit` of list routes
  size_t http_max_connections = 1024;       // open HTTP connections (503 beyond)
  size_t http_max_streams = 64;             // open change event streams (503 beyond)
  size_t batch_records = 512;          // records per batch frame sent (≤ sync::kMaxBatchRecords)
  size_t batch_bytes = 1 << 20;        // and about this many bytes (≤ sync::kMaxBatchBytes)
  size_t window = 8;                   // batches in flight per peer before waiting for acks (≤ 16)
  double max_records_per_s = 50000;    // accepted from one peer; beyond it its batches wait (and their acks)
  size_t max_bad_batches = 3;          // batches with rejected records before disconnecting
  size_t max_connections = 256;
  size_t max_connections_per_ip = 16;
  int backoff_initial_ms = 500;
  int backoff_max_ms = 60000;
};

class SyncNode {
 public:
  SyncNode(DataDir& dir, SyncOptions options);
  ~SyncNode();

  // Binds both ports, calls on_ready(sync_url, http_url), then serves until stop() or
  // SIGINT/SIGTERM; returns after in-flight writes are committed and peers were told.
  void run(const std::function<void(const std::string&, const std::string&)>& on_ready);
  void stop();  // from any thread

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace agora
