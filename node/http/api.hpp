// The researchers' read-only HTTP API under /api/v1 (docs/api.md): practices and plans
// (search, filters, facets, cursors), single records with versions and history, cities,
// adoptions, stats, the changes feed and its event stream, exports.
// Anonymous callers see public records only. Runs on the node's io thread.
#pragma once

#include <functional>

#include "node/local/data_dir.hpp"
#include "node/http/lru_cache.hpp"
#include "node/net/transport.hpp"
#include "node/search/search_index.hpp"
#include "protocol/result.hpp"

namespace agora {

struct ApiLimits {
  size_t max_page = 100;  // `limit` of list routes
};

class HttpApi {
 public:
  // search: the index reader, or nullptr while there is none (list routes answer 503).
  HttpApi(DataDir& dir, std::function<const SearchIndex*()> search, ApiLimits limits = {});

  // A request under /api/v1/ (the router sends /api/v1/network elsewhere); 404 for a path
  // that is no API route.
  net::HttpResponse handle(const net::HttpRequest& req);
  // The store or the index changed: answers cached before are stale.
  void invalidate();

  // Opens a live stream of the changes feed after `since` (Server-Sent Events); nullptr
  // when no more streams are allowed.
  using ChangeStreamOpener = std::function<std::shared_ptr<net::BodySource>(uint64_t since, std::optional<Kind> kind)>;
  void set_change_streams(ChangeStreamOpener opener) { open_stream_ = std::move(opener); }

 private:
  using RawParams = std::vector<std::pair<std::string, std::string>>;
  net::HttpResponse list(const std::string& collection, const RawParams& params);
  net::HttpResponse record(const std::string& collection, const std::string& origin, const std::string& id,
                           const std::string& sub, const RawParams& params);
  net::HttpResponse cities(const RawParams& params);
  net::HttpResponse changes(const RawParams& params, const std::string& last_event_id);
  net::HttpResponse export_records(const RawParams& params);
  net::HttpResponse stats(const RawParams& params);
  net::HttpResponse frameworks(const RawParams& params);
  net::HttpResponse adoptions(const RawParams& params);
  net::HttpResponse plan_monitoring(const std::string& origin, const std::string& id, const std::string& view,
                                    const RawParams& params);
  net::HttpResponse commitment(const std::string& framework, const std::string& ref, const RawParams& params);
  // Answers that depend only on the target and the store, kept until the next change.
  net::HttpResponse cached(LruCache<net::HttpResponse>& cache, const std::string& target,
                           const std::function<net::HttpResponse()>& compute);

  DataDir& dir_;
  std::function<const SearchIndex*()> search_;
  ApiLimits limits_;
  ChangeStreamOpener open_stream_;
  // Answers by request target, until the next change: researchers and dashboards repeat
  // the same queries (facets over a large match set are the costly part), and a few
  // records are read far more than the rest (rendering one is a JSON parse and dump).
  LruCache<net::HttpResponse> list_cache_{256};
  LruCache<net::HttpResponse> record_cache_{4096};
  // LMDB's last transaction id when the caches were last valid: any write (this node's,
  // the CLI's) empties them, so a record read right after `agora publish` is the new one.
  size_t seen_txnid_ = 0;
};

}  // namespace agora
