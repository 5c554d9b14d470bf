// Size limits of records and their fields (documented in docs/data-model.md).
#pragma once

#include <cstddef>

namespace agora::limits {

inline constexpr size_t kMaxIdLength = 80;                // record ids, ASCII
inline constexpr size_t kMaxHeaderBytes = 1024;           // signed header JSON
inline constexpr size_t kMaxBodyBytes = 256 * 1024;       // canonical body JSON
inline constexpr size_t kMaxInputLineBytes = 512 * 1024;  // one input record (NDJSON line or file)
inline constexpr size_t kMaxTitleChars = 300;
inline constexpr size_t kMaxSummaryChars = 8000;
inline constexpr size_t kMaxMarkdownBytes = 128 * 1024;  // practice "body"
inline constexpr size_t kMaxShortTextChars = 500;        // partner names, contact, indicator names
inline constexpr size_t kMaxKeyNameChars = 100;          // a delegated key's name ("Ana, laptop")
inline constexpr size_t kMaxUrlChars = 2000;
inline constexpr size_t kMaxErasedVersions = 1000;  // versions one erasure names
inline constexpr size_t kMaxCoalitionAdmins = 32;   // members a coalition lead names to moderate with it
inline constexpr size_t kMaxListItems = 100;        // partners, outcomes, links, items
// Lists of vocabulary values: fixed numbers, not the vocabulary's size today, so that a
// record of a later release with more values defined still passes an earlier node.
inline constexpr size_t kMaxThemes = 32;  // themes, topics, principles
inline constexpr size_t kMaxLanguages = 100;
inline constexpr size_t kMaxNameChars = 200;  // city, coalition, framework names
inline constexpr int kMinYear = 1900;
inline constexpr int kMaxYear = 2100;

}  // namespace agora::limits
