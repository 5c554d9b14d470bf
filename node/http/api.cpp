#include "node/http/api.hpp"

#include <chrono>
#include "node/http/answers.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "node/http/embedded.hpp"
#include "node/local/exporter.hpp"
#include "node/search/store_search.hpp"
#include "node/local/frameworks.hpp"
#include "node/http/query.hpp"
#include "node/net/http_headers.hpp"
#include "node/monitoring/progress.hpp"
#include "node/local/record_view.hpp"
#include "node/local/translations.hpp"
#include "protocol/hex.hpp"
#include "protocol/input_schema.hpp"
#include "protocol/json_text.hpp"
#include "protocol/languages.hpp"
#include "protocol/regions.hpp"
#include "protocol/theme_names.hpp"
#include "protocol/utf8.hpp"
#include "protocol/vocabulary.hpp"
#include "storage/stored_record.hpp"

namespace agora {

using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

namespace {

HttpResponse json_response(int status, const json& body) { return json_answer(status, body); }

HttpResponse error(int status, const std::string& message, const std::string& param = "") {
  return error_answer(status, message, param);
}

// 410 Gone for a version whose text an erasure dropped (docs/api.md).
HttpResponse gone(const std::string& what, const json& note, uint32_t version) {
  return json_response(410, {{"error", what + " was erased: " + note.value("reason", std::string("?"))},
                             {"param", nullptr},
                             {"erased", note},
                             {"version", version}});
}

struct BadParam {
  std::string param, message;
};
// A route's subject that this node does not hold: 404.
struct NotFound {
  std::string message;
};

// Query parameters after validation: each known at most once.
class Params {
 public:
  Params(const std::vector<std::pair<std::string, std::string>>& raw, std::initializer_list<const char*> allowed) {
    std::set<std::string> ok(allowed.begin(), allowed.end());
    for (const auto& [k, v] : raw) {
      if (!ok.count(k)) throw BadParam{k, "unknown parameter"};
      if (seen_.count(k)) throw BadParam{k, "given more than once"};
      seen_.insert(k);
      // An empty value is no value (a form's blank field): `theme=` is no theme filter.
      if (!v.empty()) values_[k] = v;
    }
  }
  std::string get(const std::string& k) const {
    auto it = values_.find(k);
    return it == values_.end() ? "" : it->second;
  }
  bool has(const std::string& k) const { return values_.count(k) > 0; }
  std::optional<long long> integer(const std::string& k, long long min, long long max) const {
    if (!has(k)) return std::nullopt;
    const std::string& v = values_.at(k);
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
      throw BadParam{k, "expected a whole number"};
    long long n = std::stoll(v);
    if (n < min || n > max) throw BadParam{k, "expected " + std::to_string(min) + " to " + std::to_string(max)};
    return n;
  }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> seen_;
};

void check_vocabulary(const std::string& param, const std::string& value,
                      std::span<const std::string_view> vocabulary) {
  if (value.empty()) return;
  if (vocabulary_index(vocabulary, value) >= 0) return;
  auto near = nearest(value, vocabulary);
  throw BadParam{param, "unknown value \"" + value + "\"" + (near ? "; did you mean \"" + *near + "\"?" : "")};
}

// The search filters lists and stats share, read and checked in this order (the first bad
// one is the one reported): q, country, region, theme, principle ...
void read_text_and_place(const Params& p, SearchQuery& q) {
  q.text = p.get("q");
  if (q.text.size() > 500) throw BadParam{"q", "longer than 500 bytes"};
  q.filter.country = p.get("country");
  q.filter.region = p.get("region");
  q.filter.theme = p.get("theme");
  check_vocabulary("theme", q.filter.theme, themes());
  q.filter.principle = p.get("principle");
  check_vocabulary("principle", q.filter.principle, principles());
}

// ... then language, year_from, year_to.
void read_language_and_years(const Params& p, SearchQuery& q) {
  // A language (ISO 639-1: every tag of it matches) or a whole tag ("pt-BR"), any case.
  if (std::string language = p.get("language"); !language.empty()) {
    auto canonical = canonical_language_tag(language);
    if (!canonical) throw BadParam{"language", unknown_language(language)};
    q.filter.language = *canonical;
  }
  if (auto y = p.integer("year_from", 1900, 2100)) q.filter.year_from = static_cast<int>(*y);
  if (auto y = p.integer("year_to", 1900, 2100)) q.filter.year_to = static_cast<int>(*y);
}

// The framework a request names, among the built-in ones and those published publicly.
FrameworkDef requested_framework(storage::RecordStore& store, const std::string& id) {
  FrameworkCatalog catalog = load_frameworks(store, /*public_only=*/true);
  if (const FrameworkDef* f = catalog.find(id)) return *f;
  auto near = nearest(id, catalog.ids());
  throw BadParam{"framework", "unknown value \"" + id + "\"" + (near ? "; did you mean \"" + *near + "\"?" : "")};
}

// The origin a request names (node id, unique prefix or city name); nullopt when none
// matches, a 400 naming `param` when the name is ambiguous.
std::optional<PublicKey> city_named(const storage::StoreReader& r, const std::string& text, const char* param) {
  try {
    return resolve_city(r, text);
  } catch (const InvalidInput& e) {
    throw BadParam{param, e.what()};
  }
}

// A commitment of a framework, or an error naming the ones it has.
void check_commitment(const FrameworkDef& framework, const std::string& ref) {
  if (framework.find(ref)) return;
  std::string valid;
  for (const auto& c : framework.commitments) valid += (valid.empty() ? "" : ", ") + c.ref;
  throw BadParam{"ref", "no commitment \"" + ref + "\" in " + framework.id + " (it has " + valid + ")"};
}

// `today=` of the monitoring routes: the node's UTC date unless given.
std::string requested_day(const Params& p) {
  if (!p.has("today")) return today_utc();
  std::string day = p.get("today");
  if (!is_calendar_date(day)) throw BadParam{"today", "expected a calendar date YYYY-MM-DD, got \"" + day + "\""};
  return day;
}

std::string encode_cursor(const std::string& sort_value) { return to_hex(sort_value); }

std::string decode_cursor(const std::string& cursor) {
  if (cursor.size() % 2 || cursor.size() > 4096) throw BadParam{"cursor", "not a cursor this node issued"};
  std::string out(cursor.size() / 2, '\0');
  if (!from_hex(cursor, reinterpret_cast<uint8_t*>(out.data()), out.size()))
    throw BadParam{"cursor", "not a cursor this node issued"};
  return out;
}

}  // namespace

HttpApi::HttpApi(DataDir& dir, SearchReaders* readers, ApiLimits limits, const IndexProgress* progress)
    : dir_(dir), readers_(readers), limits_(limits), progress_(progress) {}

void HttpApi::invalidate() {
  std::lock_guard lock(cache_mutex_);
  list_cache_.clear();
  record_cache_.clear();
  profiles_.clear();
  ++emptied_;
}

uint64_t HttpApi::times_emptied() {
  std::lock_guard lock(cache_mutex_);
  return emptied_;
}

std::optional<CityProfile> HttpApi::profile_of(const storage::StoreReader& r, const PublicKey& origin,
                                               uint64_t emptied) {
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = profiles_.find(origin); it != profiles_.end()) return it->second;
  }
  auto profile = city_profile(r, origin);
  std::lock_guard lock(cache_mutex_);
  if (profiles_.size() >= 4096) profiles_.clear();              // a bound, not an eviction policy: rare
  if (emptied == emptied_) profiles_.emplace(origin, profile);  // else it may predate a change
  return profile;
}

