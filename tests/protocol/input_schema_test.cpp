#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "protocol/input_schema.hpp"
#include "protocol/moderation.hpp"

using namespace agora;
using nlohmann::json;

namespace {
const PublisherIdentity kSelf{std::string(64, 'a'), "The Hague", "NL"};

json practice() {
  return {{"kind", "practice"},
          {"id", "citizenship-fund"},
          {"title", "Citizenship Fund"},
          {"summary", "Yearly fund for residents' projects."},
          {"language", "en"},
          {"themes", {"participation", "intercultural-dialogue"}},
          {"frameworks", {{{"framework", "eccar-10pt"}, {"ref", "4"}}}},
          {"started", 2007},
          {"outcomes", {{{"indicator", "budget per year"}, {"value", 1000000}, {"unit", "EUR"}}}}};
}

std::string error_of(const json& in) {
  auto r = validate_input(in, kSelf);
  return r ? std::string("OK") : r.error().to_string();
}
}  // namespace

TEST_CASE("a valid practice yields its body, id and index keys", "[protocol][schema]") {
  auto r = validate_input(practice(), kSelf);
  REQUIRE(r);
  CHECK(r.value().kind == Kind::practice);
  CHECK(r.value().id == "citizenship-fund");
  CHECK(r.value().visibility == "public");
  CHECK(r.value().keys.year == 2007);
  CHECK(r.value().keys.themes == ((1u << 4) | (1u << 8)));
  json body = json::parse(r.value().body);
  CHECK_FALSE(body.contains("kind"));
  CHECK(body["title"] == "Citizenship Fund");
}

TEST_CASE("a compact input line is signed byte for byte", "[protocol][schema]") {
  std::string line = practice().dump();
  auto r = parse_and_validate_input(line, kSelf);
  REQUIRE(r);
  CHECK(r.value().body == line);
}

TEST_CASE("each class of bad input is named with its field path", "[protocol][schema]") {
  json in = practice();
  SECTION("unknown vocabulary suggests the nearest value") {
    in["themes"] = {"participation", "housing", "emplyment"};
    CHECK(error_of(in) == "themes[2]: unknown theme \"emplyment\"; did you mean \"employment\"?");
  }
  SECTION("wrong type") {
    in["started"] = "2007";
    CHECK(error_of(in) == "started: expected a year (integer), got a string");
  }
  SECTION("missing required field") {
    in.erase("summary");
    CHECK(error_of(in) == "summary: required field is missing");
  }
  SECTION("unknown field with a hint") {
    in["titel"] = "x";
    CHECK(error_of(in) == "titel: unknown field; did you mean \"title\"?");
  }
  SECTION("oversized field") {
    in["title"] = std::string(301, 'x');
    CHECK(error_of(in) == "title: longer than 300 characters (301)");
  }
  SECTION("a record claiming another city") {
    in["city"] = "Lyon";
    CHECK(error_of(in).starts_with("city: record claims city \"Lyon\""));
  }
  SECTION("restating the publisher's own city is fine") {
    in["city"] = "the hague";
    CHECK(error_of(in) == "OK");
  }
  SECTION("unknown framework commitment") {
    in["frameworks"] = {{{"framework", "eccar-10pt"}, {"ref", "11"}}};
    CHECK(error_of(in) == "frameworks[0].ref: unknown ref \"11\" in eccar-10pt (valid: 1-10)");
  }
  SECTION("unknown framework") {
    in["frameworks"] = {{{"framework", "eccar-10"}, {"ref", "1"}}};
    CHECK(error_of(in) == "frameworks[0].framework: unknown framework \"eccar-10\"; did you mean \"eccar-10pt\"?");
  }
  SECTION("bad visibility") {
    in["visibility"] = "publik";
    CHECK(error_of(in) == "visibility: unknown visibility \"publik\"; did you mean \"public\"?");
  }
  SECTION("unknown kind") {
    in["kind"] = "practise";
    CHECK(error_of(in) == "kind: unknown kind \"practise\"; did you mean \"practice\"?");
  }
  SECTION("bad id") {
    in["id"] = "Has Spaces";
    CHECK(error_of(in).starts_with("id: expected 1-80 lowercase"));
  }
  SECTION("duplicate theme") {
    in["themes"] = {"housing", "housing"};
    CHECK(error_of(in) == "themes[1]: duplicate value \"housing\"");
  }
  SECTION("outcome without a numeric value") {
    in["outcomes"] = {{{"indicator", "jobs"}, {"value", "many"}}};
    CHECK(error_of(in) == "outcomes[0].value: expected a number, got a string");
  }
  SECTION("non-http link") {
    in["links"] = {"javascript:alert(1)"};
    CHECK(error_of(in).starts_with("links[0]: expected an http(s) URL"));
  }
}

