#include "node/search/search_index.hpp"
#include "node/search/index_schema.hpp"
#include "node/search/record_facts.hpp"
#include "storage/stored_record.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <xapian.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <memory>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "node/local/job_thread.hpp"
#include "node/local/record_view.hpp"
#include "node/local/translations.hpp"
#include "protocol/erasure.hpp"
#include "protocol/hex.hpp"
#include "protocol/json_text.hpp"
#include "protocol/languages.hpp"
#include "protocol/regions.hpp"
#include "protocol/theme_names.hpp"
#include "protocol/translation.hpp"
#include "protocol/unicode.hpp"
#include "protocol/utf8.hpp"

namespace agora {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// 2: text indexed without positions (no phrase queries; a third of the size).
// 3: the facet values also together in one slot (one read per match when counting).
// 4: French/Italian elisions split.
// 5: text normalized to NFC before folding, so that decomposed text (an "o" + U+0308 that a
//    node of an earlier version signed) is indexed as its precomposed form is.
// 6: stems only (STEM_ALL_Z), no unstemmed copy of each word: half the terms, builds ~2x faster.
// 7: city, themes and commitments only in the facets slot (they were also in slots 3-5).
// 8: every language (a stemmer for each of Xapian's, by the tag's ISO 639-1 code; the tag
//    and its language as filter terms); Greek, Cyrillic, Arabic and Hebrew folded; words
//    split by Unicode character classes; Chinese, Japanese, Korean and Thai as n-grams.
// 9: a record's public translations indexed with it (stemmed in their languages).
// 10: the coalition region of each record's city (its profile's region naming one, else
//     its country's).
// 11: Arabic teh marbuta and alef maksura no longer folded (the Arabic stemmer reads them).
// 12: regions also named in the page's languages.
constexpr const char* kFormat = "12";

using namespace index_schema;

// This thread's stemmer for a language tag (none: a stemmer that leaves words as they
// are). Making one is not cheap, and queries and snippets ask for them all the time.
const Xapian::Stem& stemmer_for(const std::string& language) {
  thread_local std::unordered_map<std::string, Xapian::Stem> by_language;
  auto found = by_language.find(language);
  if (found != by_language.end()) return found->second;
  Xapian::Stem stem;
  if (const Language* l = find_language(primary_language(language)); l && !l->stemmer.empty())
    stem = Xapian::Stem(std::string(l->stemmer));
  return by_language.emplace(language, std::move(stem)).first->second;
}

// One language for each of Xapian's stemmers: a query word is compared with the themes'
// words as each stems it.
const std::vector<std::string>& stemmed_languages() {
  static const std::vector<std::string> codes = [] {
    std::vector<std::string> out;
    std::set<std::string_view> stemmers;
    for (const auto& l : languages())
      if (!l.stemmer.empty() && stemmers.insert(l.stemmer).second) out.emplace_back(l.code);
    return out;
  }();
  return codes;
}

std::string record_key(const std::string& origin_hex, std::string_view id) {
  return origin_hex + "/" + std::string(id);
}

void append_text(std::string& out, const json& v) {
  if (v.is_string()) out += v.get<std::string>() + "\n";
}

// Tables derived from one index revision, shared by the readers of that revision and
// built by the first that asks (the others go without it meanwhile, never wait).
struct RevisionTable {
  std::string uuid;
  Xapian::rev revision = 0;
};

template <class Table>
std::shared_ptr<const Table> revision_table(const Xapian::Database& db) {
  static std::mutex mutex, building;
  static std::shared_ptr<const Table> cached[2];  // readers may be a revision apart
  std::string uuid = db.get_uuid();
  Xapian::rev revision = db.get_revision();
  auto find = [&]() -> std::shared_ptr<const Table> {
    std::lock_guard lock(mutex);
    for (const auto& t : cached)
      if (t && t->revision == revision && t->uuid == uuid) return t;
    return nullptr;
  };
  if (auto t = find()) return t;
  std::unique_lock build(building, std::try_to_lock);
  if (!build.owns_lock()) return nullptr;
  if (auto t = find()) return t;
  auto table = std::make_shared<Table>();
  table->uuid = uuid;
  table->revision = revision;
  table->build(db);
  std::lock_guard lock(mutex);
  cached[1] = std::move(cached[0]);
  cached[0] = table;
  return table;
}

// Every document's facets value (kFacetsSlot), read in one pass over the value stream:
// Xapian fetches one document's value with a B-tree lookup, and doing that for every match
// was most of a search's time.
class FacetTable : public RevisionTable {
 public:
  void build(const Xapian::Database& db) {
    by_doc_.assign(db.get_lastdocid() + 1, 0);
    values_.emplace_back();  // id 0: no value
    std::unordered_map<std::string, uint32_t> ids;
    for (auto it = db.valuestream_begin(kFacetsSlot); it != db.valuestream_end(kFacetsSlot); ++it) {
      Xapian::docid did = it.get_docid();
      if (did >= by_doc_.size()) continue;
      auto [at, added] = ids.try_emplace(*it, static_cast<uint32_t>(values_.size()));
      if (added) values_.push_back(at->first);
      by_doc_[did] = at->second;
    }
  }
  uint32_t id(Xapian::docid did) const { return did < by_doc_.size() ? by_doc_[did] : 0; }
  const std::string& value(uint32_t id) const { return values_[id]; }
  size_t values() const { return values_.size(); }

 private:
  std::vector<uint32_t> by_doc_;     // docid -> value id
  std::vector<std::string> values_;  // value id -> facets value
};

// Each document's place in the key order (kKeySlot, ORIGIN/ID): the default order of a
// list, which Xapian otherwise sorts by reading every match's key.
class KeyOrder : public RevisionTable {
 public:
  // Holds every key while it sorts them (about 130 bytes a document): beyond kMaxDocs, lists
  // sort by reading the matches' keys as before.
  static constexpr Xapian::doccount kMaxDocs = 250000;
  static bool worth_it(const Xapian::Database& db) { return db.get_doccount() <= kMaxDocs; }
  void build(const Xapian::Database& db) {
    std::vector<std::pair<std::string, Xapian::docid>> keys;
    keys.reserve(db.get_doccount());
    for (auto it = db.valuestream_begin(kKeySlot); it != db.valuestream_end(kKeySlot); ++it)
      keys.emplace_back(*it, it.get_docid());
    std::sort(keys.begin(), keys.end());
    rank_.assign(db.get_lastdocid() + 1, UINT32_MAX);
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i].second < rank_.size()) rank_[keys[i].second] = static_cast<uint32_t>(i);
  }
  uint32_t rank(Xapian::docid did) const { return did < rank_.size() ? rank_[did] : UINT32_MAX; }

 private:
  std::vector<uint32_t> rank_;  // docid -> place in key order
};

// Sorts matches by their KeyOrder rank (as 4 big-endian bytes: byte order is number order).
class KeyRank : public Xapian::KeyMaker {
 public:
  explicit KeyRank(std::shared_ptr<const KeyOrder> order) : order_(std::move(order)) {}
  std::string operator()(const Xapian::Document& doc) const override {
    uint32_t r = order_->rank(doc.get_docid());
    char bytes[4] = {static_cast<char>(r >> 24), static_cast<char>(r >> 16), static_cast<char>(r >> 8),
                     static_cast<char>(r)};
    return std::string(bytes, 4);
  }

 private:
  std::shared_ptr<const KeyOrder> order_;
};

