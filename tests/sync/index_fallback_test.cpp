// Reads never wait for the search index: lists, filters, stats and commitments answer from
// LMDB when there is no complete index, exactly as the index answers them; a record is in
// the lists the moment `agora publish` returns, whatever the index's lag.
#include <catch2/catch.hpp>

#include <fstream>

#include "http_client.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

// Varied practices: every filter and facet has several values to tell apart.
std::string varied_practices(int n) {
  const char* themes[] = {"employment", "housing", "education", "health", "participation", "non-discrimination"};
  const char* languages[] = {"en", "fr", "de", "sv"};
  const char* principles[] = {"subsidiarity", "human-rights", "consultation"};
  std::string out;
  for (int i = 0; i < n; ++i) {
    json p = {{"kind", "practice"},
              {"id", "p" + std::to_string(i)},
              {"title", std::string(1, static_cast<char>('A' + (i * 7) % 26)) + " practice " + std::to_string(i)},
              {"summary", "Summary " + std::to_string(i)},
              {"language", languages[i % 4]},
              {"themes", i % 6 == (i / 6) % 6 ? json{themes[i % 6]} : json{themes[i % 6], themes[(i / 6) % 6]}},
              {"principles", {principles[i % 3]}},
              {"started", 2010 + i % 12}};
    if (i % 5 == 0) p["frameworks"] = {{{"framework", "eccar-10pt"}, {"ref", std::to_string(1 + i % 10)}}};
    if (i % 17 == 0) p["visibility"] = "partners";
    out += p.dump() + "\n";
  }
  return out;
}

const std::vector<std::string> kTargets = {
    "/api/v1/practices",
    "/api/v1/practices?limit=7",
    "/api/v1/practices?theme=housing&limit=5",
    "/api/v1/practices?theme=housing&language=fr&limit=100",
    "/api/v1/practices?principle=human-rights&sort=title&limit=9",
    "/api/v1/practices?year_from=2014&year_to=2016&sort=updated&limit=11",
    "/api/v1/practices?framework=eccar-10pt&ref=6",
    "/api/v1/practices?framework=eccar-10pt&facets=false&limit=3",
    "/api/v1/practices?country=France&limit=4",
    "/api/v1/practices?city=Lyon&theme=employment&sort=updated&limit=6",
    "/api/v1/plans",
    "/api/v1/stats",
    "/api/v1/stats?theme=health&year_from=2015",
    "/api/v1/commitments/eccar-10pt/6",
};

// Every page of a target, following `next` (three at most).
std::vector<json> pages(const ServedNode& node, const std::string& target) {
  std::vector<json> out;
  std::string t = target;
  for (int i = 0; i < 3; ++i) {
    json page = get_json(node, t);
    out.push_back(page);
    if (!page.contains("next") || page["next"].is_null()) break;
    t = target + (target.find('?') == std::string::npos ? "?" : "&") + "cursor=" + page["next"].get<std::string>();
  }
  return out;
}

void import_varied(const ServedNode& node, int n) {
  std::string file = node.tmp.str("varied.ndjson");
  std::ofstream(file) << varied_practices(n);
  auto r = node.agora({"import", file});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("lists, stats and commitments answer from LMDB exactly as the search index answers them", "[http][index]") {
  ServedNode lyon("Lyon", "FR");
  import_varied(lyon, 240);
  REQUIRE(lyon.agora({"retract", "p3"}).exit_code == 0);

  lyon.serve({"--no-index"});
  std::map<std::string, std::vector<json>> from_store;
  for (const auto& t : kTargets) from_store[t] = pages(lyon, t);
  // Words need the index: a 503 that says why, with no retry soon.
  auto q = http_get(lyon.http_url, "/api/v1/practices?q=practice");
  CHECK(q.status == 503);
  CHECK(q.headers["retry-after"] == "3600");
  CHECK(json::parse(q.body)["index"]["state"] == "off");
  CHECK(get_json(lyon, "/health")["search_index"]["state"] == "off");
  CHECK(lyon.stop() == 0);

  lyon.serve();
  REQUIRE(wait_for_search_index(lyon.http_url));
  CHECK(get_json(lyon, "/health")["search_index"]["state"] == "ready");
  for (const auto& t : kTargets) {
    INFO(t);
    auto indexed = pages(lyon, t);
    REQUIRE(indexed.size() == from_store[t].size());
    for (size_t i = 0; i < indexed.size(); ++i) CHECK(indexed[i] == from_store[t][i]);
  }
  CHECK(from_store["/api/v1/practices"][0]["total"] == 240 - 240 / 17 - 1 - 1);  // partners and the retracted
}

TEST_CASE("a record is listed the moment publish returns, whatever the index's lag", "[http][index]") {
  ServedNode turin("Torino", "IT");
  import_varied(turin, 60);
  turin.serve();
  uint64_t before = get_json(turin, "/api/v1/practices?theme=housing&facets=false")["total"];
  for (int i = 0; i < 15; ++i) {
    turin.publish({{"kind", "practice"},
                   {"id", "new-" + std::to_string(i)},
                   {"title", "Casa " + std::to_string(i)},
                   {"summary", "Case."},
                   {"language", "it"},
                   {"themes", {"housing"}}});
    json page = get_json(turin, "/api/v1/practices?theme=housing&language=it&sort=updated&limit=1");
    INFO("after publishing new-" << i);
    CHECK(page["items"][0]["id"] == "new-" + std::to_string(i));
    CHECK(page["total"] == i + 1);
    CHECK(page["facets"]["theme"]["housing"] == i + 1);
    CHECK(get_json(turin, "/api/v1/practices?theme=housing&facets=false")["total"] == before + i + 1);
  }
}