TEST_CASE("malformed JSON and invalid UTF-8 are rejected before validation", "[protocol][schema]") {
  auto r = parse_and_validate_input(R"({"kind":"practice",)", kSelf);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("invalid JSON: parse error at line 1"));
  auto u = parse_and_validate_input("{\"kind\":\"practice\",\"title\":\"\xff\"}", kSelf);
  REQUIRE_FALSE(u);
  CHECK(u.error().message.find("UTF-8") != std::string::npos);
  CHECK_FALSE(parse_and_validate_input("[1,2]", kSelf));
  // Found by fuzzing: a number too large for a double was an uncaught exception (exit 1).
  auto huge = parse_and_validate_input(R"({"kind":"practice","started":1E+55555555})", kSelf);
  REQUIRE_FALSE(huge);
  CHECK(huge.error().to_string() == "invalid JSON: number overflow parsing '1E+55555555'");
  CHECK_FALSE(parse_and_validate_input(std::string(600 * 1024, ' '), kSelf));
}

TEST_CASE("plans are checked against their framework", "[protocol][schema]") {
  json plan = {{"kind", "plan"},
               {"id", "eccar-2025"},
               {"title", "Action plan 2025-2028"},
               {"framework", "eccar-10pt"},
               {"period", {{"from", "2025-01-01"}, {"to", "2028-12-31"}}},
               {"items",
                {{{"id", "diversity-audit"},
                  {"commitment", "6"},
                  {"action", "Diversity audit of the city's own workforce"},
                  {"indicators",
                   {{{"name", "staff with migrant background"},
                     {"unit", "%"},
                     {"baseline", 8},
                     {"target", 15},
                     {"direction", "increase"}}}}}}}};
  CHECK(error_of(plan) == "OK");
  plan["items"][0]["commitment"] = "k";
  CHECK(error_of(plan) == "items[0].commitment: unknown commitment \"k\" in eccar-10pt (valid: 1-10)");
  plan["items"][0]["commitment"] = "6";
  plan["items"][0]["indicators"][0]["direction"] = "decrease";
  CHECK(error_of(plan) == "items[0].indicators[0].target: does not decrease from the baseline");
  plan["items"][0]["indicators"][0]["direction"] = "increase";
  plan["period"]["to"] = "2024-02-30";
  CHECK(error_of(plan) == "period.to: not a valid date: \"2024-02-30\"");
}

