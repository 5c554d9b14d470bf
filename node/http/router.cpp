#include "node/http/router.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <sstream>

#include "node/http/answers.hpp"
#include "node/http/embedded.hpp"
#include "node/http/query.hpp"
#include "node/monitoring/network_view.hpp"
#include "node/net/http_headers.hpp"

namespace agora {

using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// API routes that read the store or the index and touch nothing of the io thread: the
// change feed (its event stream lives on the io thread) and exports (streamed from it) stay.
bool runs_on_worker(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") return false;
  std::string_view target = req.target;
  std::string_view path = target.substr(0, target.find('?'));
  return path.starts_with("/api/v1/") && path != "/api/v1/changes" && path != "/api/v1/export" &&
         path != "/api/v1/network";
}

}  // namespace

void Router::handle(const HttpRequest& req, net::HttpReply reply) {
  auto start = Clock::now();
  auto finish = [this, start](const HttpRequest& req, HttpResponse res, net::HttpReply& reply) {
    net::answer_conditionally(req, res);
    std::string_view target = req.target;
    request_metrics_.observe(RequestMetrics::route_of(target.substr(0, target.find('?'))), res.status,
                             std::chrono::duration<double>(Clock::now() - start).count());
    reply(std::move(res));
  };
  if (offload_ && runs_on_worker(req)) {
    // Answers already made (a popular record, a dashboard's list) cost less than a hand-off.
    if (auto hit = api_.cached_answer(req)) return finish(req, std::move(*hit), reply);
    offload_([this, req, reply = std::move(reply), finish]() mutable { finish(req, guarded(req, true), reply); });
    return;
  }
  finish(req, guarded(req, false), reply);
}

HttpResponse Router::guarded(const HttpRequest& req, bool api_only) {
  try {
    return api_only ? api_.handle(req) : route(req);
  } catch (const std::exception& e) {
    spdlog::error("HTTP {} {}: {}", req.method, req.target.substr(0, 200), e.what());
  } catch (...) {
    spdlog::error("HTTP {} {}: unknown error", req.method, req.target.substr(0, 200));
  }
  return error_answer(500, "internal error");
}

HttpResponse Router::route(const HttpRequest& req) {
  // Every route is read-only, and any page may read it (CORS preflights).
  if (req.method == "OPTIONS") {
    HttpResponse r{204, "text/plain", "", {}};
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    // The request headers a page's script may send: revalidation and resuming a stream.
    r.headers.emplace_back("Access-Control-Allow-Headers", "If-None-Match, Last-Event-ID, Cache-Control");
    r.headers.emplace_back("Access-Control-Max-Age", "86400");
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return r;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse r = error_answer(405, "method not allowed: every route is read-only (GET, HEAD, OPTIONS)");
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return r;
  }
  std::string_view target = req.target;
  std::string_view path = target.substr(0, target.find('?'));
  // These routes take no parameters: one given is a mistake worth hearing of.
  if (path == "/health" || path == "/metrics" || path == "/api/v1/network") {
    auto query = parse_query_string(target.size() > path.size() ? target.substr(path.size() + 1) : std::string_view());
    if (!query) return error_answer(400, query.error().message, query.error().path);
    if (!query.value().empty()) return error_answer(400, "unknown parameter", query.value().front().first);
    if (path == "/health") return health();
    if (path == "/metrics") return metrics();
    return network();
  }
  if (path.starts_with("/api/v1/")) return api_.handle(req);  // the researchers' API (api.cpp)
  std::string_view type;
  if (std::string_view file = embedded::web_file(path, type); !file.empty()) {
    // The page loads nothing from elsewhere: city networks and these machines are offline.
    HttpResponse page{200, std::string(type), std::string(file), {}};
    page.headers.emplace_back("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'");
    page.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return page;
  }
  return error_answer(404, "not found", "path");
}