namespace {

// Log entries the index may lag behind and still answer filter-only queries exactly, the
// records in them coming from LMDB. Further behind (a sync in full flow) it answers alone,
// a little stale, and its lag shows in /metrics and /health.
constexpr size_t kFreshTail = 500;

// Matches a q= search counts before it estimates `total` and the facets (`exact=true`
// counts them all): a common word matches most records, and counting every match was most
// of such a search's time.
constexpr uint32_t kSearchCountBound = 2000;

// A query's answer (a page or stats) from the index, LMDB or both: from LMDB alone while no
// complete index exists (nullopt for words, which need one), from the index alone for
// words, else from the index completed with what it has not read yet. ask(index, q) asks
// the index, from_store(reader, q) LMDB, merge(reader, q, changed, indexed) joins them.
template <class Answer, class Ask, class FromStore, class Merge>
std::optional<Answer> answer(DataDir& dir, SearchReaders* readers, const SearchQuery& q, Ask ask, FromStore from_store,
                             Merge merge) {
  auto lease = readers ? readers->acquire() : SearchReaders::Lease();
  const SearchIndex* index = lease.get();
  try {
    if (index && !index->complete()) index = nullptr;
  } catch (const std::exception&) {
    index = nullptr;
  }
  if (!index) {
    if (!q.text.empty()) return std::nullopt;
    return dir.store().read([&](const storage::StoreReader& r) { return from_store(r, q); });
  }
  if (!q.text.empty()) return ask(*index, q);
  return dir.store().read([&](const storage::StoreReader& r) -> Answer {
    auto changed = changed_since(r, index->position(), kFreshTail);
    if (!changed || changed->empty()) return ask(*index, q);
    SearchQuery indexed_part = q;
    indexed_part.filter.excluded = *changed;
    return merge(r, q, *changed, ask(*index, indexed_part));
  });
}

}  // namespace

std::optional<SearchResult> HttpApi::find(const SearchQuery& q) const {
  return answer<SearchResult>(
      dir_, readers_, q, [](const SearchIndex& index, const SearchQuery& iq) { return index.search(iq); }, search_store,
      merge_changed);
}

std::optional<SearchStats> HttpApi::count(const SearchQuery& q) const {
  return answer<SearchStats>(
      dir_, readers_, q, [](const SearchIndex& index, const SearchQuery& iq) { return index.stats(iq); }, stats_store,
      merge_changed_stats);
}

HttpResponse HttpApi::search_unavailable() const {
  uint64_t of = dir_.store().read([](const storage::StoreReader& r) { return r.last_local(); });
  uint64_t indexed = progress_ ? std::min(progress_->position.load(), of) : 0;
  bool off = !readers_;
  std::string message = off ? "this node runs without a search index: q= is not available; lists without q= are"
                            : "the search index is being built (" + std::to_string(indexed) + " of " +
                                  std::to_string(of) + " log entries); lists without q= answer meanwhile";
  HttpResponse r =
      json_response(503, {{"error", message},
                          {"param", "q"},
                          {"index", {{"state", off ? "off" : "building"}, {"indexed", indexed}, {"of", of}}}});
  r.headers.emplace_back("Retry-After", off ? "3600" : "5");
  return r;
}

uint64_t HttpApi::log_end() const {
  // With the day: answers that default to today (a plan's progress) change at midnight.
  auto days = std::chrono::duration_cast<std::chrono::days>(std::chrono::system_clock::now().time_since_epoch());
  uint64_t end = dir_.store().read([](const storage::StoreReader& r) { return r.last_local(); });
  return static_cast<uint64_t>(days.count()) << 44 | end;
}

std::string HttpApi::record_cache_key(const HttpRequest& req) {
  return req.accept_language.empty() ? req.target : req.target + "\n" + req.accept_language;
}

