// Translations through real nodes (docs/data-model.md, "Translations"): one city translates
// another's practice, the translation syncs and verifies across three nodes, is shown
// outdated once the source moves on, is served by ?lang= and Accept-Language with its
// fallbacks, and makes its source findable in its language.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

namespace {

json linkworkers(int people) {
  return {{"kind", "practice"},
          {"id", "linkworkers"},
          {"title", "Länkarbetare på arbetsförmedlingen"},
          {"summary", "Länkarbetare hjälper nyanlända att hitta arbete."},
          {"language", "sv"},
          {"themes", {"employment"}},
          {"outcomes", {{{"indicator", "personer i arbete"}, {"value", people}, {"unit", "personer"}}}}};
}

void write_file(const std::string& path, const json& j) { std::ofstream(path) << j.dump(); }

}  // namespace

TEST_CASE(
    "a translation by another city syncs to three nodes, turns outdated, and is served by ?lang and "
    "Accept-Language",
    "[sync][translation]") {
  ServedNode malmo("Malmö", "SE"), lyon("Lyon", "FR"), toronto("Toronto", "CA");
  malmo.publish(linkworkers(120));
  for (auto* n : {&malmo, &lyon, &toronto}) n->serve();
  peer_both(malmo, lyon);
  peer_both(lyon, toronto);  // Toronto hears of both only through Lyon
  REQUIRE(wait_until([&] { return lyon.head_of(malmo.id) == kInitRecords + 1; }));

  // Lyon translates Malmö's practice into French.
  std::string texts = lyon.tmp.str("fr.json");
  write_file(texts, {{"title", "Agents de liaison à l'agence pour l'emploi"},
                     {"summary", "Des agents de liaison aident les nouveaux arrivants à trouver du travail."},
                     {"outcomes", {"personnes en emploi"}}});
  auto translated = lyon.agora({"translate", "Malmö/linkworkers", "--language", "fr", texts});
  INFO(translated.err);
  REQUIRE(translated.exit_code == 0);
  CHECK_THAT(translated.out, Catch::StartsWith("translation translation-"));
  uint64_t lyon_head = lyon.head_of(lyon.id);
  for (auto* n : {&malmo, &toronto}) REQUIRE(wait_until([&] { return n->head_of(lyon.id) == lyon_head; }));
  for (auto* n : {&malmo, &lyon, &toronto}) {
    auto v = n->agora({"verify"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
  }

  std::string path = "/api/v1/practices/" + malmo.id + "/linkworkers";
  for (auto* n : {&malmo, &lyon, &toronto}) {
    REQUIRE(wait_until([&] { return get_json(*n, path).contains("translations"); }));
    auto item = get_json(*n, path);
    CHECK(item["title"] == "Länkarbetare på arbetsförmedlingen");  // the original by default
    REQUIRE(item["translations"].size() == 1);
    CHECK(item["translations"][0]["language"] == "fr");
    CHECK(item["translations"][0]["translator"]["city"] == "Lyon");
    CHECK(item["translations"][0]["outdated"] == false);

    auto fr = get_json(*n, path + "?lang=fr");
    CHECK(fr["title"] == "Agents de liaison à l'agence pour l'emploi");
    CHECK(fr["language"] == "fr");
    CHECK(fr["outcomes"][0]["indicator"] == "personnes en emploi");
    CHECK(fr["outcomes"][0]["value"] == 120);  // numbers stay the source's
    CHECK(fr["translation"]["original_language"] == "sv");
    CHECK(fr["translation"]["translator"]["node"] == lyon.id);
    // A region of the language is served the language; a language without one, the original.
    CHECK(get_json(*n, path + "?lang=fr-CA")["title"] == "Agents de liaison à l'agence pour l'emploi");
    auto de = get_json(*n, path + "?lang=de");
    CHECK(de["title"] == "Länkarbetare på arbetsförmedlingen");
    CHECK(de["translation"].is_null());
    CHECK(de["language_requested"] == "de");
    CHECK(get_json(*n, path + "?lang=sv")["title"] == "Länkarbetare på arbetsförmedlingen");
    get_json(*n, path + "?lang=klingon", 400);
  }
  // Accept-Language picks the best language on offer; the answer says it varies by it.
  auto by_header = http_request(toronto.http_url, "GET", path, {{"Accept-Language", "de-DE, fr;q=0.8, en;q=0.5"}});
  CHECK(json::parse(by_header.body)["language"] == "fr");
  CHECK_THAT(by_header.headers["vary"], Catch::Contains("Accept-Language"));
  auto swedish_first = http_request(toronto.http_url, "GET", path, {{"Accept-Language", "sv, fr;q=0.8"}});
  CHECK(json::parse(swedish_first.body)["language"] == "sv");
  CHECK(json::parse(get_json(toronto, path).dump())["language"] == "sv");  // no header: the original

  // Found in French on every node, saying so.
  for (auto* n : {&malmo, &toronto}) {
    REQUIRE(wait_for_search_index(n->http_url));
    REQUIRE(wait_until([&] { return get_json(*n, "/api/v1/practices?q=nouveaux+arrivants")["total"] == 1; }));
    auto hit = get_json(*n, "/api/v1/practices?q=arrivant")["items"];
    REQUIRE(hit.size() == 1);
    CHECK(hit[0]["id"] == "linkworkers");
    CHECK(hit[0]["matched_in"] == "fr");
    CHECK_THAT(hit[0]["snippet"].get<std::string>(), Catch::Contains("<mark>arrivants</mark>"));
    CHECK_FALSE(get_json(*n, "/api/v1/practices?q=nyanlända")["items"][0].contains("matched_in"));
  }

  // Malmö publishes a new version: the translation is outdated everywhere until Lyon updates it.
  malmo.publish(linkworkers(130));
  uint64_t malmo_head = malmo.head_of(malmo.id);
  for (auto* n : {&lyon, &toronto}) REQUIRE(wait_until([&] { return n->head_of(malmo.id) == malmo_head; }));
  for (auto* n : {&lyon, &toronto}) {
    REQUIRE(wait_until([&] { return get_json(*n, path)["version"] == 2; }));
    CHECK(get_json(*n, path)["translations"][0]["outdated"] == true);
    auto fr = get_json(*n, path + "?lang=fr");
    CHECK(fr["translation"]["outdated"] == true);
    CHECK(fr["translation"]["of_version"] == 1);
    CHECK(fr["outcomes"][0]["value"] == 130);
  }
  REQUIRE(lyon.agora({"translate", "Malmö/linkworkers", "--language", "fr", texts}).exit_code == 0);
  lyon_head = lyon.head_of(lyon.id);
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == lyon_head; }));
  REQUIRE(wait_until([&] { return get_json(toronto, path)["translations"][0]["outdated"] == false; }));
  CHECK(get_json(toronto, path)["translations"][0]["version"] == 2);
  CHECK(get_json(toronto, path + "?lang=fr")["translation"]["of_version"] == 2);
}

