#include <catch2/catch.hpp>

#include "node/local/record_view.hpp"
#include "protocol/json_text.hpp"

#include <set>

using namespace agora;
using nlohmann::json;

TEST_CASE("raw_members finds an object's members without parsing their values", "[protocol][json]") {
  auto m = raw_members(R"( { "a" : [1, {"}": "]"}], "b\"c":"x\\\"}" ,"d":-1.5e3,"e":{}} )");
  REQUIRE(m);
  REQUIRE(m->size() == 4);
  CHECK((*m)[0].key == "a");
  CHECK((*m)[0].value == R"([1, {"}": "]"}])");
  CHECK((*m)[1].key == R"(b\"c)");
  CHECK((*m)[1].key_has_escape);
  CHECK((*m)[1].value == R"("x\\\"}")");
  CHECK((*m)[2].value == "-1.5e3");
  CHECK((*m)[3].value == "{}");
  CHECK(raw_members("{}")->empty());
  for (const char* bad : {"", "[]", "\"x\"", "{\"a\":1", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":\"open}",
                          "{\"a\":[1,2}", "{a:1}"}) {
    INFO(bad);
    CHECK_FALSE(raw_members(bad));
  }
}

TEST_CASE("a record's item as spliced text is the item as built from parsed JSON", "[node][http]") {
  Header h;
  h.origin.fill(0xab);
  h.seq = 7;
  h.kind = Kind::practice;
  h.id = "fund-2";
  h.version = 3;
  h.ts = 1763812345123;
  const CityProfile lyon{"Lyon \"Métropole\"", "FR", "Auvergne"};
  std::vector<std::optional<std::string>> bodies = {
      R"({"title":"Fund","themes":["housing"]})",
      // A body that restates what the node sets: the node's values win, once each.
      R"({"kind":"practice","id":"fund-2","origin":"Lyon","city":"Elsewhere","country":"XX","version":9,"seq":1,)"
      R"("published":"never","visibility":"public","title":"T"})",
      " {\n \"title\" : \"Caf\\u00e9 \\\"x\\\"\",\t\"outcomes\":[{\"value\":1.50,\"indicator\":\"{[\"}]} ",
      R"({"retracted":false,"withheld":"no","extra":{"nested":{"deep":[null,true,false]}}})",
      R"({"ki\u006ed":"practice","title":"escaped key"})",  // decided by the parsing path
      std::string(""),                                      // a retraction
      std::nullopt,                                         // a stub: withheld
  };
  for (bool tombstone : {false, true})
    for (const auto& body : bodies)
      for (const CityProfile* city : {&lyon, static_cast<const CityProfile*>(nullptr)}) {
        h.tombstone = tombstone;
        INFO((body ? *body : std::string("(stub)")) << " tombstone " << tombstone);
        std::string text = record_item_text(h, body, city);
        json parsed = json::parse(text);
        CHECK(parsed == record_item(h, body, city));
        // Every key once: JSON readers disagree on which of two wins.
        auto members = raw_members(text);
        REQUIRE(members);
        std::set<std::string_view> keys;
        for (const auto& m : *members) CHECK(keys.insert(m.key).second);
      }
  h.kind = Kind::city;  // a profile: its own city and country are the body's
  std::string profile = R"({"name":"Lyon","country":"FR","city":"kept"})";
  CHECK(json::parse(record_item_text(h, profile, &lyon)) == record_item(h, profile, &lyon));
}