std::optional<HttpResponse> HttpApi::cached_answer(const HttpRequest& req) {
  if (log_end() != seen_log_end_) return std::nullopt;
  std::lock_guard lock(cache_mutex_);
  if (const HttpResponse* hit = record_cache_.find(record_cache_key(req))) return *hit;
  if (const HttpResponse* hit = list_cache_.find(req.target)) return *hit;
  return std::nullopt;
}

HttpResponse HttpApi::handle(const HttpRequest& req) {
  std::string_view target = req.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (uint64_t end = log_end(); end != seen_log_end_) {
    invalidate();
    seen_log_end_ = end;
  }
  auto decoded_path = percent_decode(path, false);
  if (!decoded_path) return error(400, "bad percent-encoding or UTF-8 in the path", "path");
  auto raw = parse_query_string(target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1));
  if (!raw) return error(400, raw.error().message, raw.error().path);
  std::vector<std::string> seg = split_path(*decoded_path);  // "api", "v1", ...
  try {
    if (seg.size() == 3 && (seg[2] == "practices" || seg[2] == "plans"))
      return cached(list_cache_, req.target, [&] { return list(seg[2], raw.value()); });
    if (seg.size() == 6 && seg[2] == "plans" && (seg[5] == "progress" || seg[5] == "chart.svg"))
      return cached(list_cache_, req.target, [&] { return plan_monitoring(seg[3], seg[4], seg[5], raw.value()); });
    if (seg.size() == 5 && seg[2] == "commitments")
      return cached(list_cache_, req.target, [&] { return commitment(seg[3], seg[4], raw.value()); });
    if (seg.size() >= 5 && seg.size() <= 6 && (seg[2] == "practices" || seg[2] == "plans")) {
      // The answer depends on Accept-Language too (a translation may be chosen by it).
      return cached(record_cache_, record_cache_key(req), [&] {
        HttpResponse res =
            record(seg[2], seg[3], seg[4], seg.size() == 6 ? seg[5] : "", raw.value(), req.accept_language);
        res.headers.emplace_back("Vary", "Accept-Language");
        return res;
      });
    }
    if (seg.size() == 3 && seg[2] == "cities") return cities(raw.value());
    if (seg.size() == 3 && seg[2] == "openapi.json") {
      Params none(raw.value(), {});
      return HttpResponse{200, "application/json", std::string(embedded::openapi_json()), {}};
    }
    if (seg.size() == 3 && seg[2] == "changes") return changes(raw.value(), req.last_event_id);
    if (seg.size() == 3 && seg[2] == "export") return export_records(raw.value());
    if (seg.size() == 3 && seg[2] == "stats")
      return cached(list_cache_, req.target, [&] { return stats(raw.value()); });
    if (seg.size() == 3 && seg[2] == "adoptions")
      return cached(list_cache_, req.target, [&] { return adoptions(raw.value()); });
    if (seg.size() == 3 && seg[2] == "frameworks")
      return cached(list_cache_, req.target, [&] { return frameworks(raw.value()); });
    if (seg.size() == 3 && seg[2] == "vocabulary") {
      Params none(raw.value(), {});
      return vocabulary();
    }
  } catch (const BadParam& e) {
    return error(400, e.message, e.param);
  } catch (const NotFound& e) {
    return error(404, e.message);
  }
  return error(404, "no such API route", "path");
}

HttpResponse HttpApi::cached(LruCache<HttpResponse>& cache, const std::string& target,
                             const std::function<HttpResponse()>& compute) {
  {
    std::lock_guard lock(cache_mutex_);
    if (const HttpResponse* hit = cache.find(target)) return *hit;
  }
  uint64_t computed_at = seen_log_end_;
  HttpResponse r = compute();
  if (r.status == 200) {
    // Tagged once here rather than hashed again for every conditional request.
    if (std::none_of(r.headers.begin(), r.headers.end(), [](const auto& h) { return h.first == "ETag"; }))
      r.headers.emplace_back("ETag", net::etag_of(r.body));
    // Not kept when records arrived meanwhile: the answer may predate them. The log's end
    // is read before the lock: a read transaction is never begun under cache_mutex_, which
    // readers inside a transaction take (a lock-order inversion TSan found).
    bool unchanged = log_end() == computed_at;
    std::lock_guard lock(cache_mutex_);
    if (unchanged) cache.put(target, r);
  }
  return r;
}

