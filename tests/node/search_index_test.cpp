// The Xapian search index over a real store: stemming per language, folding, filters,
// facets, updates and retractions, rebuilds.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "node/search/search_index.hpp"
#include "node/search/store_search.hpp"
#include "temp_dir.hpp"

using namespace agora;
using nlohmann::json;

namespace {

DataDir make_city(const test::TempDir& tmp, const std::string& name, const std::string& country) {
  DataDir dir = DataDir::create(tmp.path() / "node", NodeRole::city, name);
  auto profile = validate_input(json{{"kind", "city"}, {"name", name}, {"country", country}}, {});
  Publisher(dir).publish({profile.value()});
  return dir;
}

void publish(DataDir& dir, json in) {
  auto v = validate_input(in, dir.identity());
  INFO(in.dump());
  REQUIRE(v);
  Publisher(dir).publish({v.value()});
}

std::vector<std::string> ids(const SearchResult& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hits) out.push_back(h.id);
  return out;
}

SearchResult find(SearchIndex& index, const std::string& text, SearchFilter filter = {}) {
  SearchQuery q;
  q.text = text;
  q.filter = std::move(filter);
  q.facets = true;
  return index.search(q);
}

}  // namespace

TEST_CASE("search stems per record language, folds diacritics, filters and counts facets", "[node][search]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp, "Malmö", "SE");
  publish(dir, {{"kind", "practice"},
                {"id", "jobspor"},
                {"title", "Jobspor for nyankomne"},
                {"summary", "Et program der styrker beskæftigelse blandt flygtninge."},
                {"language", "da"},
                {"themes", {"employment"}},
                {"started", 2016},
                {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  publish(dir, {{"kind", "practice"},
                {"id", "housing-first"},
                {"title", "Housing first for newcomers"},
                {"summary", "Flats before everything else; housing ends homelessness."},
                {"language", "en"},
                {"themes", {"housing"}},
                {"started", 2019}});
  publish(dir, {{"kind", "practice"},
                {"id", "internal"},
                {"title", "Internal employment note"},
                {"summary", "Not for publication."},
                {"language", "en"},
                {"themes", {"employment"}},
                {"visibility", "private"}});
  auto index = SearchIndex::open_writable(dir);
  CHECK(index->catch_up() == 3);

  CHECK(ids(find(*index, "beskæftigelsen")) == std::vector<std::string>{"jobspor"});  // Danish stem
  CHECK(ids(find(*index, "BESKAEFTIGELSE")) == std::vector<std::string>{"jobspor"});  // folded, any case
  CHECK(ids(find(*index, "houses")) == std::vector<std::string>{"housing-first"});    // English stem
  CHECK(find(*index, "Malmo").hits.size() == 2);           // the city's name, without its diacritic
  CHECK(find(*index, "internal").hits.empty());            // private records are not indexed
  CHECK(find(*index, "housing flygtninge").hits.empty());  // every word must match
  // French elisions are split off: "l'intégration" is found as "intégration", "d’accueil" as "accueil".
  publish(dir, {{"kind", "practice"},
                {"id", "accueil"},
                {"title", "Guichet d’accueil"},
                {"summary", "Un guichet unique pour l'intégration des nouveaux arrivants."},
                {"language", "fr"},
                {"themes", {"social-services"}}});
  CHECK(index->catch_up() == 1);
  CHECK(ids(find(*index, "integration")) == std::vector<std::string>{"accueil"});
  CHECK(ids(find(*index, "accueillir")) == std::vector<std::string>{"accueil"});  // French stem
  Publisher(dir).retract("accueil");
  CHECK(index->catch_up() == 1);

  SearchFilter employment;
  employment.theme = "employment";
  auto filtered = find(*index, "", employment);
  CHECK(ids(filtered) == std::vector<std::string>{"jobspor"});
  CHECK(filtered.facets["theme"]["employment"] == 1);
  CHECK(filtered.facets["commitment"]["eccar-10pt:6"] == 1);
  SearchFilter years;
  years.year_from = 2018;
  CHECK(ids(find(*index, "", years)) == std::vector<std::string>{"housing-first"});
  SearchFilter country;
  country.country = "se";
  auto all = find(*index, "", country);
  CHECK(all.total == 2);
  CHECK(all.facets["city"]["Malmö"] == 2);

  // Updates replace, retractions remove, and only what is new is read again.
  publish(dir, {{"kind", "practice"},
                {"id", "housing-first"},
                {"title", "Housing first, second edition"},
                {"summary", "Apartments for newcomers."},
                {"language", "en"},
                {"themes", {"housing"}}});
  Publisher(dir).retract("jobspor");
  CHECK(index->catch_up() == 2);
  CHECK(find(*index, "beskæftigelse").hits.empty());
  CHECK(find(*index, "apartment").hits.size() == 1);
  CHECK(find(*index, "homelessness").hits.empty());

  // Snippets mark the matching words in the original text.
  CHECK(snippet("Et program der styrker beskæftigelse blandt flygtninge.", {"beskaeftigelsen"}, "da") ==
        "Et program der styrker <mark>beskæftigelse</mark> blandt flygtninge.");
}

TEST_CASE("a missing or foreign search index is rebuilt from the store", "[node][search]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp, "Lyon", "FR");
  publish(dir, {{"kind", "practice"},
                {"id", "mediateurs"},
                {"title", "Médiateurs de quartier"},
                {"summary", "Des médiateurs accompagnent les habitants vers l'emploi."},
                {"language", "fr"},
                {"themes", {"employment"}}});
  {
    auto index = SearchIndex::open_writable(dir);
    index->catch_up();
    CHECK(index->position() == 2);
  }
  std::filesystem::remove_all(dir.path() / "search");
  auto index = SearchIndex::open_writable(dir);
  CHECK(index->position() == 0);
  index->catch_up();
  CHECK(ids(find(*index, "mediateur")) == std::vector<std::string>{"mediateurs"});  // French stem, folded
  CHECK(SearchIndex::open_readonly(dir) != nullptr);
}

namespace {
// A record as a node of an earlier version signed it: the input as typed, not normalized.
ValidatedInput as_signed_by_older_node(Kind kind, const std::string& id, const std::string& body) {
  ValidatedInput v;
  v.kind = kind;
  v.id = id;
  v.body = body;
  v.keys = index_keys_for(kind, body);
  return v;
}
}  // namespace

TEST_CASE("decomposed text signed by an older node is found by either form, its city by name",
          "[node][search][unicode]") {
  test::TempDir tmp;
  DataDir dir = DataDir::create(tmp.path() / "node", NodeRole::city, "G\xC3\xB6teborg");
  const std::string summary = "La\xCC\x88nkarbetare fra\xCC\x8An Malmo\xCC\x88.";  // "o" + U+0308, "a" + U+030A
  Publisher(dir).publish(
      {as_signed_by_older_node(Kind::city, "profile", "{\"country\":\"SE\",\"name\":\"Go\xCC\x88teborg\"}"),
       as_signed_by_older_node(
           Kind::practice, "modellen",
           "{\"language\":\"sv\",\"summary\":\"" + summary +
               "\",\"themes\":[\"employment\"],\"title\":\"Malmo\xCC\x88modellen f\xC3\xB6r integration\"}")});
  publish(dir, {{"kind", "practice"},
                {"id", "housing"},
                {"title", "Housing first"},
                {"summary", "Flats."},
                {"language", "en"},
                {"themes", {"housing"}}});
  // Stored as signed: the bytes of another node's record are never rewritten.
  dir.store().read([&](const storage::StoreReader& r) {
    auto body = r.at(r.latest(dir.id(), "modellen")->local)->load().body;
    REQUIRE(body);
    CHECK(body->find(summary) != std::string::npos);
    return 0;
  });
  auto index = SearchIndex::open_writable(dir);
  index->catch_up();

  const std::vector<std::string> modellen{"modellen"};
  for (std::string q : {"Malm\xC3\xB6modellen", "Malmomodellen", "Malmo\xCC\x88modellen", "MALM\xC3\x96MODELLEN",
                        "l\xC3\xA4nkarbetare", "Lankarbetare", "fr\xC3\xA5n", "fra\xCC\x8An"}) {
    INFO(q);
    CHECK(ids(find(*index, q)) == modellen);
  }
  CHECK(find(*index, "G\xC3\xB6teborg").hits.size() == 2);  // the city's name, on every record of it
  CHECK(find(*index, "Goteborg").hits.size() == 2);
  CHECK(find(*index, "Go\xCC\x88teborg").hits.size() == 2);
  // The snippet marks the word as it was signed.
  CHECK(snippet(summary, {"lankarbetare"}, "sv") == "<mark>La\xCC\x88nkarbetare</mark> fra\xCC\x8An Malmo\xCC\x88.");

  dir.store().read([&](const storage::StoreReader& r) {
    for (std::string name : {"G\xC3\xB6teborg", "Go\xCC\x88teborg", "goteborg", "GÖTEBORG"}) {
      INFO(name);
      CHECK(resolve_city(r, name) == std::optional<PublicKey>(dir.id()));
    }
    CHECK_FALSE(resolve_city(r, "Malm\xC3\xB6"));
    return 0;
  });
}

TEST_CASE("a large step (built on helper threads) indexes exactly what a record-by-record build does",
          "[node][search]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp, "Lyon", "FR");
  const char* themes[] = {"employment", "housing", "education", "health"};
  std::vector<ValidatedInput> batch;
  for (int i = 0; i < 700; ++i) {
    json in = {{"kind", "practice"},
               {"id", "p" + std::to_string(i)},
               {"title", "Practice " + std::to_string(i) + (i % 3 ? " mentoring" : " housing first")},
               {"summary", "Number " + std::to_string(i) + " of a large batch."},
               {"language", i % 2 ? "en" : "fr"},
               {"themes", {themes[i % 4]}},
               {"started", 2000 + i % 20}};
    batch.push_back(validate_input(in, dir.identity()).value());
  }
  Publisher(dir).publish(batch);
  // Updated and retracted after the first versions: the index holds only the latest.
  publish(dir, {{"kind", "practice"},
                {"id", "p5"},
                {"title", "Renamed practice five"},
                {"summary", "Now about orchards."},
                {"language", "en"},
                {"themes", {"housing"}}});
  for (int i = 10; i < 20; ++i) Publisher(dir).retract("p" + std::to_string(i));

  auto index = SearchIndex::open_writable(dir);
  CHECK(index->catch_up() >= 700);  // one step of up to 10,000 log entries: the parallel path
  SearchQuery all;
  all.limit = 1000;
  all.facets = true;
  SearchResult indexed = index->search(all);
  SearchResult stored = dir.store().read([&](const storage::StoreReader& r) { return search_store(r, all); });
  CHECK(indexed.total == 690);
  CHECK(ids(indexed) == ids(stored));
  CHECK(indexed.facets == stored.facets);
  CHECK(ids(find(*index, "orchards")) == std::vector<std::string>{"p5"});
  CHECK(find(*index, "mentoring").total == 458);  // 466 with i % 3 != 0, less 7 retracted, less p5
  CHECK(find(*index, "15").total == 0);           // p15 was retracted
  CHECK(find(*index, "16 housing").total == 0);   // p16: retracted too
  CHECK(find(*index, "21").total == 1);

  // A reader counts facets from its revision's shared table: the same counts as the writer,
  // which reads each match's value.
  auto reader = SearchIndex::open_readonly(dir);
  REQUIRE(reader);
  // ... and sorts a list by its revision's key-order table: the order LMDB lists in.
  SearchResult read_all = reader->search(all);
  CHECK(ids(read_all) == ids(stored));
  CHECK(read_all.facets == stored.facets);
  SearchQuery page = all;  // a cursor walk, 100 at a time, gives the same order
  page.limit = 100;
  std::vector<std::string> walked;
  for (int i = 0; i < 10; ++i) {
    SearchResult r = reader->search(page);
    for (const auto& h : r.hits) walked.push_back(h.id);
    if (r.hits.size() < page.limit) break;
    page.after = r.hits.back().sort_value;
  }
  CHECK(walked == ids(stored));
  for (std::string text : {"", "mentoring", "housing first", "orchards"}) {
    SearchQuery q;
    q.text = text;
    q.facets = true;
    q.limit = 5;
    SearchResult from_table = reader->search(q), from_values = index->search(q);
    INFO(text);
    CHECK(from_table.total == from_values.total);
    CHECK(from_table.facets == from_values.facets);
    CHECK(!from_table.estimated);
  }
  // With a count bound a ranked search may stop counting; it says so when it did.
  SearchQuery bounded;
  bounded.text = "practice mentoring";
  bounded.facets = true;
  bounded.count_bound = 20;
  SearchResult b = reader->search(bounded);
  bounded.count_bound = 0;
  SearchResult exact = reader->search(bounded);
  CHECK(!exact.estimated);
  CHECK(exact.total == 458);
  if (b.estimated) {
    CHECK(b.total >= 20);
  } else {
    CHECK(b.total == exact.total);
    CHECK(b.facets == exact.facets);
  }
  CHECK(ids(b) == ids(exact));  // the page itself is never an estimate
}

TEST_CASE("search in any language: stems, folds Greek, Cyrillic and Arabic, n-grams Chinese, Japanese, Korean and Thai",
          "[node][search][languages]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp, "Casablanca", "MA");
  auto practice = [&](const std::string& id, const std::string& language, const std::string& title,
                      const std::string& summary) {
    publish(dir, {{"kind", "practice"},
                  {"id", id},
                  {"title", title},
                  {"summary", summary},
                  {"language", language},
                  {"themes", {"media"}}});  // not a theme the query words below name
  };
  practice("zh", "zh-Hans", "移民就业支持计划", "为新移民提供职业培训和反歧视咨询，帮助他们找到工作。");
  practice("ja", "ja", "外国人住民の就労支援", "多文化共生のための日本語教室と職業紹介を行います。");
  practice("ko", "ko", "이주민 고용 지원", "이주민의 고용을 위한 직업 훈련과 차별 상담을 제공합니다.");
  practice("ar", "ar", "دعم توظيف المهاجرين", "برنامج المدينة لمكافحة العنصرية والتمييز في التوظيف.");
  practice("ru", "ru", "Поддержка занятости мигрантов", "Городская программа против расизма и дискриминации.");
  practice("pt", "pt-BR", "Emprego para imigrantes", "Programa municipal contra a discriminação no emprego.");
  practice("el", "el", "Απασχόληση μεταναστών", "Πρόγραμμα κατά του ρατσισμού στην εργασία.");
  practice("tr", "tr", "Göçmenler için istihdam", "Ayrımcılığa karşı belediye programları.");
  practice("th", "th", "การจ้างงานแรงงานข้ามชาติ", "โครงการของเมืองเพื่อต่อต้านการเลือกปฏิบัติ");
  auto index = SearchIndex::open_writable(dir);
  CHECK(index->catch_up() == 9);
  using V = std::vector<std::string>;

  // Chinese and Japanese: two characters find a longer run; one character finds it too.
  CHECK(ids(find(*index, "就业")) == V{"zh"});
  CHECK(ids(find(*index, "歧视")) == V{"zh"});
  CHECK(ids(find(*index, "移民就业")) == V{"zh"});
  CHECK(ids(find(*index, "就业 培训")) == V{"zh"});
  CHECK(ids(find(*index, "日本語")) == V{"ja"});
  CHECK(ids(find(*index, "就労")) == V{"ja"});
  CHECK(find(*index, "就业歧视咨询").hits.empty());  // every pair must be there
  // Thai, written without spaces: a word inside a run.
  CHECK(ids(find(*index, "จ้างงาน")) == V{"th"});
  CHECK(ids(find(*index, "เลือกปฏิบัติ")) == V{"th"});
  // Korean: a word without its particle (고용을 -> 고용).
  CHECK(ids(find(*index, "고용")) == V{"ko"});
  CHECK(ids(find(*index, "차별")) == V{"ko"});
  // Arabic: stems (the article and plural forms), and without harakat or hamza on alef.
  CHECK(ids(find(*index, "توظيف")) == V{"ar"});
  CHECK(ids(find(*index, "العنصرية")) == V{"ar"});
  CHECK(ids(find(*index, "عُنصرية")) == V{"ar"});
  CHECK(ids(find(*index, "مهاجرين")) == V{"ar"});
  // Russian: inflected forms, any case; ё and е are one letter.
  CHECK(ids(find(*index, "занятость")) == V{"ru"});
  CHECK(ids(find(*index, "РАСИЗМ")) == V{"ru"});
  CHECK(ids(find(*index, "мигрант")) == V{"ru"});
  // Portuguese (a tag with a region), Greek without accents, Turkish stems and dotless i.
  CHECK(ids(find(*index, "discriminacao")) == V{"pt"});
  CHECK(ids(find(*index, "empregos")) == V{"pt"});
  CHECK(ids(find(*index, "απασχοληση")) == V{"el"});
  CHECK(ids(find(*index, "ΡΑΤΣΙΣΜΟΎ")) == V{"el"});
  CHECK(ids(find(*index, "istihdam")) == V{"tr"});
  CHECK(ids(find(*index, "gocmenler")) == V{"tr"});

  // A language filter: the ISO 639-1 code finds every tag of it, a whole tag only itself.
  SearchFilter pt;
  pt.language = "pt";
  CHECK(ids(find(*index, "", pt)) == V{"pt"});
  pt.language = "pt-BR";
  CHECK(ids(find(*index, "", pt)) == V{"pt"});
  pt.language = "pt-PT";
  CHECK(find(*index, "", pt).hits.empty());
  SearchFilter zh;
  zh.language = "zh";
  CHECK(ids(find(*index, "", zh)) == V{"zh"});

  // Punctuation of any script separates words: "，" and "«»" are not part of them.
  CHECK(ids(find(*index, "咨询")) == V{"zh"});
}

TEST_CASE("a theme's name in any interface language finds the records tagged with it, and says how it was read",
          "[node][search][languages]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp, "København", "DK");
  publish(dir, {{"kind", "practice"},
                {"id", "jobspor"},
                {"title", "Jobspor for nyankomne"},
                {"summary", "Et program for flygtninge."},
                {"language", "da"},
                {"themes", {"employment"}}});
  publish(dir, {{"kind", "practice"},
                {"id", "antiracisme"},
                {"title", "Dialog i boligområder"},
                {"summary", "Naboer mødes hver uge."},
                {"language", "da"},
                {"themes", {"non-discrimination", "housing"}}});
  auto index = SearchIndex::open_writable(dir);
  CHECK(index->catch_up() == 2);
  using V = std::vector<std::string>;
  for (std::string word : {"employment", "emploi", "emplois", "Beschäftigung", "empleo", "werkgelegenheid",
                           "sysselsättning", "emprego", "التوظيف", "就业", "travail"}) {
    INFO(word);
    CHECK(ids(find(*index, word)) == V{"jobspor"});
  }
  for (std::string word :
       {"racism", "racisme", "Rassismus", "racismo", "rasism", "discrimination", "العنصرية", "种族主义"}) {
    INFO(word);
    CHECK(ids(find(*index, word)) == V{"antiracisme"});
  }
  auto read = find(*index, "emploi");
  REQUIRE(read.interpreted.size() == 1);
  CHECK(read.interpreted[0].theme == "employment");
  CHECK(read.interpreted[0].language == "fr");
  CHECK(ids(find(*index, "logement racisme")) == V{"antiracisme"});  // both themes of one record
  CHECK(find(*index, "logement emploi").hits.empty());               // every word must match
  CHECK(find(*index, "nyankomne").interpreted.empty());
}

TEST_CASE("a region filter takes the coalition's regions, by profile or country, and free text as before",
          "[node][search][regions]") {
  test::TempDir tmp;
  DataDir dir = DataDir::create(tmp.path() / "node", NodeRole::city, "Malmö");
  auto profile = validate_input(json{{"kind", "city"}, {"name", "Malmö"}, {"country", "SE"}, {"region", "Skåne"}}, {});
  Publisher(dir).publish({profile.value()});
  publish(dir, {{"kind", "practice"},
                {"id", "linkworkers"},
                {"title", "Länkarbetare"},
                {"summary", "Nyanlända hittar arbete."},
                {"language", "sv"},
                {"themes", {"employment"}}});
  auto index = SearchIndex::open_writable(dir);
  CHECK(index->catch_up() == 1);
  using V = std::vector<std::string>;
  for (std::string region : {"europe", "Europe", "Skåne", "skane"}) {
    SearchFilter f;
    f.region = region;
    INFO(region);
    CHECK(ids(find(*index, "", f)) == V{"linkworkers"});
  }
  for (std::string region : {"africa", "arab-states", "Arab region", "Sjælland"}) {
    SearchFilter f;
    f.region = region;
    INFO(region);
    CHECK(find(*index, "", f).hits.empty());
  }
  // The LMDB answer (before an index exists) filters by the same rule.
  SearchQuery q;
  q.filter.region = "europe";
  auto from_store = dir.store().read([&](const storage::StoreReader& r) { return search_store(r, q); });
  CHECK(ids(from_store) == V{"linkworkers"});
}
