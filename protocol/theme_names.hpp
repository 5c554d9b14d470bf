// The themes in the browsing page's interface languages (en fr es de nl da sv pt ar zh):
// their names, and the words that stand for them in a search ("emploi", "Rassismus"). One
// table for the page, search and input suggestions. docs/api.md, "Themes in any language".
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace agora {

// The interface languages, in the order the page offers them.
std::span<const std::string_view> interface_languages();

struct ThemeName {
  std::string_view theme;     // the vocabulary value ("employment")
  std::string_view language;  // an interface language
  std::string_view name;      // its name in that language ("emploi")
};
// Every theme's name in every interface language.
std::span<const ThemeName> theme_names();
// The theme a name in an interface language stands for ("Emploi", "beschaftigung"),
// compared folded (protocol/utf8.hpp); nullptr when no name is it.
const ThemeName* theme_named(std::string_view text);
// The name of `theme` in `language`; nullopt when the table has none.
std::optional<std::string_view> theme_name(std::string_view theme, std::string_view language);

// Words that stand for a theme in a search, by language (single words, as written): a
// query word that is one of them, or stems like one in its language, also matches the
// records tagged with the theme. Names of several words are not among them.
std::span<const ThemeName> theme_search_words();

struct CommitmentTitle {
  std::string_view framework, ref, language, title;
};
// Commitment titles of the built-in frameworks in the interface languages other than
// English.
std::span<const CommitmentTitle> commitment_titles();

}  // namespace agora