HttpResponse HttpApi::list(const std::string& collection, const std::vector<std::pair<std::string, std::string>>& raw) {
  Params p(raw, {"q", "city", "country", "region", "theme", "principle", "framework", "ref", "language", "year_from",
                 "year_to", "updated_since", "sort", "limit", "cursor", "facets", "exact"});
  SearchQuery q;
  q.filter.kind = collection == "practices" ? Kind::practice : Kind::plan;
  read_text_and_place(p, q);
  q.filter.framework = p.get("framework");
  q.filter.ref = p.get("ref");
  if (p.has("ref") && q.filter.framework.empty()) throw BadParam{"ref", "needs framework"};
  if (!q.filter.framework.empty()) {
    FrameworkDef framework = requested_framework(dir_.store(), q.filter.framework);
    if (p.has("ref")) check_commitment(framework, q.filter.ref);
  }
  read_language_and_years(p, q);
  if (auto t = p.integer("updated_since", 0, 32503680000000LL)) q.filter.updated_since_ms = *t;
  q.limit = static_cast<size_t>(p.integer("limit", 1, static_cast<long long>(limits_.max_page)).value_or(20));
  std::string sort = p.get("sort");
  if (sort.empty() || sort == "relevance")
    q.sort = SearchQuery::Sort::relevance;
  else if (sort == "updated")
    q.sort = SearchQuery::Sort::updated;
  else if (sort == "title")
    q.sort = SearchQuery::Sort::title;
  else
    throw BadParam{"sort", "expected relevance, updated or title"};
  bool ranked = !q.text.empty() && q.sort == SearchQuery::Sort::relevance;
  if (p.has("cursor")) {
    std::string c = decode_cursor(p.get("cursor"));
    if (ranked) {  // relevance order has no stable position: the cursor is an offset
      if (c.empty() || c.size() > 9 || c.find_first_not_of("0123456789") != std::string::npos)
        throw BadParam{"cursor", "not a cursor this node issued"};
      q.offset = std::stoull(c);
    } else {
      q.after = c;
    }
  }
  std::string facets = p.get("facets");
  if (!facets.empty() && facets != "true" && facets != "false") throw BadParam{"facets", "expected true or false"};
  q.facets = facets != "false";
  std::string exact = p.get("exact");
  if (!exact.empty() && exact != "true" && exact != "false") throw BadParam{"exact", "expected true or false"};
  if (exact != "true") q.count_bound = kSearchCountBound;
  if (p.has("city")) {
    auto origin =
        dir_.store().read([&](const storage::StoreReader& r) { return city_named(r, p.get("city"), "city"); });
    if (!origin) throw BadParam{"city", "no city \"" + p.get("city") + "\" is known to this node"};
    q.filter.origins.push_back(node_id(*origin));
  }
  auto found = find(q);
  if (!found) return search_unavailable();
  SearchResult& result = *found;
  std::string items =
      dir_.store().read([&](const storage::StoreReader& r) { return result_items_text(r, result, ranked); });
  json next;
  if (result.hits.size() == q.limit) {
    next = ranked ? encode_cursor(std::to_string(q.offset + q.limit)) : encode_cursor(result.hits.back().sort_value);
  }
  std::string body = "{\"items\":" + items + ",\"next\":" + next.dump() + ",\"total\":" + std::to_string(result.total);
  if (q.facets) body += ",\"facets\":" + json(result.facets).dump();
  if (result.estimated) body += ",\"estimated\":true";
  if (!result.interpreted.empty()) {
    json interpreted = json::array();
    for (const auto& m : result.interpreted)
      interpreted.push_back({{"word", m.word}, {"theme", m.theme}, {"language", m.language}});
    body += ",\"interpreted\":" + interpreted.dump();
  }
  body += '}';
  return HttpResponse{200, "application/json", std::move(body), {}};
}

