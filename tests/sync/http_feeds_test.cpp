// Exports, stats, adoptions, the live change stream and connection limits of the HTTP API,
// through real `agora serve` processes on loopback.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <zlib.h>

#include "http_client.hpp"
#include "sync/http_json.hpp"
#include "sync/node_metrics.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// RFC 4180, as a spreadsheet reads it: quoted cells may hold commas, quotes and newlines.
std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        cell += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        cell += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(cell)), cell.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(std::move(cell)), cell.clear();
      rows.emplace_back();
      ++i;
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

std::string gunzip(const std::string& packed) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(packed.size());
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&z);
  CHECK(rc == Z_STREAM_END);
  return out;
}

}  // namespace

TEST_CASE("exports stream every public record as NDJSON, as CSV a spreadsheet opens, and as JSON-LD",
          "[http][export]") {
  ServedNode node("Malmö", "SE");
  node.publish({{"kind", "practice"},
                {"id", "tricky"},
                {"title", "Jobb, \"bostad\" och språk"},
                {"summary", "=HYPERLINK(\"x\")\nsecond line"},
                {"language", "sv"},
                {"themes", {"employment", "housing"}},
                {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}},
                {"started", 2012}});
  node.publish(json::parse(practice_json("withheld", "partners")));
  std::string bulk = node.tmp.str("bulk.ndjson");
  std::ofstream(bulk) << practices_ndjson("bulk-", 1500);
  auto imported = node.agora({"import", bulk});
  INFO(imported.err);
  REQUIRE(imported.exit_code == 0);
  node.serve();

  auto nd = http_get(node.http_url, "/api/v1/export?format=ndjson");
  REQUIRE(nd.status == 200);
  CHECK(nd.headers["transfer-encoding"] == "chunked");  // streamed, not assembled first
  CHECK(nd.content_type == "application/x-ndjson");
  CHECK(nd.headers["content-disposition"] == "attachment; filename=\"agora-export.ndjson\"");
  auto lines = lines_of(nd.body);
  REQUIRE(lines.size() == 1 + 1 + 1 + 1500);  // the city profile, the node key's delegation, the public practices
  std::set<std::string> ids;
  for (const auto& line : lines) ids.insert(json::parse(line)["id"].get<std::string>());
  CHECK(ids.size() == lines.size());  // each once
  CHECK(ids.count("tricky") == 1);
  CHECK(ids.count("withheld") == 0);
  CHECK(lines_of(http_get(node.http_url, "/api/v1/export?kind=practice").body).size() == 1501);

  auto csv = http_get(node.http_url, "/api/v1/export?format=csv");
  REQUIRE(csv.status == 200);
  CHECK(csv.content_type.starts_with("text/csv; charset=utf-8"));
  REQUIRE(csv.body.starts_with("\xEF\xBB\xBF"));  // spreadsheets then read UTF-8
  auto rows = parse_csv(std::string_view(csv.body).substr(3));
  REQUIRE(rows.size() == 1 + 1503);
  const auto& header = rows[0];
  auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  REQUIRE(col("title") < header.size());
  bool found = false;
  for (const auto& row : rows) {
    REQUIRE(row.size() == header.size());  // every row has every column
    if (row[col("id")] != "tricky") continue;
    found = true;
    CHECK(row[col("title")] == "Jobb, \"bostad\" och språk");
    CHECK(row[col("summary")] == "'=HYPERLINK(\"x\")\nsecond line");  // never run as a formula
    CHECK(row[col("themes")] == "employment; housing");
    CHECK(row[col("frameworks")] == "eccar-10pt:6");
    CHECK(row[col("city")] == "Malmö");
  }
  CHECK(found);

  auto ld = http_get(node.http_url, "/api/v1/export?format=jsonld");
  REQUIRE(ld.status == 200);
  CHECK(ld.content_type == "application/ld+json");
  json doc = json::parse(ld.body);
  CHECK(doc["@context"]["@vocab"] == "https://schema.org/");
  REQUIRE(doc["@graph"].size() == 1503);
  for (const auto& n : doc["@graph"]) {
    if (n["@id"] != "urn:agora:" + node.id + "/tricky") continue;
    CHECK(n["@type"] == "CreativeWork");
    CHECK(n["name"] == "Jobb, \"bostad\" och språk");
    CHECK(n["inLanguage"] == "sv");
    CHECK(n["publisher"]["@type"] == "GovernmentOrganization");
    CHECK(n["publisher"]["name"] == "Malmö");
    CHECK(n["about"][0]["termCode"] == "6");
  }

  // Compressed while streaming, when asked for; the same bytes once inflated.
  auto packed = http_request(node.http_url, "GET", "/api/v1/export?format=ndjson", {{"Accept-Encoding", "gzip"}});
  REQUIRE(packed.status == 200);
  CHECK(packed.headers["content-encoding"] == "gzip");
  CHECK(packed.body.size() < nd.body.size() / 4);
  CHECK(gunzip(packed.body) == nd.body);

  // HEAD: the headers alone; then the same connection still serves.
  CHECK(http_request(node.http_url, "HEAD", "/api/v1/export?format=csv").status == 200);
  auto bad = http_get(node.http_url, "/api/v1/export?format=xml");
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["param"] == "format");
  CHECK(json::parse(http_get(node.http_url, "/api/v1/export?kind=story").body)["param"] == "kind");
  CHECK(http_get(node.http_url, "/health").status == 200);
}

