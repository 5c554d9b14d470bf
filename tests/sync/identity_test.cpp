// A city's delegated keys through real nodes (docs/identity.md): staff publish under the
// city's id with keys of their own, every node checks each signer's role and revocation.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "keyed_chain.hpp"
#include "node/local/data_dir.hpp"
#include "protocol/authority.hpp"
#include "storage/record_store.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"
#include "sync/test_peer.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

namespace {

// Serves the nodes and peers each with the next (a line); restarts keep each node's
// address, as a deployed node's do, so the peer lists never change.
void serve_line(const std::vector<ServedNode*>& nodes) {
  for (auto* n : nodes) {
    n->serve();
    n->listen = n->sync_url.substr(5, n->sync_url.rfind('/') - 5);
  }
  for (size_t i = 0; i + 1 < nodes.size(); ++i) peer_both(*nodes[i], *nodes[i + 1]);
}

}  // namespace

TEST_CASE(
    "staff publish under the city's id with their own keys, and roles and revocation hold at publish and on "
    "every node",
    "[sync][identity]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK"), toronto("Toronto", "CA");
  for (auto* n : {&lyon, &cph, &toronto}) n->serve();
  peer_both(lyon, cph);
  peer_both(cph, toronto);  // Toronto hears of Lyon only through Copenhagen
  std::string ana = lyon.tmp.str("ana.key"), bo = lyon.tmp.str("bo.key");
  auto added = lyon.agora({"key", "add", "Ana Silva", "--role", "publisher", "--out", ana});
  INFO(added.out << added.err);
  REQUIRE(added.exit_code == 0);
  REQUIRE(lyon.agora({"key", "add", "Bo", "--role", "reporter", "--out", bo}).exit_code == 0);

  auto published = lyon.agora({"--key", ana, "publish", "-"}, practice_json("welcome-desk"));
  INFO(published.err);
  REQUIRE(published.exit_code == 0);
  uint64_t head = lyon.head_of(lyon.id);
  auto refused = lyon.agora({"--key", bo, "publish", "-"}, practice_json("not-a-report"));
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("reporter key, which may not sign a practice"));
  CHECK(lyon.head_of(lyon.id) == head);  // nothing written

  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == head; }));
  auto shown = json::parse(toronto.agora({"show", lyon.id + "/welcome-desk", "--json"}).out);
  CHECK(shown["signed_by"]["name"] == "Ana Silva");
  CHECK(shown["signed_by"]["role"] == "publisher");
  auto over_http = get_json(toronto.http_url, "/api/v1/practices/" + lyon.id + "/welcome-desk");
  CHECK(over_http["signed_by"]["name"] == "Ana Silva");
  CHECK(toronto.agora({"show", lyon.id + "/welcome-desk"}).out.find("signed by Ana Silva (publisher key") !=
        std::string::npos);

  std::string keyid;
  for (const auto& k : json::parse(lyon.agora({"key", "list", "--json"}).out))
    if (k["name"] == "Ana Silva") keyid = k["key"].get<std::string>();
  REQUIRE(keyid.size() == 64);
  REQUIRE(lyon.agora({"key", "revoke", keyid.substr(0, 10)}).exit_code == 0);
  auto after = lyon.agora({"--key", ana, "publish", "-"}, practice_json("after-revocation"));
  CHECK(after.exit_code == 3);
  CHECK_THAT(after.err, Catch::Contains("was revoked"));
  auto keys = json::parse(toronto.agora({"key", "list", "--json"}).out);
  CHECK(keys.size() == 2);  // Toronto's own genesis and node keys: key list shows this node's city
  head = lyon.head_of(lyon.id);
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == head; }));
  for (auto* n : {&lyon, &cph, &toronto}) {
    auto v = n->agora({"verify"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
  }
}

TEST_CASE("records of an undelegated or revoked key are refused by the node and never relayed",
          "[sync][identity][hostile]") {
  ServedNode a("Lyon", "FR"), b("Copenhagen", "DK");
  KeyedChain city;
  REQUIRE(a.agora({"peer", "add", "-", "--key", node_id(city.root.public_key())}).exit_code == 0);
  a.serve(), b.serve();
  peer_both(a, b);
  TestPeer p;
  connect_as(p, a, city.root);
  p.send(sync::encode(sync::Heads{}));

  SigningKey staff = SigningKey::generate(), stranger = SigningKey::generate();
  SignedRecord delegation = city.delegate(staff, KeyRole::publisher, nullptr, 1, false, "", "Ana");
  SignedRecord by_staff = city.sign(Kind::practice, "by-staff", practice_json("by-staff"), &staff);
  p.send(sync::encode(sync::RecordBatch{1, {delegation, by_staff}}), true);
  CHECK(p.next_ack().stored == 2);

  KeyedChain forged = city;
  SignedRecord by_stranger = forged.sign(Kind::practice, "by-stranger", practice_json("by-stranger"), &stranger);
  p.send(sync::encode(sync::RecordBatch{2, {by_stranger}}), true);
  auto ack = p.next_ack();
  CHECK(ack.rejected == 1);
  CHECK(ack.stored == 0);

  SignedRecord revocation = city.delegate(staff, KeyRole::publisher, nullptr, 2, true, "", "Ana");
  SignedRecord late = city.sign(Kind::practice, "late", practice_json("late"), &staff);
  p.send(sync::encode(sync::RecordBatch{3, {revocation, late}}), true);
  ack = p.next_ack();
  CHECK(ack.stored == 1);
  CHECK(ack.rejected == 1);

  std::string origin = node_id(city.root.public_key());
  CHECK(a.head_of(origin) == 3);
  REQUIRE(wait_until([&] { return b.head_of(origin) == 3; }));
  CHECK(b.agora({"show", origin + "/late"}).exit_code != 0);
  CHECK(b.agora({"show", origin + "/by-stranger"}).exit_code != 0);
  CHECK(json::parse(b.agora({"show", origin + "/by-staff", "--json"}).out)["signed_by"]["name"] == "Ana");
  CHECK(a.agora({"verify"}).exit_code == 0);
  CHECK(b.agora({"verify"}).exit_code == 0);
}

TEST_CASE("node key rotation: peers keep syncing with the city under the same id, with no peer change",
          "[sync][identity]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK"), toronto("Toronto", "CA");
  serve_line({&lyon, &cph, &toronto});
  lyon.publish(json::parse(practice_json("before-rotation")));
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == lyon.head_of(lyon.id); }));

  // The root key is kept apart from the node, as docs/identity.md says.
  std::string root_key = lyon.tmp.str("lyon-root.key");
  std::filesystem::rename(lyon.data + "/root.key", root_key);
  auto refused = lyon.agora({"key", "rotate"});  // the node key cannot delegate node keys
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("the root key is not on this machine"));
  auto rotated = lyon.agora({"--key", root_key, "key", "rotate"});
  INFO(rotated.out << rotated.err);
  REQUIRE(rotated.exit_code == 0);
  CHECK_THAT(rotated.out, Catch::Contains("revoked"));               // the node key init made
  CHECK(lyon.agora({"id"}).out.find(lyon.id) != std::string::npos);  // the city id stays
  lyon.publish(json::parse(practice_json("after-rotation")));        // signed by the new node key
  auto shown = json::parse(lyon.agora({"show", "after-rotation", "--json"}).out);
  CHECK(shown["signed_by"]["role"] == "node");
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == lyon.head_of(lyon.id); }));

  // New connections prove the city through the delegated node key.
  CHECK(lyon.stop() == 0);
  CHECK(cph.stop() == 0);
  lyon.serve(), cph.serve();
  lyon.publish(json::parse(practice_json("after-restart")));
  INFO("Lyon:\n" << lyon.log() << "\nCopenhagen:\n" << cph.log());
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == lyon.head_of(lyon.id); }));

  // A second rotation revokes the previous node key.
  auto again = lyon.agora({"--key", root_key, "key", "rotate"});
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("revoked"));
  // Without a restart: Copenhagen ends the connection the revoked key proved, and Lyon's
  // next one proves the new key.
  std::string active_key;
  json now_keys = json::parse(lyon.agora({"key", "list", "--json"}).out);
  for (const auto& k : now_keys)
    if (k["role"] == "node" && k["status"] == "active") active_key = k["key"].get<std::string>();
  REQUIRE(wait_until([&] {
    json listed = json::parse(cph.agora({"peer", "list", "--json"}).out);
    for (const auto& p : listed["peers"])
      if (p["node"] == lyon.id)
        return p["state"] == "connected" && p["node_key"].is_object() && p["node_key"]["key"] == active_key;
    return false;
  }));
  CHECK(cph.log().find("was revoked; closing the connection") != std::string::npos);
  CHECK(lyon.stop() == 0);
  lyon.serve();
  lyon.publish(json::parse(practice_json("second-key")));
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == lyon.head_of(lyon.id); }));
  for (auto* n : {&lyon, &cph, &toronto}) {
    auto v = n->agora({"verify"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
    CHECK(json::parse(n->agora({"peer", "list", "--json"}).out)["forks"].empty());
  }
  // Copenhagen's peer list says which node key Lyon proved its city with.
  bool shown_key = wait_until([&] {
    json listed = json::parse(cph.agora({"peer", "list", "--json"}).out);  // kept alive for the loop
    for (const auto& p : listed["peers"])
      if (p["node"] == lyon.id && p["node_key"].is_object() && p["node_key"].value("revoked", true) == false)
        return p["node_key"]["key"] == active_key;
    return false;
  });
  CHECK(shown_key);
  CHECK(cph.agora({"peer", "list"}).out.find("proves its city with node key") != std::string::npos);
  auto keys = json::parse(lyon.agora({"key", "list", "--json"}).out);
  REQUIRE(keys.size() == 4);  // the genesis key, init's node key and the first rotation's (revoked), the last
  int active_node_keys = 0;
  for (const auto& k : keys) active_node_keys += k["role"] == "node" && k["status"] == "active";
  CHECK(active_node_keys == 1);
}

TEST_CASE("a handshake through a node key needs that city's own, unrevoked delegation", "[sync][identity][hostile]") {
  ServedNode lyon("Lyon", "FR");
  KeyedChain city, other;
  REQUIRE(lyon.agora({"peer", "add", "-", "--key", node_id(city.root.public_key())}).exit_code == 0);
  lyon.serve();
  SigningKey node_key = SigningKey::generate();
  auto node_key_record = [&](KeyedChain& c, bool revoked, uint32_t version) {
    KeyGrant g;
    g.key = node_key.public_key();
    g.name = "node key";
    g.role = KeyRole::node;
    g.revoked = revoked;
    return c.sign(Kind::key, key_record_id(node_key.public_key()), key_grant_body(g), nullptr, version);
  };
  // Proves `city` with node_key and the given delegation; returns how the node answered.
  auto attempt = [&](const SignedRecord& delegation) -> std::string {
    TestPeer p;
    REQUIRE(p.connect(lyon.sync_url));
    auto hello = std::get<sync::Hello>(p.next_control());
    sync::Auth auth{city.root.public_key(),
                    std::string(64, 'a'),
                    node_key.sign(sync::auth_transcript(hello.challenge, city.root.public_key(), hello.node)),
                    {1, 2},
                    sync::NodeKeyProof{node_key.public_key(), delegation, {}},
                    ""};
    p.send(sync::encode(auth));
    auto answer = p.try_control();
    if (!answer) return "closed";
    if (std::holds_alternative<sync::Welcome>(*answer)) return "welcome";
    if (auto* e = std::get_if<sync::ErrorMessage>(&*answer)) return e->code + ": " + e->message;
    return "other";
  };
  // Another city's delegation of the same key (a record replayed from another chain).
  CHECK_THAT(attempt(node_key_record(other, false, 1)), Catch::Contains("bad-proof"));
  // A publisher key's delegation is no node key.
  KeyGrant publisher;
  publisher.key = node_key.public_key();
  publisher.name = "staff";
  publisher.role = KeyRole::publisher;
  KeyedChain copy = city;
  CHECK_THAT(attempt(copy.sign(Kind::key, key_record_id(node_key.public_key()), key_grant_body(publisher))),
             Catch::Contains("not a node key"));
  // The city's own delegation: welcome.
  SignedRecord delegation = node_key_record(city, false, 1);
  CHECK(attempt(delegation) == "welcome");
  // Once Lyon holds the revocation, the old delegation no longer opens the door.
  TestPeer p;
  connect_as(p, lyon, city.root);
  p.send(sync::encode(sync::Heads{}));
  SignedRecord revocation = node_key_record(city, true, 2);
  p.send(sync::encode(sync::RecordBatch{1, {delegation, revocation}}), true);
  REQUIRE(p.next_ack().stored == 2);
  CHECK_THAT(attempt(delegation), Catch::Contains("was revoked"));
}

TEST_CASE(
    "a compromised key's revocation withdraws what it signed after the compromise, on every node, even one "
    "that was offline",
    "[sync][identity]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK"), toronto("Toronto", "CA");
  serve_line({&lyon, &cph, &toronto});
  std::string ana = lyon.tmp.str("ana.key");
  REQUIRE(lyon.agora({"key", "add", "Ana", "--role", "publisher", "--out", ana}).exit_code == 0);
  auto practice = [](const std::string& id, const std::string& title) {
    return json{{"kind", "practice"},       {"id", id},         {"title", title},
                {"summary", "A practice."}, {"language", "en"}, {"themes", {"employment"}}}
        .dump();
  };
  REQUIRE(lyon.agora({"--key", ana, "publish", "-"}, practice("mentors", "Job mentors")).exit_code == 0);
  uint64_t before_compromise = lyon.head_of(lyon.id);
  // Ana's key is stolen: what the thief signs looks like hers.
  REQUIRE(lyon.agora({"--key", ana, "publish", "-"}, practice("mentors", "Job mentors (defaced)")).exit_code == 0);
  REQUIRE(lyon.agora({"--key", ana, "publish", "-"}, practice("zanzibar", "Zanzibarite scam")).exit_code == 0);
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == lyon.head_of(lyon.id); }));
  CHECK(toronto.stop() == 0);  // Toronto is offline while the revocation spreads

  std::string keyid;
  json keys = json::parse(lyon.agora({"key", "list", "--json"}).out);
  for (const auto& k : keys)
    if (k["name"] == "Ana") keyid = k["key"].get<std::string>();
  auto revoked = lyon.agora({"key", "revoke", keyid, "--compromised-since", std::to_string(before_compromise)});
  INFO(revoked.out << revoked.err);
  REQUIRE(revoked.exit_code == 0);
  CHECK_THAT(revoked.out, Catch::Contains("2 record version(s)"));
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == lyon.head_of(lyon.id); }));
  toronto.serve();
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == lyon.head_of(lyon.id); }));

  for (auto* n : {&lyon, &cph, &toronto}) {
    INFO(n->data);
    CHECK(get_json(*n, "/api/v1/practices/" + lyon.id + "/mentors")["title"] == "Job mentors");
    CHECK(http_get(n->http_url, "/api/v1/practices/" + lyon.id + "/zanzibar").status == 404);
    json history = get_json(*n, "/api/v1/practices/" + lyon.id + "/mentors/history")["items"];
    REQUIRE(history.size() == 2);
    CHECK_FALSE(history[0].contains("withdrawn"));
    CHECK(history[1]["withdrawn"] == true);  // kept as evidence
    CHECK(n->agora({"show", lyon.id + "/zanzibar", "--history"}).out.find("WITHDRAWN") != std::string::npos);
    CHECK(get_json(*n, "/api/v1/practices/" + lyon.id + "/zanzibar/history")["items"][0]["withdrawn"] == true);
    REQUIRE(wait_for_search_index(n->http_url));
    CHECK(get_json(*n, "/api/v1/practices?q=zanzibarite")["total"] == 0);
    CHECK(get_json(*n, "/api/v1/practices?q=mentors")["total"] == 1);
    CHECK(n->agora({"verify"}).exit_code == 0);
  }
}

