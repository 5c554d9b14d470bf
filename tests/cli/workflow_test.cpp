// A coordinator's everyday workflow with the real agora binary: tables, ids, countries.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_files.hpp"
#include "cli/process.hpp"
#include "protocol/unicode.hpp"
#include "temp_dir.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::vector<std::string> workflow_lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The terminal column at which `cell` starts in `line`.
size_t workflow_column_of(const std::string& line, const std::string& cell) {
  auto at = line.find(cell);
  REQUIRE(at != std::string::npos);
  return agora::display_width(line.substr(0, at));
}

}  // namespace

TEST_CASE("tables line up with wide and accented names, in terminal columns", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  auto init = run_agora({"init", "--data", data, "--city", "上海", "--country", "cn"});  // a lowercase code
  INFO(init.err);
  REQUIRE(init.exit_code == 0);
  auto status = run_agora({"show", "profile", "--data", data, "--json"});
  REQUIRE(status.exit_code == 0);
  CHECK(json::parse(status.out)["country"] == "CN");
  std::string file = tmp.str("p.ndjson");
  write_file(file, json{{"kind", "practice"},
                        {"id", "jiuye"},
                        {"title", "移民就业支持计划"},
                        {"summary", "职业培训。"},
                        {"language", "zh"},
                        {"themes", {"employment"}}}
                           .dump() +
                       "\n" +
                       json{{"kind", "practice"},
                            {"id", "tawzif"},
                            {"title", "دعم توظيف المهاجرين"},
                            {"summary", "برنامج."},
                            {"language", "ar"},
                            {"themes", {"employment"}}}
                           .dump() +
                       "\n");
  REQUIRE(run_agora({"import", file, "--data", data}).exit_code == 0);
  auto list = run_agora({"list", "--data", data, "--kind", "practice"});
  REQUIRE(list.exit_code == 0);
  auto rows = workflow_lines_of(list.out);
  REQUIRE(rows.size() == 3);
  size_t id_column = workflow_column_of(rows[0], "ID");
  CHECK(workflow_column_of(rows[1], rows[1].find("jiuye") != std::string::npos ? "jiuye" : "tawzif") == id_column);
  CHECK(workflow_column_of(rows[2], rows[2].find("jiuye") != std::string::npos ? "jiuye" : "tawzif") == id_column);

  // A plan's progress with long French names: every column starts where its header does.
  std::string plan = tmp.str("plan.json");
  write_file(plan, json{{"kind", "plan"},
                        {"id", "plan-2025"},
                        {"title", "Plan d’action contre les discriminations"},
                        {"framework", "eccar-10pt"},
                        {"period", {{"from", "2025-01-01"}, {"to", "2027-12-31"}}},
                        {"items",
                         {{{"id", "acces-emploi"},
                           {"commitment", "6"},
                           {"action", "Parrainage vers l’emploi"},
                           {"status", "in-progress"},
                           {"due", "2026-06-30"},
                           {"indicators",
                            {{{"name", "personnes accompagnées vers l’emploi durable"},
                              {"unit", "personnes"},
                              {"baseline", 0},
                              {"target", 250},
                              {"direction", "increase"}}}}}}}}
                       .dump());
  auto published = run_agora({"plan", "publish", plan, "--data", data});
  INFO(published.err);
  REQUIRE(published.exit_code == 0);
  auto progress = run_agora({"progress", "plan-2025", "--data", data, "--today", "2026-01-01"});
  INFO(progress.err);
  REQUIRE(progress.exit_code == 0);
  auto table = workflow_lines_of(progress.out);
  size_t header = 0;
  while (header < table.size() && !table[header].starts_with("ITEM")) ++header;
  REQUIRE(header + 1 < table.size());
  const std::string& row = table[header + 1];
  CHECK(workflow_column_of(row, "6") == workflow_column_of(table[header], "COMMIT"));
  CHECK(workflow_column_of(row, "in-progress") == workflow_column_of(table[header], "STATUS"));
  CHECK(workflow_column_of(row, "personnes accompagnées") == workflow_column_of(table[header], "INDICATOR"));
  CHECK(workflow_column_of(row, "- / 250 personnes") == workflow_column_of(table[header], "LATEST / TARGET"));
}

