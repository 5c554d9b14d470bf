// A record's translations as readers see them (`show`, the HTTP API's record routes):
// which exist, which are outdated, which one to serve for a language, and the record as
// that translation renders it. docs/data-model.md, "Translations".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/local/record_view.hpp"

namespace agora {

struct TranslationEntry {
  PublicKey translator{};
  std::string id;        // the translation record's id
  uint64_t local = 0;    // its current version's log position
  uint32_t version = 0;  // its current version
  std::string language;  // its language tag
  uint32_t of_version = 0;
  bool outdated = false;  // the source has a newer version than the one translated
};

// The current translations of (origin, id), whose current source version is
// `source_version`, that `readable` allows (given the translation's header): the origin's
// own first, then by language and translator. Retracted and stub translations are left out.
std::vector<TranslationEntry> current_translations(const storage::StoreReader& reader, const PublicKey& origin,
                                                   const std::string& id, uint32_t source_version,
                                                   const std::function<bool(const Header&)>& readable);

// The translation to serve for `language`: the same tag, else the same ISO 639-1 language;
// among several, the origin's own, else the first. nullptr when there is none.
const TranslationEntry* pick_translation(const std::vector<TranslationEntry>& all, const PublicKey& origin,
                                         std::string_view language);

// Each as the API and `show` list them: {"language", "translator": {"node", "city"},
// "record": its id, "version", "of_version", "outdated"}.
nlohmann::json translations_json(const std::vector<TranslationEntry>& all, CityDirectory& cities);

// The source item rendered by a translation body: title, summary and body replaced, the
// outcomes' indicators by position, a plan's items' actions by id; "language" becomes the
// translation's and "translation" says whose it is, of which version, and whether outdated.
void apply_translation(nlohmann::json& item, const TranslationEntry& t, const nlohmann::json& translation_body,
                       CityDirectory& cities);

// The first language of an Accept-Language header (by q, then order) that `available`
// offers (same tag, else same ISO 639-1 language); nullopt when none or no header.
std::optional<std::string> preferred_language(std::string_view accept_language,
                                              const std::vector<std::string>& available);

}  // namespace agora