TEST_CASE("a city restored from its root key rotates, and the node key lost with the old machine is revoked",
          "[sync][identity]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK");
  serve_line({&lyon, &cph});
  REQUIRE(lyon.agora({"key", "rotate"}).exit_code == 0);
  std::string root_copy = lyon.tmp.str("root-backup.key");
  std::filesystem::copy_file(lyon.data + "/root.key", root_copy);
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == lyon.head_of(lyon.id); }));
  uint64_t head = lyon.head_of(lyon.id);
  lyon.kill9();
  std::filesystem::remove_all(lyon.data);  // the machine is lost
  REQUIRE(run_agora({"init", "--restore", root_copy, "--data", lyon.data}).exit_code == 0);
  REQUIRE(lyon.agora({"peer", "add", cph.sync_url, "--key", cph.id}).exit_code == 0);
  lyon.serve();
  REQUIRE(wait_until([&] { return lyon.head_of(lyon.id) == head && lyon.status().value("restoring", true) == false; }));
  auto rotated = lyon.agora({"key", "rotate"});
  INFO(rotated.out << rotated.err);
  REQUIRE(rotated.exit_code == 0);
  CHECK_THAT(rotated.out, Catch::Contains("revoked"));
  json keys = json::parse(lyon.agora({"key", "list", "--json"}).out);
  int active_node_keys = 0;
  for (const auto& k : keys) active_node_keys += k["role"] == "node" && k["status"] == "active";
  CHECK(active_node_keys == 1);
  CHECK(keys.size() == 4);  // the genesis key and three node keys: init's, the rotation's, the restore's
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == lyon.head_of(lyon.id); }));
  CHECK(cph.agora({"verify"}).exit_code == 0);
}