TEST_CASE("published frameworks: their schema, and references checked against the catalog", "[protocol][schema]") {
  json fw = {
      {"kind", "framework"},
      {"id", "eccar-toolkit-2024"},
      {"title", "ECCAR Toolkit for Equality Data (2024)"},
      {"coalition", "eccar"},
      {"commitments", {{{"ref", "D1"}, {"title", "Collect equality data"}}, {{"ref", "D2"}, {"title", "Publish it"}}}}};
  CHECK(error_of(fw) == "OK");
  json no_id = fw;
  no_id.erase("id");
  CHECK(error_of(no_id).starts_with("id: required for a framework"));
  json builtin = fw;
  builtin["id"] = "eccar-10pt";
  CHECK(error_of(builtin) == "id: \"eccar-10pt\" is a built-in framework");
  json dup = fw;
  dup["commitments"][1]["ref"] = "D1";
  CHECK(error_of(dup) == "commitments[1].ref: duplicate commitment \"D1\"");
  json empty = fw;
  empty["commitments"] = json::array();
  CHECK(error_of(empty).starts_with("commitments:"));

  json practice = {{"kind", "practice"},
                   {"title", "Equality data"},
                   {"summary", "Counts."},
                   {"language", "en"},
                   {"themes", {"non-discrimination"}},
                   {"frameworks", {{{"framework", "eccar-toolkit-2024"}, {"ref", "D2"}}}}};
  // Unknown until the node holds the framework from its coalition's lead.
  auto unknown = validate_input(practice, kSelf);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().to_string().starts_with("frameworks[0].framework: unknown framework \"eccar-toolkit-2024\""));
  FrameworkCatalog catalog;
  catalog.add({"eccar-toolkit-2024", "Toolkit", {{"D1", "Collect"}, {"D2", "Publish"}}, "ab12", "eccar"});
  CHECK(validate_input(practice, kSelf, {}, catalog));
  practice["frameworks"][0]["ref"] = "D3";
  auto bad_ref = validate_input(practice, kSelf, {}, catalog);
  REQUIRE_FALSE(bad_ref);
  CHECK(bad_ref.error().to_string() == "frameworks[0].ref: unknown ref \"D3\" in eccar-toolkit-2024 (valid: D1 D2)");
  // A body from a peer may name a framework this node does not hold (yet).
  json body = practice;
  body.erase("kind");
  CHECK(validate_received_body(Kind::practice, "x", "public", false, body.dump()));
  body["frameworks"][0]["framework"] = "Not An Id";
  CHECK_FALSE(validate_received_body(Kind::practice, "x", "public", false, body.dump()));
}

TEST_CASE("moderation records: written by `agora moderate`, public, their id derived from what they decide",
          "[protocol][schema][moderation]") {
  json in = {{"kind", "moderation"}, {"coalition", "eccar"}, {"action", "dispute"}, {"target", "x"}, {"reason", "r"}};
  CHECK(error_of(in).find("written by `agora moderate`") != std::string::npos);

  const std::string member(64, 'b'), ref = std::string(64, 'c') + "/job-fair";
  ModerationStatement dispute{"eccar", ModerationAction::dispute, ref, "figures not verified"};
  std::string id = moderation_id("eccar", ref);
  CHECK(id.starts_with("moderation-"));
  CHECK(id.size() == 11 + 16);
  CHECK(validate_received_body(Kind::moderation, id, "public", false, moderation_body(dispute)));
  CHECK(read_moderation(moderation_body(dispute))->target == ref);
  // Another id, visibility, action or target shape: refused as received.
  CHECK_FALSE(validate_received_body(Kind::moderation, moderation_id("eccar", member), "public", false,
                                     moderation_body(dispute)));
  CHECK_FALSE(validate_received_body(Kind::moderation, id, "coalition:eccar", false, moderation_body(dispute)));
  json body = json::parse(moderation_body(dispute));
  body["action"] = 7;
  CHECK_FALSE(validate_received_body(Kind::moderation, id, "public", false, body.dump()));
  body["action"] = "remove-member";  // needs a node id, not ORIGIN/ID
  CHECK_FALSE(validate_received_body(Kind::moderation, id, "public", false, body.dump()));
  ModerationStatement removal{"eccar", ModerationAction::remove_member, member, "left"};
  CHECK(validate_received_body(Kind::moderation, moderation_id("eccar", member), "public", false,
                               moderation_body(removal)));
  CHECK_FALSE(read_moderation(R"({"action":"remove-member","coalition":"eccar","target":"B"})"));
  // An action newer than this node, from a peer: stored and relayed, applied by no one.
  json newer = {{"action", "suspend-member"}, {"coalition", "eccar"}, {"reason", "r"}, {"target", member}};
  CHECK(validate_received_body(Kind::moderation, moderation_id("eccar", member), "public", false, newer.dump()));
  CHECK_FALSE(read_moderation(newer.dump()));
  // A coalition record may name admins: node ids, each once.
  json coalition = {{"kind", "coalition"}, {"name", "eccar"},           {"title", "ECCAR"},
                    {"region", "Europe"},  {"framework", "eccar-10pt"}, {"admins", {member, member}}};
  CHECK(error_of(coalition).find("admins") != std::string::npos);
  coalition["admins"] = {member};
  CHECK(error_of(coalition) == "OK");
}