HttpResponse HttpApi::record(const std::string& collection, const std::string& origin_text, const std::string& id,
                             const std::string& sub, const std::vector<std::pair<std::string, std::string>>& raw,
                             const std::string& accept_language) {
  if (!sub.empty() && sub != "history") return error(404, "no such API route", "path");
  // /history takes no parameters: every version is in it.
  Params p(raw,
           sub.empty() ? std::initializer_list<const char*>{"version", "lang"} : std::initializer_list<const char*>{});
  Kind kind = collection == "practices" ? Kind::practice : Kind::plan;
  auto version = p.integer("version", 1, 1u << 30);
  std::string lang;  // a language asked for: ?lang=, else the best of Accept-Language on offer
  if (p.has("lang")) {
    auto tag = canonical_language_tag(p.get("lang"));
    if (!tag) throw BadParam{"lang", unknown_language(p.get("lang"))};
    lang = *tag;
  }
  uint64_t emptied = times_emptied();
  return dir_.store().read([&](const storage::StoreReader& r) -> HttpResponse {
    auto origin = city_named(r, origin_text, "origin");
    auto not_found = [&] {
      return error(404, "no public " + std::string(kind_name(kind)) + " " + origin_text + "/" + id);
    };
    if (!origin) return not_found();
    CityDirectory cities(r);
    auto latest = r.latest(*origin, id);
    // Every version must be public to be shown: a record that was public and became
    // partners-only is not served, not even its public past.
    auto load = [&](uint64_t local) -> std::optional<std::pair<Header, SignedRecord>> {
      auto rec = storage::read_record(r, local);
      if (!rec) return std::nullopt;
      return std::make_pair(std::move(rec->header), std::move(rec->record));
    };
    if (!latest && (sub == "history" || version)) {
      // Every version withdrawn (a compromised key's, or set aside by a recovery): no current
      // version, the evidence stays.
      auto positions = r.history(*origin, id);
      if (positions.empty()) return not_found();
      auto last = load(positions.back());
      if (!last || last->first.kind != kind || !is_public(last->first)) return not_found();
      latest = storage::LatestEntry{};
      latest->local = positions.back();
      latest->kind = kind;
    }
    if (!latest || latest->kind != kind) return not_found();
    auto newest = load(latest->local);
    if (!newest || !is_public(newest->first)) return not_found();
    if (sub == "history") {
      json versions = json::array();
      for (uint64_t local : r.history(*origin, id)) {
        auto v = load(local);
        if (!v || !is_public(v->first)) continue;
        versions.push_back(record_item(v->first, v->second.body, cities.find(*origin), cities.signer(v->first)));
        mark_item(r, local, versions.back());  // erased, withdrawn, set aside
      }
      return json_response(200, {{"items", versions}});
    }
    std::optional<std::pair<Header, SignedRecord>> chosen;
    bool withdrawn = false, set_aside = false;
    uint64_t chosen_local = latest->local;
    if (version) {
      for (uint64_t local : r.history(*origin, id)) {
        auto v = load(local);
        if (v && v->first.version == *version)
          chosen = std::move(v), withdrawn = r.is_withdrawn(local), set_aside = r.is_set_aside(local),
          chosen_local = local;
      }
      if (!chosen || !is_public(chosen->first))
        return error(404, "no version " + std::to_string(*version) + " of " + origin_text + "/" + id, "version");
    } else {
      chosen = std::move(newest);
    }
    // Its body was erased: gone, with the reason (docs/data-model.md, "Erasure").
    if (auto note = erasure_note(r, chosen_local))
      return gone("version " + std::to_string(chosen->first.version) + " of " + origin_text + "/" + id, *note,
                  chosen->first.version);
    // No ETag of the version's own: the item names the city as its profile says now, so
    // its tag is that of the body (net::answer_conditionally), like every answer's.
    auto city = profile_of(r, *origin, emptied);
    auto signer = chosen->first.key ? r.grant(*origin, *chosen->first.key) : std::nullopt;
    if (withdrawn) {
      json item = record_item(chosen->first, chosen->second.body, city ? &*city : nullptr, signer ? &*signer : nullptr);
      item["withdrawn"] = true;
      if (set_aside) item["set_aside"] = true;
      return json_response(200, item);
    }
    if (chosen->first.tombstone)  // with the reason its city published, if any
      if (auto note = retraction_note(r, *origin, id, chosen->first.version, chosen->first.visibility)) {
        json item =
            record_item(chosen->first, chosen->second.body, city ? &*city : nullptr, signer ? &*signer : nullptr);
        item["retraction"] = std::move(*note);
        return json_response(200, item);
      }
    // Translations (docs/data-model.md, "Translations"): public ones of a public record.
    auto translations =
        current_translations(r, *origin, id, latest->version, [](const Header& h) { return is_public(h); });
    if (lang.empty() && !accept_language.empty() && !translations.empty()) {
      std::vector<std::string> on_offer;
      if (auto members = chosen->second.body ? raw_members(*chosen->second.body) : std::nullopt)
        for (const auto& m : *members)
          if (m.key == "language" && m.value.size() > 2) on_offer.emplace_back(m.value.substr(1, m.value.size() - 2));
      for (const auto& t : translations) on_offer.push_back(t.language);
      if (auto preferred = preferred_language(accept_language, on_offer)) lang = *preferred;
    }
    if (translations.empty() && lang.empty())
      return HttpResponse{
          200,
          "application/json",
          record_item_text(chosen->first, chosen->second.body, city ? &*city : nullptr, signer ? &*signer : nullptr),
          {}};
    json item = record_item(chosen->first, chosen->second.body, city ? &*city : nullptr, signer ? &*signer : nullptr);
    if (!translations.empty()) item["translations"] = translations_json(translations, cities);
    std::string original = item.value("language", "");
    if (!lang.empty() && lang != original) {
      // With ?version=N only a translation of that version renders it. The same tag first;
      // then the original when it is in that language ("zh" of a "zh-Hant" record); then a
      // translation into another variant of the language.
      std::vector<TranslationEntry> usable;
      for (const auto& t : translations)
        if (!version || t.of_version == chosen->first.version) usable.push_back(t);
      const TranslationEntry* t = nullptr;
      for (const auto& u : usable)
        if (u.language == lang && (!t || u.translator == *origin)) t = &u;
      bool original_serves = !t && primary_language(original) == primary_language(lang);
      if (!t && !original_serves) t = pick_translation(usable, *origin, lang);
      auto body = t ? storage::read_record(r, t->local) : std::nullopt;
      auto parsed = body ? body->body_json() : std::nullopt;
      if (t && parsed) {
        apply_translation(item, *t, *parsed, cities);
      } else if (!original_serves) {
        item["translation"] = nullptr;  // none into that language: the original, saying so
        item["language_requested"] = lang;
      }
    }
    return json_response(200, item);
  });
}

// A feed a pipeline can follow (CouchDB's _changes): public record versions in the order
// this node stored them; `since` is the `last_seq` of the previous call, so nothing is
// missed or repeated while records keep arriving.
HttpResponse HttpApi::changes(const std::vector<std::pair<std::string, std::string>>& raw,
                              const std::string& last_event_id) {
  Params p(raw, {"since", "limit", "kind", "feed"});
  uint64_t since = static_cast<uint64_t>(p.integer("since", 0, 1LL << 53).value_or(0));
  size_t limit = static_cast<size_t>(p.integer("limit", 1, 10000).value_or(1000));
  std::optional<Kind> kind;
  if (p.has("kind")) {
    kind = parse_kind(p.get("kind"));
    if (!kind) throw BadParam{"kind", "unknown kind \"" + p.get("kind") + "\""};
  }
  std::string feed = p.get("feed");
  if (!feed.empty() && feed != "normal" && feed != "eventsource")
    throw BadParam{"feed", "expected normal or eventsource"};
  if (feed == "eventsource") {
    if (p.has("limit")) throw BadParam{"limit", "not with feed=eventsource: a stream sends every change"};
    // A reconnecting EventSource names the last event it saw; that wins over `since`.
    if (!last_event_id.empty()) {
      if (last_event_id.size() > 16 || last_event_id.find_first_not_of("0123456789") != std::string::npos)
        throw BadParam{"Last-Event-ID", "expected a log position"};
      since = std::stoull(last_event_id);
    }
    auto stream = open_stream_ ? open_stream_(since, kind) : nullptr;
    if (!stream) {
      HttpResponse busy = error(503, "too many open event streams; retry later");
      busy.headers.emplace_back("Retry-After", "5");
      return busy;
    }
    HttpResponse r{200, "text/event-stream", "", {}};
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Accel-Buffering", "no");
    r.stream = std::move(stream);
    return r;
  }
  ChangesPage page =
      dir_.store().read([&](const storage::StoreReader& r) { return read_changes(r, since, limit, kind); });
  return json_response(200, {{"results", page.results}, {"last_seq", page.last}, {"more", page.more}});
}