TEST_CASE("peer remove takes the prefix peer list prints, or the city's name", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  const std::string a = "ab12cd34" + std::string(56, '0'), b = "ab12cd34" + std::string(56, '1');
  REQUIRE(run_agora({"peer", "add", "-", "--key", a, "--data", data}).exit_code == 0);
  REQUIRE(run_agora({"peer", "add", "-", "--key", b, "--data", data}).exit_code == 0);
  auto list = run_agora({"peer", "list", "--data", data});
  CHECK_THAT(list.out, Catch::Contains(a.substr(0, 12)) && Catch::Contains(b.substr(0, 12)));
  // Naming both, or too short to be a prefix: refused, nothing removed.
  auto several = run_agora({"peer", "remove", "ab12cd34", "--data", data});
  CHECK(several.exit_code == 3);
  CHECK_THAT(several.err, Catch::Contains("names several peers"));
  CHECK(run_agora({"peer", "remove", "ab12cd3", "--data", data}).exit_code == 3);
  CHECK(json::parse(run_agora({"peer", "list", "--json", "--data", data}).out)["peers"].size() == 2);
  auto one = run_agora({"peer", "remove", "ab12cd340", "--data", data});
  CHECK(one.exit_code == 0);
  CHECK_THAT(one.out, Catch::Contains("peer " + a.substr(0, 12) + " removed"));
  auto again = run_agora({"peer", "remove", a.substr(0, 12), "--data", data});
  CHECK(again.exit_code == 3);
  CHECK_THAT(again.err, Catch::Contains("no peer of this node is"));
  auto by_prefix = run_agora({"peer", "remove", b.substr(0, 12), "--data", data});
  CHECK(by_prefix.exit_code == 0);
  CHECK(json::parse(run_agora({"peer", "list", "--json", "--data", data}).out)["peers"].empty());
}

TEST_CASE("show --as-input gives publishable input, and edit publishes a changed version only", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  std::string file = tmp.str("p.json");
  write_file(file, json{{"kind", "practice"},
                        {"id", "mentoring"},
                        {"title", "Mentoring for newcomers"},
                        {"summary", "Volunteers meet newcomers."},
                        {"language", "en"},
                        {"themes", {"employment"}},
                        {"visibility", "partners"}}
                       .dump());
  REQUIRE(run_agora({"publish", file, "--data", data}).exit_code == 0);
  auto shown = run_agora({"show", "mentoring", "--as-input", "--data", data});
  INFO(shown.err);
  REQUIRE(shown.exit_code == 0);
  json input = json::parse(shown.out);
  CHECK(input["kind"] == "practice");
  CHECK(input["id"] == "mentoring");
  CHECK(input["visibility"] == "partners");
  CHECK(input["title"] == "Mentoring for newcomers");
  CHECK_FALSE(input.contains("published"));
  CHECK_FALSE(input.contains("seq"));
  CHECK_FALSE(input.contains("version"));
  CHECK(shown.out.starts_with("{\n  \"kind\": \"practice\",\n  \"id\": \"mentoring\""));  // what it is, first
  // Published back as it is: the same record, nothing new.
  auto again = run_agora({"publish", "-", "--data", data}, shown.out);
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("practice mentoring v1 (unchanged)"));

  // edit: saved unchanged, nothing is written; saved changed, the next version.
  setenv("EDITOR", "true", 1);
  auto unchanged = run_agora({"edit", "mentoring", "--data", data});
  INFO(unchanged.err);
  CHECK(unchanged.exit_code == 0);
  CHECK_THAT(unchanged.out, Catch::Contains("unchanged, nothing published"));
  setenv("EDITOR", "sed -i -e s/Mentoring/Mentorat/", 1);
  auto changed = run_agora({"edit", "mentoring", "--data", data});
  INFO(changed.err);
  CHECK(changed.exit_code == 0);
  CHECK_THAT(changed.out, Catch::Contains("practice mentoring v2"));
  CHECK(json::parse(run_agora({"show", "mentoring", "--json", "--data", data}).out)["title"] ==
        "Mentorat for newcomers");
  // A change the input rules refuse: nothing published, the text kept where the error says.
  setenv("EDITOR", "sed -i -e s/employment/emplois/", 1);
  auto refused = run_agora({"edit", "mentoring", "--data", data});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("themes") && Catch::Contains("your text is kept in"));
  auto kept = refused.err.substr(refused.err.find("kept in ") + 8);
  kept = kept.substr(0, kept.find(':'));
  CHECK(std::filesystem::exists(kept));
  std::filesystem::remove(kept);
  CHECK(json::parse(run_agora({"show", "mentoring", "--json", "--data", data}).out)["version"] == 2);
  // The editor failing: nothing published.
  setenv("EDITOR", "false", 1);
  CHECK(run_agora({"edit", "mentoring", "--data", data}).exit_code == 1);
  unsetenv("EDITOR");
  // Not this city's record, or not one at all.
  CHECK(run_agora({"edit", "no-such-id", "--data", data}).exit_code == 3);
  auto profile = run_agora({"show", "profile", "--as-input", "--data", data});
  CHECK(profile.exit_code == 0);
  CHECK(json::parse(profile.out)["kind"] == "city");
}

