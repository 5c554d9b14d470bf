// The search index's schema: term prefixes and value slots, shared by the indexer and the
// query side. Changing one means bumping the index format (search_index.cpp, kFormat).
#pragma once

#include <xapian.h>

#include <string_view>

namespace agora::index_schema {

// Boolean filter terms: prefix + value.
inline constexpr std::string_view kRecordKey = "Q";         // ORIGIN/ID: one document per record
inline constexpr std::string_view kKind = "K";              // practice, plan
inline constexpr std::string_view kOrigin = "XO";           // origin node id (hex)
inline constexpr std::string_view kCountry = "XN";          // folded country name
inline constexpr std::string_view kRegion = "XR";           // folded region name
inline constexpr std::string_view kCoalitionRegion = "XG";  // coalition region id (protocol/regions.hpp)
inline constexpr std::string_view kLanguage = "XL";         // language code
inline constexpr std::string_view kTheme = "XT";            // theme
inline constexpr std::string_view kPrinciple = "XP";        // principle
inline constexpr std::string_view kFramework = "XF";        // framework a record commits to
inline constexpr std::string_view kCommitment = "XE";       // "framework:ref"
inline constexpr std::string_view kYear = "XY";             // start year
inline constexpr std::string_view kTranslatedInto = "XI";   // language of a public translation
// Free text: the stem of each word in its record's language (TermGenerator::STEM_ALL_Z;
// the folded word itself where the language has no stemmer).
inline constexpr std::string_view kStem = "Z";

inline std::string term(std::string_view prefix, std::string_view value) {
  std::string t(prefix);
  t += value;
  return t;
}

// Value slots.
enum Slot : Xapian::valueno {
  kKeySlot = 0,      // "ORIGIN/ID": the stable default order and its cursor
  kUpdatedSlot = 1,  // sortable ts, then the key: newest first, unique
  kTitleSlot = 2,    // folded title, then the key
  // 3-5: no longer used (format 7 keeps city, themes and commitments in kFacetsSlot only)
  kYearSlot = 6,    // sortable year
  kFacetsSlot = 7,  // city \x1e themes \x1f… \x1e "framework:ref" \x1f…: the facets in one read
};

}  // namespace agora::index_schema