TEST_CASE("stats give the coverage matrix city x commitment, and adoptions show which practice travelled where",
          "[http][stats]") {
  ServedNode lyon("Lyon", "FR"), malmo("Malmö", "SE");
  lyon.publish(
      {{"kind", "practice"},
       {"id", "mediateurs"},
       {"title", "Médiateurs de quartier"},
       {"summary", "Des médiateurs pour l'accès à l'emploi."},
       {"language", "fr"},
       {"themes", {"employment"}},
       {"started", 2008},
       {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}, {{"framework", "eccar-10pt"}, {"ref", "4"}}}}});
  malmo.publish({{"kind", "practice"},
                 {"id", "boende"},
                 {"title", "Boende först"},
                 {"summary", "Bostad först."},
                 {"language", "sv"},
                 {"themes", {"housing"}},
                 {"started", 2015},
                 {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "7"}}}}});
  lyon.serve();
  malmo.serve();
  peer_both(lyon, malmo);
  REQUIRE(wait_until([&] { return malmo.head_of(lyon.id) >= 2; }));
  auto adopted = malmo.agora(
      {"adopt", "Lyon/mediateurs", "--notes", "Adapted for Rosengård.", "--started", "2010", "--id", "mediatorer"});
  INFO(adopted.err);
  REQUIRE(adopted.exit_code == 0);
  CHECK(adopted.out == "adoption mediatorer v1\n");
  CHECK(malmo.agora({"adopt", "Lyon/unknown"}).exit_code == 3);  // not a practice this node holds
  REQUIRE(wait_until([&] { return get_json(malmo, "/api/v1/stats")["total"] == 2; }));

  json st = get_json(malmo, "/api/v1/stats");
  CHECK(st["kind"] == "practice");
  CHECK(st["by_theme"] == json{{"employment", 1}, {"housing", 1}});
  CHECK(st["by_year"] == json{{"2008", 1}, {"2015", 1}});
  const json& cov = st["coverage"];
  CHECK(cov["framework"] == "eccar-10pt");
  REQUIRE(cov["refs"].size() == 10);
  CHECK(cov["refs"][5]["ref"] == "6");
  REQUIRE(cov["rows"].size() == 2);
  CHECK(cov["rows"][0]["city"] == "Lyon");  // by name
  CHECK(cov["rows"][0]["counts"] == json{{"4", 1}, {"6", 1}});
  CHECK(cov["rows"][0]["commitments_covered"] == 2);
  CHECK(cov["rows"][1]["city"] == "Malmö");
  CHECK(cov["rows"][1]["counts"] == json{{"7", 1}});
  // Filters narrow the counts; the matrix still lists every city, so gaps show.
  json fr = get_json(malmo, "/api/v1/stats?country=FR");
  CHECK(fr["total"] == 1);
  CHECK(fr["coverage"]["rows"][1]["records"] == 0);
  CHECK(get_json(malmo, "/api/v1/stats?framework=coe-res281")["coverage"]["refs"].size() == 11);
  CHECK(get_json(malmo, "/api/v1/stats?q=emploi")["total"] == 1);
  CHECK(get_json(malmo, "/api/v1/stats?framework=eccar", 400)["param"] == "framework");
  CHECK(get_json(malmo, "/api/v1/stats?kind=report", 400)["param"] == "kind");

  json ad = get_json(malmo, "/api/v1/adoptions");
  REQUIRE(ad["items"].size() == 1);
  CHECK(ad["items"][0]["city"] == "Malmö");
  CHECK(ad["items"][0]["from"]["city"] == "Lyon");
  CHECK(ad["items"][0]["from"]["title"] == "Médiateurs de quartier");
  REQUIRE(ad["graph"]["edges"].size() == 1);
  CHECK(ad["graph"]["edges"][0]["from"] == lyon.id);
  CHECK(ad["graph"]["edges"][0]["to"] == malmo.id);
  CHECK(ad["graph"]["edges"][0]["started"] == 2010);
  CHECK(ad["graph"]["nodes"].size() == 2);
  // The adoption travels too: Lyon sees where its practice went.
  REQUIRE(wait_until([&] { return get_json(lyon, "/api/v1/adoptions")["items"].size() == 1; }));
  CHECK(get_json(lyon, "/api/v1/adoptions?city=Lyon")["items"].size() == 1);
  // practice= names the origin as every route does: node id, unique prefix or city name.
  CHECK(get_json(lyon, "/api/v1/adoptions?practice=" + lyon.id + "/mediateurs")["items"].size() == 1);
  CHECK(get_json(lyon, "/api/v1/adoptions?practice=" + lyon.id.substr(0, 12) + "/mediateurs")["items"].size() == 1);
  CHECK(get_json(lyon, "/api/v1/adoptions?practice=lyon/mediateurs")["items"].size() == 1);
  // An unknown practice is not an empty success.
  CHECK(get_json(lyon, "/api/v1/adoptions?practice=" + lyon.id + "/other", 404)["error"].get<std::string>().find(
            "no public practice") != std::string::npos);
  CHECK(get_json(lyon, "/api/v1/adoptions?practice=Atlantis/x", 400)["param"] == "practice");
  CHECK(get_json(lyon, "/api/v1/adoptions?practice=mediateurs", 400)["param"] == "practice");
  CHECK(get_json(lyon, "/api/v1/adoptions?city=Atlantis", 400)["param"] == "city");
}