class FacetSpy : public Xapian::MatchSpy {
 public:
  // Without a table, each match's value is read from the index.
  explicit FacetSpy(std::shared_ptr<const FacetTable> table) : table_(std::move(table)) {
    if (table_) counts_.assign(table_->values(), 0);
  }
  void operator()(const Xapian::Document& doc, double) override {
    ++seen_;
    if (table_)
      ++counts_[table_->id(doc.get_docid())];
    else
      counter_.add(doc.get_value(kFacetsSlot));
  }
  std::map<std::string, std::map<std::string, uint64_t>> facets() {
    for (size_t id = 1; id < counts_.size(); ++id)
      if (counts_[id]) counter_.add(table_->value(static_cast<uint32_t>(id)), counts_[id]);
    counts_.clear();
    return counter_.facets();
  }
  uint64_t seen() const { return seen_; }  // the matches counted

 private:
  std::shared_ptr<const FacetTable> table_;
  std::vector<uint64_t> counts_;  // by value id
  FacetCounter counter_;
  uint64_t seen_ = 0;
};

// The words of a folded text, as views into it: documents and queries are split by this
// one rule. A word is a run of letters, digits and marks (protocol/unicode.hpp, word_char).
// Scripts written without spaces (Chinese, Japanese, Korean, Thai...) are split into
// n-grams, as Xapian's CJK support does: a document's run gives each character and each
// pair of neighbours; a query's run gives its pairs (its character when it has one), all
// of which must match.
std::vector<std::string_view> word_views(std::string_view folded, bool query = false) {
  std::vector<std::string_view> out;
  size_t start = std::string_view::npos;  // of the current word
  std::vector<size_t> run;                // byte offsets of the current n-gram run's characters
  auto end_run = [&](size_t end) {
    if (run.empty()) return;
    run.push_back(end);
    size_t n = run.size() - 1;
    if (n == 1) {
      out.push_back(folded.substr(run[0], run[1] - run[0]));
    } else {
      if (!query)
        for (size_t k = 0; k < n; ++k) out.push_back(folded.substr(run[k], run[k + 1] - run[k]));
      for (size_t k = 0; k + 1 < n; ++k) out.push_back(folded.substr(run[k], run[k + 2] - run[k]));
    }
    run.clear();
  };
  for (size_t i = 0; i < folded.size();) {
    size_t at = i;
    auto u = static_cast<unsigned char>(folded[i]);
    WordChar kind;
    if (u < 0x80) {
      kind = std::isalnum(u) ? WordChar::letter : WordChar::separator;
      ++i;
    } else {
      kind = word_char(next_code_point(folded, i));
    }
    if (kind != WordChar::letter && start != std::string_view::npos) {
      out.push_back(folded.substr(start, at - start));
      start = std::string_view::npos;
    }
    if (kind != WordChar::ngram) end_run(at);
    if (kind == WordChar::letter && start == std::string_view::npos) start = at;
    if (kind == WordChar::ngram) run.push_back(at);
  }
  if (start != std::string_view::npos) out.push_back(folded.substr(start));
  end_run(folded.size());
  return out;
}

std::vector<std::string> words_of(std::string_view folded) {
  auto views = word_views(folded, /*query=*/true);
  return {views.begin(), views.end()};
}

// Longer words are not indexed (Xapian's terms end at 245 bytes; no real word comes near).
constexpr size_t kMaxWordBytes = 64;

// A language's stemmer with the stems it has computed: a few thousand distinct words make
// up most of any text, and stemming each occurrence was a fifth of indexing.
class WordStems {
 public:
  explicit WordStems(Xapian::Stem stem) : stem_(std::move(stem)) {}
  // "Z" + the word's stem; valid until the next trim().
  std::string_view of(std::string_view word) {
    auto it = cache_.find(word);
    if (it != cache_.end()) return it->second;
    keys_.emplace_back(word);
    std::string stemmed = term(kStem, stem_(keys_.back()));
    return cache_.emplace(keys_.back(), std::move(stemmed)).first->second;
  }
  // Between documents: forgets everything once the cache has grown past its bound.
  void trim() {
    if (cache_.size() < 200000) return;
    cache_.clear();
    keys_.clear();
  }

 private:
  Xapian::Stem stem_;
  std::deque<std::string> keys_;  // stable storage for the map's keys
  std::unordered_map<std::string_view, std::string> cache_;
};

// This thread's stems for a language (the indexer is one thread; each has its own).
WordStems& stems_for(const std::string& language) {
  thread_local std::unordered_map<std::string, std::unique_ptr<WordStems>> by_language;
  auto& slot = by_language[language];
  if (!slot) slot = std::make_unique<WordStems>(stemmer_for(language));
  return *slot;
}

}  // namespace

// Folded for matching (NFC-normalized first, by fold_for_match), with elisions split off
// ("l'emploi" -> "l emploi", "dell’anno" -> "dell anno") so the word after them is indexed
// and stemmed on its own.
std::string fold_text(std::string_view text) {
  std::string folded = fold_for_match(text);
  std::string out;
  out.reserve(folded.size());
  size_t word_start = 0;
  auto letter = [](unsigned char c) { return std::isalpha(c) || c >= 0x80; };
  for (size_t i = 0; i < folded.size(); ++i) {
    bool straight = folded[i] == '\'';
    bool curly = folded.compare(i, 3, "\xE2\x80\x99") == 0;  // U+2019
    if ((straight || curly) && i > 0 && letter(folded[i - 1])) {
      size_t next = i + (curly ? 3 : 1);
      std::string_view before(out.data() + word_start, out.size() - word_start);
      bool elided = before.size() <= 2 || before.ends_with("qu") || before == "dell" || before == "nell" ||
                    before == "sull" || before == "dall" || before == "all" || before == "quell";
      if (elided && next < folded.size() && letter(static_cast<unsigned char>(folded[next]))) {
        out.push_back(' ');
        word_start = out.size();
        i = next - 1;
        continue;
      }
    }
    if (!letter(static_cast<unsigned char>(folded[i]))) word_start = out.size() + 1;
    out.push_back(folded[i]);
  }
  return out;
}

namespace {
// A ranked hit's snippet, and the language of the translation its words matched in when
// they are not in its own title or summary ("" when they are, or in no translation).
// Whether text holds one of the query's terms: a word of it (snippet marks it), or an
// n-gram of a script written without spaces (found as a substring of the folded text).
bool holds_ngram(const std::string& text, const std::vector<std::string>& terms) {
  std::string folded;
  for (const auto& t : terms)
    if (!t.empty() && static_cast<unsigned char>(t[0]) >= 0xe0) {
      if (folded.empty()) folded = fold_text(text);
      if (folded.find(t) != std::string::npos) return true;
    }
  return false;
}
bool mentions(const std::string& text, const std::vector<std::string>& terms, const std::string& language) {
  return holds_ngram(text, terms) ||
         snippet(text, terms, language, text.size() + 1).find("<mark>") != std::string::npos;
}

std::pair<std::string, std::string> snippet_of_hit(const storage::StoreReader& r, const Header& h,
                                                   const std::string& title, const std::string& summary,
                                                   const std::string& language, const std::vector<std::string>& terms) {
  std::string own = snippet(summary, terms, language);
  // The snippet marks any word of the summary it matched; n-grams are looked for apart.
  if (own.find("<mark>") != std::string::npos || mentions(title, terms, language) || holds_ngram(summary, terms))
    return {own, ""};
  auto latest = r.latest(h.origin, h.id);
  for (const auto& t : current_translations(r, h.origin, h.id, latest ? latest->version : h.version,
                                            [](const Header& th) { return is_public(th); })) {
    auto rec = storage::read_record(r, t.local);
    auto body = rec ? rec->body_json() : std::nullopt;
    if (!body) continue;
    std::string translated = snippet(body->value("summary", ""), terms, t.language);
    if (translated.find("<mark>") != std::string::npos) return {translated, t.language};
    // Elsewhere in it (title, body, outcome names, plan actions): its summary as the snippet.
    std::string rest = body->value("title", "") + "\n" + body->value("body", "");
    for (const auto& o : body->value("outcomes", json::array()))
      if (o.is_string()) rest += "\n" + o.get<std::string>();
    for (const auto& item : body->value("items", json::array()))
      if (item.is_object() && item.value("action", json()).is_string())
        rest += "\n" + item["action"].get<std::string>();
    if (mentions(rest + "\n" + body->value("summary", ""), terms, t.language)) return {translated, t.language};
  }
  return {own, ""};
}
}  // namespace