namespace {

// The export body, a piece at a time on the io thread.
class ExportSource : public net::BodySource {
 public:
  ExportSource(storage::RecordStore& store, ExportFormat format, std::optional<Kind> kind)
      : stream_(store, format, kind) {}
  void next(Deliver deliver) override {
    std::string piece = stream_.next(64 * 1024);
    deliver(std::move(piece), stream_.done());
  }

 private:
  ExportStream stream_;
};

}  // namespace

HttpResponse HttpApi::export_records(const std::vector<std::pair<std::string, std::string>>& raw) {
  Params p(raw, {"format", "kind"});
  std::string name = p.has("format") ? p.get("format") : "ndjson";
  auto format = parse_export_format(name);
  if (!format) throw BadParam{"format", "expected ndjson, csv or jsonld"};
  std::optional<Kind> kind;
  if (p.has("kind")) {
    kind = parse_kind(p.get("kind"));
    if (!kind) throw BadParam{"kind", "unknown kind \"" + p.get("kind") + "\""};
  }
  HttpResponse r{200, std::string(export_content_type(*format)), "", {}};
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"agora-export." + name + "\"");
  r.stream = std::make_shared<ExportSource>(dir_.store(), *format, kind);
  return r;
}

HttpResponse HttpApi::stats(const std::vector<std::pair<std::string, std::string>>& raw) {
  Params p(raw,
           {"kind", "framework", "q", "country", "region", "theme", "principle", "language", "year_from", "year_to"});
  SearchQuery q;
  std::string kind = p.has("kind") ? p.get("kind") : "practice";
  if (kind != "practice" && kind != "plan") throw BadParam{"kind", "expected practice or plan"};
  q.filter.kind = kind == "practice" ? Kind::practice : Kind::plan;
  read_text_and_place(p, q);
  read_language_and_years(p, q);
  std::string framework_id = p.has("framework") ? p.get("framework") : "eccar-10pt";
  const FrameworkDef framework = requested_framework(dir_.store(), framework_id);
  auto counted = count(q);
  if (!counted) return search_unavailable();
  SearchStats& st = *counted;

  json refs = json::array();
  for (const auto& c : framework.commitments) refs.push_back({{"ref", c.ref}, {"title", c.title}});
  std::string prefix = framework.id + ":";
  json rows = json::array();
  std::map<std::string, uint64_t> by_region;
  auto wanted_region = region_named(q.filter.region);  // a coalition region: its cities are the rows
  dir_.store().read([&](const storage::StoreReader& r) {
    // Every city this node knows is a row (of the region asked for), so the gaps in the matrix show.
    for (const auto& h : r.heads()) {
      auto city = city_profile(r, h.origin);
      if (!city) continue;
      auto region = city_region(city->region, city->country);
      if (wanted_region && region != wanted_region) continue;
      std::string origin = node_id(h.origin);
      if (auto n = st.by_origin.find(origin); n != st.by_origin.end() && region)
        by_region[std::string(*region)] += n->second;
      json counts = json::object();
      uint64_t covered = 0;
      if (auto row = st.coverage.find(origin); row != st.coverage.end())
        for (const auto& [commitment, n] : row->second)
          if (commitment.starts_with(prefix)) counts[commitment.substr(prefix.size())] = n, ++covered;
      rows.push_back({{"origin", origin},
                      {"city", city->name},
                      {"country", city->country},
                      {"region", region ? json(std::string(*region)) : json()},
                      {"records", st.by_origin.count(origin) ? st.by_origin.at(origin) : 0},
                      {"commitments_covered", covered},
                      {"counts", counts}});
    }
    return 0;
  });
  std::sort(rows.begin(), rows.end(),
            [](const json& a, const json& b) { return a["city"].get<std::string>() < b["city"].get<std::string>(); });
  json by_year = json::object();
  for (const auto& [year, n] : st.by_year) by_year[std::to_string(year)] = n;
  return json_response(
      200, {{"kind", kind},
            {"total", st.total},
            {"by_theme", st.by_theme},
            {"by_region", by_region},
            {"by_year", by_year},
            {"coverage", {{"framework", framework.id}, {"title", framework.title}, {"refs", refs}, {"rows", rows}}}});
}

// A plan's progress (public reports only), or one indicator's history as an SVG chart.
HttpResponse HttpApi::plan_monitoring(const std::string& origin_text, const std::string& id, const std::string& view,
                                      const std::vector<std::pair<std::string, std::string>>& raw) {
  bool chart = view == "chart.svg";
  Params p(raw, chart ? std::initializer_list<const char*>{"item", "indicator", "today", "lang"}
                      : std::initializer_list<const char*>{"today"});
  std::string today = requested_day(p);
  std::string lang = "en";  // the chart's own words (axis, baseline, target)
  if (p.has("lang")) {
    auto tag = canonical_language_tag(p.get("lang"));
    if (!tag) throw BadParam{"lang", unknown_language(p.get("lang"))};
    lang = *tag;
  }
  if (chart && (!p.has("item") || !p.has("indicator")))
    throw BadParam{p.has("item") ? "indicator" : "item", "needed for a chart"};
  return dir_.store().read([&](const storage::StoreReader& r) -> HttpResponse {
    auto origin = city_named(r, origin_text, "origin");
    auto not_found = [&] { return error(404, "no public plan " + origin_text + "/" + id); };
    if (!origin) return not_found();
    auto latest = r.latest(*origin, id);
    if (latest && latest->kind == Kind::plan && latest->is_public)
      if (auto note = erasure_note(r, latest->local))  // as the plan itself answers
        return gone("plan " + origin_text + "/" + id, *note, latest->version);
    if (!latest || latest->kind != Kind::plan || !latest->is_public || latest->tombstone) return not_found();
    auto progress = load_progress(r, *origin, id, today, /*public_only=*/true);
    if (!progress) return not_found();
    progress->origin = node_id(*origin);
    if (!chart) {
      json body = to_json(*progress);
      auto city = city_profile(r, *origin);
      body["city"] = city ? json(city->name) : json();
      body["country"] = city ? json(city->country) : json();
      return json_response(200, body);
    }
    for (const auto& item : progress->items) {
      if (item.id != p.get("item")) continue;
      for (const auto& ind : item.indicators)
        if (ind.name == p.get("indicator")) {
          auto city = city_profile(r, *origin);
          std::string title = (city ? city->name + ": " : "") + ind.name + " (" + item.id + ")";
          HttpResponse svg{200, "image/svg+xml; charset=utf-8", indicator_svg(ind, title, lang)};
          svg.headers.emplace_back("Content-Disposition", "inline; filename=\"" + id + "-" + item.id + ".svg\"");
          return svg;
        }
      throw BadParam{"indicator", "item \"" + item.id + "\" has no indicator \"" + p.get("indicator") + "\""};
    }
    throw BadParam{"item", "plan \"" + id + "\" has no item \"" + p.get("item") + "\""};
  });
}