TEST_CASE("agora new writes templates that publish as they are, comments dropped", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  auto publish_template = [&](const std::string& kind, const std::vector<std::string>& verb) {
    std::string file = tmp.str(kind + ".jsonc");
    auto made = run_agora({"new", kind, "--language", "fr", "--out", file});
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    std::vector<std::string> args = verb;
    args.insert(args.end(), {file, "--data", data});
    return run_agora(args);
  };
  for (const std::string kind : {"practice", "plan", "report", "coalition"}) {
    INFO(kind);
    auto r = publish_template(
        kind, kind == "plan" ? std::vector<std::string>{"plan", "publish"} : std::vector<std::string>{"publish"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
  }
  // Signed without its comments, in the language asked for.
  auto shown = run_agora({"show", "mentoring-for-newcomers", "--as-input", "--data", data});
  REQUIRE(shown.exit_code == 0);
  CHECK(json::parse(shown.out)["language"] == "fr");
  CHECK_THAT(shown.out, !Catch::Contains("Replace the example values"));
  // The partnership needs the other city's id: the error names the field.
  auto partnership = publish_template("partnership", {"publish"});
  CHECK(partnership.exit_code == 3);
  CHECK_THAT(partnership.err, Catch::Contains("with"));
  // To standard output without --out; never over an existing file; only known kinds.
  auto out = run_agora({"new", "practice"});
  CHECK(out.exit_code == 0);
  CHECK_THAT(out.out, Catch::Contains("\"language\": \"en\""));
  CHECK(run_agora({"new", "practice", "--out", tmp.str("practice.jsonc")}).exit_code == 3);
  CHECK(run_agora({"new", "pratice"}).exit_code == 2);
  CHECK(run_agora({"new", "practice", "--language", "french"}).exit_code == 3);
}

TEST_CASE("every problem of an input file is reported in one run, and nothing is written", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  std::string file = tmp.str("p.json");
  // A misspelt field, a missing summary, an English language name, a French theme name, a
  // year out of range.
  write_file(file, R"({
  "kind": "practice",
  "titel": "Mentoring",
  "title": "Mentoring",
  "language": "french",
  "themes": ["emplois"],
  "started": 1850
})");
  auto r = run_agora({"publish", file, "--data", data});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("titel: unknown field; did you mean \"title\"?"));
  CHECK_THAT(r.err, Catch::Contains("summary: required field is missing"));
  CHECK_THAT(r.err, Catch::Contains("language: ") && Catch::Contains("\"fr\""));
  CHECK_THAT(r.err, Catch::Contains("themes[0]: "));
  CHECK_THAT(r.err, Catch::Contains("started: year 1850"));
  CHECK_THAT(r.err, Catch::Contains("5 problems; nothing was published"));
  // Every bad element of a list, each by its index.
  write_file(file, R"({"kind": "practice", "title": "T", "summary": "S", "language": "en",
  "themes": ["emploi", "housing", "housin"], "links": ["a", "https://example.org", "b"]})");
  auto lists = run_agora({"publish", file, "--data", data});
  CHECK(lists.exit_code == 3);
  CHECK_THAT(lists.err, Catch::Contains("themes[0]: ") && Catch::Contains("themes[2]: ") &&
                            Catch::Contains("links[0]: ") && Catch::Contains("links[2]: "));
  CHECK_THAT(lists.err, !Catch::Contains("themes[1]") && !Catch::Contains("links[1]"));
  CHECK_THAT(lists.err, Catch::Contains("4 problems"));
  for (const auto& line : workflow_lines_of(r.err)) CHECK(line.starts_with("error: " + file));
  CHECK(json::parse(run_agora({"list", "--json", "--data", data, "--kind", "practice"}).out).empty());

  // import: every bad line, each with its problems; nothing imported.
  std::string lines = tmp.str("p.ndjson");
  write_file(lines, R"({"kind":"practice","title":"A","summary":"S","language":"en","themes":["employment"]}
{"kind":"practice","title":"B","language":"xx","themes":["employment"]}
{"kind":"practice","title":"C","summary":"S","language":"en","themes":["employmnt"],"visibilty":"public"}
)");
  auto imported = run_agora({"import", lines, "--data", data});
  CHECK(imported.exit_code == 3);
  CHECK_THAT(imported.err, Catch::Contains(lines + ":2: summary: required field is missing"));
  CHECK_THAT(imported.err, Catch::Contains(lines + ":2: language: "));
  CHECK_THAT(imported.err, Catch::Contains(lines + ":3: visibilty: unknown field"));
  CHECK_THAT(imported.err, Catch::Contains(lines + ":3: themes[0]: "));
  CHECK_THAT(imported.err, Catch::Contains("4 problems on 2 lines; nothing was imported"));
  CHECK(json::parse(run_agora({"list", "--json", "--data", data, "--kind", "practice"}).out).empty());
}

