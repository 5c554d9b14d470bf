// Progress arithmetic of action plans (node/progress): latest against target, trend,
// overdue items, with and without reports.
#include <catch2/catch.hpp>

#include "node/monitoring/progress.hpp"

using agora::compute_progress;
using nlohmann::json;

namespace {

json plan() {
  return {{"title", "Plan"},
          {"framework", "eccar-10pt"},
          {"period", {{"from", "2024-01-01"}, {"to", "2026-12-31"}}},
          {"items",
           {{{"id", "housing"},
             {"commitment", "7"},
             {"action", "More flats"},
             {"due", "2025-03-31"},
             {"status", "in-progress"},
             {"indicators",
              {{{"name", "flats"}, {"unit", "flats"}, {"baseline", 100}, {"target", 200}, {"direction", "increase"}},
               {{"name", "waiting weeks"}, {"baseline", 30}, {"target", 10}, {"direction", "decrease"}}}}},
            {{"id", "survey"},
             {"commitment", "2"},
             {"action", "Staff survey"},
             {"due", "2024-12-31"},
             {"status", "done"},
             {"indicators", {{{"name", "answers"}, {"baseline", 0}, {"target", 0}, {"direction", "increase"}}}}}}}};
}

json report(const std::string& item, const std::string& indicator, double value, const std::string& date) {
  return {{"plan", "p"}, {"item", item}, {"indicator", indicator}, {"value", value}, {"date", date}};
}

}  // namespace

TEST_CASE("a plan without reports has no latest values, no trend and counts what is overdue", "[progress]") {
  auto p = compute_progress(plan(), {}, "2025-06-01");
  REQUIRE(p.items.size() == 2);
  CHECK(p.indicators == 3);
  CHECK(p.reported == 0);
  CHECK(p.targets_met == 0);
  const auto& flats = p.items[0].indicators[0];
  CHECK_FALSE(flats.latest);
  CHECK_FALSE(flats.achieved);
  CHECK(flats.trend.empty());
  CHECK(p.items[0].overdue);        // due 2025-03-31, still in progress
  CHECK_FALSE(p.items[1].overdue);  // past due but done
  CHECK(p.overdue == 1);
  CHECK_FALSE(compute_progress(plan(), {}, "2025-03-31").items[0].overdue);  // due today is not late
}

TEST_CASE("an increasing indicator: share of the way to the target and the trend of the last two reports",
          "[progress]") {
  auto p = compute_progress(
      plan(), {report("housing", "flats", 150, "2025-06-01"), report("housing", "flats", 120, "2025-01-01")},
      "2025-06-02");
  const auto& flats = p.items[0].indicators[0];
  REQUIRE(flats.latest);
  CHECK(*flats.latest == 150);  // by date, not by the order reports came in
  CHECK(*flats.achieved == Approx(0.5));
  CHECK(flats.trend == "improving");
  CHECK_FALSE(flats.target_met);
  REQUIRE(flats.history.size() == 2);
  CHECK(flats.history[0].date == "2025-01-01");

  auto fell = compute_progress(
      plan(), {report("housing", "flats", 150, "2025-01-01"), report("housing", "flats", 90, "2025-06-01")},
      "2025-06-02");
  CHECK(*fell.items[0].indicators[0].achieved == Approx(-0.1));  // below the baseline
  CHECK(fell.items[0].indicators[0].trend == "worsening");

  auto met = compute_progress(plan(), {report("housing", "flats", 210, "2025-01-01")}, "2025-06-02");
  CHECK(met.items[0].indicators[0].target_met);
  CHECK(*met.items[0].indicators[0].achieved == Approx(1.1));
  CHECK(met.items[0].indicators[0].trend.empty());  // one report: no trend yet
  CHECK(met.targets_met == 1);
}

TEST_CASE("a decreasing indicator (target below baseline) counts a fall as progress", "[progress]") {
  auto p = compute_progress(
      plan(),
      {report("housing", "waiting weeks", 25, "2024-06-01"), report("housing", "waiting weeks", 28, "2025-01-01")},
      "2025-01-02");
  const auto& weeks = p.items[0].indicators[1];
  CHECK(*weeks.achieved == Approx(0.1));  // (28 - 30) / (10 - 30)
  CHECK(weeks.trend == "worsening");      // went up again
  CHECK_FALSE(weeks.target_met);
  auto done = compute_progress(
      plan(),
      {report("housing", "waiting weeks", 28, "2024-06-01"), report("housing", "waiting weeks", 8, "2025-01-01")},
      "2025-01-02");
  CHECK(done.items[0].indicators[1].target_met);
  CHECK(done.items[0].indicators[1].trend == "improving");
  CHECK(*done.items[0].indicators[1].achieved == Approx(1.1));
}

TEST_CASE("edge cases: equal baseline and target, a corrected figure, reports for unknown indicators", "[progress]") {
  auto p =
      compute_progress(plan(),
                       {report("survey", "answers", 0, "2024-10-01"), report("housing", "flats", 130, "2025-01-01"),
                        report("housing", "flats", 140, "2025-01-01"),  // corrected: the later one counts
                        report("housing", "parks", 3, "2025-01-01"), report("nope", "flats", 1, "2025-01-01")},
                       "2025-01-02");
  const auto& answers = p.items[1].indicators[0];
  CHECK(answers.target_met);
  CHECK(*answers.achieved == 1.0);
  const auto& flats = p.items[0].indicators[0];
  REQUIRE(flats.history.size() == 1);
  CHECK(*flats.latest == 140);
  CHECK(p.reported == 2);
  auto j = agora::to_json(p);
  CHECK(j["summary"]["reported"] == 2);
  CHECK(j["items"][0]["indicators"][1]["latest"].is_null());
}
