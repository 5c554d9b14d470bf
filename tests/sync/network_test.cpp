// Coalitions, twin cities and observers: the network declared by records, and who reads what.
#include <catch2/catch.hpp>

#include <set>

#include "http_client.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::set<std::string> member_cities(const json& coalition) {
  std::set<std::string> out;
  for (const auto& m : coalition["members"]) out.insert(m["city"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("coalition and partnership records make the network, and coalition bodies reach members only",
          "[sync][network][visibility]") {
  ServedNode lyon("Lyon", "FR"), malmo("Malmo", "SE"), turin("Turin", "IT"), lisbon("Lisbon", "PT");
  // Lyon leads a coalition listing Malmo and Turin; only Malmo accepts. Lyon and Lisbon are twins.
  lyon.publish({{"kind", "coalition"},
                {"name", "eccar"},
                {"title", "European Coalition of Cities against Racism"},
                {"region", "Europe"},
                {"framework", "eccar-10pt"},
                {"members", {malmo.id, turin.id}}});
  malmo.publish({{"kind", "partnership"}, {"with", lyon.id}, {"relation", "coalition-member"}, {"coalition", "eccar"}});
  lyon.publish({{"kind", "partnership"}, {"with", lisbon.id}, {"relation", "twin"}, {"topics", {"employment"}}});
  lisbon.publish(
      {{"kind", "partnership"}, {"with", lyon.id}, {"relation", "twin"}, {"topics", {"migration-development"}}});
  lyon.publish(json::parse(practice_json("members-only", "coalition:eccar")));
  for (auto* n : {&lyon, &malmo, &turin, &lisbon}) n->serve();
  for (auto* n : {&malmo, &turin, &lisbon}) peer_both(lyon, *n);  // a star around the lead city
  bool synced = wait_until([&] {
    return malmo.head_of(lyon.id) == 3 + kInitRecords && turin.head_of(lyon.id) == 3 + kInitRecords &&
           lisbon.head_of(lyon.id) == 3 + kInitRecords && malmo.head_of(lisbon.id) == 1 + kInitRecords &&
           turin.head_of(malmo.id) == 1 + kInitRecords;
  });
  INFO("Lyon:\n" << lyon.log());
  REQUIRE(synced);

  // Membership is in force once both records are held: Malmo reads the body, Turin and Lisbon do not.
  REQUIRE(wait_until([&] {
    json shown = json::parse(malmo.agora({"show", lyon.id + "/members-only", "--json"}).out, nullptr, false);
    return shown.is_object() && shown.contains("title");
  }));
  // Barrier for the outsiders: a record Lyon publishes now reaches each of them on the link
  // that would have carried the body first, had the new membership entitled them.
  lyon.publish(json::parse(practice_json("later")));
  REQUIRE(wait_until(
      [&] { return turin.head_of(lyon.id) == 4 + kInitRecords && lisbon.head_of(lyon.id) == 4 + kInitRecords; }));
  for (auto* outsider : {&turin, &lisbon}) {
    auto copy = json::parse(outsider->agora({"show", lyon.id + "/members-only", "--json"}).out);
    CHECK(copy["withheld"] == true);
    CHECK(outsider->agora({"export"}).out.find("members-only") == std::string::npos);
  }

  // Every node derives the same network; Malmo's view, from the CLI and over HTTP.
  auto cli = malmo.agora({"network", "--json"});
  REQUIRE(cli.exit_code == 0);
  json view = json::parse(cli.out);
  REQUIRE(view["coalitions"].size() == 1);
  const json& eccar = view["coalitions"][0];
  CHECK(eccar["name"] == "eccar");
  CHECK(eccar["lead"]["city"] == "Lyon");
  CHECK(eccar["framework"] == "eccar-10pt");
  CHECK(member_cities(eccar) == std::set<std::string>{"Lyon", "Malmo"});
  REQUIRE(view["twins"].size() == 1);
  std::set<std::string> twin_cities{view["twins"][0]["cities"][0]["city"], view["twins"][0]["cities"][1]["city"]};
  CHECK(twin_cities == std::set<std::string>{"Lyon", "Lisbon"});
  CHECK(view["twins"][0]["topics"] == json{"employment", "migration-development"});
  bool turin_pending = false;
  for (const auto& p : view["pending"])
    turin_pending |= p["type"] == "coalition-invitation" && p["to"]["city"] == "Turin";
  CHECK(turin_pending);
  CHECK(view["peers"].size() == 1);
  CHECK(view["peers"][0]["city"] == "Lyon");

  auto text = malmo.agora({"network"});
  CHECK(text.out.find("coalition eccar") != std::string::npos);
  CHECK(text.out.find("Lisbon - Lyon") != std::string::npos);

  auto http = http_get(malmo.http_url, "/api/v1/network");
  REQUIRE(http.status == 200);
  json over_http = json::parse(http.body);
  CHECK(over_http["coalitions"] == view["coalitions"]);
  CHECK(over_http["twins"] == view["twins"]);
  CHECK(over_http["peers"][0]["state"] == "connected");
  CHECK(json::parse(turin.agora({"network", "--json"}).out)["coalitions"] == view["coalitions"]);
}

TEST_CASE("an observer node receives public records and stubs of the rest", "[sync][network][visibility]") {
  ServedNode hague("The Hague", "NL");
  auto institute = ServedNode::observer("Migration Policy Institute");
  hague.publish(json::parse(practice_json("open")));
  hague.publish(json::parse(practice_json("twins-only", "partners")));
  hague.publish(json::parse(practice_json("internal", "private")));
  hague.serve(), institute->serve();
  REQUIRE(
      hague.agora({"peer", "add", institute->sync_url, "--key", institute->id, "--relation", "observer"}).exit_code ==
      0);
  REQUIRE(institute->agora({"peer", "add", hague.sync_url, "--key", hague.id}).exit_code == 0);
  bool synced = wait_until([&] { return institute->head_of(hague.id) == 3 + kInitRecords; });
  INFO("Hague:\n" << hague.log() << "Institute:\n" << institute->log());
  REQUIRE(synced);
  CHECK(json::parse(institute->agora({"show", hague.id + "/open", "--json"}).out)["title"] == "Practice open");
  for (std::string id : {"twins-only", "internal"})
    CHECK(json::parse(institute->agora({"show", hague.id + "/" + id, "--json"}).out)["withheld"] == true);
  CHECK(institute->agora({"verify"}).exit_code == 0);
  // An observer holds no city: it has nothing to publish, and The Hague holds no records from it.
  auto refused = institute->agora({"publish", "-"}, practice_json("nope"));
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("observer") != std::string::npos);
  CHECK(institute->head_of(institute->id) == 0);  // nothing was written
}

TEST_CASE("in a full mesh every member ends up with every member's coalition bodies", "[sync][network][visibility]") {
  // Published before any node runs: who relays what first is a race. A node that relayed a
  // stub (it held no more, or the peer was not yet entitled) must pass the body on later,
  // and a connection must send bodies its peer holds only as stubs.
  ServedNode lead("Lyon", "FR"), b("Malmo", "SE"), c("Turin", "IT");
  form_coalition(lead, "co", {&b, &c});
  for (auto* n : {&b, &c}) n->publish(json::parse(practice_json("shared-by-" + n->id.substr(0, 8), "coalition:co")));
  for (auto* n : {&lead, &b, &c}) n->serve();
  peer_both(lead, b);
  peer_both(lead, c);
  peer_both(b, c);
  auto has_body = [](const ServedNode& at, const ServedNode& from) {
    json shown =
        json::parse(at.agora({"show", from.id + "/shared-by-" + from.id.substr(0, 8), "--json"}).out, nullptr, false);
    return shown.is_object() && shown.contains("title");
  };
  bool all = wait_until([&] { return has_body(b, c) && has_body(c, b) && has_body(lead, b) && has_body(lead, c); });
  INFO("Malmo:\n" << b.log());
  CHECK(all);
}

TEST_CASE("a dialler refused by a node that does not list it shows why and when it tries next, and both logs say so",
          "[sync][network][peers]") {
  ServedNode lyon("Lyon", "FR"), turin("Turin", "IT");
  lyon.serve();
  turin.serve();
  // Only Turin lists Lyon: Lyon refuses Turin's handshake, and tells it why.
  REQUIRE(turin.agora({"peer", "add", lyon.sync_url, "--key", lyon.id}).exit_code == 0);
  json seen;
  bool refused = wait_until([&] {
    auto list = json::parse(turin.agora({"peer", "list", "--json"}).out)["peers"];
    if (list.size() != 1) return false;
    seen = list[0];
    return seen["state"] == "refused" && !seen["next_dial"].is_null();
  });
  INFO(seen.dump() << "\nTurin:\n" << turin.log() << "Lyon:\n" << lyon.log());
  REQUIRE(refused);
  CHECK_THAT(seen["last_error"].get<std::string>(),
             Catch::Contains("unknown-key") && Catch::Contains("does not list your key"));
  CHECK(seen["errors"].get<int>() >= 1);
  CHECK(seen["last_error_at"].is_string());
  auto text = turin.agora({"peer", "list"}).out;
  CHECK_THAT(text, Catch::Contains("refused our connection") && Catch::Contains("next try"));
  CHECK_THAT(text, !Catch::Contains("up to seq 0"));  // what Lyon lacks is unknown before a first contact
  CHECK_THAT(turin.log(),
             Catch::Contains("peer " + lyon.id.substr(0, 12) + " refused our connection: peer said unknown-key"));
  CHECK_THAT(lyon.log(), Catch::Contains("refused unknown key " + turin.id) &&
                             Catch::Contains("`agora peer add - --key " + turin.id + "` allows it"));
  // Lyon's peer list shows the key it refused, with what allows it (its state is written
  // every 2 s).
  json refused_at_lyon;
  REQUIRE(wait_until([&] {
    json list = json::parse(lyon.agora({"peer", "list", "--json"}).out);
    refused_at_lyon = list["refused"];
    return refused_at_lyon.size() == 1;
  }));
  CHECK(refused_at_lyon[0]["node"] == turin.id);
  CHECK(refused_at_lyon[0]["attempts"].get<int>() >= 1);
  CHECK(refused_at_lyon[0]["allow"] == "agora peer add - --key " + turin.id);
  CHECK_THAT(lyon.agora({"peer", "list"}).out,
             Catch::Contains("refused (they dialled in") &&
                 Catch::Contains("allow it with: agora peer add - --key " + turin.id));
  // Once Lyon lists Turin, they connect (at Turin's next try), and it is no longer refused.
  REQUIRE(lyon.agora({"peer", "add", "-", "--key", turin.id}).exit_code == 0);
  REQUIRE(wait_until(
      [&] {
        auto list = json::parse(turin.agora({"peer", "list", "--json"}).out)["peers"];
        return list.size() == 1 && list[0]["state"] == "connected";
      },
      std::chrono::seconds(30)));
  CHECK(json::parse(lyon.agora({"peer", "list", "--json"}).out)["refused"].empty());
}

TEST_CASE("a dialler refused as busy, or finding another node at the address, shows why in peer list",
          "[sync][network][peers]") {
  ServedNode lyon("Lyon", "FR"), malmo("Malmo", "SE"), turin("Turin", "IT");
  lyon.serve({"--max-connections", "1"});
  malmo.serve();
  turin.serve();
  // Malmo's connection fills Lyon's one place; Lyon accepts Turin but never dials it.
  peer_both(lyon, malmo);
  REQUIRE(wait_until([&] {
    json list = json::parse(malmo.agora({"peer", "list", "--json"}).out);
    return list["peers"][0]["state"] == "connected";
  }));
  REQUIRE(lyon.agora({"peer", "add", "-", "--key", turin.id}).exit_code == 0);
  REQUIRE(turin.agora({"peer", "add", lyon.sync_url, "--key", lyon.id}).exit_code == 0);
  json seen;
  auto peer_of_turin = [&](const std::string& id) {
    json list = json::parse(turin.agora({"peer", "list", "--json"}).out);
    for (const auto& p : list["peers"])
      if (p["node"] == id) seen = p;
    return seen;
  };
  bool refused = wait_until([&] { return peer_of_turin(lyon.id)["state"] == "refused"; });
  INFO(seen.dump() << "\nTurin:\n" << turin.log());
  REQUIRE(refused);
  CHECK_THAT(seen["last_error"].get<std::string>(), Catch::Contains("busy") && Catch::Contains("connection limit"));
  CHECK(seen["next_dial"].is_string());
  CHECK_THAT(lyon.log(), Catch::Contains("connection limit"));

  // Turin lists Malmo's address under Lyon's id by mistake: the node there is another one.
  REQUIRE(turin.agora({"peer", "remove", lyon.id}).exit_code == 0);
  REQUIRE(turin.agora({"peer", "add", malmo.sync_url, "--key", lyon.id}).exit_code == 0);
  bool failed = wait_until(
      [&] { return peer_of_turin(lyon.id)["last_error"].get<std::string>().find("wrong-key") != std::string::npos; });
  INFO(seen.dump());
  REQUIRE(failed);
  CHECK(seen["state"] == "connection failed");
  CHECK_THAT(seen["last_error"].get<std::string>(),
             Catch::Contains("the node at this address is " + malmo.id.substr(0, 12)) &&
                 Catch::Contains("not the one the peer list names (" + lyon.id.substr(0, 12) + ")"));
}
