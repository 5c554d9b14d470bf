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
  REQUIRE(wait_until([&] { return http_get(url, "/api/v1/practices").status == 200; }));

  // An ETag on lists, stats, adoptions and the rest; If-None-Match with one tag, a list, or *.
  for (std::string target :
       {"/api/v1/practices", "/api/v1/stats", "/api/v1/adoptions", "/api/v1/cities", "/api/v1/practices/Lyon/mediation",
        "/api/v1/frameworks", "/api/v1/vocabulary", "/health"}) {
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
  for (auto [method, target] : std::vector<std::pair<std::string, std::string>>{{"GET", "/health"},
                                                                                {"GET", "/metrics"},
                                                                                {"GET", "/nowhere"},
                                                                                {"GET", "/api/v1/nowhere"},
                                                                                {"GET", "/"},
                                                                                {"GET", "/api/v1/practices?bad=1"},
                                                                                {"POST", "/health"},
                                                                                {"OPTIONS", "/health"},
                                                                                {"GET", long_target}}) {
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
  // List routes answer 503 until the first search index is built (docs/api.md): wait for it.
  REQUIRE(wait_until([&] { return http_get(node.http_url, "/api/v1/practices?limit=1").status == 200; }));
  CHECK(get_json(node, "/api/v1/plans/Lyon/plan-2025/progress?today=2025-06-30")["id"] == "plan-2025");
  for (std::string day : {"2025-13-45", "2025-02-29", "2025-6-30", "yesterday", "2101-01-01"}) {
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

TEST_CASE("the header limits never end the node and tell a long target from long fields", "[http][limits]") {
  ServedNode node("Lyon", "FR");
  node.serve({"--http-max-header-kib", "64"});
  // The sync port answers plain HTTP too: ws://HOST:PORT/sync -> http://HOST:PORT/
  std::string sync_port = "http://" + node.sync_url.substr(5, node.sync_url.find("/sync") - 5) + "/";
  using std::chrono::milliseconds;
  auto status_of = [](const std::string& reply) { return reply.substr(0, std::min<size_t>(12, reply.size())); };
  // One field as large as the option allows and beyond: Beast would throw on a 64 KiB field.
  for (size_t size : {65533u, 65534u, 70000u, 200000u}) {
    INFO(size);
    std::string req = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(size, 'b') + "\r\n\r\n";
    CHECK(status_of(raw_http(node.http_url, req, milliseconds(5000), "\r\n")) == "HTTP/1.1 431");
    CHECK(status_of(raw_http(sync_port, req, milliseconds(5000), "\r\n")) == "HTTP/1.1 431");
  }
  REQUIRE(http_get(node.http_url, "/health").status == 200);
  CHECK(node.stop() == 0);

  ServedNode plain("Malmo", "SE");
  plain.serve();
  // With the defaults, a 25 KiB field is a field too large, not a target too long.
  std::string one_field = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(25000, 'b') + "\r\n\r\n";
  CHECK(status_of(raw_http(plain.http_url, one_field, milliseconds(5000), "\r\n")) == "HTTP/1.1 431");
  std::string long_target = "GET /health?" + std::string(30000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(status_of(raw_http(plain.http_url, long_target, milliseconds(5000), "\r\n")) == "HTTP/1.1 414");
  // HTTP/1.1 needs Host; an absolute-form target is read as its path.
  CHECK(status_of(raw_http(plain.http_url, "GET /health HTTP/1.1\r\n\r\n", milliseconds(5000), "\r\n")) ==
        "HTTP/1.1 400");
  CHECK(status_of(raw_http(plain.http_url, "GET http://node/health HTTP/1.1\r\nHost: node\r\n\r\n", milliseconds(5000),
                           "\r\n")) == "HTTP/1.1 200");
  CHECK(http_get(plain.http_url, "/health").status == 200);
}

TEST_CASE("conditional requests follow the answer, streams speak HTTP/1.0, feeds cannot skip", "[http][api][headers]") {
  ServedNode node("Lyon", "FR");
  node.publish(json::parse(practice_json("mediation")));
  node.serve();
  const std::string& url = node.http_url;
  using std::chrono::milliseconds;

  // A record's tag changes when what the answer says changes (the city's name).
  auto first = http_get(url, "/api/v1/practices/Lyon/mediation?version=1");
  std::string tag = header(first, "etag");
  CHECK(header(first, "cache-control") == "no-cache");
  node.publish({{"kind", "city"}, {"name", "Lyon Métropole"}, {"country", "FR"}});
  REQUIRE(wait_until([&] {
    return get_json(node, "/api/v1/practices/" + node.id + "/mediation?version=1")["city"] == "Lyon Métropole";
  }));
  auto again =
      http_request(url, "GET", "/api/v1/practices/" + node.id + "/mediation?version=1", {{"If-None-Match", tag}});
  CHECK(again.status == 200);
  CHECK(header(again, "etag") != tag);

  // If-None-Match on two header lines is one list.
  std::string cities_tag = header(http_get(url, "/api/v1/cities"), "etag");
  std::string two_lines =
      "GET /api/v1/cities HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIf-None-Match: \"zz\"\r\n"
      "If-None-Match: " +
      cities_tag + "\r\n\r\n";
  CHECK(raw_http(url, two_lines, milliseconds(5000), "\r\n").substr(0, 12) == "HTTP/1.1 304");

  // CORS: a page's script may send If-None-Match and read ETag.
  auto preflight = http_request(url, "OPTIONS", "/api/v1/cities");
  CHECK(header(preflight, "access-control-allow-headers").find("If-None-Match") != std::string::npos);
  CHECK(header(http_get(url, "/api/v1/cities"), "access-control-expose-headers").find("ETag") != std::string::npos);

  // An HTTP/1.0 client gets a streamed export without chunked framing, ended by the close.
  std::string export10 = raw_http(url, "GET /api/v1/export?format=ndjson HTTP/1.0\r\n\r\n", milliseconds(5000));
  REQUIRE(export10.starts_with("HTTP/1.1 200"));
  CHECK(export10.find("Transfer-Encoding") == std::string::npos);
  std::string body = export10.substr(export10.find("\r\n\r\n") + 4);
  CHECK(json::parse(body.substr(0, body.find('\n')))["kind"].is_string());

  // A `since` past the log answers the log's end, so a client following last_seq skips nothing.
  json past = get_json(node, "/api/v1/changes?since=99999");
  CHECK(past["results"].empty());
  uint64_t end = past["last_seq"].get<uint64_t>();
  CHECK(end < 99999);
  node.publish(json::parse(practice_json("later")));
  json next = get_json(node, "/api/v1/changes?since=" + std::to_string(end));
  REQUIRE(!next["results"].empty());
  CHECK(next["results"].back()["id"] == "later");
  CHECK(get_json(node, "/api/v1/changes?feed=eventsource&limit=1", 400)["param"] == "limit");

  // An empty value is no value.
  REQUIRE(wait_until([&] { return get_json(node, "/api/v1/practices")["total"] == 2; }));
  for (std::string blank : {"theme=", "city=", "ref=", "limit=", "cursor=", "facets=", "sort=", "q=", "theme"})
    CHECK(get_json(node, "/api/v1/practices?" + blank)["total"] == 2);
  CHECK(get_json(node, "/api/v1/practices?theme=&theme=", 400)["param"] == "theme");
}
