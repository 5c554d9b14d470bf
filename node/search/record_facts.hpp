// What a record is filtered, sorted and counted by, derived one way for both the search
// index (its boolean terms and value slots) and the answers from LMDB while that index is
// being built: one rule, two places that apply it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/local/record_view.hpp"
#include "node/search/index_schema.hpp"
#include "node/search/search_index.hpp"

namespace agora {

struct RecordFacts {
  std::vector<std::string> terms;                 // boolean terms (prefix + value), sorted
  std::map<Xapian::valueno, std::string> values;  // index_schema::Slot -> value
};

RecordFacts record_facts(const std::string& origin_hex, std::string_view id, const Header& h,
                         const nlohmann::json& body, const CityProfile* city);

// A query's filter as terms and value ranges: the index turns it into a Xapian query, the
// LMDB path checks each record's facts against it.
struct FilterSpec {
  std::vector<std::vector<std::string>> any_of;  // each: at least one of these terms
  struct Range {
    Xapian::valueno slot;
    std::string low;                  // inclusive
    std::optional<std::string> high;  // inclusive; none: no upper bound
  };
  std::vector<Range> ranges;  // a record without the value never matches
  bool matches(const RecordFacts& facts) const;
};

FilterSpec filter_spec(const SearchFilter& filter);

// The facets of a result (city, theme, commitment) in one pass over the matches. Whole
// facet values (index_schema::kFacetsSlot) are counted first — a handful of distinct theme
// and commitment combinations recur across thousands of records — and split once at the end.
class FacetCounter {
 public:
  void add(const std::string& joined, uint64_t times = 1) { joined_[joined] += times; }
  std::map<std::string, std::map<std::string, uint64_t>> facets() const;

 private:
  std::unordered_map<std::string, uint64_t> joined_;
};

// Adds one match to /stats counts, from its key, facets and year slot values.
void count_stats(SearchStats& out, const std::string& key, const std::string& facets, const std::string& year);

}  // namespace agora
