// The derived search index (Xapian) over the public practices and plans a node holds:
// stemmed, diacritic-insensitive full text plus filter terms and facet values. LMDB stays
// the source of truth: the index records how far into the log it has read, catches up
// from there, and is rebuilt from scratch when missing, of another format, or not this store's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/local/data_dir.hpp"

namespace agora {

struct SearchFilter {
  std::optional<Kind> kind;                                                 // practice or plan; both when empty
  std::vector<std::string> origins;                                         // node ids (hex); any of them
  std::string country, region, theme, principle, language, framework, ref;  // empty: any
  std::optional<int> year_from, year_to;                                    // practice `started` / plan period start
  std::optional<int64_t> updated_since_ms;
  std::vector<std::string> excluded;  // record keys ORIGIN/ID left out (answered from LMDB instead)
};

struct SearchQuery {
  std::string text;  // free text; empty: every record matching the filter
  SearchFilter filter;
  enum class Sort { relevance, updated, title } sort = Sort::relevance;  // relevance = key order without text
  size_t offset = 0, limit = 20;
  // For the orders other than relevance: continue strictly after this hit's sort_value, so
  // pages stay stable while records are added (a cursor, not an offset).
  std::string after;
  bool facets = false;
  // A ranked search (words, relevance order) stops counting after this many matches and
  // estimates `total` and the facets from those it saw; 0: every match counted exactly.
  // Filter-only queries and other orders always count exactly.
  uint32_t count_bound = 0;
};

struct SearchHit {
  std::string origin, id;  // node id (hex) and record id
  uint64_t local = 0;      // log position of the indexed version
  double score = 0;        // 0 without text
  std::string sort_value;  // for SearchQuery::after
};

// A query word read as a theme's name ("emploi": employment, French).
struct ThemeWordMatch {
  std::string word, theme, language;
};

struct SearchResult {
  std::vector<SearchHit> hits;
  uint64_t total = 0;  // every match of the query's filter and words (not only this page's)
  std::map<std::string, std::map<std::string, uint64_t>> facets;  // facet -> value -> count
  bool estimated = false;                   // total and facets are estimates (SearchQuery::count_bound was reached)
  std::vector<std::string> terms;           // the folded query words, for highlighting
  std::vector<ThemeWordMatch> interpreted;  // query words that also matched a theme
};

// Counts over every match of a query (GET /api/v1/stats).
struct SearchStats {
  uint64_t total = 0;
  std::map<std::string, uint64_t> by_theme, by_origin;  // origin: node id (hex)
  std::map<int, uint64_t> by_year;
  std::map<std::string, std::map<std::string, uint64_t>> coverage;  // origin -> "framework:ref" -> records
};

class SearchIndex {
 public:
  // Opens the index in DATA/search for writing (only one process at a time: `agora serve`,
  // or a CLI search when no node runs). Throws if it is locked by another process.
  static std::unique_ptr<SearchIndex> open_writable(DataDir& dir);
  // Opens it read-only; nullopt when it does not exist yet.
  static std::unique_ptr<SearchIndex> open_readonly(DataDir& dir);
  // Rewrites the index at `index_dir` with only its live blocks (Xapian's compaction), for
  // `agora compact` on a stopped node: what deleted documents left is not in the copy.
  static void compact_files(const std::filesystem::path& index_dir);
  ~SearchIndex();

  // Indexes every log entry after the last one seen (all of them after a rebuild),
  // committing every batch; returns how many records were (re)indexed or removed. Throws
  // std::runtime_error when the index cannot be written (e.g. the disk is full).
  size_t catch_up();
  // One bounded step of that: at most max_entries log entries, then a commit.
  struct Step {
    size_t changed = 0;     // records (re)indexed or removed
    uint64_t position = 0;  // the log position indexed up to now
    bool more = false;      // log entries remain after it
    bool wrote = false;     // a new revision was committed (readers should reopen)
  };
  Step catch_up_step(size_t max_entries);
  uint64_t position() const;  // the log position indexed up to
  bool complete() const;      // a first build (or a rebuild) has finished at least once

  // Queries (a reader; throw std::runtime_error when the index cannot be read). A reader
  // whose revision the writer overwrote meanwhile reopens and asks again.
  SearchResult search(const SearchQuery& q) const;
  SearchStats stats(const SearchQuery& q) const;  // text and filter; order and paging ignored
  void reopen();                                  // a reader: see what the writer committed since

 private:
  static std::unique_ptr<SearchIndex> open_writable_unguarded(DataDir& dir);
  Step catch_up_step_unguarded(size_t max_entries);
  template <class Fn>
  auto reading(Fn&& fn) const;
  struct Impl;
  explicit SearchIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The items (as `agora show --json` prints them) of a result's hits, public versions only;
// with score and snippet when the result is ranked by a text query.
nlohmann::json result_items(const storage::StoreReader& reader, const SearchResult& result, bool ranked);
// The same items as a JSON array's text; unranked items are spliced from the stored bodies.
std::string result_items_text(const storage::StoreReader& reader, const SearchResult& result, bool ranked);

// Folds a text for matching: lowercase, Latin diacritics removed (Malmö -> malmo).
std::string fold_text(std::string_view text);

// A short extract of text around the first query word it contains, with every matching
// word wrapped in <mark>…</mark> (the rest HTML-escaped). Matching is by folded word and by
// stem in the record's language.
std::string snippet(std::string_view text, const std::vector<std::string>& folded_terms, const std::string& language,
                    size_t max_chars = 200);

}  // namespace agora
