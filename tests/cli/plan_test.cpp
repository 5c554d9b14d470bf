// agora plan publish, report, progress and adopt: the real binary on temp data dirs.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/process.hpp"
#include "temp_dir.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

struct CityNode {
  TempDir tmp;
  std::string data = tmp.str("node");
  CityNode() { REQUIRE(run_agora({"init", "--data", data, "--city", "Malmö", "--country", "SE"}).exit_code == 0); }
  ProcessResult run(std::vector<std::string> args, const std::string& input = "") const {
    args.insert(args.end(), {"--data", data});
    return run_agora(args, input);
  }
  std::string log_length() const { return json::parse(run({"status", "--json"}).out)["log_length"].dump(); }
};

json plan_input() {
  return {{"kind", "plan"},
          {"id", "eccar-2024"},
          {"title", "Handlingsplan mot diskriminering 2024–2026"},
          {"language", "sv"},
          {"framework", "eccar-10pt"},
          {"period", {{"from", "2024-01-01"}, {"to", "2026-12-31"}}},
          {"items",
           {{{"id", "linkworkers"},
             {"commitment", "6"},
             {"action", "Länkarbetare mellan förvaltningar och invandrargrupper."},
             {"department", "Stadskontoret"},
             {"start", "2024-02-01"},
             {"due", "2025-06-30"},
             {"status", "in-progress"},
             {"indicators",
              {{{"name", "linkworkers employed"},
                {"unit", "people"},
                {"baseline", 4},
                {"target", 12},
                {"direction", "increase"}},
               {{"name", "weeks to first contact"},
                {"unit", "weeks"},
                {"baseline", 9},
                {"target", 3},
                {"direction", "decrease"}}}}},
            {{"id", "audit"},
             {"commitment", "2"},
             {"action", "Mångfaldsrevision av personaldata."},
             {"due", "2026-12-31"},
             {"status", "planned"}}}}};
}

}  // namespace