// One commitment across all cities: the practices that name it and the plan items that
// serve it, with their indicators' latest values against targets.
HttpResponse HttpApi::commitment(const std::string& framework_id, const std::string& ref,
                                 const std::vector<std::pair<std::string, std::string>>& raw) {
  Params p(raw, {"today"});
  const FrameworkDef framework = requested_framework(dir_.store(), framework_id);
  check_commitment(framework, ref);
  const FrameworkDef::Commitment* commitment = framework.find(ref);
  std::string today = requested_day(p);
  SearchQuery q;
  q.filter.kind = Kind::practice;
  q.filter.framework = framework_id;
  q.filter.ref = ref;
  q.limit = 1000;
  SearchResult practices = find(q).value();  // no text: always answered
  std::map<std::string, json> cities;        // by origin
  dir_.store().read([&](const storage::StoreReader& r) {
    auto city_entry = [&](const PublicKey& origin) -> json& {
      std::string id = node_id(origin);
      auto it = cities.find(id);
      if (it != cities.end()) return it->second;
      auto city = city_profile(r, origin);
      return cities[id] = json{{"origin", id},
                               {"city", city ? json(city->name) : json()},
                               {"country", city ? json(city->country) : json()},
                               {"practices", json::array()},
                               {"plan_items", json::array()}};
    };
    json items = result_items(r, practices, false);
    for (const auto& item : items) {
      auto origin = parse_node_id(item.value("origin", ""));
      if (!origin) continue;
      city_entry(*origin)["practices"].push_back({{"id", item.value("id", "")},
                                                  {"title", item.value("title", "")},
                                                  {"started", item.value("started", json())}});
    }
    storage::ListQuery plans;
    plans.kind = Kind::plan;
    r.list(plans, [&](const PublicKey& origin, std::string_view plan_id, const storage::LatestEntry& e) {
      if (!e.is_public) return true;
      auto progress = load_progress(r, origin, std::string(plan_id), today, /*public_only=*/true);
      if (!progress || progress->framework != framework_id) return true;
      json plan_json = to_json(*progress);
      for (const auto& item : plan_json["items"])
        if (item["commitment"] == ref) {
          json entry = item;
          entry["plan"] = std::string(plan_id);
          entry["plan_title"] = progress->title;
          city_entry(origin)["plan_items"].push_back(std::move(entry));
        }
      return true;
    });
    return 0;
  });
  json list = json::array();
  for (auto& [id, c] : cities) list.push_back(std::move(c));
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) { return a["city"].dump() < b["city"].dump(); });
  return json_response(
      200, {{"framework", framework.id}, {"ref", commitment->ref}, {"title", commitment->title}, {"cities", list}});
}

// The frameworks records may refer to: built in, and those coalition leads published publicly.
// The vocabularies with their names, for pages and clients: themes in the interface
// languages, the coalition's regions, every language with its English name and direction.
HttpResponse HttpApi::vocabulary() {
  static const std::string body = [] {
    json themes_out = json::array();
    for (std::string_view theme : themes()) {
      json names = json::object();
      for (const auto& n : theme_names())
        if (n.theme == theme) names[std::string(n.language)] = n.name;
      themes_out.push_back({{"theme", theme}, {"names", names}});
    }
    json regions_out = json::array();
    for (const auto& r : regions()) regions_out.push_back({{"region", r.id}, {"name", r.name}});
    json languages_out = json::array();
    for (const auto& l : languages())
      languages_out.push_back({{"code", l.code}, {"name", l.name}, {"rtl", is_right_to_left(l.code)}});
    json interface = json::array();
    for (auto l : interface_languages()) interface.push_back(l);
    json commitments = json::array();
    for (const auto& f : builtin_frameworks())
      for (const auto& c : f.refs) {
        json titles{{"en", c.title}};
        for (const auto& t : commitment_titles())
          if (t.framework == f.id && t.ref == c.ref) titles[std::string(t.language)] = t.title;
        commitments.push_back({{"framework", f.id}, {"ref", c.ref}, {"titles", titles}});
      }
    return json{{"themes", themes_out},   {"commitments", commitments}, {"principles", principles()},
                {"regions", regions_out}, {"languages", languages_out}, {"interface_languages", interface}}
        .dump();
  }();
  return HttpResponse{200, "application/json", body, {}};
}

