// The one HTTP router: every route of both ports — CORS preflight and 405 for all, the
// researchers' API under /api/v1 (HttpApi), /api/v1/network, /health, /metrics and the
// browsing page — with the 500 for a handler's exception, conditional answers (ETag, 304)
// and request metrics. Runs on the io thread; API reads and searches run on workers.
#pragma once

#include <functional>
#include <string_view>

#include "node/http/api.hpp"
#include "node/http/metrics.hpp"
#include "node/local/data_dir.hpp"
#include "node/local/entitlements.hpp"
#include "node/local/peer_registry.hpp"
#include "node/net/transport.hpp"

namespace agora {

class Router {
 public:
  // What the router reads of the running node besides the store.
  struct NodeState {
    std::function<PeerSnapshot()> peers;
    std::function<size_t()> peers_connected;  // what /health needs, without a snapshot
    std::function<const Entitlements&()> entitlements;
    // HTTP connections open now on a listener ("http" or "sync"); nullopt when it is not open.
    std::function<std::optional<size_t>(std::string_view listener)> open_connections;
    const IndexProgress* index = nullptr;  // nullptr: the node runs without a search index
  };
  // Runs a job on a worker thread: the API's reads and searches go there.
  using Offload = std::function<void(std::function<void()>)>;
  Router(DataDir& dir, HttpApi& api, Offload offload, NodeState state)
      : dir_(dir), api_(api), offload_(std::move(offload)), state_(std::move(state)) {}

  // Answers on the calling (io) thread, or later from a worker for the API's read routes.
  void handle(const net::HttpRequest& req, net::HttpReply reply);

 private:
  net::HttpResponse route(const net::HttpRequest& req);
  net::HttpResponse guarded(const net::HttpRequest& req, bool api_only);
  net::HttpResponse health();
  net::HttpResponse metrics();
  net::HttpResponse network();
  nlohmann::json index_status() const;  // {state, indexed, of, behind}

  DataDir& dir_;
  HttpApi& api_;
  Offload offload_;
  NodeState state_;
  RequestMetrics request_metrics_;
};

}  // namespace agora