json result_items(const storage::StoreReader& r, const SearchResult& result, bool ranked) {
  json items = json::array();
  CityDirectory cities(r);
  for (const auto& hit : result.hits) {
    auto rec = storage::read_record(r, hit.local);
    if (!rec || !is_public(rec->header)) continue;  // the index holds public records only
    json item = record_item(rec->header, rec->body(), cities.find(rec->header.origin), cities.signer(rec->header));
    if (ranked) {
      item["score"] = hit.score;
      auto [text, matched_in] = snippet_of_hit(r, rec->header, item.value("title", ""), item.value("summary", ""),
                                               item.value("language", ""), result.terms);
      item["snippet"] = text;
      if (!matched_in.empty()) item["matched_in"] = matched_in;
    }
    items.push_back(std::move(item));
  }
  return items;
}

namespace {
// A string member of a stored body, decoded (only that value is parsed); empty when absent.
std::string string_member(const std::vector<RawMember>& members, std::string_view key) {
  for (const auto& m : members)
    if (m.key == key && m.value.size() >= 2 && m.value.front() == '"') {
      if (m.value.find('\\') == std::string_view::npos) return std::string(m.value.substr(1, m.value.size() - 2));
      auto v = json::parse(m.value, nullptr, false);  // escapes: decoded by the parser
      return v.is_string() ? v.get<std::string>() : std::string();
    }
  return {};
}
}  // namespace

std::string result_items_text(const storage::StoreReader& r, const SearchResult& result, bool ranked) {
  std::string out = "[";
  CityDirectory cities(r);
  for (const auto& hit : result.hits) {
    auto rec = storage::read_record(r, hit.local);
    if (!rec || !is_public(rec->header)) continue;  // the index holds public records only
    if (out.size() > 1) out += ',';
    const auto& body = rec->body();
    std::string item = record_item_text(rec->header, body, cities.find(rec->header.origin), cities.signer(rec->header));
    if (ranked) {
      // The score and snippet added to the spliced item, read from the body's own members.
      auto members = body ? raw_members(*body) : std::nullopt;
      std::string title, summary, language;
      if (members) {
        title = string_member(*members, "title");
        summary = string_member(*members, "summary");
        language = string_member(*members, "language");
      }
      auto [text, matched_in] = snippet_of_hit(r, rec->header, title, summary, language, result.terms);
      item.pop_back();  // the closing brace
      item += ",\"score\":" + json(hit.score).dump();
      if (!matched_in.empty()) item += ",\"matched_in\":" + json(matched_in).dump();
      item += ",\"snippet\":" + json(text).dump() + "}";
    }
    out += item;
  }
  out += ']';
  return out;
}

RecordFacts record_facts(const std::string& origin_hex, std::string_view id, const Header& h, const json& body,
                         const CityProfile* city) {
  RecordFacts f;
  std::string key = record_key(origin_hex, id);
  f.terms.push_back(term(kRecordKey, key));
  f.terms.push_back(term(kKind, std::string(kind_name(h.kind))));
  f.terms.push_back(term(kOrigin, origin_hex));
  if (city) {
    f.terms.push_back(term(kCountry, fold_text(city->country)));
    if (!city->region.empty()) f.terms.push_back(term(kRegion, fold_text(city->region)));
    if (auto region = city_region(city->region, city->country))  // the coalition's region
      f.terms.push_back(term(kCoalitionRegion, std::string(*region)));
  }
  // The tag and its language: a filter on "pt" finds "pt-BR" too.
  std::string language = body.value("language", "");
  if (!language.empty()) {
    f.terms.push_back(term(kLanguage, language));
    f.terms.push_back(term(kLanguage, std::string(primary_language(language))));
  }
  std::string themes_value, commitments_value;
  for (const auto& t : body.value("themes", json::array()))
    if (t.is_string()) {
      f.terms.push_back(term(kTheme, t.get<std::string>()));
      themes_value += t.get<std::string>() + "\x1f";
    }
  for (const auto& p : body.value("principles", json::array()))
    if (p.is_string()) f.terms.push_back(term(kPrinciple, p.get<std::string>()));
  auto add_commitment = [&](const std::string& fw, const std::string& ref) {
    f.terms.push_back(term(kFramework, fw));
    if (!ref.empty()) {
      f.terms.push_back(term(kCommitment, fw + ":" + ref));
      commitments_value += fw + ":" + ref + "\x1f";
    }
  };
  for (const auto& fw : body.value("frameworks", json::array()))
    if (fw.is_object()) add_commitment(fw.value("framework", ""), fw.value("ref", ""));
  if (h.kind == Kind::plan) {  // a plan commits its items to refs of its framework
    std::string fw = body.value("framework", "");
    f.terms.push_back(term(kFramework, fw));
    for (const auto& item : body.value("items", json::array()))
      if (item.is_object()) add_commitment(fw, item.value("commitment", ""));
  }
  int year = 0;
  if (auto s = body.find("started"); s != body.end() && s->is_number_integer()) year = s->get<int>();
  if (auto p = body.find("period"); p != body.end() && p->is_object() && p->value("from", "").size() >= 4)
    year = std::atoi(p->value("from", "").substr(0, 4).c_str());
  if (year) {
    f.terms.push_back(term(kYear, std::to_string(year)));
    f.values[kYearSlot] = Xapian::sortable_serialise(year);
  }
  std::string city_name = city ? city->name : origin_hex.substr(0, 12);
  f.values[kKeySlot] = key;
  f.values[kUpdatedSlot] = Xapian::sortable_serialise(static_cast<double>(h.ts)) + "\x1f" + key;
  f.values[kTitleSlot] = fold_text(body.value("title", "")) + "\x1f" + key;
  f.values[kFacetsSlot] = city_name + "\x1e" + themes_value + "\x1e" + commitments_value;
  std::sort(f.terms.begin(), f.terms.end());
  f.terms.erase(std::unique(f.terms.begin(), f.terms.end()), f.terms.end());
  return f;
}

namespace {
template <class Fn>
void each_part(std::string_view v, Fn&& fn) {
  size_t start = 0;
  while (start < v.size()) {
    size_t end = v.find('\x1f', start);
    if (end == std::string_view::npos) end = v.size();
    if (end > start) fn(v.substr(start, end - start));
    start = end + 1;
  }
}
}  // namespace

namespace {
// A facets value (kFacetsSlot) split into its city, themes and commitments; false when it
// is not one.
bool split_facets(std::string_view v, std::string_view& city, std::string_view& themes, std::string_view& commitments) {
  size_t a = v.find('\x1e'), b = a == std::string_view::npos ? a : v.find('\x1e', a + 1);
  if (b == std::string_view::npos) return false;
  city = v.substr(0, a);
  themes = v.substr(a + 1, b - a - 1);
  commitments = v.substr(b + 1);
  return true;
}
}  // namespace