HttpResponse HttpApi::frameworks(const std::vector<std::pair<std::string, std::string>>& raw) {
  Params none(raw, {});
  FrameworkCatalog catalog = load_frameworks(dir_.store(), /*public_only=*/true);
  json items = json::array();
  dir_.store().read([&](const storage::StoreReader& r) {
    for (const auto& f : catalog.all()) {
      json commitments = json::array();
      for (const auto& c : f.commitments) commitments.push_back({{"ref", c.ref}, {"title", c.title}});
      json item = {{"id", f.id}, {"title", f.title}, {"builtin", f.builtin()}, {"commitments", commitments}};
      if (!f.builtin()) {
        item["origin"] = f.origin;
        item["coalition"] = f.coalition;
        auto key = parse_node_id(f.origin);
        auto city = key ? city_profile(r, *key) : std::nullopt;
        item["city"] = city ? json(city->name) : json();
      }
      items.push_back(std::move(item));
    }
    return 0;
  });
  return json_response(200, {{"items", items}});
}

// Which practice travelled from which city to which: every public adoption record, with
// the practice it adapts (title when this node holds it publicly), as items and as a graph.
HttpResponse HttpApi::adoptions(const std::vector<std::pair<std::string, std::string>>& raw) {
  Params p(raw, {"city", "practice"});
  json items = json::array();
  std::map<std::string, json> nodes;
  json edges = json::array();
  dir_.store().read([&](const storage::StoreReader& r) {
    std::optional<PublicKey> only_city;
    if (p.has("city")) {
      only_city = city_named(r, p.get("city"), "city");
      if (!only_city) throw BadParam{"city", "no city \"" + p.get("city") + "\" is known to this node"};
    }
    // practice=ORIGIN/ID, ORIGIN as everywhere: a node id, a unique prefix or a city name.
    std::optional<std::string> only_practice;
    bool practice_known = false;
    if (p.has("practice")) {
      std::string ref = p.get("practice");
      auto slash = ref.rfind('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == ref.size())
        throw BadParam{"practice", "expected ORIGIN/ID (a node id, prefix or city name, then the practice id)"};
      auto origin = city_named(r, ref.substr(0, slash), "practice");
      if (!origin) throw BadParam{"practice", "no city \"" + ref.substr(0, slash) + "\" is known to this node"};
      only_practice = node_id(*origin) + "/" + ref.substr(slash + 1);
      auto held = r.latest(*origin, ref.substr(slash + 1));
      practice_known = held && held->kind == Kind::practice && held->is_public;
    }
    CityDirectory cities(r);
    auto city_node = [&](const PublicKey& origin) {
      const CityProfile* c = cities.find(origin);
      std::string id = node_id(origin);
      nodes.emplace(
          id, json{{"origin", id}, {"city", c ? json(c->name) : json()}, {"country", c ? json(c->country) : json()}});
      return c ? json(c->name) : json();
    };
    storage::ListQuery q;
    q.kind = Kind::adoption;
    r.list(q, [&](const PublicKey& origin, std::string_view, const storage::LatestEntry& e) {
      if (!e.is_public) return true;
      auto rec = storage::read_record(r, e.local);
      if (!rec || rec->is_stub()) return true;
      json item = record_item(rec->header, rec->body(), cities.find(origin), cities.signer(rec->header));
      std::string ref = item.value("practice", "");
      auto slash = ref.find('/');
      auto source = parse_node_id(ref.substr(0, slash));
      if (!source || slash == std::string::npos) return true;
      if (only_practice && node_id(*source) + ref.substr(slash) != *only_practice) return true;
      practice_known = true;
      if (only_city && *only_city != origin && *only_city != *source) return true;
      json from = {{"origin", node_id(*source)}, {"city", city_node(*source)}, {"title", nullptr}};
      if (auto src = r.latest(*source, ref.substr(slash + 1)); src && src->is_public && !src->tombstone)
        if (auto s = storage::read_record(r, src->local))
          if (auto body = s->body_json()) from["title"] = body->value("title", "");
      city_node(origin);
      item["from"] = from;
      edges.push_back({{"from", node_id(*source)},
                       {"to", node_id(origin)},
                       {"practice", ref},
                       {"title", from["title"]},
                       {"adoption", node_id(origin) + "/" + rec->header.id},
                       {"started", item.value("started", json())}});
      items.push_back(std::move(item));
      return true;
    });
    if (only_practice && !practice_known)
      throw NotFound{"no public practice " + p.get("practice") + " and no adoption of it is known to this node"};
    return 0;
  });
  json node_list = json::array();
  for (auto& [id, n] : nodes) node_list.push_back(std::move(n));
  return json_response(200, {{"items", items}, {"graph", {{"nodes", node_list}, {"edges", edges}}}});
}

HttpResponse HttpApi::cities(const std::vector<std::pair<std::string, std::string>>& raw) {
  Params p(raw, {});
  json items = json::array();
  dir_.store().read([&](const storage::StoreReader& r) {
    for (const auto& h : r.heads()) {
      auto city = city_profile(r, h.origin);
      if (!city) continue;  // observers and origins without a profile yet
      uint64_t practices = 0, plans = 0;
      for (Kind kind : {Kind::practice, Kind::plan}) {
        storage::ListQuery q;
        q.kind = kind;
        q.origin = h.origin;
        r.list(q, [&](const PublicKey&, std::string_view, const storage::LatestEntry& e) {
          if (e.is_public && !e.tombstone) ++(kind == Kind::practice ? practices : plans);
          return true;
        });
      }
      items.push_back({{"origin", node_id(h.origin)},
                       {"city", city->name},
                       {"country", city->country},
                       {"region", city->region.empty() ? json() : json(city->region)},
                       {"coalition_region",
                        [&] {
                          auto region = city_region(city->region, city->country);
                          return region ? json(std::string(*region)) : json();
                        }()},
                       {"practices", practices},
                       {"plans", plans},
                       {"records", h.seq}});
    }
    return 0;
  });
  return json_response(200, {{"items", items}});
}

}  // namespace agora