TEST_CASE("a spreadsheet's CSV imports all or nothing, each bad cell named by line and column", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  // As a French spreadsheet exports it: a byte order mark, ';' between cells, a quoted cell
  // holding ';' and a newline, a decimal comma.
  std::string good = tmp.str("practices.csv");
  write_file(good,
             "\xEF\xBB\xBFid;Title;summary;language;themes;frameworks;started;outcomes;partners\r\n"
             "parrainage;Parrainage vers l’emploi;\"Des bénévoles;\nchaque semaine.\";fr;employment;"
             "eccar-10pt:6;2019;personnes en emploi=120 personnes @2023;\"Pôle emploi;Chambre de commerce\"\r\n"
             "logement;Logement d’abord;Des logements.;fr;housing;;;taux=12,5 %;\r\n"
             "accueil;Accueil;Des bénévoles.;fr;housing;;;personnes accueillies=1 250 personnes @2024;\r\n");
  auto r = run_agora({"import", good, "--data", data});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("imported 3 records"));
  json p = json::parse(run_agora({"show", "parrainage", "--json", "--data", data}).out);
  CHECK(p["summary"] == "Des bénévoles;\nchaque semaine.");
  CHECK(p["partners"] == json({"Pôle emploi", "Chambre de commerce"}));
  CHECK(p["frameworks"][0] == json({{"framework", "eccar-10pt"}, {"ref", "6"}}));
  CHECK(p["outcomes"][0] ==
        json({{"indicator", "personnes en emploi"}, {"value", 120}, {"unit", "personnes"}, {"year", 2023}}));
  CHECK(p["started"] == 2019);
  json l = json::parse(run_agora({"show", "logement", "--json", "--data", data}).out);
  CHECK(l["outcomes"][0]["value"] == 12.5);
  CHECK(l["outcomes"][0]["unit"] == "%");
  json a = json::parse(run_agora({"show", "accueil", "--json", "--data", data}).out);
  CHECK(a["outcomes"][0]["value"] == 1250);  // digits grouped by a space, as French writes them
  CHECK(a["outcomes"][0]["unit"] == "personnes");

  // Every bad cell of every row, by line and column; nothing written.
  std::string bad = tmp.str("bad.csv");
  write_file(bad,
             "id,title,summary,language,themes,started,colour\n"
             "a,A,S,en,employmnt,2019,\n"
             "b,B,,xx,housing,next year,\n"
             "c,C,S,en,housing,2020,blue\n");
  const std::string before = run_agora({"status", "--json", "--data", data}).out;
  auto refused = run_agora({"import", bad, "--data", data});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains(bad + ":2, column themes: themes[0]: "));
  CHECK_THAT(refused.err, Catch::Contains(bad + ":3, column started: expected a number, got \"next year\""));
  CHECK_THAT(refused.err, Catch::Contains(bad + ":1, column colour: not a field of any record"));
  CHECK_THAT(refused.err, Catch::Contains("rows; nothing was imported"));
  CHECK(run_agora({"status", "--json", "--data", data}).out == before);
  // What is checked across records (a report naming a plan the city does not have) is
  // named by the CSV file's line too, not an intermediate file's.
  std::string reports = tmp.str("reports.txt");
  write_file(reports, "kind,plan,item,indicator,value,date\nreport,no-such-plan,a,b,3,2025-01-01\n");
  auto orphan = run_agora({"import", "--format", "csv", reports, "--data", data});
  INFO(orphan.err);
  CHECK(orphan.exit_code == 3);
  CHECK_THAT(orphan.err, Catch::Contains(reports + ":2:") && Catch::Contains("no-such-plan"));
  CHECK_THAT(orphan.err, !Catch::Contains("import-"));
}

