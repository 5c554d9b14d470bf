// Translations: a city's signed rendering of one version of a practice or plan (its own or
// another city's) in another language. No I/O. docs/data-model.md, "Translations".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/record.hpp"

namespace agora {

struct TranslationOf {
  PublicKey origin{};    // the source record's city
  std::string id;        // the source record's id
  uint32_t version = 0;  // the source version translated
  std::string language;  // the translation's language tag
};

// "ORIGIN/ID" (the city's 64-hex node id, '/', a record id) as the origin and the id;
// nullopt for anything else.
std::optional<std::pair<PublicKey, std::string>> parse_translation_source(std::string_view of);
// The fields of a translation body that point at its source: "of" ("ORIGIN/ID"),
// "of_version" and "language"; nullopt when the body has no valid pointer.
std::optional<TranslationOf> read_translation_of(std::string_view body);
// A translation's record id: "translation-" and the first 16 hex digits of
// SHA-256(ORIGIN "/" ID "/" LANGUAGE), so that one city's translation of one record into one
// language is one record whose versions follow the source's.
std::string translation_id(const PublicKey& origin, std::string_view id, std::string_view language);

}  // namespace agora
