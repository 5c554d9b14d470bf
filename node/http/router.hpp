// The one HTTP router: every route of both ports — CORS preflight and 405 for all, the
// researchers' API under /api/v1 (HttpApi), /api/v1/network, /health, /metrics and the
// browsing page — with the 500 for a handler's exception, conditional answers (ETag, 304)
// and request metrics. Runs on the io thread.
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
  };
  Router(DataDir& dir, HttpApi& api, NodeState state) : dir_(dir), api_(api), state_(std::move(state)) {}

  net::HttpResponse handle(const net::HttpRequest& req);

 private:
  net::HttpResponse route(const net::HttpRequest& req);
  net::HttpResponse health();
  net::HttpResponse metrics();
  net::HttpResponse network();

  DataDir& dir_;
  HttpApi& api_;
  NodeState state_;
  RequestMetrics request_metrics_;
};

}  // namespace agora
