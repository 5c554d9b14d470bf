// Filter-only queries (no words) answered from LMDB, for the moments without a complete
// search index: its first build, a rebuild after a format change, a node run without one.
// Same filters, orders, cursors, totals and facets as the index gives (record_facts.hpp);
// the cost grows with the records the narrowest LMDB list (kind, city, theme, year) visits.
#pragma once

#include "node/search/search_index.hpp"
#include "storage/record_store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace agora {

// q.text must be empty.
SearchResult search_store(const storage::StoreReader& reader, const SearchQuery& q);
SearchStats stats_store(const storage::StoreReader& reader, const SearchQuery& q);

// The records (ORIGIN/ID keys) written to the log after `position`, when there are at most
// max_entries log entries after it; nullopt when there are more (or a city profile changed).
std::optional<std::vector<std::string>> changed_since(const storage::StoreReader& reader, uint64_t position,
                                                      size_t max_entries);

// A filter-only query over an index that lags the log by a few entries: the index answers
// for what it holds (run with q.filter.excluded = changed), LMDB for the changed records,
// and the two are merged into one exact page, total and facets.
SearchResult merge_changed(const storage::StoreReader& reader, const SearchQuery& q,
                           const std::vector<std::string>& changed, SearchResult indexed);
SearchStats merge_changed_stats(const storage::StoreReader& reader, const SearchQuery& q,
                                const std::vector<std::string>& changed, SearchStats indexed);

}  // namespace agora