TEST_CASE("the examples in docs/examples publish as they are", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "The Hague", "--country", "NL"}).exit_code == 0);
  const std::string examples = std::string(AGORA_SOURCE_DIR) + "/docs/examples/";
  for (const std::string name : {"citizenship-fund.json", "coalition.json", "partnership.json"}) {
    auto r = run_agora({"publish", examples + name, "--data", data});
    INFO(name << ": " << r.err);
    CHECK(r.exit_code == 0);
  }
  auto plan = run_agora({"plan", "publish", examples + "action-plan.json", "--data", data});
  INFO(plan.err);
  CHECK(plan.exit_code == 0);
}

TEST_CASE("peer add --relation proposes the records that make the relation, ready to publish", "[cli][workflow]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  const std::string twin = "ab12cd34" + std::string(56, '0');
  auto added = run_agora({"peer", "add", "-", "--key", twin, "--relation", "twin", "--data", data});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  CHECK_THAT(added.out, Catch::Contains("both publish a partnership"));
  // The line for this city, as printed, publishes.
  auto here = added.out.substr(added.out.find("here:    echo '") + 15);
  here = here.substr(0, here.find("' | agora publish -"));
  CHECK(json::parse(here) == json({{"kind", "partnership"}, {"with", twin}, {"relation", "twin"}}));
  auto published = run_agora({"publish", "-", "--data", data}, here);
  INFO(published.err);
  CHECK(published.exit_code == 0);
  auto member = run_agora(
      {"peer", "add", "-", "--key", "cd34" + std::string(60, '1'), "--relation", "coalition:eccar", "--data", data});
  REQUIRE(member.exit_code == 0);
  CHECK_THAT(member.out,
             Catch::Contains("\"relation\":\"coalition-member\"") && Catch::Contains("\"coalition\":\"eccar\""));
}