TEST_CASE("translate refuses what it cannot translate and writes nothing", "[sync][translation]") {
  ServedNode malmo("Malmö", "SE"), lyon("Lyon", "FR");
  malmo.publish(linkworkers(120));
  json hidden = linkworkers(5);
  hidden["id"] = "internal";
  hidden["visibility"] = "partners";
  malmo.publish(hidden);
  std::string texts = malmo.tmp.str("en.json");
  write_file(texts, {{"title", "Link workers"}});
  uint64_t head = malmo.head_of(malmo.id);
  auto same = malmo.agora({"translate", "linkworkers", "--language", "sv", texts});
  CHECK(same.exit_code == 3);
  CHECK_THAT(same.err, Catch::Contains("written in sv already"));
  auto named = malmo.agora({"translate", "linkworkers", "--language", "english", texts});
  CHECK(named.exit_code == 3);
  CHECK_THAT(named.err, Catch::Contains("did you mean \"en\""));
  auto missing = malmo.agora({"translate", "nothing-here", "--language", "en", texts});
  CHECK(missing.exit_code == 3);
  std::string extra = malmo.tmp.str("extra.json");
  write_file(extra, {{"title", "Link workers"}, {"language", "de"}});
  auto field = malmo.agora({"translate", "linkworkers", "--language", "en", extra});
  CHECK(field.exit_code == 3);
  CHECK_THAT(field.err, Catch::Contains("language: not a text of a translation"));
  std::string too_many = malmo.tmp.str("many.json");
  write_file(too_many, {{"title", "Link workers"}, {"outcomes", {"a", "b"}}});
  auto outcomes = malmo.agora({"translate", "linkworkers", "--language", "en", too_many});
  CHECK(outcomes.exit_code == 3);
  CHECK_THAT(outcomes.err, Catch::Contains("2 names for the 1 outcomes"));
  CHECK(malmo.head_of(malmo.id) == head);
  // Its own partners-only record: the translation keeps the source's visibility.
  auto own = malmo.agora({"translate", "internal", "--language", "en", texts});
  INFO(own.err);
  REQUIRE(own.exit_code == 0);
  auto shown = json::parse(malmo.agora({"show", own.out.substr(12, own.out.find(' ', 12) - 12), "--json"}).out);
  CHECK(shown["visibility"] == "partners");
  // Another city cannot translate a record it does not hold, or one that is not public.
  auto elsewhere = lyon.agora({"translate", malmo.id + "/linkworkers", "--language", "fr", texts});
  CHECK(elsewhere.exit_code == 3);
}