TEST_CASE("changes arrive live as Server-Sent Events and resume after Last-Event-ID", "[http][sse]") {
  ServedNode node("Malmö", "SE");
  node.publish(json::parse(practice_json("one")));
  node.serve({"--http-max-streams", "1"});
  REQUIRE(wait_until([&] { return http_get(node.http_url, "/health").status == 200; }));

  auto stream = std::make_unique<HeldConnection>(
      node.http_url, "GET /api/v1/changes?feed=eventsource HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  // The stream is open once its backlog has come ("one" is the second event).
  REQUIRE(stream->received_until("\"id\":\"one\"", std::chrono::seconds(30)).find("\"id\":\"one\"") !=
          std::string::npos);
  // One stream is the limit here: the next is refused with a clear 503.
  auto busy = http_get(node.http_url, "/api/v1/changes?feed=eventsource");
  CHECK(busy.status == 503);
  CHECK(busy.headers.count("retry-after") == 1);
  node.publish(json::parse(practice_json("two")));
  node.publish(json::parse(practice_json("hidden", "private")));
  node.publish(json::parse(practice_json("three")));
  std::string events = stream->received_until("\"id\":\"three\"", std::chrono::seconds(60));
  stream.reset();  // the client goes away: its stream's slot is free again
  CHECK(events.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(events.find("Content-Encoding") == std::string::npos);
  CHECK(events.find("retry: 3000") != std::string::npos);
  // The profile (1), the node key's delegation (2), "one" (3) from the backlog, then "two"
  // (4) and "three" (6) live; the private record (5) is not an event.
  auto at = [&](const std::string& s) { return events.find(s); };
  CHECK(at("id: 1\nevent: change\ndata: {") != std::string::npos);
  REQUIRE(at("\"id\":\"one\"") != std::string::npos);
  REQUIRE(at("\"id\":\"two\"") != std::string::npos);
  REQUIRE(at("\"id\":\"three\"") != std::string::npos);
  CHECK(at("\"id\":\"one\"") < at("\"id\":\"two\""));
  CHECK(at("\"id\":\"two\"") < at("\"id\":\"three\""));
  CHECK(at("id: 6\n") != std::string::npos);
  CHECK(at("hidden") == std::string::npos);
  CHECK(at("id: 5\n") == std::string::npos);

  // A reconnecting EventSource sends the last id it saw: only what came after.
  std::string resumed =
      raw_http(node.http_url, "GET /api/v1/changes?feed=eventsource HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 4\r\n\r\n",
               std::chrono::seconds(30), "\"id\":\"three\"");
  CHECK(resumed.find("\"id\":\"two\"") == std::string::npos);
  CHECK(resumed.find("\"id\":\"three\"") != std::string::npos);
  CHECK(get_json(node, "/api/v1/changes?feed=longpoll", 400)["param"] == "feed");

  // SIGTERM ends open streams cleanly and the node exits 0.
  HeldConnection open(node.http_url, "GET /api/v1/changes?feed=eventsource&since=5 HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(open.received_until("text/event-stream", std::chrono::seconds(30)).find("text/event-stream") !=
          std::string::npos);
  auto start = std::chrono::steady_clock::now();
  CHECK(node.stop() == 0);
  std::string text = open.received_until("\r\n0\r\n\r\n", std::chrono::seconds(20));
  CHECK(text.find("\r\n0\r\n\r\n") != std::string::npos);  // the last chunk: a clean end
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("HTTP connections beyond --http-max-connections get a 503 and the node recovers", "[http][limits]") {
  ServedNode node("Malmö", "SE");
  node.serve({"--http-max-connections", "3"});
  REQUIRE(wait_until([&] { return http_get(node.http_url, "/health").status == 200; }));
  // The node counts a connection until its session has closed, a moment after the reply.
  REQUIRE(wait_until([&] { return open_http_connections(node, "http") == 0; }, std::chrono::seconds(10)));
  // Three idle connections, accepted before the next one: that one is refused.
  std::vector<std::unique_ptr<HeldConnection>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<HeldConnection>(node.http_url, ""));
  auto refused = http_get(node.http_url, "/health");
  CHECK(refused.status == 503);
  CHECK(json::parse(refused.body)["error"] == "too many HTTP connections; retry soon");
  for (auto& held : idle) CHECK(held->received().empty());
  idle.clear();  // the idle ones close
  CHECK(wait_until([&] { return http_get(node.http_url, "/health").status == 200; }, std::chrono::seconds(5)));
}

TEST_CASE("every list filter, sort and the plans routes, over two synced cities", "[http][api][filters]") {
  ServedNode lyon(std::vector<std::string>{"--city", "Lyon", "--country", "FR", "--region", "Auvergne-Rhône-Alpes"});
  ServedNode malmo(std::vector<std::string>{"--city", "Malmö", "--country", "SE", "--region", "Skåne"});
  lyon.publish({{"kind", "practice"},
                {"id", "mediation"},
                {"title", "Médiateurs"},
                {"summary", "Médiation emploi."},
                {"language", "fr"},
                {"themes", {"employment"}},
                {"principles", {"partnerships"}},
                {"started", 2008},
                {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  lyon.publish({{"kind", "plan"},
                {"id", "plan-2024"},
                {"title", "Plan d'action 2024-2026"},
                {"language", "fr"},
                {"framework", "eccar-10pt"},
                {"period", {{"from", "2024-01-01"}, {"to", "2026-12-31"}}},
                {"items", {{{"id", "i1"}, {"commitment", "7"}, {"action", "Logements accessibles."}}}}});
  malmo.publish({{"kind", "practice"},
                 {"id", "boende"},
                 {"title", "Boende först"},
                 {"summary", "Bostad först."},
                 {"language", "sv"},
                 {"themes", {"housing"}},
                 {"principles", {"human-rights"}},
                 {"started", 2015}});
  lyon.serve();
  malmo.serve();
  peer_both(lyon, malmo);
  REQUIRE(wait_until([&] { return malmo.head_of(lyon.id) >= 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto before_sprak =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  malmo.publish({{"kind", "practice"},
                 {"id", "sprak"},
                 {"title", "Språkcafé"},
                 {"summary", "Language café."},
                 {"language", "en"},
                 {"themes", {"language", "education"}},
                 {"principles", {"consultation", "partnerships"}},
                 {"started", 2021}});
  REQUIRE(wait_until([&] { return get_json(malmo, "/api/v1/practices")["total"] == 3; }));

  auto ids = [&](const std::string& target) {
    std::vector<std::string> out;
    json list = get_json(malmo, target);  // kept alive: the loop iterates inside it
    for (const auto& item : list["items"]) out.push_back(item["id"]);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(ids("/api/v1/practices?country=FR") == V{"mediation"});
  CHECK(ids("/api/v1/practices?country=se&sort=title") == V{"boende", "sprak"});
  CHECK(ids("/api/v1/practices?region=Skane&sort=title") == V{"boende", "sprak"});
  CHECK(ids("/api/v1/practices?region=auvergne-rhone-alpes") == V{"mediation"});
  CHECK(ids("/api/v1/practices?principle=partnerships&sort=title") == V{"mediation", "sprak"});
  CHECK(ids("/api/v1/practices?language=sv") == V{"boende"});
  CHECK(ids("/api/v1/practices?theme=education") == V{"sprak"});
  CHECK(ids("/api/v1/practices?year_from=2010&year_to=2020") == V{"boende"});
  CHECK(ids("/api/v1/practices?year_to=2010") == V{"mediation"});
  CHECK(ids("/api/v1/practices?updated_since=" + std::to_string(before_sprak)) == V{"sprak"});
  CHECK(ids("/api/v1/practices?city=Lyon") == V{"mediation"});
  CHECK(ids("/api/v1/practices?framework=eccar-10pt") == V{"mediation"});
  CHECK(ids("/api/v1/practices?sort=title") == V{"boende", "mediation", "sprak"});
  CHECK(ids("/api/v1/practices?sort=updated")[0] == "sprak");  // newest first
  CHECK(ids("/api/v1/practices?q=cafe&language=en") == V{"sprak"});
  CHECK(get_json(malmo, "/api/v1/practices?facets=false").count("facets") == 0);
  // Pages by title, two at a time, then the rest.
  json page = get_json(malmo, "/api/v1/practices?sort=title&limit=2");
  REQUIRE(page["next"].is_string());
  CHECK(ids("/api/v1/practices?sort=title&limit=2&cursor=" + page["next"].get<std::string>()) == V{"sprak"});

  // Plans: listed, filtered by the commitments of their items, read by id and history.
  CHECK(ids("/api/v1/plans") == V{"plan-2024"});
  CHECK(ids("/api/v1/plans?framework=eccar-10pt&ref=7") == V{"plan-2024"});
  CHECK(ids("/api/v1/plans?framework=eccar-10pt&ref=6").empty());
  CHECK(ids("/api/v1/plans?year_from=2024&city=lyon") == V{"plan-2024"});
  CHECK(get_json(malmo, "/api/v1/plans/Lyon/plan-2024")["title"] == "Plan d'action 2024-2026");
  CHECK(get_json(malmo, "/api/v1/plans/" + lyon.id + "/plan-2024/history")["items"].size() == 1);
  get_json(malmo, "/api/v1/practices/Lyon/plan-2024", 404);  // a plan is not a practice
  get_json(malmo, "/api/v1/plans/Lyon/mediation", 404);

  // Each class of bad value names its parameter.
  for (auto [target, param] :
       std::vector<std::pair<std::string, std::string>>{{"/api/v1/practices?language=xx", "language"},
                                                        {"/api/v1/practices?principle=subsidiary", "principle"},
                                                        {"/api/v1/practices?year_from=20x0", "year_from"},
                                                        {"/api/v1/practices?year_to=3000", "year_to"},
                                                        {"/api/v1/practices?updated_since=-1", "updated_since"},
                                                        {"/api/v1/practices?sort=random", "sort"},
                                                        {"/api/v1/practices?facets=maybe", "facets"},
                                                        {"/api/v1/practices?q=work&exact=yes", "exact"},
                                                        {"/api/v1/practices?cursor=zz", "cursor"},
                                                        {"/api/v1/practices?ref=6", "ref"},
                                                        {"/api/v1/practices?framework=eccar&ref=6", "framework"},
                                                        {"/api/v1/practices?city=Atlantis", "city"},
                                                        {"/api/v1/practices?limit=0", "limit"},
                                                        {"/api/v1/plans/Lyon/plan-2024?version=0", "version"},
                                                        {"/api/v1/changes?since=x", "since"},
                                                        {"/api/v1/changes?kind=story", "kind"},
                                                        {"/api/v1/cities?extra=1", "extra"}}) {
    INFO(target);
    CHECK(get_json(malmo, target, 400)["param"] == param);
  }
}