std::map<std::string, std::map<std::string, uint64_t>> FacetCounter::facets() const {
  std::map<std::string, std::map<std::string, uint64_t>> out;
  auto& city = out["city"];
  auto& theme = out["theme"];
  auto& commitment = out["commitment"];
  for (const auto& [v, count] : joined_) {
    uint64_t n = count;  // a plain local: clang's lambdas cannot capture structured bindings
    std::string_view city_name, themes, commitments;
    if (!split_facets(v, city_name, themes, commitments)) continue;
    if (!city_name.empty()) city[std::string(city_name)] += n;
    each_part(themes, [&](std::string_view t) { theme[std::string(t)] += n; });
    each_part(commitments, [&](std::string_view c) { commitment[std::string(c)] += n; });
  }
  return out;
}

void count_stats(SearchStats& out, const std::string& key, const std::string& facets, const std::string& year) {
  std::string_view city, themes, commitments;
  split_facets(facets, city, themes, commitments);  // not one: counted without themes or commitments
  ++out.total;
  std::string origin = key.substr(0, key.find('/'));
  ++out.by_origin[origin];
  each_part(themes, [&](std::string_view t) { ++out.by_theme[std::string(t)]; });
  auto& row = out.coverage[origin];
  each_part(commitments, [&](std::string_view c) { ++row[std::string(c)]; });
  if (!year.empty()) ++out.by_year[static_cast<int>(Xapian::sortable_unserialise(year))];
}

FilterSpec filter_spec(const SearchFilter& f) {
  FilterSpec spec;
  auto filter_on = [&](std::string_view prefix, const std::string& value) {
    if (!value.empty()) spec.any_of.push_back({term(prefix, value)});
  };
  if (f.kind) filter_on(kKind, std::string(kind_name(*f.kind)));
  if (!f.origins.empty()) {
    std::vector<std::string> any;
    for (const auto& o : f.origins) any.push_back(term(kOrigin, o));
    spec.any_of.push_back(std::move(any));
  }
  filter_on(kCountry, fold_text(f.country));
  // A coalition region (its id, name or alias) matches the cities of that region, by
  // their profile's region or else their country; other text matches the profiles' region.
  if (auto region = region_named(f.region))
    filter_on(kCoalitionRegion, std::string(*region));
  else
    filter_on(kRegion, fold_text(f.region));
  filter_on(kTheme, f.theme);
  filter_on(kPrinciple, f.principle);
  filter_on(kLanguage, f.language);
  filter_on(kFramework, f.framework);
  if (!f.ref.empty()) filter_on(kCommitment, f.framework + ":" + f.ref);
  if (f.year_from || f.year_to)
    spec.ranges.push_back({kYearSlot, Xapian::sortable_serialise(f.year_from.value_or(0)),
                           Xapian::sortable_serialise(f.year_to.value_or(9999))});
  if (f.updated_since_ms)
    spec.ranges.push_back({kUpdatedSlot, Xapian::sortable_serialise(static_cast<double>(*f.updated_since_ms)), {}});
  return spec;
}

bool FilterSpec::matches(const RecordFacts& facts) const {
  for (const auto& any : any_of) {
    bool found = false;
    for (const auto& t : any) found = found || std::binary_search(facts.terms.begin(), facts.terms.end(), t);
    if (!found) return false;
  }
  for (const auto& r : ranges) {
    auto v = facts.values.find(r.slot);
    if (v == facts.values.end() || v->second.empty() || v->second < r.low) return false;
    if (r.high && v->second > *r.high) return false;
  }
  return true;
}

struct SearchIndex::Impl {
  Impl(DataDir& d, fs::path p) : dir(d), path(std::move(p)) {}
  DataDir& dir;
  fs::path path;
  std::optional<Xapian::WritableDatabase> writable;
  std::optional<Xapian::Database> readonly;

  const Xapian::Database& db() const { return writable ? *writable : *readonly; }

  Xapian::Document build(const storage::StoreReader& r, CityDirectory& cities, const PublicKey& origin,
                         std::string_view id, const Header& h, const json& body) {
    const CityProfile* city = cities.find(origin);
    std::string language = body.value("language", "");
    Xapian::Document doc;
    // Stems only (a language without a stemmer: the folded word as its own stem), split into
    // words exactly as queries are (word_views), each distinct stem added once with its count.
    WordStems& stems = stems_for(language);
    stems.trim();
    std::unordered_map<std::string_view, Xapian::termcount> counts;
    auto add_words = [&](const std::string& folded_text, Xapian::termcount weight) {
      for (std::string_view word : word_views(folded_text))
        if (word.size() <= kMaxWordBytes) counts[stems.of(word)] += weight;
    };
    std::string title = fold_text(body.value("title", ""));
    add_words(title, 3);
    std::string text;
    append_text(text, body.value("summary", json()));
    append_text(text, body.value("body", json()));
    for (const auto& p : body.value("partners", json::array())) append_text(text, p);
    for (const auto& o : body.value("outcomes", json::array()))
      if (o.is_object()) append_text(text, o.value("indicator", json()));
    for (const auto& item : body.value("items", json::array()))  // plans
      if (item.is_object()) append_text(text, item.value("action", json()));
    std::string folded = fold_text(text);
    add_words(folded, 1);
    std::string place = city ? fold_text(city->name + " " + city->country + " " + city->region) : "";
    add_words(place, 1);
    // Its public translations: the record is found in their languages too, each stemmed by
    // its own language's stemmer.
    auto latest_version = r.latest(origin, std::string(id));
    for (const auto& t :
         current_translations(r, origin, std::string(id), latest_version ? latest_version->version : h.version,
                              [](const Header& th) { return is_public(th); })) {
      auto rec = storage::read_record(r, t.local);
      auto translated = rec ? rec->body_json() : std::nullopt;
      if (!translated) continue;
      WordStems& translated_stems = stems_for(t.language);  // not trimmed here: counts holds views into it
      std::string translated_title = fold_text(translated->value("title", ""));  // the views below point into it
      for (std::string_view word : word_views(translated_title))
        if (word.size() <= kMaxWordBytes) counts[translated_stems.of(word)] += 3;
      std::string translated_text;
      append_text(translated_text, translated->value("summary", json()));
      append_text(translated_text, translated->value("body", json()));
      for (const auto& o : translated->value("outcomes", json::array())) append_text(translated_text, o);
      for (const auto& item : translated->value("items", json::array()))
        if (item.is_object()) append_text(translated_text, item.value("action", json()));
      std::string folded_translation = fold_text(translated_text);
      for (std::string_view word : word_views(folded_translation))
        if (word.size() <= kMaxWordBytes) counts[translated_stems.of(word)] += 1;
      doc.add_boolean_term(term(kTranslatedInto, t.language));
    }
    for (const auto& [stem, n] : counts) doc.add_term(std::string(stem), n);

    RecordFacts facts = record_facts(node_id(origin), id, h, body, city);
    for (const auto& t : facts.terms) doc.add_boolean_term(t);
    for (const auto& [slot, value] : facts.values) doc.add_value(slot, value);
    auto latest = r.latest(origin, id);
    doc.set_data(std::to_string(latest ? latest->local : 0));
    return doc;
  }

