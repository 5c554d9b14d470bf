// Language tags (protocol/languages.hpp): every ISO 639-1 code, BCP 47 tags with a script
// and a region in canonical case, suggestions for names, writing direction; and how input
// with them is validated and signed.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "protocol/input_schema.hpp"
#include "protocol/languages.hpp"
#include "protocol/theme_names.hpp"
#include "protocol/vocabulary.hpp"
#include "protocol/utf8.hpp"

using namespace agora;
using nlohmann::json;

TEST_CASE("every ISO 639-1 code is a language, with tags of a script and a region", "[protocol][languages]") {
  CHECK(languages().size() == 183);
  for (std::string_view code : {"zh", "ja", "ko", "hi", "th", "id", "sw", "fa", "he", "ur", "am", "yo", "vi"}) {
    INFO(code);
    CHECK(canonical_language_tag(code) == std::string(code));
  }
  CHECK(canonical_language_tag("pt-BR") == "pt-BR");
  CHECK(canonical_language_tag("pt-br") == "pt-BR");
  CHECK(canonical_language_tag("ZH-hant") == "zh-Hant");
  CHECK(canonical_language_tag("zh-Hant-TW") == "zh-Hant-TW");
  CHECK(canonical_language_tag("es-419") == "es-419");
  CHECK(canonical_language_tag("EN") == "en");
  for (std::string_view bad : {"", "zz", "eng", "french", "pt-", "pt-BRA", "zh-TW-Hant", "pt-BR-BR", "en--US", "e1"}) {
    INFO(bad);
    CHECK_FALSE(canonical_language_tag(bad));
  }
  CHECK(primary_language("zh-Hant-TW") == "zh");
}

TEST_CASE("a language name or a near miss is answered with its code", "[protocol][languages]") {
  CHECK(language_suggestion("french") == "fr");
  CHECK(language_suggestion("Chinese") == "zh");
  CHECK(language_suggestion("swahili") == "sw");
  CHECK(language_suggestion("portugese") == "pt");
  CHECK(language_suggestion("norwegian") == "no");
  CHECK(language_suggestion("zz").has_value());
}

TEST_CASE("right-to-left languages and scripts", "[protocol][languages]") {
  for (std::string_view rtl : {"ar", "he", "fa", "ur", "ps", "yi", "ar-MA", "ku-Arab", "pa-Arab"}) {
    INFO(rtl);
    CHECK(is_right_to_left(rtl));
  }
  for (std::string_view ltr : {"en", "zh-Hant", "fr", "ku", "az-Latn", "ug-Cyrl"}) {
    INFO(ltr);
    CHECK_FALSE(is_right_to_left(ltr));
  }
}

TEST_CASE("input in any language validates, its tags signed in canonical case", "[protocol][languages]") {
  PublisherIdentity self{std::string(64, 'a'), "Taipei", "TW"};
  auto practice = [](const std::string& language) {
    return json{{"kind", "practice"},
                {"title", "移民就业"},
                {"summary", "职业培训"},
                {"language", language},
                {"themes", {"employment"}}};
  };
  auto ok = validate_input(practice("zh-hant"), self);
  REQUIRE(ok);
  CHECK(json::parse(ok.value().body)["language"] == "zh-Hant");
  auto named = validate_input(practice("french"), self);
  REQUIRE_FALSE(named);
  CHECK(named.error().path == "language");
  CHECK(named.error().message == "unknown language \"french\"; did you mean \"fr\" (French)?");
  auto localized = practice("zh");
  localized["themes"] = {"emploi"};
  auto theme = validate_input(localized, self);
  REQUIRE_FALSE(theme);
  CHECK(theme.error().path == "themes[0]");
  CHECK(theme.error().message == "unknown theme \"emploi\"; did you mean \"employment\" (its French name)?");
  auto typo = validate_input(practice("zhh"), self);
  REQUIRE_FALSE(typo);
  CHECK(typo.error().path == "language");
  auto city = validate_input(
      json{{"kind", "city"}, {"name", "Taipei"}, {"country", "TW"}, {"languages", {"ZH-hant", "en"}}}, self);
  REQUIRE(city);
  CHECK(json::parse(city.value().body)["languages"] == json{"zh-Hant", "en"});
}

TEST_CASE("folding for matching covers Greek, Cyrillic, Arabic, Hebrew and fullwidth forms", "[protocol][languages]") {
  CHECK(fold_for_match("ΡΑΤΣΙΣΜΌΣ") == "ρατσισμοσ");      // accents dropped, final sigma folded
  CHECK(fold_for_match("Ёлка МОСКВА") == "елка москва");  // ё as е, case folded
  CHECK(fold_for_match("أَحْمَد") == "احمد");                // harakat dropped, alef with hamza bare
  CHECK(fold_for_match("مدرسة") == "مدرسة");              // teh marbuta stays: the Arabic stemmer reads it
  CHECK(fold_for_match("שָׁלוֹם") == "שלום");                // Hebrew points dropped
  CHECK(fold_for_match("ＡＢＣ１２") == "abc12");         // fullwidth ASCII
  CHECK(fold_for_match("就业") == "就业");                // Han as it is
  CHECK(fold_for_match("Malmö") == "malmo");              // Latin as before
  CHECK(fold_for_match("हिन्दी") == "हिन्दी");              // Devanagari keeps its vowel signs and virama
}

TEST_CASE("every theme and every built-in commitment has a name in every interface language", "[protocol][languages]") {
  for (std::string_view theme : themes())
    for (std::string_view language : interface_languages()) {
      INFO(theme << " " << language);
      CHECK(theme_name(theme, language).has_value());
    }
  for (const auto& framework : builtin_frameworks())
    for (const auto& commitment : framework.refs)
      for (std::string_view language : interface_languages()) {
        if (language == "en") continue;  // the framework's own title
        bool found = false;
        for (const auto& t : commitment_titles())
          found = found || (t.framework == framework.id && t.ref == commitment.ref && t.language == language);
        INFO(framework.id << " " << commitment.ref << " " << language);
        CHECK(found);
      }
}
