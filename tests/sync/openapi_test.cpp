// docs/openapi.json against real answers: a node holding a realistic set of public records
// (two synced cities: practices, a plan with reports, an adoption, a twin partnership, a
// coalition and its published framework) answers every documented route, successes and
// errors, and each body is validated (valijson) against the schema the document gives for
// that path, method and status, each header the document gives for it against its schema,
// and every answer carries `Access-Control-Allow-Origin: *`. Every query parameter the
// document lists is tried with a sensible value, so the document cannot list one the server
// refuses. A second case: city names two nodes share are a 400, never the node's end.
#include <catch2/catch.hpp>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <tuple>

#include "http_client.hpp"
#include "sync/node_metrics.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::string enc(std::string_view s) {  // percent-encoding of a path segment or query value
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "text/csv; charset=utf-8; header=present" -> "text/csv"
std::string media_type(std::string content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  content_type.erase(
      std::remove_if(content_type.begin(), content_type.end(), [](unsigned char c) { return std::isspace(c); }),
      content_type.end());
  std::transform(content_type.begin(), content_type.end(), content_type.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return content_type;
}

bool is_json_media(const std::string& media) { return media == "application/json" || media.ends_with("+json"); }

struct Answer {
  int status = 0;
  std::string content_type, body;
  std::map<std::string, std::string> headers;  // names lowercased
};

Answer answer_of(const HttpReply& r) { return {r.status, r.content_type, r.body, r.headers}; }

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A response read by raw_http (Content-Length bodies: the listener's own refusals).
Answer parse_raw(const std::string& raw) {
  Answer a;
  if (!raw.starts_with("HTTP/1.1 ") || raw.size() < 12) return a;
  a.status = std::stoi(raw.substr(9, 3));
  size_t end = raw.find("\r\n\r\n");
  std::string head = raw.substr(0, end);
  for (size_t at = head.find("\r\n"); at != std::string::npos;) {
    size_t next = head.find("\r\n", at + 2);
    std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
    if (size_t colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      value.erase(value.find_last_not_of(' ') + 1);
      a.headers[lowercase(line.substr(0, colon))] = value;
    }
    at = next;
  }
  if (a.headers.count("content-type")) a.content_type = a.headers["content-type"];
  if (end != std::string::npos) a.body = raw.substr(end + 4);
  return a;
}

// The document, its schemas compiled on first use, and what has been checked against it.
class OpenApi {
 public:
  explicit OpenApi(json spec) : spec_(std::move(spec)) {}
  const json& spec() const { return spec_; }

  // A node with its "#/..." references followed, within the document.
  const json& resolve(const json& node) const {
    const json* n = &node;
    while (n->is_object() && n->contains("$ref"))
      n = &spec_.at(json::json_pointer(n->at("$ref").get<std::string>().substr(1)));
    return *n;
  }

  // valijson's complaints about `value` against `schema` (a schema of the document, its
  // references resolved against the whole document); empty when valid.
  std::string errors(const json& schema, const json& value) {
    std::string key = schema.dump();
    auto it = compiled_.find(key);
    if (it == compiled_.end()) {
      Compiled c;
      c.root = {{"$ref", "#/answer"}, {"answer", schema}, {"components", spec_["components"]}};
      c.schema = std::make_unique<valijson::Schema>();
      valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
      valijson::adapters::NlohmannJsonAdapter root(c.root);
      parser.populateSchema(root, *c.schema);
      it = compiled_.emplace(key, std::move(c)).first;
    }
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(value);
    if (validator.validate(*it->second.schema, target, &results)) return "";
    std::string out;
    valijson::ValidationResults::Error e;
    while (results.popError(e)) {
      std::string where;
      for (const auto& part : e.context) where += part;
      out += "  at " + where + ": " + e.description + "\n";
    }
    return out;
  }

  std::string errors_against(const std::string& component, const json& value) {
    return errors({{"$ref", "#/components/schemas/" + component}}, value);
  }

  // Checks one answer to `request` (how it was sent, for messages) against what the
  // document gives for operation `op` of `path` and the answer's status: its body, its
  // headers, and the CORS header every answer carries. The API is read-only: its GET
  // operations also document the answers to other methods but OPTIONS (405) and the
  // listener's refusals (413, 414, 431, 503), which come before any routing.
  void check(const std::string& path, const std::string& request, const Answer& a, const std::string& op = "get") {
    ++answers_;
    std::string code = std::to_string(a.status);
    std::string headers;
    for (const auto& [name, value] : a.headers) headers += name + ": " + value + "\n";
    INFO(request << "  [" << path << "]  -> " << a.status << " " << a.content_type << "\n"
                 << headers << a.body.substr(0, 4000) << (a.body.size() > 4000 ? "..." : ""));
    auto cors = a.headers.find("access-control-allow-origin");
    CHECK((cors == a.headers.end() ? std::string("(no Access-Control-Allow-Origin)") : cors->second) == "*");
    REQUIRE(spec_["paths"].contains(path));
    if (!spec_["paths"][path].contains(op)) {
      FAIL_CHECK(op << " is not documented for " << path);
      return;
    }
    const json& responses = spec_["paths"][path][op]["responses"];
    if (!responses.contains(code)) {
      FAIL_CHECK("status " << code << " is not documented for " << op << " " << path);
      return;
    }
    seen_.insert({path, op, code});
    const json& response = resolve(responses[code]);
    const json documented_headers = response.value("headers", json::object());
    for (const auto& [name, header_ref] : documented_headers.items()) {
      const json& header = resolve(header_ref);
      auto it = a.headers.find(lowercase(name));
      if (it == a.headers.end()) {
        if (header.value("required", false)) FAIL_CHECK("no " << name << " header, which is documented as required");
        continue;
      }
      const json& schema = resolve(header["schema"]);
      json value = it->second;
      if (schema.value("type", "") == "integer") {  // header values are text: an integer's is its digits
        bool digits = !it->second.empty() && it->second.size() < 18 &&
                      it->second.find_first_not_of("0123456789") == std::string::npos;
        value = digits ? json(std::stoll(it->second)) : json(it->second);
      }
      if (std::string e = errors(header["schema"], value); !e.empty())
        FAIL_CHECK("the " << name << " header does not match its schema:\n" << e);
    }
    if (!response.contains("content")) {
      CHECK(a.body.empty());
      return;
    }
    std::string media = media_type(a.content_type);
    if (!response["content"].contains(media)) {
      FAIL_CHECK("content type " << media << " is not documented for " << op << " " << path << " " << code);
      return;
    }
    json value = a.body;
    if (is_json_media(media)) {
      value = json::parse(a.body, nullptr, false);
      if (value.is_discarded()) {
        FAIL_CHECK("not JSON");
        return;
      }
    }
    if (std::string e = errors(response["content"][media]["schema"], value); !e.empty())
      FAIL_CHECK("the body does not match its schema:\n" << e);
  }

  // Documented (path, operation, status) triples no answer has been checked against.
  std::vector<std::string> unchecked() const {
    std::vector<std::string> out;
    for (const auto& [path, item] : spec_["paths"].items())
      for (const auto& [op, operation] : item.items()) {
        if (op == "parameters") continue;  // the path's own, not an operation
        for (const auto& [code, response] : operation["responses"].items())
          if (!seen_.count({path, op, code})) out.push_back(op + " " + path + " " + code);
      }
    return out;
  }
  int answers() const { return answers_; }
  size_t pairs() const { return seen_.size(); }

 private:
  struct Compiled {
    json root;
    std::unique_ptr<valijson::Schema> schema;
  };
  json spec_;
  std::map<std::string, Compiled> compiled_;
  std::set<std::tuple<std::string, std::string, std::string>> seen_;
  int answers_ = 0;
};

}  // namespace

TEST_CASE("every answer of every documented route matches the schema openapi.json gives for it",
          "[http][api][openapi]") {
  ServedNode malmo(std::vector<std::string>{"--city", "Malmö", "--country", "SE", "--region", "Skåne"});
  ServedNode toronto(std::vector<std::string>{"--city", "Toronto", "--country", "CA", "--region", "Ontario"});
  auto run_ok = [](const ServedNode& node, const std::vector<std::string>& args) {
    auto r = node.agora(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };

  // Toronto: a practice Malmö will adopt; twin of Malmö; accepts Malmö's coalition.
  toronto.publish({{"kind", "practice"},
                   {"id", "mentoring-partnership"},
                   {"title", "Mentoring Partnership"},
                   {"summary", "Skilled immigrants are matched with mentors in their profession for four months."},
                   {"language", "en"},
                   {"themes", {"employment", "skills-recognition"}},
                   {"principles", {"partnerships"}},
                   {"started", 2004},
                   {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  toronto.publish({{"kind", "partnership"},
                   {"with", malmo.id},
                   {"relation", "twin"},
                   {"topics", {"employment", "skills-recognition"}},
                   {"since", 2007}});
  toronto.publish({{"kind", "partnership"},
                   {"with", malmo.id},
                   {"relation", "coalition-member"},
                   {"coalition", "eccar"},
                   {"since", 2024}});

  // Malmö: its twin declaration, the coalition it leads and the framework it publishes for it.
  malmo.publish({{"kind", "partnership"},
                 {"with", toronto.id},
                 {"relation", "twin"},
                 {"topics", {"employment"}},
                 {"since", 2007}});
  malmo.publish({{"kind", "coalition"},
                 {"name", "eccar"},
                 {"title", "European Coalition of Cities against Racism"},
                 {"region", "Europe"},
                 {"framework", "eccar-10pt"},
                 {"members", {toronto.id}},
                 {"admins", {toronto.id}},
                 {"since", 2024}});
  malmo.publish({{"kind", "framework"},
                 {"id", "eccar-equality-data"},
                 {"title", "ECCAR Equality Data Toolkit"},
                 {"coalition", "eccar"},
                 {"language", "en"},
                 {"commitments",
                  {{{"ref", "D1"}, {"title", "Collect equality data with the communities concerned"}},
                   {{"ref", "D2"}, {"title", "Publish the results every year"}}}}});
  // Practices: one in two versions, one naming the published framework, one retracted, one private.
  malmo.publish({{"kind", "practice"},
                 {"id", "lankarbetare"},
                 {"title", "Länkarbetare"},
                 {"summary", "Länkarbetare skapar kontakter mellan förvaltningar och invandrare."},
                 {"language", "sv"},
                 {"themes", {"social-services"}},
                 {"principles", {"consultation"}},
                 {"started", 2006},
                 {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  malmo.publish({{"kind", "practice"},
                 {"id", "lankarbetare"},
                 {"title", "Länkarbetare mellan förvaltningar och invandrargrupper"},
                 {"summary", "Särskilda länkarbetare skapar personliga kontakter, så att tjänsterna når alla."},
                 {"language", "sv"},
                 {"themes", {"social-services", "intercultural-dialogue"}},
                 {"principles", {"consultation"}},
                 {"started", 2006},
                 {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "6"}}}}});
  malmo.publish(
      {{"kind", "practice"},
       {"id", "antidiskrimineringsklausuler"},
       {"title", "Antidiskrimineringsklausuler i stadens avtal"},
       {"summary", "Alla upphandlade avtal innehåller en klausul om icke-diskriminering."},
       {"language", "sv"},
       {"themes", {"non-discrimination"}},
       {"principles", {"monitoring-accountability"}},
       {"started", 2006},
       {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "5"}}, {{"framework", "coe-res281"}, {"ref", "g"}}}}});
  malmo.publish({{"kind", "practice"},
                 {"id", "jamlikhetsdata"},
                 {"title", "Jämlikhetsdata"},
                 {"summary", "Staden samlar in jämlikhetsdata tillsammans med föreningar."},
                 {"language", "sv"},
                 {"themes", {"non-discrimination"}},
                 {"started", 2023},
                 {"frameworks", {{{"framework", "eccar-equality-data"}, {"ref", "D1"}}}}});
  malmo.publish({{"kind", "practice"},
                 {"id", "gammal"},
                 {"title", "Gammal försöksverksamhet"},
                 {"summary", "Avslutad."},
                 {"language", "sv"},
                 {"themes", {"housing"}}});
  run_ok(malmo, {"retract", "gammal"});
  malmo.publish({{"kind", "practice"},
                 {"id", "namngiven"},
                 {"title", "Namngiven kontaktperson"},
                 {"summary", "Ring Anna Andersson."},
                 {"language", "sv"},
                 {"themes", {"housing"}}});
  run_ok(malmo, {"erase", "namngiven", "--reason", "namnger en person"});
  malmo.publish({{"kind", "practice"},
                 {"id", "intern"},
                 {"title", "Internt"},
                 {"summary", "Inte offentligt."},
                 {"language", "sv"},
                 {"themes", {"employment"}},
                 {"visibility", "private"}});
  // A plan in two versions, with public and private reports.
  json plan = {{"kind", "plan"},
               {"id", "eccar-2024"},
               {"title", "Handlingsplan mot diskriminering 2024–2027"},
               {"language", "sv"},
               {"framework", "eccar-10pt"},
               {"period", {{"from", "2024-01-01"}, {"to", "2027-12-31"}}},
               {"items",
                {{{"id", "lankarbetare"},
                  {"commitment", "6"},
                  {"action", "Fler länkarbetare."},
                  {"department", "Stadskontoret"},
                  {"start", "2024-02-01"},
                  {"due", "2025-06-30"},
                  {"status", "in-progress"},
                  {"indicators",
                   {{{"name", "länkarbetare anställda"},
                     {"unit", "personer"},
                     {"baseline", 4},
                     {"target", 12},
                     {"direction", "increase"}}}}},
                 {{"id", "mangfaldsrevision"},
                  {"commitment", "6"},
                  {"action", "Mångfaldsrevisioner och enkäter."},
                  {"department", "HR-avdelningen"},
                  {"start", "2024-03-01"},
                  {"due", "2027-03-31"},
                  {"status", "in-progress"},
                  {"indicators",
                   {{{"name", "anställda som upplevt diskriminering"},
                     {"unit", "%"},
                     {"baseline", 12},
                     {"target", 6},
                     {"direction", "decrease"}}}}},
                 {{"id", "tillsyn"}, {"commitment", "5"}, {"action", "Kontroll av lika tillträde vid tillsyn."}}}}};
  malmo.publish(plan);
  plan["items"][0]["status"] = "delayed";
  malmo.publish(plan);
  json draft = plan;
  draft["id"] = "utkast";
  malmo.publish(draft);
  run_ok(malmo, {"erase", "utkast", "--reason", "a draft that named staff"});
  const std::string indicator = "länkarbetare anställda";
  run_ok(malmo,
         {"report", "eccar-2024", "lankarbetare", "--indicator", indicator, "--value", "6", "--date", "2024-09-30"});
  run_ok(malmo,
         {"report", "eccar-2024", "lankarbetare", "--indicator", indicator, "--value", "7", "--date", "2025-03-31"});
  run_ok(malmo, {"report", "eccar-2024", "mangfaldsrevision", "--indicator", "anställda som upplevt diskriminering",
                 "--value", "10.5", "--date", "2025-03-31"});
  run_ok(malmo, {"report", "eccar-2024", "lankarbetare", "--indicator", indicator, "--value", "99", "--date",
                 "2025-04-30", "--visibility", "private"});

  // Malmö's node runs with small limits, so that 413, 414 and 431 take small requests and
  // one open event stream makes the next one a 503; Toronto's takes one HTTP connection.
  malmo.serve(
      {"--http-max-url-kib", "1", "--http-max-header-kib", "2", "--http-max-body-kib", "1", "--http-max-streams", "1"});
  toronto.serve({"--http-max-connections", "1"});
  peer_both(malmo, toronto);
  REQUIRE(wait_until([&] { return malmo.head_of(toronto.id) >= 4; }));
  malmo.publish({{"kind", "adoption"},
                 {"id", "mentorprogram"},
                 {"practice", toronto.id + "/mentoring-partnership"},
                 {"notes", "Mentorprogram för nyanlända akademiker, efter Torontos förebild."},
                 {"started", 2009},
                 {"themes", {"employment"}}});
  REQUIRE(wait_until([&] {
    auto r = http_get(malmo.http_url, "/api/v1/practices?facets=false");
    return r.status == 200 && json::parse(r.body)["total"] == 4;  // three of Malmö's, one of Toronto's
  }));
  REQUIRE(wait_until([&] { return get_json(malmo, "/api/v1/plans?facets=false")["total"] == 1; }));

  OpenApi api(get_json(malmo, "/api/v1/openapi.json"));
  const json& spec = api.spec();
  REQUIRE(spec["openapi"].get<std::string>().starts_with("3.1"));
  CHECK(spec["servers"] == json::array({{{"url", "/"}}}));
  // The validator is not vacuous: references resolve, nested requirements hold.
  CHECK(api.errors_against("Error", {{"error", "x"}}) != "");
  CHECK(api.errors_against("Error", {{"error", "x"}, {"param", nullptr}, {"more", 1}}) != "");
  CHECK(api.errors_against("PracticeList", {{"items", {{{"kind", "practice"}}}}, {"next", nullptr}, {"total", 1}}) !=
        "");
  CHECK(api.errors_against("Health", {{"status", "ok"}, {"node", malmo.id}, {"peers_connected", "1"}}) != "");
  const json index = {{"state", "ready"}, {"indexed", 3}, {"of", 3}, {"behind", 0}};
  CHECK(api.errors_against("Health", {{"status", "ok"}, {"node", malmo.id}, {"peers_connected", 1}}) != "");
  CHECK(api.errors_against(
            "Health", {{"status", "ok"}, {"node", malmo.id}, {"peers_connected", 1}, {"search_index", index}}) == "");
  CHECK(api.errors({{"$ref", "#/components/headers/Allow/schema"}}, "GET, POST") != "");
  CHECK(api.errors({{"$ref", "#/components/headers/Access-Control-Allow-Origin/schema"}}, "https://example.org") != "");
  CHECK(api.errors({{"$ref", "#/components/headers/Access-Control-Max-Age/schema"}}, "86400") != "");  // a string
  CHECK(api.errors({{"$ref", "#/components/headers/Access-Control-Max-Age/schema"}}, 86400) == "");
  const std::string& url = malmo.http_url;
  auto get = [&](const std::string& path, const std::string& target) {
    Answer a = answer_of(http_get(url, target));
    api.check(path, "GET " + target, a);
    return a;
  };

  // Path parameters: realistic ones, in each form `origin` takes.
  const std::string origin = malmo.id, by_name = enc("Malmö"), by_prefix = malmo.id.substr(0, 12);
  std::map<std::string, std::vector<std::string>> examples = {
      {"/api/v1/practices/{origin}/{id}",
       {"/api/v1/practices/" + origin + "/lankarbetare",
        "/api/v1/practices/" + by_name + "/antidiskrimineringsklausuler",
        "/api/v1/practices/" + by_prefix + "/jamlikhetsdata", "/api/v1/practices/" + origin + "/gammal",
        "/api/v1/practices/Toronto/mentoring-partnership"}},
      {"/api/v1/practices/{origin}/{id}/history",
       {"/api/v1/practices/" + origin + "/lankarbetare/history", "/api/v1/practices/" + by_name + "/gammal/history"}},
      {"/api/v1/plans/{origin}/{id}",
       {"/api/v1/plans/" + origin + "/eccar-2024", "/api/v1/plans/" + by_name + "/eccar-2024"}},
      {"/api/v1/plans/{origin}/{id}/history", {"/api/v1/plans/" + by_prefix + "/eccar-2024/history"}},
      {"/api/v1/plans/{origin}/{id}/progress",
       {"/api/v1/plans/" + origin + "/eccar-2024/progress", "/api/v1/plans/" + by_name + "/eccar-2024/progress"}},
      {"/api/v1/plans/{origin}/{id}/chart.svg",
       {"/api/v1/plans/" + origin + "/eccar-2024/chart.svg?item=lankarbetare&indicator=" + enc(indicator)}},
      {"/api/v1/commitments/{framework}/{ref}",
       {"/api/v1/commitments/eccar-10pt/6", "/api/v1/commitments/eccar-10pt/5", "/api/v1/commitments/coe-res281/g",
        "/api/v1/commitments/eccar-equality-data/D1", "/api/v1/commitments/hague-2002/13"}},
  };
  // A route's plain target (with the query parameters it requires).
  auto base_of = [&](const std::string& path) { return examples.count(path) ? examples[path][0] : path; };
  auto with = [](const std::string& target, const std::string& query) {
    return target + (target.find('?') == std::string::npos ? "?" : "&") + query;
  };
  for (const auto& [path, item] : spec["paths"].items()) {
    REQUIRE(item.contains("get"));
    CHECK(item.contains("options"));  // every route answers a CORS preflight
    for (const auto& [key, value] : item.items()) {
      INFO(path << " " << key);
      CHECK((key == "get" || key == "options" || key == "parameters"));  // the API is read-only
    }
    for (const auto& target : examples.count(path) ? examples[path] : std::vector<std::string>{path}) {
      INFO("GET " << target);
      CHECK(get(path, target).status == 200);
    }
  }
  get("/api/v1/practices/{origin}/{id}", base_of("/api/v1/practices/{origin}/{id}") + "?version=1");
  get("/api/v1/plans/{origin}/{id}", base_of("/api/v1/plans/{origin}/{id}") + "?version=1");

  // Complete answers carry an ETag; sent back as If-None-Match, it gives a 304 without a body.
  for (const auto& [path, item] : spec["paths"].items()) {
    if (!item["get"]["responses"].contains("304")) continue;
    std::string target = base_of(path);
    std::string etag = http_get(url, target).headers["etag"];
    INFO("GET " << target);
    CHECK(!etag.empty());
    Answer same = answer_of(http_request(url, "GET", target, {{"If-None-Match", etag}}));
    CHECK(same.status == 304);
    api.check(path, "GET " + target + " If-None-Match: " + etag, same);
  }

  // The other answers of lists, records and feeds, with a few query parameters each.
  for (const std::string collection : {"practices", "plans"}) {
    std::string path = "/api/v1/" + collection;
    for (const std::string query :
         {"q=l%C3%A4nkarbetare", "q=Malmo&sort=updated&limit=1", "city=Toronto&facets=false", "theme=employment",
          "framework=eccar-10pt&ref=6&sort=title", "country=SE&region=Sk%C3%A5ne&year_from=2000&year_to=2030",
          "language=sv&principle=consultation", "framework=eccar-equality-data&ref=D1", "q=ingenting-alls"})
      get(path, path + "?" + query);
    // Every page after following `next`, in both orders.
    for (const std::string order : {"sort=title", "q=stad"}) {
      Answer page = get(path, path + "?limit=1&" + order);
      for (int i = 0; i < 6 && page.status == 200; ++i) {
        json next = json::parse(page.body)["next"];
        if (!next.is_string()) break;
        page = get(path, path + "?limit=1&" + order + "&cursor=" + next.get<std::string>());
      }
    }
  }
  CHECK(json::parse(
            get("/api/v1/practices/{origin}/{id}", "/api/v1/practices/" + origin + "/gammal").body)["retracted"] ==
        true);
  // Erased: the latest of one practice, and an earlier version of the plan.
  CHECK(get("/api/v1/practices/{origin}/{id}", "/api/v1/practices/" + origin + "/namngiven").status == 410);
  CHECK(get("/api/v1/plans/{origin}/{id}", "/api/v1/plans/" + origin + "/utkast").status == 410);
  get("/api/v1/plans/{origin}/{id}/history", "/api/v1/plans/" + origin + "/utkast/history");
  CHECK(get("/api/v1/plans/{origin}/{id}/progress", "/api/v1/plans/" + origin + "/utkast/progress").status == 410);
  CHECK(get("/api/v1/plans/{origin}/{id}/chart.svg",
            "/api/v1/plans/" + origin + "/utkast/chart.svg?item=lankarbetare&indicator=" + enc(indicator))
            .status == 410);
  get("/api/v1/practices/{origin}/{id}/history", "/api/v1/practices/" + origin + "/namngiven/history");
  for (const std::string query : {"since=3&limit=2", "kind=plan", "kind=report&limit=1", "feed=normal&since=0"})
    get("/api/v1/changes", "/api/v1/changes?" + query);
  for (const std::string query : {"kind=plan", "framework=eccar-equality-data", "framework=coe-res281&country=SE",
                                  "theme=employment&year_from=2000", "q=mentor&language=en"})
    get("/api/v1/stats", "/api/v1/stats?" + query);
  for (const std::string& query : std::vector<std::string>{"city=Malm%C3%B6", "city=Toronto",
                                                           "practice=" + enc(toronto.id + "/mentoring-partnership"),
                                                           "practice=Toronto%2Fmentoring-partnership&city=Malm%C3%B6"})
    get("/api/v1/adoptions", "/api/v1/adoptions?" + query);
  get("/api/v1/plans/{origin}/{id}/progress", base_of("/api/v1/plans/{origin}/{id}/progress") + "?today=2027-12-31");
  get("/api/v1/commitments/{framework}/{ref}", "/api/v1/commitments/eccar-10pt/6?today=2025-07-01");

  // Exports: text formats are strings; each ndjson line is a record as in lists; jsonld is JSON.
  for (const std::string format : {"ndjson", "csv", "jsonld"}) {
    Answer a = get("/api/v1/export", "/api/v1/export?format=" + format);
    REQUIRE(a.status == 200);
    if (format != "ndjson") continue;
    size_t lines = 0;
    for (size_t at = 0, end; at < a.body.size(); at = end + 1) {
      end = a.body.find('\n', at);
      if (end == std::string::npos) end = a.body.size();
      json record = json::parse(a.body.substr(at, end - at), nullptr, false);
      INFO("export line " << a.body.substr(at, end - at));
      CHECK(api.errors_against("Record", record) == "");
      ++lines;
    }
    CHECK(lines >= 10);
  }
  get("/api/v1/export", "/api/v1/export?format=jsonld&kind=adoption");

  // The live change feed: text/event-stream whose data lines are changes. One stream is this
  // node's limit: the next request for one gets a 503.
  {
    HeldConnection stream(url,
                          "GET /api/v1/changes?feed=eventsource&kind=practice HTTP/1.1\r\nHost: x\r\n"
                          "Last-Event-ID: 2\r\n\r\n");
    std::string text = stream.received_until("\"id\":\"jamlikhetsdata\"", std::chrono::seconds(30));
    REQUIRE(text.find("\"id\":\"jamlikhetsdata\"") != std::string::npos);
    Answer head = parse_raw(text);
    head.body = "";  // chunked, and never ends: the events are checked one by one below
    api.check("/api/v1/changes", "GET /api/v1/changes?feed=eventsource&kind=practice (Last-Event-ID: 2)", head);
    size_t events = 0;
    for (size_t at = text.find("\ndata: "); at != std::string::npos; at = text.find("\ndata: ", at + 1)) {
      size_t end = text.find('\n', at + 7);
      if (end == std::string::npos) break;  // still arriving
      std::string line = text.substr(at + 7, end - at - 7);
      INFO("event data: " << line);
      CHECK(api.errors_against("Change", json::parse(line, nullptr, false)) == "");
      ++events;
    }
    CHECK(events >= 3);
    Answer busy = get("/api/v1/changes", "/api/v1/changes?feed=eventsource");
    CHECK(busy.status == 503);
  }

  // Error answers on every route. Each list of the document's query parameters is exact:
  // something else is a 400 naming it.
  const std::string pad(3000, 'a');
  for (const auto& [path, item] : spec["paths"].items()) {
    std::string target = base_of(path);
    const json& responses = item["get"]["responses"];
    if (responses.contains("400")) {
      Answer a = get(path, with(target, "colour=red"));
      CHECK(a.status == 400);
      if (a.status == 400) CHECK(json::parse(a.body)["param"] == "colour");
    }
    if (responses.contains("414")) {
      INFO("GET " << target << " with a 1.1 KiB query");
      CHECK(get(path, with(target, "q=" + std::string(1100, 'a'))).status == 414);
    }
    for (const std::string method : {"POST", "PUT", "DELETE", "PATCH"}) {
      Answer a = answer_of(http_request(url, method, target));
      CHECK(a.status == 405);
      CHECK(a.headers["allow"] == "GET, HEAD, OPTIONS");
      api.check(path, method + " " + target, a);
    }
    // A browser's preflight, and a plain OPTIONS.
    for (const auto& headers : std::vector<std::map<std::string, std::string>>{
             {{"Origin", "https://example.org"}, {"Access-Control-Request-Method", "GET"}}, {}}) {
      Answer a = answer_of(http_request(url, "OPTIONS", target, headers));
      CHECK(a.status == 204);
      CHECK(a.headers["allow"] == "GET, HEAD, OPTIONS");
      CHECK(a.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS");
      CHECK(a.headers["access-control-max-age"] == "86400");
      api.check(path, "OPTIONS " + target + (headers.empty() ? "" : " (preflight)"), a, "options");
    }
    Answer large_body = parse_raw(
        raw_http(url, "GET " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + std::string(2048, 'a'),
                 std::chrono::seconds(5)));
    CHECK(large_body.status == 413);
    api.check(path, "GET " + target + " with a 2 KiB body", large_body);
    Answer large_headers = parse_raw(
        raw_http(url, "GET " + target + " HTTP/1.1\r\nHost: x\r\nX-Pad: " + pad + "\r\n\r\n", std::chrono::seconds(5)));
    CHECK(large_headers.status == 431);
    api.check(path, "GET " + target + " with 3 KiB of headers", large_headers);
  }
  for (const std::string& target : std::vector<std::string>{
           "/api/v1/practices/" + origin + "/nothing-here", "/api/v1/practices/Atlantis/lankarbetare",
           "/api/v1/practices/" + origin + "/intern", "/api/v1/practices/" + origin + "/eccar-2024",
           "/api/v1/practices/" + origin + "/lankarbetare?version=9"})
    CHECK(get("/api/v1/practices/{origin}/{id}", target).status == 404);
  CHECK(get("/api/v1/practices/{origin}/{id}/history", "/api/v1/practices/" + origin + "/intern/history").status ==
        404);
  CHECK(get("/api/v1/plans/{origin}/{id}", "/api/v1/plans/" + origin + "/lankarbetare").status == 404);
  CHECK(get("/api/v1/plans/{origin}/{id}/history", "/api/v1/plans/" + origin + "/nothing-here/history").status == 404);
  CHECK(get("/api/v1/plans/{origin}/{id}/progress", "/api/v1/plans/" + origin + "/lankarbetare/progress").status ==
        404);
  CHECK(get("/api/v1/plans/{origin}/{id}/chart.svg",
            "/api/v1/plans/Atlantis/eccar-2024/chart.svg?item=lankarbetare&indicator=x")
            .status == 404);
  CHECK(get("/api/v1/adoptions", "/api/v1/adoptions?practice=" + enc(toronto.id + "/other")).status == 404);
  for (const auto& [path, target] : std::vector<std::pair<std::string, std::string>>{
           {"/health", "/health?%zz"},
           {"/health", "/health?colour=%ff%fe"},
           {"/metrics", "/metrics?%C3%28=1"},
           {"/metrics", "/metrics?since=0&since=1"},
           {"/api/v1/network", "/api/v1/network?peer=%2"},
           {"/api/v1/network", "/api/v1/network?limit=5"},
           {"/api/v1/practices", "/api/v1/practices?theme=housng"},
           {"/api/v1/practices", "/api/v1/practices?q=%ff%fe"},
           {"/api/v1/practices", "/api/v1/practices?limit=0"},
           {"/api/v1/practices", "/api/v1/practices?limit=1&limit=2"},
           {"/api/v1/plans", "/api/v1/plans?cursor=zz"},
           {"/api/v1/plans", "/api/v1/plans?ref=6"},
           {"/api/v1/plans", "/api/v1/plans?city=Atlantis"},
           {"/api/v1/practices/{origin}/{id}", base_of("/api/v1/practices/{origin}/{id}") + "?version=0"},
           {"/api/v1/practices/{origin}/{id}/history",
            base_of("/api/v1/practices/{origin}/{id}/history") + "?version=1"},
           {"/api/v1/changes", "/api/v1/changes?since=-1"},
           {"/api/v1/changes", "/api/v1/changes?kind=gossip"},
           {"/api/v1/changes", "/api/v1/changes?feed=longpoll"},
           {"/api/v1/export", "/api/v1/export?format=xml"},
           {"/api/v1/stats", "/api/v1/stats?framework=eccar"},
           {"/api/v1/stats", "/api/v1/stats?kind=report"},
           {"/api/v1/adoptions", "/api/v1/adoptions?city=Atlantis"},
           {"/api/v1/plans/{origin}/{id}/progress", base_of("/api/v1/plans/{origin}/{id}/progress") + "?today=soon"},
           {"/api/v1/plans/{origin}/{id}/chart.svg",
            "/api/v1/plans/" + origin + "/eccar-2024/chart.svg?item=lankarbetare"},
           {"/api/v1/plans/{origin}/{id}/chart.svg",
            "/api/v1/plans/" + origin + "/eccar-2024/chart.svg?item=tillsyn&indicator=x"},
           {"/api/v1/commitments/{framework}/{ref}", "/api/v1/commitments/eccar-10pt/11"},
           {"/api/v1/commitments/{framework}/{ref}", "/api/v1/commitments/eccar-1pt/1"}})
    CHECK(get(path, target).status == 400);

  // Every query parameter the document lists is accepted with a sensible value (each value
  // of an enumeration), with the other parameters the route requires.
  std::map<std::string, std::string> cursors;
  for (const std::string path : {"/api/v1/practices", "/api/v1/plans"})
    cursors[path] = json::parse(http_get(url, path + "?limit=1").body)["next"].get<std::string>();
  auto sensible = [&](const std::string& path, const std::string& name) -> std::vector<std::string> {
    static const std::map<std::string, std::string> kValues = {{"q", "l%C3%A4nkarbetare"},
                                                               {"country", "SE"},
                                                               {"region", "Sk%C3%A5ne"},
                                                               {"framework", "eccar-10pt"},
                                                               {"year_from", "2000"},
                                                               {"year_to", "2030"},
                                                               {"updated_since", "0"},
                                                               {"limit", "5"},
                                                               {"version", "1"},
                                                               {"today", "2025-07-01"},
                                                               {"since", "0"},
                                                               {"item", "lankarbetare"},
                                                               {"lang", "fr"}};
    if (name == "city") return {path == "/api/v1/adoptions" ? "Toronto" : "Malm%C3%B6"};
    if (name == "ref") return {"framework=eccar-10pt&ref=6"};
    if (name == "cursor" && cursors.count(path)) return {cursors.at(path)};
    if (name == "practice") return {enc(toronto.id + "/mentoring-partnership")};
    if (name == "indicator") return {enc(indicator)};
    auto it = kValues.find(name);
    return it == kValues.end() ? std::vector<std::string>{} : std::vector<std::string>{it->second};
  };
  size_t parameters_tried = 0;
  std::map<std::string, std::string> sample;            // a value of each parameter some route accepts
  std::map<std::string, std::set<std::string>> listed;  // path -> its query parameters
  for (const auto& [path, item] : spec["paths"].items()) {
    std::string target = base_of(path);
    for (const auto& param_ref : item["get"].value("parameters", json::array())) {
      const json& param = api.resolve(param_ref);
      if (param["in"] != "query") continue;
      std::string name = param["name"];
      listed[path].insert(name);
      const json& schema = api.resolve(param["schema"]);
      std::vector<std::string> queries;
      if (schema.contains("enum")) {
        for (const auto& v : schema["enum"])
          if (!(path == "/api/v1/changes" && v == "eventsource"))  // the stream above
            queries.push_back(name + "=" + v.get<std::string>());
      } else if (schema["type"] == "boolean") {
        queries = {name + "=true", name + "=false"};
      } else {
        for (const auto& v : sensible(path, name))
          queries.push_back(v.find('=') == std::string::npos ? name + "=" + v : v);
      }
      INFO(path << " ?" << name);
      CHECK(!queries.empty());  // a parameter this test knows no sensible value for
      for (const auto& query : queries) {
        // The route's own required parameters are in `target` already; replace those.
        std::string t = target;
        if (t.find("?" + name + "=") != std::string::npos || t.find("&" + name + "=") != std::string::npos) {
          size_t at = t.find(name + "=", t.find('?'));
          size_t end = t.find('&', at);
          t.erase(at, end == std::string::npos ? std::string::npos : end - at + 1);
          if (t.back() == '&' || t.back() == '?') t.pop_back();
        }
        Answer a = get(path, with(t, query));
        INFO(query << " -> " << a.body.substr(0, 300));
        CHECK(a.status == 200);
        ++parameters_tried;
        if (size_t at = query.find(name + "="); at == 0 || (at != std::string::npos && query[at - 1] == '&'))
          sample.emplace(name, query.substr(at + name.size() + 1, query.find('&', at) - at - name.size() - 1));
      }
    }
  }
  // And the converse: a route refuses every parameter of another route it does not list
  // (routes that document no 400 ignore the query altogether).
  size_t parameters_refused = 0;
  for (const auto& [path, item] : spec["paths"].items()) {
    if (!item["get"]["responses"].contains("400")) continue;
    for (const auto& [name, value] : sample) {
      if (listed[path].count(name)) continue;
      std::string target = with(base_of(path), name + "=" + value);
      Answer a = get(path, target);
      INFO("GET " << target << " -> " << a.status << " " << a.body);
      CHECK(a.status == 400);
      if (a.status == 400) CHECK(json::parse(a.body)["param"] == name);
      ++parameters_refused;
    }
  }

  // Toronto's node takes one connection at a time: with one held open, every route answers
  // the listener's 503.
  {
    // The sessions of the requests before have closed (the node counts each until then).
    REQUIRE(wait_until([&] { return open_http_connections(toronto, "http") == 0; }, std::chrono::seconds(10)));
    HeldConnection held(toronto.http_url, "");
    for (const auto& [path, item] : spec["paths"].items()) {
      std::string target = base_of(path);
      Answer a = answer_of(http_get(toronto.http_url, target));
      CHECK(a.status == 503);
      api.check(path, "GET " + target + " beyond --http-max-connections", a);
    }
  }

  // Routes the document leaves out (the browsing page, an unknown path) take the same
  // methods and carry the same CORS header.
  for (const std::string target : {"/", "/app.js", "/nowhere", "/api/v1/nowhere"}) {
    INFO(target);
    HttpReply get_reply = http_get(url, target);
    CHECK(get_reply.headers["access-control-allow-origin"] == "*");
    HttpReply options = http_request(url, "OPTIONS", target);
    CHECK(options.status == 204);
    CHECK(options.headers["allow"] == "GET, HEAD, OPTIONS");
    CHECK(options.headers["access-control-allow-origin"] == "*");
    HttpReply post = http_request(url, "POST", target);
    CHECK(post.status == 405);
    CHECK(post.headers["allow"] == "GET, HEAD, OPTIONS");
    CHECK(post.headers["access-control-allow-origin"] == "*");
    CHECK(api.errors_against("Error", json::parse(post.body, nullptr, false)) == "");
  }

  // Each documented answer of each route has been met.
  CHECK(api.unchecked() == std::vector<std::string>{});
  std::cout << "openapi: " << api.answers() << " answers validated, " << api.pairs()
            << " (route, operation, status) answers documented and seen, " << parameters_tried
            << " query parameter values accepted, " << parameters_refused << " refused where not listed\n";
}

TEST_CASE("a city name two nodes share is a 400 naming the parameter, and the node goes on", "[http][api][openapi]") {
  ServedNode first("Lyon", "FR"), second("Lyon", "FR");
  first.serve();
  second.serve();
  peer_both(first, second);
  for (const ServedNode* node : {&first, &second})  // each holds both city profiles
    REQUIRE(wait_until([&] { return get_json(*node, "/api/v1/cities")["items"].size() == 2; }));

  OpenApi api(get_json(first, "/api/v1/openapi.json"));
  size_t refused = 0;
  for (const ServedNode* node : {&first, &second}) {
    auto expect_400 = [&](const std::string& path, const std::string& target, const std::string& param) {
      Answer a = answer_of(http_get(node->http_url, target));
      api.check(path, "GET " + target, a);
      CHECK(a.status == 400);
      if (a.status == 400) CHECK(json::parse(a.body)["param"] == param);
      ++refused;
    };
    // The three the server used to fall over on.
    expect_400("/api/v1/practices", "/api/v1/practices?city=Lyon", "city");
    expect_400("/api/v1/practices/{origin}/{id}", "/api/v1/practices/Lyon/x", "origin");
    expect_400("/api/v1/adoptions", "/api/v1/adoptions?practice=Lyon%2Fx", "practice");
    // And every other route that takes a city name, as the document lists them.
    for (const auto& [path, item] : api.spec()["paths"].items()) {
      if (path.find("{origin}") != std::string::npos) {
        std::string target = path;
        target.replace(target.find("{origin}"), 8, "lyon");  // case ignored: still both
        target.replace(target.find("{id}"), 4, "x");
        if (path.ends_with("chart.svg")) target += "?item=a&indicator=b";
        expect_400(path, target, "origin");
      }
      for (const auto& param : item["get"].value("parameters", json::array()))
        if (api.resolve(param)["name"] == "city" && api.resolve(param)["in"] == "query")
          expect_400(path, path + "?city=Lyon", "city");
    }
    // A node id, or a prefix of one, still tells them apart.
    for (const ServedNode* named : {&first, &second}) {
      CHECK(http_get(node->http_url, "/api/v1/practices?city=" + named->id).status == 200);
      CHECK(http_get(node->http_url, "/api/v1/practices?city=" + named->id.substr(0, 12)).status == 200);
      CHECK(http_get(node->http_url, "/api/v1/adoptions?practice=" + named->id.substr(0, 12) + "%2Fx").status == 404);
    }
    // The node is still up and answering.
    Answer health = answer_of(http_get(node->http_url, "/health"));
    api.check("/health", "GET /health", health);
    CHECK(health.status == 200);
  }
  CHECK(refused == 2 * (3 + 6 + 3));  // on each node: the three above, six {origin} routes, three city= routes
  std::cout << "openapi, shared city names: " << api.answers() << " answers validated, " << refused
            << " of them 400s naming the parameter\n";
}