  // What indexing one record comes to: its document, or its removal (gone, retracted, not
  // public, not a practice or plan), or nothing (its body is not readable here).
  struct Change {
    std::string key_term;
    enum { replace, remove, none } action = none;
    Xapian::Document doc;
  };

  Change prepare(const storage::StoreReader& r, CityDirectory& cities, const PublicKey& origin, const std::string& id) {
    Change c;
    c.key_term = term(kRecordKey, record_key(node_id(origin), id));
    auto latest = r.latest(origin, id);
    if (!latest || latest->tombstone || !latest->is_public ||
        (latest->kind != Kind::practice && latest->kind != Kind::plan)) {
      c.action = Change::remove;
      return c;
    }
    auto rec = storage::read_record(r, latest->local);
    if (!rec) return c;
    auto body = rec->body_json();
    if (!body) return c;
    c.doc = build(r, cities, origin, id, rec->header, *body);
    c.action = Change::replace;
    return c;
  }

  void apply(const Change& c) {
    if (c.action == Change::replace) writable->replace_document(c.key_term, c.doc);
    if (c.action == Change::remove) writable->delete_document(c.key_term);
  }

  // Indexes the latest version of each record (or removes it). Reading, parsing and
  // building the documents costs about what Xapian's writing of them does, so with many
  // records a helper thread builds while this one writes.
  void refresh_all(const std::vector<std::pair<PublicKey, std::string>>& records);

  std::unique_ptr<JobThread> builder;  // the helper, started with the first large step
};

namespace {

// Built changes handed from the builder to the writing thread; bounded, so a slow writer
// holds the builder back instead of letting documents pile up in memory.
template <class Change>
class ChangeQueue {
 public:
  explicit ChangeQueue(unsigned producers) : open_(producers) {}
  bool push(Change c) {  // false once the reader has given up
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return items_.size() < kDepth || abandoned_; });
    if (abandoned_ || error_) return false;
    items_.push_back(std::move(c));
    ready_.notify_all();
    return true;
  }
  void close(std::exception_ptr error = nullptr) {  // once by each producer
    std::lock_guard lock(mutex_);
    if (--open_ == 0) closed_ = true;
    if (error && !error_) error_ = error;
    ready_.notify_all();
  }
  std::optional<Change> pop() {  // nullopt at the end; rethrows the builder's error
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty() || error_) {
      if (error_) std::rethrow_exception(error_);
      return std::nullopt;
    }
    Change c = std::move(items_.front());
    items_.pop_front();
    space_.notify_all();
    return c;
  }
  void abandon() {  // the reader stops (it failed): the builder's pushes return false
    std::lock_guard lock(mutex_);
    abandoned_ = true;
    space_.notify_all();
  }
  void wait_closed() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return closed_; });
  }

 private:
  static constexpr size_t kDepth = 128;
  std::mutex mutex_;
  std::condition_variable space_, ready_;
  std::deque<Change> items_;
  unsigned open_;  // producers still running
  bool closed_ = false, abandoned_ = false;
  std::exception_ptr error_;
};

// Below this many records a step builds and writes on one thread.
constexpr size_t kParallelFrom = 256;

}  // namespace

void SearchIndex::Impl::refresh_all(const std::vector<std::pair<PublicKey, std::string>>& records) {
  if (records.size() < kParallelFrom) {
    dir.store().read([&](const storage::StoreReader& r) {
      CityDirectory cities(r);
      for (const auto& [origin, id] : records) apply(prepare(r, cities, origin, id));
      return 0;
    });
    return;
  }
  // Derived work, like this thread: background priority. Each helper builds every other record.
  constexpr unsigned kBuilders = 2;
  if (!builder) builder = std::make_unique<JobThread>("agora-index-2", kBuilders, JobThread::Priority::background);
  ChangeQueue<Change> queue(kBuilders);
  for (unsigned part = 0; part < kBuilders; ++part)
    builder->submit([&, part] {
      try {
        dir.store().read([&](const storage::StoreReader& r) {
          CityDirectory cities(r);
          for (size_t i = part; i < records.size(); i += kBuilders)
            if (!queue.push(prepare(r, cities, records[i].first, records[i].second))) break;
          return 0;
        });
        queue.close();
      } catch (...) {
        queue.close(std::current_exception());
      }
    });
  try {
    while (auto change = queue.pop()) apply(*change);
  } catch (...) {
    queue.abandon();
    queue.wait_closed();  // the builder no longer touches `records` or `queue`
    throw;
  }
}

SearchIndex::SearchIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchIndex::~SearchIndex() = default;

std::unique_ptr<SearchIndex> SearchIndex::open_writable(DataDir& dir) {
  try {
    return open_writable_unguarded(dir);
  } catch (const Xapian::Error& e) {
    throw std::runtime_error("search index " + (dir.path() / "search").string() + ": " + e.get_description());
  }
}

std::unique_ptr<SearchIndex> SearchIndex::open_writable_unguarded(DataDir& dir) {
  auto impl = std::make_unique<Impl>(Impl(dir, dir.path() / "search"));
  try {
    impl->writable.emplace(impl->path.string(), Xapian::DB_CREATE_OR_OPEN);
  } catch (const Xapian::DatabaseLockError&) {
    throw std::runtime_error("the search index in " + impl->path.string() +
                             " is being written by another process (a running `agora serve`)");
  } catch (const Xapian::Error& e) {  // unreadable: a derived index is rebuilt, never repaired
    spdlog::warn("search index {} unreadable ({}): rebuilding", impl->path.string(), e.get_msg());
    fs::remove_all(impl->path);
    impl->writable.emplace(impl->path.string(), Xapian::DB_CREATE_OR_OPEN);
  }
  uint64_t last_local = dir.store().read([](const storage::StoreReader& r) { return r.last_local(); });
  auto& db = *impl->writable;
  std::string position = db.get_metadata("position");
  bool foreign = db.get_metadata("format") != kFormat || db.get_metadata("node") != node_id(dir.id()) ||
                 (!position.empty() && std::stoull(position) > last_local);
  if (foreign && db.get_doccount() + db.get_metadata("format").size() > 0) {
    spdlog::info("search index {}: of another format or store, rebuilding", impl->path.string());
    impl->writable.reset();
    fs::remove_all(impl->path);
    impl->writable.emplace(impl->path.string(), Xapian::DB_CREATE_OR_OPEN);
  }
  impl->writable->set_metadata("format", kFormat);
  impl->writable->set_metadata("node", node_id(dir.id()));
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(impl)));
}

void SearchIndex::compact_files(const fs::path& index_dir) {
  fs::path copy = index_dir.string() + ".compact", old = index_dir.string() + ".old";
  fs::remove_all(copy);
  fs::remove_all(old);
  try {
    Xapian::Database(index_dir.string()).compact(copy.string());
  } catch (const Xapian::Error& e) {
    fs::remove_all(copy);
    throw std::runtime_error("search index " + index_dir.string() + ": " + e.get_description());
  }
  // Between the two renames there is no index: a node started then rebuilds it.
  fs::rename(index_dir, old);
  fs::rename(copy, index_dir);
  fs::remove_all(old);
}

std::unique_ptr<SearchIndex> SearchIndex::open_readonly(DataDir& dir) {
  fs::path path = dir.path() / "search";
  if (!fs::exists(path)) return nullptr;
  auto impl = std::make_unique<Impl>(Impl(dir, path));
  try {
    impl->readonly.emplace(path.string());
  } catch (const Xapian::Error&) {
    return nullptr;
  }
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(impl)));
}