json Router::index_status() const {
  uint64_t of = dir_.store().read([](const storage::StoreReader& r) { return r.last_local(); });
  if (!state_.index) return {{"state", "off"}, {"indexed", 0}, {"of", of}, {"behind", 0}};
  uint64_t at = std::min(state_.index->position.load(), of);
  return {{"state", state_.index->complete.load() ? "ready" : "building"},
          {"indexed", at},
          {"of", of},
          {"behind", of - at}};
}

HttpResponse Router::health() {
  return json_answer(200, {{"status", "ok"},
                           {"node", node_id(dir_.id())},
                           {"peers_connected", state_.peers_connected()},
                           {"search_index", index_status()}});
}

HttpResponse Router::network() {
  PeerSnapshot snap = state_.peers();
  const Entitlements& ent = state_.entitlements();
  storage::ReadTxn txn(dir_.store().env());
  storage::StoreReader r(dir_.store(), txn);
  auto forks = load_forks(dir_.store(), txn);
  return json_answer(200, network_view({r, ent, dir_.id(), snap.peers, snap.states, forks}));
}

HttpResponse Router::metrics() {
  std::ostringstream out;
  out << "# HELP agora_records Records held, latest live versions by kind (all visibilities).\n# TYPE agora_records "
         "gauge\n";
  uint64_t log_length = 0;
  std::vector<storage::OriginHead> heads;
  dir_.store().read([&](const storage::StoreReader& r) {
    for (int k = 1; k <= kKindCount; ++k)
      out << "agora_records{kind=\"" << kind_name(Kind(k)) << "\"} " << r.count_latest(Kind(k)) << "\n";
    log_length = r.last_local();
    heads = r.heads();
    return 0;
  });
  PeerSnapshot snap = state_.peers();
  out << "# HELP agora_log_records Records in this node's log.\n# TYPE agora_log_records gauge\n"
      << "agora_log_records " << log_length << "\n";
  out << "# HELP agora_peers Peers this node lists.\n# TYPE agora_peers gauge\nagora_peers " << snap.peers.size()
      << "\n";
  out << "# HELP agora_peers_connected Peers with an authenticated connection.\n# TYPE agora_peers_connected gauge\n"
      << "agora_peers_connected " << snap.connected << "\n";
  // Sync lag: records this node holds that a peer is not known to hold yet.
  out << "# HELP agora_peer_records_behind Records the peer lacks of what this node holds.\n"
         "# TYPE agora_peer_records_behind gauge\n";
  for (const auto& peer : snap.peers) {
    const PeerState& st = snap.states[peer.key];
    uint64_t behind = 0;
    for (const auto& h : heads) {
      auto theirs = st.remote_heads.find(h.origin);
      uint64_t seq = theirs == st.remote_heads.end() ? 0 : theirs->second;
      if (h.seq > seq) behind += h.seq - seq;
    }
    out << "agora_peer_records_behind{peer=\"" << short_node_id(peer.key) << "\"} " << behind << "\n";
  }
  out << "# HELP agora_http_connections_open HTTP connections open now, by listener.\n"
         "# TYPE agora_http_connections_open gauge\n";
  for (std::string_view listener : {"http", "sync"})
    if (auto n = state_.open_connections(listener))
      out << "agora_http_connections_open{listener=\"" << listener << "\"} " << *n << "\n";
  json index = index_status();
  if (index["state"] != "off")  // a node without an index on purpose has no lag to alert on
    out << "# HELP agora_search_index_entries_behind Log entries the search index has not read yet.\n"
           "# TYPE agora_search_index_entries_behind gauge\n"
        << "agora_search_index_entries_behind " << index["behind"].get<uint64_t>() << "\n"
        << "# HELP agora_search_index_ready 1 once a whole build has finished (q= searches answer).\n"
           "# TYPE agora_search_index_ready gauge\n"
        << "agora_search_index_ready " << (index["state"] == "ready" ? 1 : 0) << "\n";
  out << request_metrics_.prometheus();
  return {200, "text/plain; version=0.0.4", out.str(), {}};
}

}  // namespace agora
