// The researchers' read-only HTTP API under /api/v1 (docs/api.md): practices and plans
// (search, filters, facets, cursors), single records with versions and history, cities,
// adoptions, stats, the changes feed and its event stream, exports.
// Anonymous callers see public records only. Thread-safe: the node answers on HTTP workers.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>

#include "node/local/data_dir.hpp"
#include "node/http/lru_cache.hpp"
#include "node/net/transport.hpp"
#include "node/search/search_index.hpp"
#include "node/search/search_readers.hpp"
#include "protocol/result.hpp"

namespace agora {

struct ApiLimits {
  size_t max_page = 100;  // `limit` of list routes
};

class HttpApi {
 public:
  // readers: the search index's readers, nullptr on a node without one. Until an index is
  // complete, lists, stats and commitments answer from LMDB and q= searches 503.
  // progress (optional): how far the node's indexer has got, shown in those 503s.
  HttpApi(DataDir& dir, SearchReaders* readers, ApiLimits limits = {}, const IndexProgress* progress = nullptr);

  // A request under /api/v1/ (the router sends /api/v1/network elsewhere); 404 for a path
  // that is no API route.
  net::HttpResponse handle(const net::HttpRequest& req);
  // The store or the index changed: answers cached before are stale.
  void invalidate();
  // The cached answer to a request, if there is one (cheap: the io thread answers it at once).
  std::optional<net::HttpResponse> cached_answer(const net::HttpRequest& req);

  // Opens a live stream of the changes feed after `since` (Server-Sent Events); nullptr
  // when no more streams are allowed.
  using ChangeStreamOpener = std::function<std::shared_ptr<net::BodySource>(uint64_t since, std::optional<Kind> kind)>;
  void set_change_streams(ChangeStreamOpener opener) { open_stream_ = std::move(opener); }

 private:
  using RawParams = std::vector<std::pair<std::string, std::string>>;
  net::HttpResponse list(const std::string& collection, const RawParams& params);
  net::HttpResponse record(const std::string& collection, const std::string& origin, const std::string& id,
                           const std::string& sub, const RawParams& params, const std::string& accept_language);
  static std::string record_cache_key(const net::HttpRequest& req);
  net::HttpResponse cities(const RawParams& params);
  net::HttpResponse changes(const RawParams& params, const std::string& last_event_id);
  net::HttpResponse export_records(const RawParams& params);
  net::HttpResponse stats(const RawParams& params);
  net::HttpResponse frameworks(const RawParams& params);
  net::HttpResponse vocabulary();
  net::HttpResponse adoptions(const RawParams& params);
  net::HttpResponse plan_monitoring(const std::string& origin, const std::string& id, const std::string& view,
                                    const RawParams& params);
  net::HttpResponse commitment(const std::string& framework, const std::string& ref, const RawParams& params);
  // Answers that depend only on the target and the store, kept until the next change.
  net::HttpResponse cached(LruCache<net::HttpResponse>& cache, const std::string& target,
                           const std::function<net::HttpResponse()>& compute);
  // A query answered by the index, LMDB or both (what the index has not read yet comes
  // from LMDB); nullopt for a q= search before the index is complete.
  std::optional<SearchResult> find(const SearchQuery& q) const;
  std::optional<SearchStats> count(const SearchQuery& q) const;
  net::HttpResponse search_unavailable() const;  // 503 for q= while the index is built

  DataDir& dir_;
  SearchReaders* readers_;
  ApiLimits limits_;
  const IndexProgress* progress_;
  ChangeStreamOpener open_stream_;
  std::mutex cache_mutex_;  // the caches, shared by the HTTP workers
  // Answers by request target, until the next change: researchers and dashboards repeat
  // the same queries (facets over a large match set are the costly part), and a few
  // records are read far more than the rest (rendering one is a JSON parse and dump).
  LruCache<net::HttpResponse> list_cache_{256};
  LruCache<net::HttpResponse> record_cache_{4096};
  // City profiles by origin, for naming the city in every item (a record read and a
  // parse each): emptied with the caches.
  std::map<PublicKey, std::optional<CityProfile>> profiles_;
  uint64_t emptied_ = 0;  // how many times the caches were emptied (under cache_mutex_)
  // `emptied` as read before `r` began: a profile read from an older snapshot is not kept.
  std::optional<CityProfile> profile_of(const storage::StoreReader& r, const PublicKey& origin, uint64_t emptied);
  uint64_t times_emptied();
  // The log's end when the caches were last valid: any record stored (published here, by
  // the CLI, or received) empties them, so a record read right after `agora publish` is the
  // new one. Writes that change no record (peer state every few seconds) keep them; a new
  // day empties them too (progress is computed as of today).
  std::atomic<uint64_t> seen_log_end_{0};
  uint64_t log_end() const;
};

}  // namespace agora
