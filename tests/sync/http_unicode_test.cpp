// Unicode normalization end to end: text typed decomposed ("o" + U+0308) and precomposed
// (U+00F6) is one text for search, the city filter and the origin path segment, on the node
// that signed it and on a peer that received it.
#include <catch2/catch.hpp>

#include <algorithm>

#include "http_client.hpp"
#include "node/local/publisher.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::vector<std::string> sorted_ids_of(const json& list) {
  std::vector<std::string> out;
  for (const auto& item : list["items"]) out.push_back(item["id"]);
  std::sort(out.begin(), out.end());
  return out;
}

// A record as a node of an earlier version signed it: the input as typed, not normalized.
agora::ValidatedInput signed_as_typed(agora::Kind kind, const std::string& id, const std::string& body) {
  agora::ValidatedInput v;
  v.kind = kind;
  v.id = id;
  v.body = body;
  v.keys = agora::index_keys_for(kind, body);
  return v;
}

}  // namespace

TEST_CASE("decomposed and precomposed text are one for search, the city filter and the origin path",
          "[http][api][unicode]") {
  const std::string o_nfd = "o\xCC\x88", o_nfc = "\xC3\xB6";  // "o" + U+0308 COMBINING DIAERESIS; U+00F6
  ServedNode gbg("Go\xCC\x88teborg", "SE");                   // `init` signs the name in NFC
  // Göteborg's profile and one practice as an older node signed them, decomposed.
  const std::string old_title = "Malm" + o_nfd + "-modellen f" + o_nfd + "r l" + "a\xCC\x88" + "nkarbetare";
  {
    agora::DataDir dir = agora::DataDir::open(gbg.data);
    dir.sign_with(agora::DataDir::read_key_file(gbg.data + "/root.key"));  // a profile is the root's to sign
    agora::Publisher(dir).publish(
        {signed_as_typed(agora::Kind::city, "profile", "{\"country\":\"SE\",\"name\":\"G" + o_nfd + "teborg\"}"),
         signed_as_typed(agora::Kind::practice, "modellen",
                         "{\"language\":\"sv\",\"summary\":\"Samma modell.\",\"themes\":[\"employment\"],\"title\":\"" +
                             old_title + "\"}")});
  }
  // This version normalizes what it publishes: the title is signed precomposed.
  gbg.publish({{"kind", "practice"},
               {"id", "foreningar"},
               {"title", "F" + o_nfd + "reningar i Malm" + o_nfd},
               {"summary", "Associations."},
               {"language", "sv"},
               {"themes", {"participation"}}});
  gbg.publish({{"kind", "practice"},
               {"id", "housing"},
               {"title", "Housing first"},
               {"summary", "Flats."},
               {"language", "en"},
               {"themes", {"housing"}}});
  ServedNode lyon("Lyon", "FR");
  gbg.serve();
  lyon.serve();
  peer_both(gbg, lyon);
  auto holds_all = [](const ServedNode& n) {
    auto r = http_get(n.http_url, "/api/v1/practices?city=G%C3%B6teborg");
    return r.status == 200 && json::parse(r.body)["total"] == 3;
  };
  REQUIRE(wait_until([&] { return holds_all(gbg) && holds_all(lyon); }));

  for (const ServedNode* node : {&gbg, &lyon}) {  // the signer, and a peer that received the records
    INFO((node == &gbg ? "Göteborg" : "Lyon"));
    const std::vector<std::string> malmo{"foreningar", "modellen"};
    for (std::string q : {"Malm%C3%B6", "Malmo", "Malmo%CC%88", "MALM%C3%96"}) {
      INFO("q=" << q);
      CHECK(sorted_ids_of(get_json(*node, "/api/v1/practices?q=" + q)) == malmo);
    }
    for (std::string q : {"malm%C3%B6+l%C3%A4nkarbetare", "Malmo%CC%88+la%CC%88nkarbetare", "lankarbetare"}) {
      INFO("q=" << q);
      CHECK(sorted_ids_of(get_json(*node, "/api/v1/practices?q=" + q)) == std::vector<std::string>{"modellen"});
    }
    for (std::string city : {"Go%CC%88teborg", "G%C3%B6teborg", "goteborg", "G%C3%96TEBORG"}) {
      INFO("city=" << city);
      CHECK(get_json(*node, "/api/v1/practices?city=" + city)["total"] == 3);
      CHECK(get_json(*node, "/api/v1/practices?q=Malmo&city=" + city)["total"] == 2);
      // The origin path segment: a city name in either form.
      json modellen = get_json(*node, "/api/v1/practices/" + city + "/modellen");
      CHECK(modellen["title"] == old_title);  // served as it was signed, never rewritten
      CHECK(modellen["city"] == "G" + o_nfd + "teborg");
      json foreningar = get_json(*node, "/api/v1/practices/" + city + "/foreningar");
      CHECK(foreningar["title"] == "F" + o_nfc + "reningar i Malm" + o_nfc);  // signed in NFC
      CHECK(get_json(*node, "/api/v1/practices/" + city + "/modellen/history")["items"].size() == 1);
    }
    CHECK(get_json(*node, "/api/v1/practices?city=Malmo%CC%88", 400)["param"] == "city");  // no such city
  }
  for (const ServedNode* node : {&gbg, &lyon}) {
    auto v = node->agora({"verify"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);  // every record, decomposed or not, verifies as signed
  }
  // The CLI's city and search arguments go through the same normalization.
  auto search = gbg.agora({"search", "Malm" + o_nfd, "--city", "G" + o_nfd + "teborg", "--json"});
  INFO(search.err << search.out);
  REQUIRE(search.exit_code == 0);
  CHECK(json::parse(search.out)["total"] == 2);
}
