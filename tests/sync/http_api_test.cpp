// The researchers' HTTP API through a real `agora serve` on loopback.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include <zlib.h>

#include "http_client.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::vector<std::string> ids(const json& list) {
  std::vector<std::string> out;
  for (const auto& item : list["items"]) out.push_back(item["id"]);
  return out;
}

}  // namespace

TEST_CASE("the practices API searches, filters, pages with cursors and serves public records only", "[http][api]") {
  ServedNode cph("København", "DK");
  cph.publish({{"kind", "practice"},
               {"id", "jobspor"},
               {"title", "Jobspor for nyankomne"},
               {"summary", "Et program der styrker beskæftigelse blandt flygtninge."},
               {"language", "da"},
               {"themes", {"employment"}},
               {"started", 2016},
               {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  cph.publish({{"kind", "practice"},
               {"id", "boliger"},
               {"title", "Housing first"},
               {"summary", "Flats for newcomers before anything else."},
               {"language", "en"},
               {"themes", {"housing"}},
               {"started", 2019}});
  cph.publish({{"kind", "practice"},
               {"id", "internal"},
               {"title", "Internal note on employment"},
               {"summary", "Not for the public."},
               {"language", "en"},
               {"themes", {"employment"}},
               {"visibility", "partners"}});
  cph.serve();
  REQUIRE(wait_until([&] { return http_get(cph.http_url, "/api/v1/practices").status == 200; }));

  json all = get_json(cph, "/api/v1/practices");
  CHECK(all["total"] == 2);  // the partners-only record is not there
  CHECK(all["facets"]["theme"]["employment"] == 1);
  CHECK(all["facets"]["city"]["København"] == 2);
  CHECK(all["facets"]["commitment"]["eccar-10pt:6"] == 1);
  CHECK(all["items"][0]["city"] == "København");

  // Few matches: a search counts them all, with or without exact=true, and says nothing
  // of estimates.
  json counted = get_json(cph, "/api/v1/practices?q=housing");
  CHECK(counted["total"] == 1);
  CHECK(counted.count("estimated") == 0);
  CHECK(get_json(cph, "/api/v1/practices?q=housing&exact=true")["total"] == 1);

  json found = get_json(cph, "/api/v1/practices?q=besk%C3%A6ftigelsen");
  REQUIRE(ids(found) == std::vector<std::string>{"jobspor"});
  CHECK(found["items"][0]["snippet"].get<std::string>().find("<mark>beskæftigelse</mark>") != std::string::npos);
  CHECK(ids(get_json(cph, "/api/v1/practices?q=Kobenhavn&theme=housing")) == std::vector<std::string>{"boliger"});
  CHECK(ids(get_json(cph, "/api/v1/practices?framework=eccar-10pt&ref=6")) == std::vector<std::string>{"jobspor"});
  CHECK(ids(get_json(cph, "/api/v1/practices?year_from=2018&city=kobenhavn")) == std::vector<std::string>{"boliger"});
  CHECK(get_json(cph, "/api/v1/practices?q=note")["total"] == 0);

  // Cursor paging in key order stays exact while records are added between pages.
  json page1 = get_json(cph, "/api/v1/practices?limit=1");
  REQUIRE(page1["next"].is_string());
  cph.publish({{"kind", "practice"},
               {"id", "aaa-first"},
               {"title", "Sorted first"},
               {"summary", "New."},
               {"language", "en"},
               {"themes", {"language"}}});
  REQUIRE(wait_until([&] { return get_json(cph, "/api/v1/practices")["total"] == 3; }));
  json page2 = get_json(cph, "/api/v1/practices?limit=1&cursor=" + page1["next"].get<std::string>());
  REQUIRE(page2["items"].size() == 1);
  CHECK(page2["items"][0]["id"] != page1["items"][0]["id"]);
  CHECK(page2["items"][0]["id"] != "aaa-first");  // sorts before the cursor: not on a later page

  // Errors name the parameter and change nothing.
  auto bad = [&](const std::string& target, int status, const std::string& param) {
    auto r = http_get(cph.http_url, target);
    INFO(target << " -> " << r.body);
    CHECK(r.status == status);
    json body = json::parse(r.body);
    CHECK(body["error"].is_string());
    CHECK(body["param"] == param);
  };
  bad("/api/v1/practices?theme=housng", 400, "theme");
  bad("/api/v1/practices?colour=red", 400, "colour");
  bad("/api/v1/practices?limit=5000", 400, "limit");
  bad("/api/v1/practices?cursor=zz", 400, "cursor");
  bad("/api/v1/practices?q=%ff%fe", 400, "q");
  bad("/api/v1/practices?q=%4", 400, "q");
  bad("/api/v1/practices?ref=6", 400, "ref");
  bad("/api/v1/nothing-here", 404, "path");
  CHECK(http_get(cph.http_url, "/api/v1/practices?q=" + std::string(12000, 'a')).status ==
        414);  // over the 8 KiB target limit
  auto post = http_request(cph.http_url, "POST", "/api/v1/practices");
  CHECK(post.status == 405);
  CHECK(post.headers["allow"] == "GET, HEAD, OPTIONS");
  auto options = http_request(cph.http_url, "OPTIONS", "/api/v1/practices", {{"Origin", "http://example.org"}});
  CHECK(options.status == 204);
  CHECK(options.headers["access-control-allow-origin"] == "*");
}

TEST_CASE("a practice by origin and id: latest, a version, its history, ETags, and 404 for withheld ones",
          "[http][api]") {
  ServedNode lyon("Lyon", "FR");
  lyon.publish({{"kind", "practice"},
                {"id", "mediateurs"},
                {"title", "Médiateurs"},
                {"summary", "v1"},
                {"language", "fr"},
                {"themes", {"employment"}}});
  lyon.publish({{"kind", "practice"},
                {"id", "mediateurs"},
                {"title", "Médiateurs de quartier"},
                {"summary", "v2"},
                {"language", "fr"},
                {"themes", {"employment"}}});
  lyon.publish({{"kind", "practice"},
                {"id", "secret"},
                {"title", "Secret"},
                {"summary", "x"},
                {"language", "fr"},
                {"themes", {"employment"}},
                {"visibility", "private"}});
  lyon.serve();
  REQUIRE(wait_until([&] { return http_get(lyon.http_url, "/api/v1/plans").status == 200; }));  // index built
  std::string base = "/api/v1/practices/" + lyon.id + "/mediateurs";
  auto latest = http_get(lyon.http_url, base);
  REQUIRE(latest.status == 200);
  CHECK(json::parse(latest.body)["title"] == "Médiateurs de quartier");
  CHECK(json::parse(latest.body)["version"] == 2);
  REQUIRE(!latest.headers["etag"].empty());
  auto again = http_request(lyon.http_url, "GET", base, {{"If-None-Match", latest.headers["etag"]}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(get_json(lyon, base + "?version=1")["title"] == "Médiateurs");
  CHECK(get_json(lyon, "/api/v1/practices/Lyon/mediateurs")["version"] == 2);  // a city name works as origin
  json history = get_json(lyon, base + "/history");
  REQUIRE(history["items"].size() == 2);
  CHECK(history["items"][0]["version"] == 1);
  get_json(lyon, base + "?version=7", 404);
  get_json(lyon, "/api/v1/practices/" + lyon.id + "/secret", 404);
  get_json(lyon, "/api/v1/plans/" + lyon.id + "/mediateurs", 404);  // not a plan
  // A new version is served as soon as `agora publish` returns, not the answer kept before.
  lyon.publish({{"kind", "practice"},
                {"id", "mediateurs"},
                {"title", "Médiateurs v3"},
                {"summary", "v3"},
                {"language", "fr"},
                {"themes", {"employment"}}});
  CHECK(get_json(lyon, base)["version"] == 3);
  CHECK(http_request(lyon.http_url, "GET", base, {{"If-None-Match", latest.headers["etag"]}}).status == 200);

  json cities = get_json(lyon, "/api/v1/cities");
  REQUIRE(cities["items"].size() == 1);
  CHECK(cities["items"][0]["city"] == "Lyon");
  CHECK(cities["items"][0]["practices"] == 1);  // the private one is not counted
  CHECK(get_json(lyon, "/api/v1/plans")["total"] == 0);
}

TEST_CASE("the changes feed follows public versions without gaps or repeats, and /metrics counts requests",
          "[http][api]") {
  ServedNode turin("Turin", "IT");
  turin.publish({{"kind", "practice"},
                 {"id", "one"},
                 {"title", "One"},
                 {"summary", "s"},
                 {"language", "it"},
                 {"themes", {"housing"}}});
  turin.publish({{"kind", "practice"},
                 {"id", "hidden"},
                 {"title", "Hidden"},
                 {"summary", "s"},
                 {"language", "it"},
                 {"themes", {"housing"}},
                 {"visibility", "private"}});
  turin.serve();
  json feed = get_json(turin, "/api/v1/changes?kind=practice");
  REQUIRE(feed["results"].size() == 1);
  CHECK(feed["results"][0]["id"] == "one");
  CHECK(feed["more"] == false);
  uint64_t last = feed["last_seq"];
  CHECK(get_json(turin, "/api/v1/changes?since=" + std::to_string(last))["results"].empty());

  turin.publish({{"kind", "practice"},
                 {"id", "two"},
                 {"title", "Two"},
                 {"summary", "s"},
                 {"language", "it"},
                 {"themes", {"housing"}}});
  REQUIRE(turin.agora({"retract", "one"}).exit_code == 0);
  json next = get_json(turin, "/api/v1/changes?since=" + std::to_string(last));
  REQUIRE(next["results"].size() == 2);
  CHECK(next["results"][0]["id"] == "two");
  CHECK(next["results"][1]["id"] == "one");
  CHECK(next["results"][1]["retracted"] == true);
  json paged = get_json(turin, "/api/v1/changes?limit=1");
  CHECK(paged["results"].size() == 1);
  CHECK(paged["more"] == true);
  get_json(turin, "/api/v1/changes?since=-1", 400);
  get_json(turin, "/api/v1/changes?kind=gossip", 400);

  auto metrics = http_get(turin.http_url, "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.content_type.starts_with("text/plain"));
  CHECK(metrics.body.find("agora_records{kind=\"practice\"} 2") !=
        std::string::npos);  // two, hidden (one is retracted)
  CHECK(metrics.body.find("agora_http_requests_total{route=\"/api/v1/changes\",status=\"200\"} 4") !=
        std::string::npos);
  CHECK(metrics.body.find("agora_http_requests_total{route=\"/api/v1/changes\",status=\"400\"} 2") !=
        std::string::npos);
  CHECK(metrics.body.find("agora_http_request_seconds_bucket{route=\"/api/v1/changes\",le=\"+Inf\"} 6") !=
        std::string::npos);
}

TEST_CASE("openapi.json describes exactly the routes the server has, and the browsing page is served offline",
          "[http][api][web]") {
  ServedNode lyon("Lyon", "FR");
  lyon.publish({{"kind", "practice"},
                {"id", "mediateurs"},
                {"title", "Médiateurs"},
                {"summary", "s"},
                {"language", "fr"},
                {"themes", {"employment"}}});
  lyon.serve();
  json spec = get_json(lyon, "/api/v1/openapi.json");
  CHECK(spec["openapi"].get<std::string>().starts_with("3."));
  std::set<std::string> documented;
  for (const auto& [path, ops] : spec["paths"].items()) {
    documented.insert(path);
    std::string target = path;
    for (auto [from, to] : {std::pair<std::string, std::string>{"{origin}", lyon.id}, {"{id}", "mediateurs"}})
      if (auto at = target.find(from); at != std::string::npos) target.replace(at, from.size(), to);
    auto r = http_get(lyon.http_url, target);
    INFO(path << " -> " << r.status << " " << r.body);
    bool route_exists = r.status != 404 || json::parse(r.body)["param"] != "path";
    CHECK(route_exists);
  }
  // Every route the server answers is documented.
  std::set<std::string> served = {"/health",
                                  "/metrics",
                                  "/api/v1/openapi.json",
                                  "/api/v1/practices",
                                  "/api/v1/plans",
                                  "/api/v1/practices/{origin}/{id}",
                                  "/api/v1/practices/{origin}/{id}/history",
                                  "/api/v1/plans/{origin}/{id}",
                                  "/api/v1/plans/{origin}/{id}/history",
                                  "/api/v1/cities",
                                  "/api/v1/network",
                                  "/api/v1/changes",
                                  "/api/v1/export",
                                  "/api/v1/stats",
                                  "/api/v1/adoptions",
                                  "/api/v1/plans/{origin}/{id}/progress",
                                  "/api/v1/plans/{origin}/{id}/chart.svg",
                                  "/api/v1/commitments/{framework}/{ref}",
                                  "/api/v1/frameworks",
                                  "/api/v1/vocabulary"};
  CHECK(documented == served);

  auto page = http_get(lyon.http_url, "/");
  REQUIRE(page.status == 200);
  CHECK(page.content_type.starts_with("text/html"));
  CHECK(page.body.find("<script src=\"/app.js\">") != std::string::npos);
  CHECK(page.headers["content-security-policy"].find("default-src 'self'") != std::string::npos);
  CHECK(page.body.find("http://") == std::string::npos);  // nothing from the internet
  CHECK(page.body.find("https://") == std::string::npos);
  auto js = http_get(lyon.http_url, "/app.js");
  CHECK(js.status == 200);
  CHECK(js.content_type.starts_with("text/javascript"));
  CHECK(js.body.find("/api/v1/practices") != std::string::npos);
  CHECK(http_get(lyon.http_url, "/style.css").status == 200);
  for (std::string traversal : {"/../node.key", "/%2e%2e/node.key", "/web/../../node.key", "/node.key"})
    CHECK(http_get(lyon.http_url, traversal).status == 404);
}

TEST_CASE("hostile HTTP requests get a 4xx and the node keeps serving", "[http][hostile]") {
  ServedNode node("Malmo", "SE");
  node.serve();
  using std::chrono::milliseconds;
  auto status_of = [](const std::string& reply) { return reply.substr(0, std::min<size_t>(12, reply.size())); };
  // A 1 MB query string (414 on any path, as for a 9 KiB one), a flood of headers, a
  // malformed request line.
  std::string huge = "GET /api/v1/practices?q=" + std::string(1 << 20, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(status_of(raw_http(node.http_url, huge, milliseconds(5000))) == "HTTP/1.1 414");
  CHECK(status_of(raw_http(node.http_url, "GET /health?" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
                           milliseconds(5000))) == "HTTP/1.1 414");
  std::string flood = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) flood += "X-Flood-" + std::to_string(i) + ": yes\r\n";
  CHECK(status_of(raw_http(node.http_url, flood + "\r\n", milliseconds(5000))) == "HTTP/1.1 431");
  CHECK(status_of(raw_http(node.http_url, "BLAH\r\n\r\n", milliseconds(5000))) == "HTTP/1.1 400");
  CHECK(http_request(node.http_url, "DELETE", "/api/v1/practices").status == 405);
  // A slow client holding a half-sent request does not block anyone else.
  {
    HeldConnection slow(node.http_url, "GET /health HTTP/1.1\r\nHost:");  // connected before the next
    auto start = std::chrono::steady_clock::now();
    CHECK(http_get(node.http_url, "/health").status == 200);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(slow.received().empty());  // still waiting for the rest of its request
  }
  CHECK(json::parse(http_get(node.http_url, "/health").body)["status"] == "ok");
}

TEST_CASE("HTTP limits are options of agora serve", "[http][limits]") {
  ServedNode node("Malmo", "SE");
  node.serve(
      {"--http-max-url-kib", "1", "--http-max-page", "5", "--http-max-header-kib", "2", "--http-max-body-kib", "1"});
  REQUIRE(wait_until([&] { return http_get(node.http_url, "/api/v1/practices").status == 200; }));
  CHECK(http_get(node.http_url, "/api/v1/practices?q=" + std::string(1100, 'a')).status == 414);
  CHECK(http_get(node.http_url, "/api/v1/practices?limit=5").status == 200);
  auto over = http_get(node.http_url, "/api/v1/practices?limit=6");
  CHECK(over.status == 400);
  CHECK(json::parse(over.body)["param"] == "limit");
  CHECK(node.agora({"serve", "--http-max-url-kib", "99"}).exit_code == 2);
  auto big_headers =
      raw_http(node.http_url, "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(3000, 'a') + "\r\n\r\n",
               std::chrono::milliseconds(1000));
  CHECK(big_headers.starts_with("HTTP/1.1 431"));
  auto big_body =
      raw_http(node.http_url,
               "POST /api/v1/practices HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + std::string(2048, 'a'),
               std::chrono::milliseconds(1000));
  CHECK(big_body.starts_with("HTTP/1.1 413"));
  CHECK(http_get(node.http_url, "/health").status == 200);
}

TEST_CASE("large answers are gzipped when the client asks for it", "[http]") {
  ServedNode node("Malmo", "SE");
  node.serve();
  auto plain = http_get(node.http_url, "/api/v1/openapi.json");
  REQUIRE(plain.status == 200);
  CHECK(plain.headers.count("content-encoding") == 0);
  auto packed = http_request(node.http_url, "GET", "/api/v1/openapi.json", {{"Accept-Encoding", "gzip, deflate"}});
  REQUIRE(packed.status == 200);
  CHECK(packed.headers["content-encoding"] == "gzip");
  CHECK(packed.headers["vary"] == "Accept-Encoding");
  REQUIRE(packed.body.size() < plain.body.size() / 2);
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out(plain.body.size() + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(packed.body.data());
  z.avail_in = static_cast<uInt>(packed.body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  CHECK(inflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  CHECK(out == plain.body);
  // Small answers stay as they are.
  auto small = http_request(node.http_url, "GET", "/health", {{"Accept-Encoding", "gzip"}});
  CHECK(small.headers.count("content-encoding") == 0);
}
