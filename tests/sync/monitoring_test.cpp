// Monitoring views over HTTP: a plan's progress, an indicator chart as SVG, one commitment
// across cities — through real `agora serve` processes on loopback.
#include <catch2/catch.hpp>

#include "http_client.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

void run_ok(const ServedNode& node, const std::vector<std::string>& args) {
  auto r = node.agora(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("a plan's progress, its indicator charts and one commitment across cities, over HTTP", "[http][monitoring]") {
  ServedNode malmo("Malmö", "SE"), lyon("Lyon", "FR");
  malmo.publish({{"kind", "plan"},
                 {"id", "eccar-2024"},
                 {"title", "Handlingsplan 2024–2026"},
                 {"language", "sv"},
                 {"framework", "eccar-10pt"},
                 {"period", {{"from", "2024-01-01"}, {"to", "2026-12-31"}}},
                 {"items",
                  {{{"id", "linkworkers"},
                    {"commitment", "6"},
                    {"action", "Länkarbetare."},
                    {"due", "2025-06-30"},
                    {"status", "in-progress"},
                    {"indicators",
                     {{{"name", "linkworkers"},
                       {"unit", "people"},
                       {"baseline", 4},
                       {"target", 12},
                       {"direction", "increase"}}}}},
                   {{"id", "audit"}, {"commitment", "2"}, {"action", "Mångfaldsrevision."}}}}});
  run_ok(malmo,
         {"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers", "--value", "6", "--date", "2024-09-30"});
  run_ok(malmo,
         {"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers", "--value", "8", "--date", "2025-03-31"});
  run_ok(malmo, {"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers", "--value", "99", "--date",
                 "2025-04-30", "--visibility", "private"});  // an internal figure: never shown over HTTP
  lyon.publish({{"kind", "practice"},
                {"id", "charte"},
                {"title", "Charte de la diversité"},
                {"summary", "Six engagements."},
                {"language", "fr"},
                {"themes", {"employment", "non-discrimination"}},
                {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  malmo.serve();
  lyon.serve();
  peer_both(malmo, lyon);
  REQUIRE(wait_until([&] { return malmo.head_of(lyon.id) >= 2 && lyon.head_of(malmo.id) >= 4; }));

  // Lyon's node shows Malmö's plan as it follows it.
  REQUIRE(wait_until(
      [&] { return http_get(lyon.http_url, "/api/v1/plans/Malm%C3%B6/eccar-2024/progress").status == 200; }));
  json p = get_json(lyon, "/api/v1/plans/Malm%C3%B6/eccar-2024/progress?today=2025-07-01");
  CHECK(p["title"] == "Handlingsplan 2024–2026");
  CHECK(p["summary"]["reported"] == 1);
  CHECK(p["summary"]["overdue"] == 1);
  const json& ind = p["items"][0]["indicators"][0];
  CHECK(ind["latest"] == 8.0);  // not the private 99
  CHECK(ind["history"].size() == 2);
  CHECK(ind["achieved"] == 0.5);
  CHECK(ind["trend"] == "improving");

  auto svg = http_get(lyon.http_url,
                      "/api/v1/plans/" + malmo.id + "/eccar-2024/chart.svg?item=linkworkers&indicator=linkworkers");
  REQUIRE(svg.status == 200);
  CHECK(svg.content_type.starts_with("image/svg+xml"));
  CHECK(svg.headers["content-disposition"] == "inline; filename=\"eccar-2024-linkworkers.svg\"");
  CHECK(svg.body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(svg.body.find("<title>Malmö: linkworkers (linkworkers)</title>") != std::string::npos);
  CHECK(svg.body.find("class=\"values\"") != std::string::npos);
  CHECK(svg.body.find("2025-03-31: 8 people") != std::string::npos);
  CHECK(svg.body.find("99") == std::string::npos);
  CHECK(svg.body.find("target 12 people") != std::string::npos);
  auto empty = http_get(malmo.http_url, "/api/v1/plans/" + malmo.id + "/eccar-2024/chart.svg?item=audit&indicator=x");
  CHECK(empty.status == 400);
  CHECK(json::parse(empty.body)["param"] == "indicator");

  // Who acts on commitment 6, with what results.
  json c = get_json(malmo, "/api/v1/commitments/eccar-10pt/6");
  CHECK(c["title"] == "The City as an Equal Opportunities Employer and Service Provider");
  REQUIRE(c["cities"].size() == 2);
  CHECK(c["cities"][0]["city"] == "Lyon");
  CHECK(c["cities"][0]["practices"][0]["title"] == "Charte de la diversité");
  CHECK(c["cities"][0]["plan_items"].empty());
  CHECK(c["cities"][1]["city"] == "Malmö");
  REQUIRE(c["cities"][1]["plan_items"].size() == 1);
  CHECK(c["cities"][1]["plan_items"][0]["plan"] == "eccar-2024");
  CHECK(c["cities"][1]["plan_items"][0]["indicators"][0]["latest"] == 8.0);
  CHECK(get_json(malmo, "/api/v1/commitments/eccar-10pt/2")["cities"][0]["plan_items"][0]["id"] == "audit");
  CHECK(get_json(malmo, "/api/v1/commitments/eccar-10pt/11", 400)["param"] == "ref");
  CHECK(get_json(malmo, "/api/v1/commitments/eccar-1pt/1", 400)["param"] == "framework");
  get_json(malmo, "/api/v1/plans/" + malmo.id + "/nope/progress", 404);
  CHECK(get_json(malmo, "/api/v1/plans/" + malmo.id + "/eccar-2024/progress?today=soon", 400)["param"] == "today");

  // A new report is visible at once: the cached answer is not kept past a write.
  run_ok(malmo, {"report", "eccar-2024", "linkworkers", "--indicator", "linkworkers", "--value", "12", "--date",
                 "2025-06-30"});
  json after = get_json(malmo, "/api/v1/plans/" + malmo.id + "/eccar-2024/progress");
  CHECK(after["items"][0]["indicators"][0]["target_met"] == true);
}

TEST_CASE("a coalition's lead city publishes a framework, and other cities' records are checked against it",
          "[http][monitoring][frameworks]") {
  ServedNode lyon("Lyon", "FR"), malmo("Malmö", "SE");
  json framework = {{"kind", "framework"},
                    {"id", "eccar-equality-data"},
                    {"title", "ECCAR Equality Data Toolkit"},
                    {"coalition", "eccar"},
                    {"language", "en"},
                    {"commitments",
                     {{{"ref", "D1"}, {"title", "Collect equality data with the communities concerned"}},
                      {{"ref", "D2"}, {"title", "Publish the results every year"}}}}};
  // Not before Lyon declares the coalition it leads.
  auto early = lyon.agora({"publish", "-"}, framework.dump());
  CHECK(early.exit_code == 3);
  CHECK(early.err.find("coalition: this city does not lead a coalition \"eccar\"") != std::string::npos);
  lyon.publish({{"kind", "coalition"},
                {"name", "eccar"},
                {"title", "European Coalition of Cities against Racism"},
                {"region", "Europe"},
                {"framework", "eccar-10pt"},
                {"members", {malmo.id}}});
  lyon.publish(framework);

  // Malmö does not know the framework until it holds Lyon's records.
  json practice = {{"kind", "practice"},
                   {"id", "jamstalldhetsdata"},
                   {"title", "Jämlikhetsdata"},
                   {"summary", "Staden samlar in jämlikhetsdata tillsammans med föreningar."},
                   {"language", "sv"},
                   {"themes", {"non-discrimination"}},
                   {"frameworks", {{{"framework", "eccar-equality-data"}, {"ref", "D1"}}}}};
  auto unknown = malmo.agora({"publish", "-"}, practice.dump());
  CHECK(unknown.exit_code == 3);
  CHECK(unknown.err.find("unknown framework \"eccar-equality-data\"") != std::string::npos);

  lyon.serve();
  malmo.serve();
  peer_both(lyon, malmo);
  REQUIRE(wait_until([&] { return malmo.head_of(lyon.id) >= 3; }));
  uint64_t before = malmo.head_of(malmo.id);
  json wrong = practice;
  wrong["frameworks"][0]["ref"] = "D9";
  auto bad = malmo.agora({"publish", "-"}, wrong.dump());
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("unknown ref \"D9\" in eccar-equality-data (valid: D1 D2)") != std::string::npos);
  CHECK(malmo.head_of(malmo.id) == before);
  malmo.publish(practice);
  // Only the lead publishes the coalition's frameworks.
  json own = framework;
  own["id"] = "malmo-framework";
  auto not_lead = malmo.agora({"publish", "-"}, own.dump());
  CHECK(not_lead.exit_code == 3);
  CHECK(not_lead.err.find("does not lead a coalition") != std::string::npos);

  json list = get_json(malmo, "/api/v1/frameworks");
  REQUIRE(list["items"].size() == 4);
  CHECK(list["items"][0]["builtin"] == true);
  CHECK(list["items"][3]["id"] == "eccar-equality-data");
  CHECK(list["items"][3]["city"] == "Lyon");
  CHECK(list["items"][3]["coalition"] == "eccar");
  CHECK(list["items"][3]["commitments"].size() == 2);
  REQUIRE(wait_until([&] {
    auto r = http_get(malmo.http_url, "/api/v1/commitments/eccar-equality-data/D1");
    return r.status == 200 && json::parse(r.body)["cities"].size() == 1;
  }));
  json c = get_json(malmo, "/api/v1/commitments/eccar-equality-data/D1");
  CHECK(c["title"] == "Collect equality data with the communities concerned");
  CHECK(c["cities"][0]["practices"][0]["id"] == "jamstalldhetsdata");
  json filtered = get_json(malmo, "/api/v1/practices?framework=eccar-equality-data&ref=D1");
  CHECK(filtered["items"].size() == 1);
  CHECK(get_json(malmo, "/api/v1/practices?framework=eccar-equality-dat", 400)["error"].get<std::string>().find(
            "did you mean \"eccar-equality-data\"") != std::string::npos);
  json stats = get_json(malmo, "/api/v1/stats?framework=eccar-equality-data");
  CHECK(stats["coverage"]["refs"].size() == 2);
}
