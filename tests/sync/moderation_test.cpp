// Coalition moderation through real nodes (docs/data-model.md, "moderation"): a lead's and an
// admin's decisions reach every member node, which applies them to what it lists, shows and
// sends; bad moderation is refused with nothing written.
#include <catch2/catch.hpp>

#include <memory>
#include <thread>

#include "http_client.hpp"
#include "node/local/data_dir.hpp"
#include "sync/served_node.hpp"
#include "sync/test_peer.hpp"
#include "keyed_chain.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

namespace {

bool shows_body(const ServedNode& n, const std::string& ref) {
  json shown = json::parse(n.agora({"show", ref, "--json"}).out, nullptr, false);
  return shown.is_object() && shown.contains("title");
}

}  // namespace

TEST_CASE("coalition moderation: lead and admin decide, members apply, others are refused",
          "[sync][moderation][visibility]") {
  ServedNode lyon("Lyon", "FR"), malmo("Malmo", "SE"), turin("Turin", "IT"), lisbon("Lisbon", "PT");
  form_coalition(lyon, "eccar", {&malmo, &turin, &lisbon}, {&malmo});
  turin.publish(json::parse(practice_json("turin-shared", "coalition:eccar")));
  turin.publish(json::parse(practice_json("turin-public")));
  for (auto* n : {&lyon, &malmo, &turin, &lisbon}) n->serve();
  for (auto* n : {&malmo, &turin, &lisbon}) peer_both(lyon, *n);  // a star around the lead city
  const std::string shared = turin.id + "/turin-shared";
  REQUIRE(wait_until([&] {
    return shows_body(malmo, shared) && shows_body(lisbon, shared) && malmo.head_of(lyon.id) == 1 + kInitRecords &&
           turin.head_of(lisbon.id) == 1 + kInitRecords && lisbon.head_of(malmo.id) == 1 + kInitRecords;
  }));

  SECTION("moderation by a city that may not, or of what it may not touch, is refused; nothing is written") {
    auto heads = [&] {
      return std::vector<uint64_t>{lyon.head_of(lyon.id), malmo.head_of(malmo.id), turin.head_of(turin.id)};
    };
    auto before = heads();
    struct Case {
      const ServedNode* node;
      std::vector<std::string> args;
      std::string says;
    };
    for (const Case& c : std::vector<Case>{
             {&turin, {"moderate", "dispute", "eccar", shared, "--reason", "x"}, "only the lead of \"eccar\" (Lyon)"},
             {&lyon, {"moderate", "remove-member", "eccar", "Lyon", "--reason", "x"}, "cannot be removed"},
             {&lyon,
              {"moderate", "withdraw", "eccar", "Turin/turin-public", "--reason", "x"},
              "moderation never hides a city's records outside the coalition's scope"},
             {&malmo,
              {"moderate", "remove-member", "eccar", "Malmo", "--reason", "x"},
              "only the lead removes an admin"},
             {&lyon, {"moderate", "dispute", "nordic", shared, "--reason", "x"}, "no coalition \"nordic\""},
             {&lyon,
              {"moderate", "dispute", "eccar", "Turin/no-such-record", "--reason", "x"},
              "moderate: no record \"Turin/no-such-record\" is held"},
             {&lyon, {"moderate", "dispute", "eccar", shared, "--reason", ""}, "--reason"},
             {&lyon, {"moderate", "lift", "eccar", "Malmo"}, "no decision on Malmo"},
             {&lyon, {"moderate", "lift", "nordic", "Malmo"}, "no coalition \"nordic\""},
         }) {
      auto r = c.node->agora(c.args);
      INFO(c.args[1] << " " << c.args[3] << ": " << r.err);
      CHECK(r.exit_code == 3);
      CHECK(r.err.find(c.says) != std::string::npos);
      CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
    }
    CHECK(lyon.agora({"moderate", "dispute", "eccar", shared}).exit_code == 2);  // --reason is required
    CHECK(heads() == before);
  }

  SECTION("a dispute, a withdrawal and a removal reach the members, which apply them; a lift undoes one") {
    REQUIRE(malmo.agora({"moderate", "dispute", "eccar", shared, "--reason", "figures not verified"}).exit_code == 0);
    REQUIRE(lyon.agora({"moderate", "remove-member", "eccar", "Lisbon", "--reason", "left the coalition"}).exit_code ==
            0);
    REQUIRE(wait_until([&] {
      return lisbon.head_of(malmo.id) == 2 + kInitRecords && turin.head_of(lyon.id) == 2 + kInitRecords &&
             malmo.head_of(lyon.id) == 2 + kInitRecords;
    }));
    // The dispute, on the origin's node and another member's: shown with who decided and why.
    for (const auto* n : {&turin, &lyon}) {
      auto shown = n->agora({"show", shared});
      CHECK(shown.out.find("[DISPUTED in coalition eccar by Malmo on ") != std::string::npos);
      CHECK(shown.out.find("figures not verified") != std::string::npos);
      CHECK(n->agora({"list"}).out.find("[disputed] Practice turin-shared") != std::string::npos);
      json j = json::parse(n->agora({"show", shared, "--json"}).out);
      CHECK(j["moderation"]["by"]["city"] == "Malmo");
      CHECK(j["moderation"]["action"] == "dispute");
    }
    // The removal: every node's network says who removed whom and why; Lisbon is no member.
    json view = json::parse(malmo.agora({"network", "--json"}).out);
    const json& eccar = view["coalitions"].at(0);
    std::set<std::string> members;
    for (const auto& m : eccar["members"]) members.insert(m["city"].get<std::string>());
    CHECK(members == std::set<std::string>{"Lyon", "Malmo", "Turin"});
    for (const auto& m : eccar["members"]) CHECK(m.value("admin", false) == (m["city"] == "Malmo"));
    REQUIRE(eccar.contains("removed"));
    CHECK(eccar["removed"][0]["city"] == "Lisbon");
    CHECK(eccar["removed"][0]["by"]["city"] == "Lyon");
    CHECK(eccar["removed"][0]["reason"] == "left the coalition");
    for (const auto& p : view["pending"]) CHECK(p.value("to", json::object()).value("city", "") != "Lisbon");
    auto http = http_get(malmo.http_url, "/api/v1/network");
    REQUIRE(http.status == 200);
    CHECK(json::parse(http.body)["coalitions"] == view["coalitions"]);
    CHECK(malmo.agora({"network"}).out.find("removed    Lisbon by Lyon") != std::string::npos);

    // What Turin shares with the coalition from now on reaches Malmo, and Lisbon as a stub only.
    turin.publish(json::parse(practice_json("after-removal", "coalition:eccar")));
    turin.publish(json::parse(practice_json("barrier")));
    const std::string after = turin.id + "/after-removal";
    REQUIRE(wait_until([&] { return shows_body(malmo, after) && lisbon.head_of(turin.id) == 5 + kInitRecords; }));
    CHECK(json::parse(lisbon.agora({"show", after, "--json"}).out)["withheld"] == true);

    // The lead withdraws the disputed record: its decision outranks the admin's dispute.
    REQUIRE(lyon.agora({"moderate", "withdraw", "eccar", shared, "--reason", "shared by mistake"}).exit_code == 0);
    REQUIRE(wait_until(
        [&] { return malmo.head_of(lyon.id) == 3 + kInitRecords && turin.head_of(lyon.id) == 3 + kInitRecords; }));
    CHECK(malmo.agora({"list"}).out.find("turin-shared") == std::string::npos);
    CHECK(malmo.agora({"show", shared}).out.find("[WITHDRAWN FROM COALITION eccar by Lyon on ") != std::string::npos);
    CHECK(turin.agora({"list"}).out.find("[withdrawn] Practice turin-shared") != std::string::npos);  // its own
    json decisions = json::parse(malmo.agora({"moderate", "list", "--json"}).out);
    CHECK(decisions["in_effect"].size() == 2);
    REQUIRE(decisions["ignored"].size() == 1);
    CHECK(decisions["ignored"][0]["by"]["city"] == "Malmo");
    CHECK(decisions["ignored"][0]["ignored"].get<std::string>().find("another moderator's decision") !=
          std::string::npos);
    auto text = malmo.agora({"moderate", "list", "eccar"});
    CHECK(text.out.find("eccar  withdraw Turin/turin-shared  by Lyon") != std::string::npos);

    // Lifting the removal makes Lisbon a member again: Lyon sends it the body it withheld.
    auto lift = lyon.agora({"moderate", "lift", "eccar", "Lisbon"});
    REQUIRE(lift.exit_code == 0);
    CHECK(lift.out.find("lifted") != std::string::npos);
    REQUIRE(wait_until([&] { return shows_body(lisbon, after); }));
    json again = json::parse(lisbon.agora({"network", "--json"}).out)["coalitions"].at(0);
    CHECK_FALSE(again.contains("removed"));
    for (auto* n : {&lyon, &malmo, &turin, &lisbon}) CHECK(n->agora({"verify"}).exit_code == 0);
  }
}

