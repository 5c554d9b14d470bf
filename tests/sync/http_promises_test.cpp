// What docs/api.md promises about every answer, checked on a real node: `total` on every
// page, conditional requests, CORS, content negotiation, limits and bad values.
#include <catch2/catch.hpp>

#include <fstream>

#include "http_client.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::string header(const HttpReply& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

TEST_CASE("total is the exact match count on every page of a cursor walk, with or without facets",
          "[http][api][total]") {
  ServedNode node("Lyon", "FR");
  std::string file = node.tmp.str("p.ndjson");
  {
    std::ofstream out(file);
    for (int i = 0; i < 230; ++i) {
      json p = json::parse(practice_json("p" + std::to_string(i)));
      if (i % 3 == 0) p["themes"] = {"housing"};
      if (i % 5 == 0) p["summary"] = "Mentoring for newcomers.";
      out << p.dump() << "\n";
    }
  }
  REQUIRE(node.agora({"import", file}).exit_code == 0);
  node.serve();
  // The index is built once the node is up: lists answer 503 until then.
  REQUIRE(wait_until([&] { return http_get(node.http_url, "/api/v1/practices?limit=1").status == 200; }));
  struct Walk {
    std::string query;
    size_t expected;
  };
  for (const Walk& w : {Walk{"", 230}, Walk{"theme=housing", 77}, Walk{"q=mentoring", 46},
                        Walk{"q=mentoring&sort=title", 46}, Walk{"sort=updated", 230}}) {
    for (std::string facets : {"true", "false"}) {
      std::string base = "/api/v1/practices?limit=20&facets=" + facets + (w.query.empty() ? "" : "&" + w.query);
      size_t seen = 0, pages = 0;
      std::string cursor;
      for (;;) {
        json page = get_json(node, base + (cursor.empty() ? "" : "&cursor=" + cursor));
        INFO(base << " page " << pages);
        CHECK(page["total"] == w.expected);  // the same on every page
        if (facets == "true") {
          uint64_t by_city = 0;
          for (const auto& [city, n] : page["facets"]["city"].items()) by_city += n.get<uint64_t>();
          CHECK(by_city == w.expected);  // facets count the whole match set too
        }
        seen += page["items"].size();
        ++pages;
        if (page["next"].is_null()) break;
        cursor = page["next"].get<std::string>();
        REQUIRE(pages < 50);
      }
      CHECK(seen == w.expected);
    }
  }
}

