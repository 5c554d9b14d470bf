// The languages records are written in: every ISO 639-1 code, as a BCP 47 tag with an
// optional script and region (`pt-BR`, `zh-Hant`), with the English name, the Xapian
// stemmer and the writing direction of each (docs/data-model.md, "Languages").
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace agora {

struct Language {
  std::string_view code;     // ISO 639-1, two lowercase letters
  std::string_view name;     // English name
  std::string_view stemmer;  // Xapian's stemmer for it; empty: words are indexed as written
};

// Every ISO 639-1 code (183), in code order.
std::span<const Language> languages();
const Language* find_language(std::string_view code);

// The canonical form of a language tag: `language[-Script][-REGION]`, where language is an
// ISO 639-1 code, Script four letters (ISO 15924) and REGION two letters (ISO 3166-1) or
// three digits (UN M49). Case is not significant on input ("PT-br" gives "pt-BR");
// nullopt for anything else.
std::optional<std::string> canonical_language_tag(std::string_view tag);

// The ISO 639-1 code a tag starts with ("pt" for "pt-BR"); the tag itself when it has no '-'.
std::string_view primary_language(std::string_view tag);

// What the user probably meant by a tag that is not one: the code of an English language
// name ("french" -> "fr"), else the nearest code; nullopt when nothing is near.
std::optional<std::string> language_suggestion(std::string_view tag);

// The one error message for a tag that is none: `unknown language "french"; did you mean
// "fr" (French)?`, or what a tag looks like when nothing is near.
std::string unknown_language(std::string_view tag);

// Whether text in this language is written right to left (Arabic, Hebrew, Persian, Urdu,
// Pashto, Sindhi, Uyghur, Kashmiri, Yiddish, Divehi; or any tag with an Arab, Hebr, Thaa,
// Syrc, Nkoo or Adlm script subtag).
bool is_right_to_left(std::string_view tag);

}  // namespace agora