TEST_CASE("a thief with the stolen root key races the city's recovery key: the recovery wins on every node",
          "[sync][identity][hostile]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK"), toronto("Toronto", "CA");
  serve_line({&lyon, &cph, &toronto});
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("mentors")).exit_code == 0);
  const uint64_t trusted = lyon.head_of(lyon.id);
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == trusted; }));

  // The thief copied the genesis key (root.key, left on the machine) and signs on from the
  // last record while the city's node is down: 40 records, and a root key of its own.
  SigningKey stolen = DataDir::read_key_file(lyon.data + "/root.key");
  KeyedChain thief{stolen, trusted};
  {
    storage::RecordStore held(lyon.data + "/store", storage::EnvOptions{.read_only = true});
    held.read([&](const storage::StoreReader& r) { return thief.last = r.head(*parse_node_id(lyon.id))->hash; });
  }
  CHECK(lyon.stop() == 0);
  std::vector<SignedRecord> forged;
  for (int i = 0; i < 39; ++i)
    forged.push_back(
        thief.sign(Kind::practice, "scam-" + std::to_string(i), practice_json("scam-" + std::to_string(i))));
  forged.push_back(thief.delegate(SigningKey::generate(), KeyRole::root, nullptr, 1, false, "", "thief's root"));
  {
    TestPeer p;
    connect_as(p, cph, stolen);
    p.send(sync::encode(sync::Heads{}));
    p.send(sync::encode(sync::RecordBatch{1, forged}), true);
    REQUIRE(p.next_ack().stored == 40);
  }
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == trusted + 40; }));
  // Offline, the city's coordinator published one more record: on the replaced branch too.
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("honest-but-late")).exit_code == 0);

  auto recovered = lyon.agora({"key", "recover", "--recovery-key", lyon.data + "/recovery.key", "--compromised-since",
                               std::to_string(trusted)});
  INFO(recovered.out << recovered.err);
  REQUIRE(recovered.exit_code == 0);
  CHECK_THAT(recovered.out, Catch::Contains("1 record(s) after seq " + std::to_string(trusted) + " set aside"));
  lyon.serve();
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("after-recovery")).exit_code == 0);
  const uint64_t head = lyon.head_of(lyon.id);
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == head && toronto.head_of(lyon.id) == head; }));

  for (auto* n : {&lyon, &cph, &toronto}) {
    INFO(n->data);
    CHECK(http_get(n->http_url, "/api/v1/practices/" + lyon.id + "/mentors").status == 200);
    CHECK(http_get(n->http_url, "/api/v1/practices/" + lyon.id + "/after-recovery").status == 200);
    CHECK(http_get(n->http_url, "/api/v1/practices/" + lyon.id + "/scam-7").status == 404);
    if (n != &lyon) {  // kept as evidence where it had arrived, marked as set aside
      json evidence = get_json(*n, "/api/v1/practices/" + lyon.id + "/scam-7?version=1");
      CHECK(evidence["set_aside"] == true);
      CHECK(evidence["withdrawn"] == true);
    }
    CHECK(http_get(n->http_url, "/api/v1/practices/" + lyon.id + "/honest-but-late").status == 404);
    REQUIRE(wait_for_search_index(n->http_url));
    CHECK(get_json(*n, "/api/v1/practices?q=scam")["total"] == 0);
    CHECK(json::parse(n->agora({"peer", "list", "--json"}).out)["forks"].empty());  // replaced, not forked
    auto v = n->agora({"verify"});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 0);
  }
  CHECK_THAT(cph.agora({"verify"}).out, Catch::Contains("40 of them set aside"));
  // The genesis key proves nothing any more: the thief cannot log in as the city.
  TestPeer again;
  REQUIRE(again.connect(cph.sync_url));
  auto hello = std::get<sync::Hello>(again.next_control());
  again.send(sync::encode(auth_message(stolen, hello.challenge, hello.node)));
  auto answer = again.next_control();
  REQUIRE(std::holds_alternative<sync::ErrorMessage>(answer));
  CHECK_THAT(std::get<sync::ErrorMessage>(answer).message, Catch::Contains("genesis key was retired"));
}

TEST_CASE("after key rotate-root the city's node still proves itself to peers that know the old root retired",
          "[sync][identity]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK");
  serve_line({&lyon, &cph});
  auto rotated = lyon.agora({"key", "rotate-root"});
  INFO(rotated.out << rotated.err);
  REQUIRE(rotated.exit_code == 0);
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == lyon.head_of(lyon.id); }));
  // New connections: Copenhagen holds the genesis key retired; the node key it delegated
  // before the retirement still proves the city.
  CHECK(lyon.stop() == 0);
  lyon.serve();
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("after-rotate-root")).exit_code == 0);
  INFO("Copenhagen:\n" << cph.log());
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == lyon.head_of(lyon.id); }));
  CHECK(cph.agora({"verify"}).exit_code == 0);
}