TEST_CASE("a coordinator publishes a plan, reports on it and reads its progress", "[cli][plan]") {
  CityNode node;
  auto published = node.run({"plan", "publish", "-"}, plan_input().dump());
  INFO(published.err);
  REQUIRE(published.exit_code == 0);
  CHECK(published.out == "plan eccar-2024 v1\n");

  auto none = json::parse(node.run({"progress", "eccar-2024", "--json", "--today", "2025-01-01"}).out);
  CHECK(none["summary"]["reported"] == 0);
  CHECK(none["items"][0]["indicators"][0]["latest"].is_null());

  for (auto [indicator, value, date] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"linkworkers employed", "6", "2024-09-30"},
           {"linkworkers employed", "8", "2025-03-31"},
           {"weeks to first contact", "7", "2024-09-30"},
           {"weeks to first contact", "7.5", "2025-03-31"}}) {
    auto r = node.run({"report", "eccar-2024", "linkworkers", "--indicator", indicator, "--value", value, "--date",
                       date, "--source", "HR system"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.starts_with("report "));
  }
  json p = json::parse(node.run({"progress", "eccar-2024", "--json", "--today", "2025-07-01"}).out);
  CHECK(p["summary"] == json{{"items", 2}, {"indicators", 2}, {"reported", 2}, {"targets_met", 0}, {"overdue", 1}});
  const json& staff = p["items"][0]["indicators"][0];
  CHECK(staff["latest"] == 8.0);
  CHECK(staff["achieved"] == 0.5);  // (8 - 4) / (12 - 4)
  CHECK(staff["trend"] == "improving");
  CHECK(staff["history"].size() == 2);
  CHECK(p["items"][0]["indicators"][1]["trend"] == "worsening");  // waiting went up: a decreasing indicator
  CHECK(p["items"][0]["overdue"] == true);

  auto table = node.run({"progress", "--today", "2025-07-01"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("Handlingsplan mot diskriminering") != std::string::npos);
  CHECK(table.out.find("in-progress (overdue)") != std::string::npos);
  CHECK(table.out.find("8 / 12 people") != std::string::npos);
  CHECK(table.out.find("50%") != std::string::npos);
  CHECK(table.out.find("improving") != std::string::npos);
}

TEST_CASE("plans and reports that refer to what does not exist are refused and nothing is written", "[cli][plan]") {
  CityNode node;
  REQUIRE(node.run({"plan", "publish", "-"}, plan_input().dump()).exit_code == 0);
  std::string before = node.log_length();
  auto refused = [&](std::vector<std::string> args, const std::string& message, const std::string& input = "") {
    auto r = node.run(args, input);
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.starts_with("error: "));
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one line
  };
  json bad = plan_input();
  bad["framework"] = "eccar-11pt";
  refused({"plan", "publish", "-"}, "did you mean \"eccar-10pt\"", bad.dump());
  bad = plan_input();
  bad["items"][0]["commitment"] = "11";
  refused({"plan", "publish", "-"}, "unknown commitment \"11\" in eccar-10pt", bad.dump());
  bad = plan_input();
  bad["items"][0]["indicators"][1]["target"] = 12;
  refused({"plan", "publish", "-"}, "does not decrease from the baseline", bad.dump());
  refused(
      {"plan", "publish", "-"}, "expected \"plan\"",
      json{{"kind", "practice"}, {"title", "t"}, {"summary", "s"}, {"language", "en"}, {"themes", {"housing"}}}.dump());

  std::vector<std::string> ok = {"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers employed",
                                 "--date", "2025-01-01", "--value"};
  auto with = [&](std::vector<std::string> args, const std::string& value) {
    args.push_back(value);
    return args;
  };
  refused(with(ok, "many"), "--value: expected a number, got \"many\"");
  refused(with(ok, "1e999"), "--value: expected a number");
  refused({"report", "nope", "linkworkers", "--indicator", "x", "--value", "1", "--date", "2025-01-01"},
          "plan: \"nope\" is not one of this city's plans");
  refused({"report", "eccar-2024", "kitchen", "--indicator", "x", "--value", "1", "--date", "2025-01-01"},
          "item: plan \"eccar-2024\" has no item \"kitchen\" (items: linkworkers, audit)");
  refused({"report", "eccar-2024", "linkworkers", "--indicator", "staff", "--value", "1", "--date", "2025-01-01"},
          "has no indicator \"staff\" (indicators: \"linkworkers employed\", \"weeks to first contact\")");
  refused({"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers employed", "--value", "1", "--date",
           "2023-12-31"},
          "date: 2023-12-31 is outside the plan's period 2024-01-01 to 2026-12-31");
  refused({"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers employed", "--value", "1", "--date",
           "2025-13-01"},
          "date");
  // The same checks hold for a report given to `agora publish`.
  refused({"publish", "-"}, "outside the plan's period",
          json{{"kind", "report"},
               {"plan", "eccar-2024"},
               {"item", "linkworkers"},
               {"indicator", "linkworkers employed"},
               {"value", 3},
               {"date", "2027-01-01"}}
              .dump());
  refused({"adopt", "eccar-2024"}, "practice");  // own record, and not a practice
  refused({"progress", "nope"}, "no plan \"nope\"");
  CHECK(node.log_length() == before);
}