TEST_CASE("conditional requests, CORS, content negotiation and limits hold on every route", "[http][api][headers]") {
  ServedNode node("Lyon", "FR");
  node.publish(json::parse(practice_json("mediation")));
  node.serve();
  const std::string& url = node.http_url;

  // An ETag on lists, stats, adoptions and the rest; If-None-Match with one tag, a list, or *.
  for (std::string target : {"/api/v1/practices", "/api/v1/stats", "/api/v1/adoptions", "/api/v1/cities",
                             "/api/v1/practices/Lyon/mediation", "/api/v1/frameworks", "/health"}) {
    INFO(target);
    auto first = http_get(url, target);
    REQUIRE(first.status == 200);
    std::string tag = header(first, "etag");
    REQUIRE(tag.starts_with("W/\""));
    CHECK(http_request(url, "GET", target, {{"If-None-Match", tag}}).status == 304);
    CHECK(http_request(url, "GET", target, {{"If-None-Match", "\"other\", " + tag}}).status == 304);
    CHECK(http_request(url, "GET", target, {{"If-None-Match", tag.substr(2)}}).status == 304);  // weak comparison
    CHECK(http_request(url, "GET", target, {{"If-None-Match", "*"}}).status == 304);
    CHECK(http_request(url, "GET", target, {{"If-None-Match", "\"other\", \"more\""}}).status == 200);
  }
  // A change gives lists a new tag.
  std::string before = header(http_get(url, "/api/v1/practices"), "etag");
  node.publish(json::parse(practice_json("second")));
  REQUIRE(wait_until([&] { return get_json(node, "/api/v1/practices")["total"] == 2; }));
  CHECK(header(http_get(url, "/api/v1/practices"), "etag") != before);

  // CORS on every answer: successes, errors, limits, the page, /metrics.
  std::string long_target = "/api/v1/practices?q=" + std::string(9000, 'a');
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/health"}, {"GET", "/metrics"}, {"GET", "/nowhere"}, {"GET", "/api/v1/nowhere"}, {"GET", "/"},
           {"GET", "/api/v1/practices?bad=1"}, {"POST", "/health"}, {"OPTIONS", "/health"}, {"GET", long_target}}) {
    auto r = http_request(url, method, target);
    INFO(method << " " << target.substr(0, 60) << " -> " << r.status);
    CHECK(header(r, "access-control-allow-origin") == "*");
  }
  CHECK(http_request(url, "GET", long_target).status == 414);
  CHECK(http_request(url, "OPTIONS", "/metrics").status == 204);
  auto post = http_request(url, "POST", "/health");
  CHECK(post.status == 405);
  CHECK(header(post, "allow") == "GET, HEAD, OPTIONS");
  auto big_headers = http_request(url, "GET", "/health", {{"X-Big", std::string(17000, 'b')}});
  CHECK(big_headers.status == 431);
  CHECK(header(big_headers, "access-control-allow-origin") == "*");

  // Accept-Encoding as HTTP says: case-insensitive names, q=0 refuses.
  auto encoding_of = [&](const std::string& accept) {
    return header(http_request(url, "GET", "/api/v1/openapi.json", {{"Accept-Encoding", accept}}), "content-encoding");
  };
  CHECK(encoding_of("gzip") == "gzip");
  CHECK(encoding_of("GZIP") == "gzip");
  CHECK(encoding_of("deflate, gzip;q=0.5") == "gzip");
  CHECK(encoding_of("gzip;q=0") == "");
  CHECK(encoding_of("gzip;q=0.000, *") == "");
  CHECK(encoding_of("*") == "gzip");
  CHECK(encoding_of("identity") == "");
  CHECK(encoding_of("gzipped") == "");

  // Parameters on routes that take none are errors, as on the others.
  CHECK(get_json(node, "/health?verbose=1", 400)["param"] == "verbose");
  CHECK(get_json(node, "/api/v1/network?x=", 400)["param"] == "x");
}

TEST_CASE("bad values are errors naming their parameter", "[http][api][errors]") {
  ServedNode node("Lyon", "FR");
  node.publish(json::parse(practice_json("mediation")));
  node.publish({{"kind", "plan"},
                {"id", "plan-2025"},
                {"title", "Plan 2025"},
                {"language", "en"},
                {"framework", "eccar-10pt"},
                {"period", {{"from", "2025-01-01"}, {"to", "2026-12-31"}}},
                {"items", json::array({{{"id", "a"}, {"commitment", "6"}, {"action", "Hire."}}})}});
  node.serve();
  CHECK(get_json(node, "/api/v1/plans/Lyon/plan-2025/progress?today=2025-06-30")["id"] == "plan-2025");
  for (std::string day : {"2025-13-45", "2025-02-29", "2025-6-30", "yesterday", ""}) {
    INFO(day);
    CHECK(get_json(node, "/api/v1/plans/Lyon/plan-2025/progress?today=" + day, 400)["param"] == "today");
    CHECK(get_json(node, "/api/v1/commitments/eccar-10pt/6?today=" + day, 400)["param"] == "today");
  }
  CHECK(get_json(node, "/api/v1/plans/Lyon/plan-2025/progress?today=2024-02-29")["id"] == "plan-2025");
  json bad_ref = get_json(node, "/api/v1/practices?framework=eccar-10pt&ref=99", 400);
  CHECK(bad_ref["param"] == "ref");
  CHECK(bad_ref["error"].get<std::string>().find("1, 2, 3") != std::string::npos);
  CHECK(get_json(node, "/api/v1/commitments/eccar-10pt/99", 400)["param"] == "ref");
  CHECK(get_json(node, "/api/v1/practices?ref=6", 400)["param"] == "ref");
  CHECK(get_json(node, "/api/v1/practices?framework=eccar-10pt&ref=6")["total"] == 0);
  CHECK(get_json(node, "/api/v1/plans/Lyon/plan-2025/history?version=1", 400)["param"] == "version");
}