template <class Fn>
auto SearchIndex::reading(Fn&& fn) const {
  for (int attempt = 0;; ++attempt) {
    try {
      return fn(impl_->db());
    } catch (const Xapian::DatabaseModifiedError& e) {
      // The writer committed twice while this reader read an older revision.
      if (attempt == 2 || !impl_->readonly)
        throw std::runtime_error("search index " + impl_->path.string() + ": " + e.get_description());
      impl_->readonly->reopen();
    } catch (const Xapian::Error& e) {
      throw std::runtime_error("search index " + impl_->path.string() + ": " + e.get_description());
    }
  }
}

uint64_t SearchIndex::position() const {
  std::string p = reading([](const Xapian::Database& db) { return db.get_metadata("position"); });
  return p.empty() ? 0 : std::stoull(p);
}

// Xapian's errors are not std::exceptions: callers (the node's index thread) get one.
size_t SearchIndex::catch_up() {
  size_t changed = 0;
  for (;;) {
    Step step = catch_up_step(10000);
    changed += step.changed;
    if (!step.more) return changed;
  }
}

SearchIndex::Step SearchIndex::catch_up_step(size_t max_entries) {
  try {
    return catch_up_step_unguarded(max_entries);
  } catch (const Xapian::Error& e) {
    throw std::runtime_error("search index " + impl_->path.string() + ": " + e.get_description());
  }
}

bool SearchIndex::complete() const {
  return reading([](const Xapian::Database& db) { return db.get_metadata("built"); }) == "1";
}

SearchIndex::Step SearchIndex::catch_up_step_unguarded(size_t max_entries) {
  if (!impl_->writable) throw std::logic_error("catch_up on a read-only search index");
  uint64_t from = position();
  Step step;
  bool wrote = false;
  std::vector<std::pair<PublicKey, std::string>> records;
  auto complete_unguarded = [&] { return impl_->writable->get_metadata("built") == "1"; };
  impl_->dir.store().read([&](const storage::StoreReader& r) {
    // Sorted, so that one origin's records are indexed together (its city looked up once).
    std::set<std::pair<PublicKey, std::string>> touched;
    std::set<PublicKey> new_profiles;
    std::set<PublicKey> recovered;
    uint64_t last = from;
    size_t seen = 0;
    r.scan_log(from + 1, [&](const storage::StoredRecordView& view) {
      if (seen == max_entries) {
        step.more = true;
        return false;
      }
      ++seen;
      last = view.local;
      auto h = decode_header(view.header_bytes);
      if (!h) return true;
      // A changed profile (not an origin's first: nothing of it can precede that in the
      // log) renames the city on all its records.
      if (h.value().kind == Kind::city && h.value().seq > 1)
        new_profiles.insert(h.value().origin);
      else if (h.value().kind == Kind::practice || h.value().kind == Kind::plan)
        touched.insert({h.value().origin, h.value().id});
      else if (h.value().kind == Kind::translation) {
        // Its source is found by the translation's words too; a retracted or erased
        // translation no longer: the source named by any version of it is indexed again.
        for (uint64_t local : r.history(h.value().origin, h.value().id)) {
          auto version = r.at(local);
          if (!version || version->is_stub()) continue;
          auto body = version->load().body;
          if (auto of = body ? read_translation_of(*body) : std::nullopt) touched.insert({of->origin, of->id});
        }
      } else if (h.value().kind == Kind::erasure && !view.is_stub()) {
        // Its record's text is gone from the store: from the index too.
        if (auto e = read_erasure(*view.load().body)) touched.insert({h.value().origin, e->target});
      } else if (h.value().kind == Kind::key && h.value().key &&
                 r.grant(h.value().origin, *h.value().key).value_or(KeyGrant{}).role == KeyRole::recovery)
        // A recovery set a branch of the chain aside: every record of the city may change.
        recovered.insert(h.value().origin);
      else if (h.value().kind == Kind::key && !view.is_stub())
        // A compromised key's revocation withdrew versions: their records change.
        if (auto g = read_key_grant(*view.load().body, h.value().seq); g && g->revoked && g->compromised_since)
          for (const auto& [local, id] : r.signed_by(h.value().origin, g->key, g->compromised_since, h.value().seq))
            touched.insert({h.value().origin, id});
      return true;
    });
    for (const auto& origin : recovered) {
      new_profiles.insert(origin);  // what is current now, and below what was indexed and may be gone
      std::string prefix = term(kRecordKey, node_id(origin) + "/");
      for (auto t = impl_->writable->allterms_begin(prefix); t != impl_->writable->allterms_end(prefix); ++t)
        touched.insert({origin, (*t).substr(prefix.size())});
    }
    for (const auto& origin : new_profiles) {
      for (Kind kind : {Kind::practice, Kind::plan}) {
        storage::ListQuery q;
        q.kind = kind;
        q.origin = origin;
        r.list(q, [&](const PublicKey& o, std::string_view id, const storage::LatestEntry&) {
          touched.insert({o, std::string(id)});
          return true;
        });
      }
    }
    records.assign(touched.begin(), touched.end());
    step.changed = records.size();
    step.position = last;
    wrote = last != from || !complete_unguarded();  // else nothing new: no revision to write
    return 0;
  });
  impl_->refresh_all(records);
  if (wrote) {  // the position only after the documents: a failed step is done again
    impl_->writable->set_metadata("position", std::to_string(step.position));
    if (!step.more) impl_->writable->set_metadata("built", "1");
    impl_->writable->commit();
  }
  step.wrote = wrote;
  return step;
}

void SearchIndex::reopen() {
  // Found by the disk-full test: a reopen while the writer failed mid-commit threw a Xapian
  // error past the node's handlers (they catch std::exception) and ended the node.
  try {
    if (impl_->readonly) impl_->readonly->reopen();
  } catch (const Xapian::Error& e) {
    throw std::runtime_error("search index " + impl_->path.string() + ": " + e.get_description());
  }
}

namespace {

// Filter terms of a query: every one must match (the same rules FilterSpec::matches applies).
std::vector<Xapian::Query> filter_queries(const SearchFilter& f) {
  std::vector<Xapian::Query> filters;
  FilterSpec spec = filter_spec(f);
  for (const auto& any : spec.any_of) {
    if (any.size() == 1) {
      filters.emplace_back(any.front());
    } else {
      std::vector<Xapian::Query> terms(any.begin(), any.end());
      filters.emplace_back(Xapian::Query::OP_OR, terms.begin(), terms.end());
    }
  }
  for (const auto& r : spec.ranges) {
    if (r.high)
      filters.emplace_back(Xapian::Query::OP_VALUE_RANGE, r.slot, r.low, *r.high);
    else
      filters.emplace_back(Xapian::Query::OP_VALUE_GE, r.slot, r.low);
  }
  return filters;
}

// The themes' search words (protocol/theme_names.hpp) by their folded form and by their
// stem in their own language: what a query word is looked up as.
const std::unordered_map<std::string, std::vector<const ThemeName*>>& theme_words() {
  static const auto by_form = [] {
    std::unordered_map<std::string, std::vector<const ThemeName*>> m;
    for (const auto& w : theme_search_words()) {
      std::string folded = fold_text(w.name);
      std::set<std::string> forms{folded, stemmer_for(std::string(w.language))(folded)};
      for (const auto& f : forms) m[f].push_back(&w);
    }
    return m;
  }();
  return by_form;
}

// The query's words as typed: runs of letters, digits, marks and unspaced scripts, with no
// n-gram split (a theme word is looked up whole: "种族主义").
std::vector<std::string_view> query_segments(std::string_view folded) {
  std::vector<std::string_view> out;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i <= folded.size();) {
    size_t at = i;
    bool in_word = false;
    if (i < folded.size()) {
      auto u = static_cast<unsigned char>(folded[i]);
      if (u < 0x80) {
        in_word = std::isalnum(u);
        ++i;
      } else {
        in_word = word_char(next_code_point(folded, i)) != WordChar::separator;
      }
    } else {
      ++i;
    }
    if (in_word && start == std::string_view::npos) start = at;
    if (!in_word && start != std::string_view::npos) {
      out.push_back(folded.substr(start, at - start));
      start = std::string_view::npos;
    }
  }
  return out;
}