TEST_CASE("a wrong report is corrected, and a plan update cannot cut reports off their indicator by accident",
          "[cli][plan][corrections]") {
  CityNode city;
  REQUIRE(city.run({"plan", "publish", "-"}, plan_input().dump()).exit_code == 0);
  auto report = [&](const std::string& value, const std::string& date, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"report",  "eccar-2024", "linkworkers", "--indicator", "linkworkers employed",
                                     "--value", value,        "--date",      date};
    args.insert(args.end(), extra.begin(), extra.end());
    return city.run(args);
  };
  REQUIRE(report("5", "2024-06-30").exit_code == 0);
  auto wrong = report("70", "2024-12-31");  // a typo: 7 was meant
  REQUIRE(wrong.exit_code == 0);
  std::string wrong_id = wrong.out.substr(7, wrong.out.find(" v1") - 7);  // "report ID v1"

  // Bad corrections change nothing.
  std::string before = city.log_length();
  auto no_such = report("7", "2024-12-31", {"--corrects", "no-such-report"});
  CHECK(no_such.exit_code == 3);
  CHECK_THAT(no_such.err, Catch::Contains("no report \"no-such-report\""));
  json other = plan_input();
  other["id"] = "other-plan";
  REQUIRE(city.run({"plan", "publish", "-"}, other.dump()).exit_code == 0);
  before = city.log_length();
  auto other_plan = city.run({"report", "other-plan", "linkworkers", "--indicator", "linkworkers employed", "--value",
                              "7", "--corrects", wrong_id});
  CHECK(other_plan.exit_code == 3);
  CHECK_THAT(other_plan.err, Catch::Contains("is of plan \"eccar-2024\", not \"other-plan\""));
  auto other_indicator = city.run({"report", "eccar-2024", "linkworkers", "--indicator", "weeks to first contact",
                                   "--value", "7", "--corrects", wrong_id});
  CHECK(other_indicator.exit_code == 3);
  CHECK_THAT(other_indicator.err, Catch::Contains("not what it measures"));
  CHECK(city.log_length() == before);

  auto fixed = city.run({"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers employed", "--value", "7",
                         "--corrects", wrong_id});
  INFO(fixed.err);
  REQUIRE(fixed.exit_code == 0);
  CHECK_THAT(fixed.out, Catch::Contains("report " + wrong_id + " v2"));
  auto progress = json::parse(city.run({"progress", "eccar-2024", "--json", "--today", "2025-01-01"}).out);
  json ind = progress["items"][0]["indicators"][0];
  CHECK(ind["latest"] == 7);  // the correction, on the corrected report's date
  REQUIRE(ind["history"].size() == 2);
  CHECK(ind["history"][1]["date"] == "2024-12-31");
  CHECK(ind["history"][1]["corrected"] == true);
  CHECK(ind["history"][1]["report"] == wrong_id);
  auto listed = city.run({"list", "--kind", "report"});
  CHECK_THAT(listed.out, Catch::Contains("linkworkers employed = 7 on 2024-12-31 (corrected)"));
  CHECK_THAT(listed.out, Catch::Contains("linkworkers employed = 5 on 2024-06-30"));

  // Renaming the indicator in an update: refused unless the reports move with it.
  json renamed = plan_input();
  renamed["items"][0]["indicators"][0]["name"] = "link workers in post";
  before = city.log_length();
  auto cut = city.run({"plan", "publish", "-"}, renamed.dump());
  CHECK(cut.exit_code == 3);
  CHECK_THAT(cut.err, Catch::Contains("indicator \"linkworkers employed\" of item \"linkworkers\" has 2 reports"));
  CHECK_THAT(cut.err, Catch::Contains("--rename-indicator"));
  // Not through the other verbs either: publish and import apply the same rule.
  auto by_publish = city.run({"publish", "-"}, renamed.dump());
  CHECK(by_publish.exit_code == 3);
  CHECK_THAT(by_publish.err, Catch::Contains("has reports and is not in this version"));
  std::string lines = city.tmp.str("plan.ndjson");
  std::ofstream(lines) << renamed.dump() << "\n";
  auto by_import = city.run({"import", lines});
  CHECK(by_import.exit_code == 3);
  CHECK_THAT(by_import.err, Catch::Contains("has reports and is not in this version"));
  // A rename may not merge two indicators' reports, nor name one indicator twice.
  auto merge = city.run({"plan", "publish", "-", "--rename-indicator", "linkworkers employed=weeks to first contact"},
                        renamed.dump());
  CHECK(merge.exit_code == 3);
  CHECK_THAT(merge.err, Catch::Contains("may not merge two indicators"));
  auto twice = city.run({"plan", "publish", "-", "--rename-indicator", "linkworkers employed=a", "--rename-indicator",
                         "linkworkers employed=b"},
                        renamed.dump());
  CHECK(twice.exit_code == 3);
  CHECK_THAT(twice.err, Catch::Contains("is renamed twice"));
  auto bad_rename = city.run({"plan", "publish", "-", "--rename-indicator", "linkworkers employed=no such indicator"},
                             renamed.dump());
  CHECK(bad_rename.exit_code == 3);
  CHECK_THAT(bad_rename.err, Catch::Contains("has no indicator \"no such indicator\""));
  CHECK(city.log_length() == before);
  auto moved = city.run({"plan", "publish", "-", "--rename-indicator", "linkworkers employed=link workers in post"},
                        renamed.dump());
  INFO(moved.err);
  REQUIRE(moved.exit_code == 0);
  CHECK_THAT(moved.out, Catch::Contains("2 reports carried over"));
  progress = json::parse(city.run({"progress", "eccar-2024", "--json", "--today", "2025-01-01"}).out);
  ind = progress["items"][0]["indicators"][0];
  CHECK(ind["name"] == "link workers in post");
  CHECK(ind["latest"] == 7);
  CHECK(ind["history"].size() == 2);

  // Dropping it: only when said so.
  json dropped = renamed;
  dropped["items"][0]["indicators"].erase(0);
  CHECK(city.run({"plan", "publish", "-"}, dropped.dump()).exit_code == 3);
  CHECK(city.run({"plan", "publish", "-", "--drop-indicator", "link workers in post"}, dropped.dump()).exit_code == 0);
  CHECK(city.run({"verify"}).exit_code == 0);
}
