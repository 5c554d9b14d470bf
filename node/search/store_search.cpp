#include "node/search/store_search.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>

#include "node/search/record_facts.hpp"
#include "protocol/erasure.hpp"
#include "protocol/vocabulary.hpp"
#include "storage/stored_record.hpp"

namespace agora {

namespace {

using namespace index_schema;

// The facts of a latest version the index would hold (a public, live practice or plan);
// nullopt for any other.
std::optional<RecordFacts> searchable_facts(const storage::StoreReader& r, CityDirectory& cities,
                                            const PublicKey& origin, std::string_view id,
                                            const storage::LatestEntry& entry) {
  if (!entry.is_public || entry.tombstone || (entry.kind != Kind::practice && entry.kind != Kind::plan))
    return std::nullopt;
  auto rec = storage::read_record(r, entry.local);
  if (!rec) return std::nullopt;
  auto body = rec->body_json();
  if (!body) return std::nullopt;
  return record_facts(node_id(origin), id, rec->header, *body, cities.find(origin));
}

// Visits the public latest practices and plans the filter can match, with their facts: the
// narrowest LMDB list first, then every filter checked on the record itself.
void each_match(const storage::StoreReader& r, const SearchFilter& filter,
                const std::function<void(const PublicKey&, const std::string&, uint64_t, RecordFacts&)>& visit) {
  storage::ListQuery lq;
  lq.kind = filter.kind;
  if (filter.origins.size() == 1) {
    auto origin = parse_node_id(filter.origins.front());
    if (!origin) return;
    lq.origin = *origin;
  }
  if (!filter.theme.empty()) {
    int t = vocabulary_index(themes(), filter.theme);
    if (t < 0) return;
    lq.theme = t;
  }
  if (filter.year_from) lq.year_from = static_cast<uint16_t>(std::clamp(*filter.year_from, 1, 0xffff));
  if (filter.year_to) lq.year_to = static_cast<uint16_t>(std::clamp(*filter.year_to, 0, 0xffff));
  FilterSpec spec = filter_spec(filter);
  CityDirectory cities(r);
  r.list(lq, [&](const PublicKey& origin, std::string_view id, const storage::LatestEntry& entry) {
    auto facts = searchable_facts(r, cities, origin, id, entry);
    if (facts && spec.matches(*facts)) visit(origin, std::string(id), entry.local, *facts);
    return true;
  });
}

}  // namespace

namespace {

// Keeps the first `keep` hits in a query's order after its cursor; counts every match.
class PageBuilder {
 public:
  explicit PageBuilder(const SearchQuery& q)
      : q_(q),
        slot_(q.sort == SearchQuery::Sort::updated ? kUpdatedSlot
              : q.sort == SearchQuery::Sort::title ? kTitleSlot
                                                   : kKeySlot),
        descending_(q.sort == SearchQuery::Sort::updated),
        page_(Before{descending_}) {}

  void add(const PublicKey& origin, const std::string& id, uint64_t local, RecordFacts& facts) {
    ++total_;
    if (q_.facets) facets_.add(facts.values[kFacetsSlot]);
    offer(SearchHit{node_id(origin), id, local, 0, std::move(facts.values[slot_])});
  }
  // A hit counted elsewhere (the index's page).
  void offer(SearchHit hit) {
    if (!q_.after.empty() && (descending_ ? hit.sort_value >= q_.after : hit.sort_value <= q_.after)) return;
    size_t keep = q_.offset + q_.limit;
    if (page_.size() == keep && !Before{descending_}(hit, page_.top())) return;
    page_.push(std::move(hit));
    if (page_.size() > keep) page_.pop();
  }
  SearchResult result() {
    SearchResult out;
    while (!page_.empty()) {
      out.hits.push_back(page_.top());
      page_.pop();
    }
    std::reverse(out.hits.begin(), out.hits.end());
    out.hits.erase(out.hits.begin(), out.hits.begin() + static_cast<long>(std::min(q_.offset, out.hits.size())));
    out.total = total_;
    if (q_.facets) out.facets = facets_.facets();
    return out;
  }