// One language for each stemmer that stemmed an indexed text: the records' languages and
// their translations'. A query word is looked up as each of these stems it; a stem no
// indexed text can hold would only cost the query a lookup (a seek over two short prefixes,
// against up to 24 more terms per word).
std::vector<std::string> indexed_stemmers(const Xapian::Database& db) {
  std::vector<std::string> out;
  std::set<std::string_view> stemmers;
  for (std::string_view prefix : {kLanguage, kTranslatedInto}) {
    std::string p(prefix);
    for (auto t = db.allterms_begin(p); t != db.allterms_end(p); ++t) {
      std::string tag = (*t).substr(p.size());
      const Language* l = find_language(primary_language(tag));
      if (l && !l->stemmer.empty() && stemmers.insert(l->stemmer).second) out.emplace_back(l->code);
    }
  }
  return out;
}

// A query word's terms (itself and its stem in each indexed language) and its stems in
// every language (looked up among the themes' words).
struct WordExpansion {
  std::vector<std::string> variants, stems;
};

// Stemming a word 24 ways costs more than the rest of a short query: each search thread
// keeps what its recent words came to (for one set of indexed languages; a few MiB at most).
const WordExpansion& expand_word(const std::string& word, const std::vector<std::string>& indexed) {
  thread_local std::vector<std::string> cached_for;
  thread_local std::unordered_map<std::string, WordExpansion> cache;
  if (cached_for != indexed || cache.size() >= 20000) {
    cache.clear();
    cached_for = indexed;
  }
  auto [it, fresh] = cache.try_emplace(word);
  if (fresh) {
    std::set<std::string> variants{term(kStem, word)};  // as a record without a stemmer holds it
    for (const auto& code : indexed) variants.insert(term(kStem, stemmer_for(code)(word)));
    std::set<std::string> stems;
    for (const auto& code : stemmed_languages()) stems.insert(stemmer_for(code)(word));
    it->second.variants.assign(variants.begin(), variants.end());
    it->second.stems.assign(stems.begin(), stems.end());
  }
  return it->second;
}

// The free-text part: every word, as itself or its stem in any indexed language (the
// query's language is unknown), or a theme named by it. MatchAll without words.
Xapian::Query text_query(const Xapian::Database& db, const std::string& text, std::vector<std::string>& words,
                         std::vector<ThemeWordMatch>* interpreted = nullptr) {
  std::string folded = fold_text(text);
  words = words_of(folded);
  // A fresh match-all query: copying the shared Xapian::Query::MatchAll bumps a reference
  // count that is not atomic, a data race between search threads (found by TSan).
  if (words.empty()) return Xapian::Query(std::string());
  std::vector<Xapian::Query> all;
  std::vector<std::string> indexed = indexed_stemmers(db);
  for (std::string_view segment : query_segments(folded)) {
    std::vector<Xapian::Query> parts;
    std::set<std::string> forms{std::string(segment)};
    for (std::string_view w : word_views(segment, /*query=*/true)) {
      const WordExpansion& expanded = expand_word(std::string(w), indexed);
      if (w.size() == segment.size())  // a theme's word in any interface language, stemmed
        forms.insert(expanded.stems.begin(), expanded.stems.end());
      parts.emplace_back(Xapian::Query::OP_SYNONYM, expanded.variants.begin(), expanded.variants.end());
    }
    if (parts.empty()) continue;
    Xapian::Query words_of_segment =
        parts.size() == 1 ? parts.front() : Xapian::Query(Xapian::Query::OP_AND, parts.begin(), parts.end());
    // A theme's word in any interface language also finds the records tagged with it.
    std::set<std::string_view> themes;
    std::vector<std::string> lookups{std::string(segment)};  // the word as typed first: its language is the one named
    for (const auto& f : forms)
      if (f != segment) lookups.push_back(f);
    for (const auto& f : lookups)
      if (auto found = theme_words().find(f); found != theme_words().end())
        for (const ThemeName* t : found->second)
          if (themes.insert(t->theme).second && interpreted)
            interpreted->push_back({std::string(segment), std::string(t->theme), std::string(t->language)});
    if (themes.empty()) {
      all.push_back(words_of_segment);
      continue;
    }
    std::vector<Xapian::Query> any{words_of_segment};
    for (auto theme : themes) any.emplace_back(term(kTheme, std::string(theme)));
    all.emplace_back(Xapian::Query::OP_OR, any.begin(), any.end());
  }
  if (all.empty()) return Xapian::Query(std::string());
  return all.size() == 1 ? all.front() : Xapian::Query(Xapian::Query::OP_AND, all.begin(), all.end());
}

Xapian::Query filtered(const Xapian::Query& text, const std::vector<Xapian::Query>& filters,
                       const std::vector<std::string>& excluded = {}) {
  Xapian::Query q = filters.empty()
                        ? text
                        : Xapian::Query(Xapian::Query::OP_FILTER, text,
                                        Xapian::Query(Xapian::Query::OP_AND, filters.begin(), filters.end()));
  if (excluded.empty()) return q;
  std::vector<Xapian::Query> keys;
  for (const auto& k : excluded) keys.emplace_back(term(kRecordKey, k));
  return Xapian::Query(Xapian::Query::OP_AND_NOT, q, Xapian::Query(Xapian::Query::OP_OR, keys.begin(), keys.end()));
}

// Counts for /stats over every match: by theme, year, origin, and origin x commitment.
class StatsSpy : public Xapian::MatchSpy {
 public:
  explicit StatsSpy(SearchStats& out) : out_(out) {}
  void operator()(const Xapian::Document& doc, double) override {
    count_stats(out_, doc.get_value(kKeySlot), doc.get_value(kFacetsSlot), doc.get_value(kYearSlot));
  }

 private:
  SearchStats& out_;
};

SearchStats stats_in(const Xapian::Database& db, const SearchQuery& q) {
  SearchStats out;
  std::vector<std::string> words;
  Xapian::Enquire enquire(db);
  enquire.set_query(filtered(text_query(db, q.text, words), filter_queries(q.filter), q.filter.excluded));
  enquire.set_weighting_scheme(Xapian::BoolWeight());
  StatsSpy spy(out);
  enquire.add_matchspy(&spy);
  enquire.get_mset(0, 0, db.get_doccount());
  return out;
}