TEST_CASE("a translation's every text finds its source until it is retracted, and variants of a language translate",
          "[sync][translation]") {
  ServedNode taipei("Taipei", "TW");
  taipei.publish({{"kind", "practice"},
                  {"id", "jobsupport"},
                  {"title", "新住民就業支持"},
                  {"summary", "為新住民提供職業訓練。"},
                  {"language", "zh-Hant"},
                  {"themes", {"media"}},
                  {"outcomes", {{{"indicator", "就業人數"}, {"value", 40}}}}});
  taipei.serve();
  std::string fr = taipei.tmp.str("fr.json");
  write_file(fr, {{"title", "Soutien zorblatique aux nouveaux résidents"},
                  {"summary", "Formation professionnelle pour les nouveaux résidents."},
                  {"outcomes", {"personnes quixendor en emploi"}}});
  auto translated = taipei.agora({"translate", "jobsupport", "--language", "fr", fr});
  INFO(translated.err);
  REQUIRE(translated.exit_code == 0);
  std::string tid = translated.out.substr(12, translated.out.find(' ', 12) - 12);
  std::string hans = taipei.tmp.str("hans.json");
  write_file(hans, {{"title", "新住民就业支持"}, {"summary", "为新住民提供职业训练。"}});
  auto simplified = taipei.agora({"translate", "jobsupport", "--language", "zh-Hans", hans});
  INFO(simplified.err);
  REQUIRE(simplified.exit_code == 0);  // another script of the same language
  std::string body = taipei.tmp.str("body.json");
  write_file(body, {{"title", "Soutien"}, {"body", "Un texte que la source n'a pas."}});
  auto added = taipei.agora({"translate", "jobsupport", "--language", "de", body});
  CHECK(added.exit_code == 3);
  CHECK_THAT(added.err, Catch::Contains("body: ") && Catch::Contains("has no body to translate"));

  REQUIRE(wait_for_search_index(taipei.http_url));
  auto found = [&](const std::string& q) { return get_json(taipei, "/api/v1/practices?q=" + q)["items"]; };
  REQUIRE(wait_until([&] { return found("zorblatique").size() == 1; }));  // a word of the title only
  CHECK(found("zorblatique")[0]["matched_in"] == "fr");
  CHECK(found("quixendor").size() == 1);  // of an outcome's name only
  CHECK(found("quixendor")[0]["matched_in"] == "fr");
  CHECK(found("%E5%B0%B1%E6%A5%AD")[0].count("matched_in") == 0);  // 就業: in the original itself

  std::string path = "/api/v1/practices/" + taipei.id + "/jobsupport";
  CHECK(get_json(taipei, path + "?lang=zh-Hans")["title"] == "新住民就业支持");
  auto zh = get_json(taipei, path + "?lang=zh");  // the original is Chinese: no fallback note
  CHECK(zh["title"] == "新住民就業支持");
  CHECK_FALSE(zh.contains("language_requested"));

  // Retracted, the translation no longer finds its source.
  REQUIRE(taipei.agora({"retract", tid}).exit_code == 0);
  REQUIRE(wait_until([&] { return found("zorblatique").empty(); }));
  CHECK(found("quixendor").empty());
  CHECK(get_json(taipei, path)["translations"].size() == 1);  // zh-Hans only
}