 private:
  struct Before {
    bool descending;
    bool operator()(const SearchHit& a, const SearchHit& b) const {
      return descending ? a.sort_value > b.sort_value : a.sort_value < b.sort_value;
    }
  };
  const SearchQuery& q_;
  Xapian::valueno slot_;
  bool descending_;
  std::priority_queue<SearchHit, std::vector<SearchHit>, Before> page_;
  FacetCounter facets_;
  uint64_t total_ = 0;
};

// The changed records that match the filter, each with its facts.
void each_changed_match(
    const storage::StoreReader& r, const SearchFilter& filter, const std::vector<std::string>& changed,
    const std::function<void(const PublicKey&, const std::string&, uint64_t, RecordFacts&)>& visit) {
  FilterSpec spec = filter_spec(filter);
  CityDirectory cities(r);
  for (const auto& key : changed) {
    auto slash = key.find('/');
    auto origin = parse_node_id(key.substr(0, slash));
    if (!origin) continue;
    std::string id = key.substr(slash + 1);
    auto entry = r.latest(*origin, id);
    if (!entry) continue;
    auto facts = searchable_facts(r, cities, *origin, id, *entry);
    if (facts && spec.matches(*facts)) visit(*origin, id, entry->local, *facts);
  }
}

void add_counts(std::map<std::string, std::map<std::string, uint64_t>>& into,
                const std::map<std::string, std::map<std::string, uint64_t>>& from) {
  for (const auto& [facet, values] : from)
    for (const auto& [value, n] : values) into[facet][value] += n;
}

}  // namespace

SearchResult search_store(const storage::StoreReader& r, const SearchQuery& q) {
  PageBuilder page(q);
  each_match(r, q.filter, [&](const PublicKey& origin, const std::string& id, uint64_t local, RecordFacts& facts) {
    page.add(origin, id, local, facts);
  });
  return page.result();
}

std::optional<std::vector<std::string>> changed_since(const storage::StoreReader& r, uint64_t position,
                                                      size_t max_entries) {
  std::vector<std::string> keys;
  bool within = true;
  size_t seen = 0;
  r.scan_log(position + 1, [&](const storage::StoredRecordView& view) {
    if (++seen > max_entries) return within = false;
    auto h = decode_header(view.header_bytes);
    if (!h) return true;
    if (h.value().kind == Kind::city && h.value().seq > 1) return within = false;  // renames a city everywhere
    if (h.value().kind == Kind::key && !view.is_stub()) {  // a recovery or a compromise: many records change
      if (h.value().key && r.grant(h.value().origin, *h.value().key).value_or(KeyGrant{}).role == KeyRole::recovery)
        return within = false;
      if (auto g = read_key_grant(*view.load().body, h.value().seq); g && g->compromised_since) return within = false;
    }
    if (h.value().kind == Kind::practice || h.value().kind == Kind::plan)
      keys.push_back(node_id(h.value().origin) + "/" + h.value().id);
    if (h.value().kind == Kind::erasure && !view.is_stub())
      if (auto e = read_erasure(*view.load().body)) keys.push_back(node_id(h.value().origin) + "/" + e->target);
    return true;
  });
  if (!within) return std::nullopt;
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

SearchResult merge_changed(const storage::StoreReader& r, const SearchQuery& q, const std::vector<std::string>& changed,
                           SearchResult indexed) {
  PageBuilder page(q);
  for (auto& hit : indexed.hits) page.offer(std::move(hit));
  each_changed_match(r, q.filter, changed,
                     [&](const PublicKey& origin, const std::string& id, uint64_t local, RecordFacts& facts) {
                       page.add(origin, id, local, facts);
                     });
  SearchResult out = page.result();
  out.total += indexed.total;
  add_counts(out.facets, indexed.facets);
  out.terms = std::move(indexed.terms);
  return out;
}

SearchStats merge_changed_stats(const storage::StoreReader& r, const SearchQuery& q,
                                const std::vector<std::string>& changed, SearchStats st) {
  each_changed_match(r, q.filter, changed, [&](const PublicKey&, const std::string&, uint64_t, RecordFacts& facts) {
    count_stats(st, facts.values[kKeySlot], facts.values[kFacetsSlot], facts.values[kYearSlot]);
  });
  return st;
}

SearchStats stats_store(const storage::StoreReader& r, const SearchQuery& q) {
  SearchStats out;
  each_match(r, q.filter, [&](const PublicKey&, const std::string&, uint64_t, RecordFacts& facts) {
    count_stats(out, facts.values[kKeySlot], facts.values[kFacetsSlot], facts.values[kYearSlot]);
  });
  return out;
}

}  // namespace agora