// shared_tables: db is a reader's (of a committed revision), whose derived tables are shared.
SearchResult search_in(const Xapian::Database& db, const SearchQuery& q, bool shared_tables) {
  SearchResult out;
  std::vector<Xapian::Query> filters = filter_queries(q.filter);
  std::vector<std::string> words;
  Xapian::Query query_text = text_query(db, q.text, words, &out.interpreted);
  out.terms = words;
  bool ranked_order = !words.empty() && q.sort == SearchQuery::Sort::relevance;
  Xapian::valueno order_slot = q.sort == SearchQuery::Sort::updated ? kUpdatedSlot
                               : q.sort == SearchQuery::Sort::title ? kTitleSlot
                                                                    : kKeySlot;
  bool descending = q.sort == SearchQuery::Sort::updated;
  // `total` and the facets count every match of the filter, whatever page this is: a
  // cursor page counts them on the query without its cursor bound.
  Xapian::Query whole = filtered(query_text, filters, q.filter.excluded);
  bool cursor_page = !ranked_order && !q.after.empty();
  if (cursor_page) {
    if (descending)  // inclusive; the hit equal to `after` is skipped below
      filters.emplace_back(Xapian::Query::OP_VALUE_LE, order_slot, q.after);
    else
      filters.emplace_back(Xapian::Query::OP_VALUE_GE, order_slot, q.after + std::string(1, '\0'));
  }
  Xapian::Query query = filtered(query_text, filters, q.filter.excluded);
  Xapian::doccount every = db.get_doccount();  // as check_at_least: counts are exact

  std::unique_ptr<KeyRank> key_rank;  // declared first: outlives the enquire that uses it
  Xapian::Enquire enquire(db);
  enquire.set_query(query);
  bool ranked = !words.empty() && q.sort == SearchQuery::Sort::relevance;
  if (!ranked) enquire.set_weighting_scheme(Xapian::BoolWeight());
  switch (q.sort) {
    case SearchQuery::Sort::relevance:
      if (!ranked) {
        if (auto order =
                shared_tables && !cursor_page && KeyOrder::worth_it(db) ? revision_table<KeyOrder>(db) : nullptr) {
          key_rank = std::make_unique<KeyRank>(std::move(order));
          enquire.set_sort_by_key(key_rank.get(), false);
        } else {
          enquire.set_sort_by_value(kKeySlot, false);
        }
      }
      break;
    case SearchQuery::Sort::updated:
      enquire.set_sort_by_value(kUpdatedSlot, true);
      break;
    case SearchQuery::Sort::title:
      enquire.set_sort_by_value(kTitleSlot, false);
      break;
  }
  FacetSpy facets(q.facets && shared_tables ? revision_table<FacetTable>(db) : nullptr);
  if (q.facets && !cursor_page) enquire.add_matchspy(&facets);
  bool skip_first = cursor_page && descending;
  // Ranked: Xapian may stop once the top of the order is settled and the bound counted.
  Xapian::doccount check_at_least = every;
  if (ranked && q.count_bound > 0)
    check_at_least = std::min<Xapian::doccount>(
        every, std::max<Xapian::doccount>(q.count_bound, static_cast<Xapian::doccount>(q.offset + q.limit)));
  Xapian::MSet mset =
      enquire.get_mset(static_cast<Xapian::doccount>(q.offset), static_cast<Xapian::doccount>(q.limit + skip_first),
                       cursor_page ? 0 : check_at_least);
  if (cursor_page) {
    Xapian::Enquire count(db);
    count.set_query(whole);
    count.set_weighting_scheme(Xapian::BoolWeight());
    if (q.facets) count.add_matchspy(&facets);
    out.total = count.get_mset(0, 0, every).get_matches_estimated();
  } else {
    out.total = mset.get_matches_estimated();
    out.estimated = mset.get_matches_lower_bound() != mset.get_matches_upper_bound();
  }
  for (auto it = mset.begin(); it != mset.end(); ++it) {
    Xapian::Document doc = it.get_document();
    std::string sort_value = doc.get_value(order_slot);
    if (skip_first && sort_value == q.after) continue;
    if (out.hits.size() == q.limit) break;
    std::string key = doc.get_value(kKeySlot);
    auto slash = key.find('/');
    SearchHit hit;
    hit.origin = key.substr(0, slash);
    hit.id = key.substr(slash + 1);
    hit.local = std::stoull(doc.get_data());
    hit.score = ranked ? it.get_weight() : 0;
    hit.sort_value = std::move(sort_value);
    out.hits.push_back(std::move(hit));
  }
  if (q.facets) {
    out.facets = facets.facets();
    // An estimate: the counts among the matches seen, scaled to the estimated total.
    if (out.estimated && facets.seen() > 0 && facets.seen() < out.total) {
      double scale = static_cast<double>(out.total) / static_cast<double>(facets.seen());
      for (auto& [facet, counts] : out.facets)
        for (auto& [value, n] : counts) n = std::max<uint64_t>(1, std::llround(static_cast<double>(n) * scale));
    }
  }
  return out;
}

}  // namespace

SearchStats SearchIndex::stats(const SearchQuery& q) const {
  return reading([&](const Xapian::Database& db) { return stats_in(db, q); });
}

SearchResult SearchIndex::search(const SearchQuery& q) const {
  bool shared_tables = impl_->readonly.has_value();
  return reading([&](const Xapian::Database& db) { return search_in(db, q, shared_tables); });
}

std::string snippet(std::string_view text, const std::vector<std::string>& folded_terms, const std::string& language,
                    size_t max_chars) {
  const Xapian::Stem& stem = stemmer_for(language);
  std::set<std::string> wanted(folded_terms.begin(), folded_terms.end());
  std::set<std::string> wanted_stems;
  for (const auto& t : folded_terms) wanted_stems.insert(stem(t));
  // Stemming every word of a summary is the costly part of a snippet. Snowball keeps the
  // first two letters of a word, so only words starting like a wanted stem are stemmed.
  std::set<std::string> stem_starts;
  for (const auto& st : wanted_stems) stem_starts.insert(st.substr(0, 2));
  // Arabic and Indonesian stems drop prefixes: every word is stemmed.
  const bool prefixes = primary_language(language) == "ar" || primary_language(language) == "id";
  // Words of the original text with their byte spans.
  struct Word {
    size_t begin, end;
    bool hit;
  };
  std::vector<Word> words;
  size_t i = 0;
  while (i < text.size()) {
    auto u = static_cast<unsigned char>(text[i]);
    if (std::isalnum(u) || u >= 0x80) {
      size_t j = i;
      while (j < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[j])) || static_cast<unsigned char>(text[j]) >= 0x80))
        ++j;
      std::string_view word = text.substr(i, j - i);
      std::string folded;
      if (std::all_of(word.begin(), word.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
        folded.resize(word.size());  // ASCII letters and digits: folding is lowercasing
        std::transform(word.begin(), word.end(), folded.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
      } else {
        folded = fold_text(word);
      }
      bool hit = wanted.count(folded) ||
                 ((prefixes || stem_starts.count(folded.substr(0, 2))) && wanted_stems.count(stem(folded)));
      words.push_back({i, j, hit});
      i = j;
    } else {
      ++i;
    }
  }
  size_t first_hit = text.size();
  for (const auto& w : words)
    if (w.hit) {
      first_hit = w.begin;
      break;
    }
  size_t start = first_hit == text.size() || first_hit < max_chars / 3 ? 0 : first_hit - max_chars / 3;
  while (start > 0 && start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  size_t end = std::min(text.size(), start + max_chars);
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  std::string out = start > 0 ? "…" : "";
  size_t pos = start;
  for (const auto& w : words) {
    if (w.end <= start || w.begin >= end) continue;
    if (!w.hit) continue;
    size_t b = std::max(w.begin, start), e = std::min(w.end, end);
    out += escape_markup(text.substr(pos, b - pos)) + "<mark>" + escape_markup(text.substr(b, e - b)) + "</mark>";
    pos = e;
  }
  out += escape_markup(text.substr(pos, end - pos));
  if (end < text.size()) out += "…";
  return out;
}

}  // namespace agora