TEST_CASE("an entitled peer that sends a stub of a record this node holds whole gets the body back",
          "[sync][visibility][hostile]") {
  // P, a member, got a coalition record as a stub (from a relay that had no more) after its
  // lead already counted it as held: only P's own stub, sent on, tells the lead to send it.
  ServedNode lyon("Lyon", "FR"), malmo("Malmo", "SE");
  KeyedChain p_chain;  // P's own chain: its city, then its acceptance
  const SigningKey& p_key = p_chain.root;
  const std::string p_id = node_id(p_key.public_key());
  lyon.publish({{"kind", "coalition"},
                {"name", "co"},
                {"title", "Co"},
                {"region", "Europe"},
                {"framework", "eccar-10pt"},
                {"members", {malmo.id, p_id}}});
  malmo.publish({{"kind", "partnership"}, {"with", lyon.id}, {"relation", "coalition-member"}, {"coalition", "co"}});
  malmo.publish(json::parse(practice_json("shared", "coalition:co")));
  for (auto* n : {&lyon, &malmo}) n->serve();
  peer_both(lyon, malmo);
  const std::string shared = malmo.id + "/shared";
  REQUIRE(wait_until([&] { return shows_body(lyon, shared); }));
  const uint64_t malmo_head = malmo.head_of(malmo.id);
  REQUIRE(lyon.agora({"peer", "add", "-", "--key", p_id}).exit_code == 0);

  // First connection: P's city and its acceptance of Lyon's coalition make it a member.
  SignedRecord city = p_chain.genesis();
  SignedRecord accept = p_chain.sign(
      Kind::partnership, "co", json{{"with", lyon.id}, {"relation", "coalition-member"}, {"coalition", "co"}}.dump());
  {
    TestPeer p;
    connect_as(p, lyon, p_key);
    p.send(sync::encode(sync::Heads{}));
    p.send(sync::encode(sync::RecordBatch{1, {city, accept}}), true);
    REQUIRE(p.next_ack().stored == 2);
  }
  REQUIRE(wait_until([&] {
    auto view = json::parse(lyon.agora({"network", "--json"}).out);
    for (const auto& m : view["coalitions"].at(0)["members"])
      if (m["node"] == p_id) return true;
    return false;
  }));

  // Second connection: P says it holds Malmo's chain (as stubs, which heads do not tell),
  // so Lyon sends nothing of it; then P relays its stub of the shared record.
  // Until Lyon has seen the first connection close, a second one is refused as a duplicate.
  std::unique_ptr<TestPeer> connected;
  for (int attempt = 0; attempt < 50 && !connected; ++attempt) {
    auto p = std::make_unique<TestPeer>();
    REQUIRE(p->connect(lyon.sync_url));
    auto hello = p->try_control();
    REQUIRE(hello);
    auto challenge = std::get<sync::Hello>(*hello).challenge;
    p->send(sync::encode(auth_message(p_key, challenge, *parse_node_id(lyon.id))));
    auto answer = p->try_control();
    if (answer && std::holds_alternative<sync::Welcome>(*answer))
      connected = std::move(p);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(connected);
  TestPeer& p = *connected;
  p.send(sync::encode(sync::Heads{{{p_key.public_key(), 2}, {*parse_node_id(malmo.id), malmo_head}}}));
  SignedRecord stub = [&] {
    DataDir dir = DataDir::open(malmo.data, /*read_only=*/true);
    return dir.store().read([&](const storage::StoreReader& r) {
      auto latest = r.latest(*parse_node_id(malmo.id), "shared");
      SignedRecord rec = r.at(latest->local)->load();
      rec.body.reset();
      return rec;
    });
  }();
  const uint64_t stub_seq = decode_header(stub.header_bytes).value().seq;
  p.send(sync::encode(sync::RecordBatch{1, {stub}}), true);
  bool body_back = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!body_back && std::chrono::steady_clock::now() < deadline) {
    auto m = p.next();
    if (!m) break;
    if (!m->second) continue;
    auto batch = sync::decode_batch(m->first);
    if (!batch) continue;
    for (const auto& rec : batch.value().records)
      if (auto h = decode_header(rec.header_bytes);
          h && h.value().seq == stub_seq && rec.body && node_id(h.value().origin) == malmo.id)
        body_back = true;
  }
  CHECK(body_back);
}
