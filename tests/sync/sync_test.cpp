// Peer sync through real `agora serve` processes on 127.0.0.1.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

void import_into(const ServedNode& node, const std::string& prefix, int n) {
  std::string file = node.tmp.str(prefix + ".ndjson");
  std::ofstream(file) << practices_ndjson(prefix, n);
  REQUIRE(node.agora({"import", file}).exit_code == 0);
}

// Every node holds every origin up to the same seq, and verifies.
bool converged(const std::vector<ServedNode*>& nodes) {
  json reference;
  for (auto* n : nodes) {
    json heads = json::object();
    json status = n->status();
    for (const auto& o : status["origins"]) heads[o["origin"].get<std::string>()] = o["seq"];
    if (heads.size() != nodes.size()) return false;
    if (reference.is_null())
      reference = heads;
    else if (heads != reference)
      return false;
  }
  return true;
}

void check_verified_without_duplicates(const ServedNode& n) {
  auto v = n.agora({"verify", "--json"});
  INFO(v.out << v.err);
  REQUIRE(v.exit_code == 0);
  json s = n.status();
  uint64_t sum = 0;  // s outlives the loop
  for (const auto& o : s["origins"]) sum += o["seq"].get<uint64_t>();
  CHECK(s["log_length"].get<uint64_t>() == sum);  // each record stored exactly once
}

}  // namespace

TEST_CASE("two nodes sync both ways and push new records live", "[sync]") {
  ServedNode a("Copenhagen", "DK"), b("Toronto", "CA");
  import_into(a, "cph", 600);
  a.serve(), b.serve();
  peer_both(a, b);
  bool synced = wait_until([&] { return b.head_of(a.id) == 600 + kInitRecords; });
  INFO("A:\n" << a.log() << "B:\n" << b.log());
  REQUIRE(synced);
  REQUIRE(b.agora({"publish", "-"}, practice_json("triec")).exit_code == 0);
  REQUIRE(wait_until([&] { return a.head_of(b.id) == 1 + kInitRecords; }, std::chrono::seconds(10)));
  auto shown = json::parse(a.agora({"show", b.id + "/triec", "--json"}).out);
  CHECK(shown["city"] == "Toronto");
  check_verified_without_duplicates(a);
  check_verified_without_duplicates(b);
  auto peers = json::parse(a.agora({"peer", "list", "--json"}).out)["peers"];
  REQUIRE(peers.size() == 1);
  CHECK(peers[0]["city"] == "Toronto");
  CHECK(a.stop() == 0);  // SIGTERM: graceful, exit 0
  CHECK(b.stop() == 0);
}

TEST_CASE("a chain of nodes relays records end to end", "[sync]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK"), toronto("Toronto", "CA");
  for (auto* n : {&lyon, &cph, &toronto}) n->serve();
  peer_both(lyon, cph);
  peer_both(cph, toronto);  // Lyon and Toronto never talk directly
  import_into(toronto, "tor", 200);
  import_into(lyon, "lyo", 200);
  REQUIRE(wait_until([&] { return converged({&lyon, &cph, &toronto}); }));
  CHECK(lyon.head_of(toronto.id) == 200 + kInitRecords);
  CHECK(toronto.head_of(lyon.id) == 200 + kInitRecords);
  for (auto* n : {&lyon, &cph, &toronto}) check_verified_without_duplicates(*n);
}

TEST_CASE("a five-node mesh converges", "[sync]") {
  std::vector<std::unique_ptr<ServedNode>> nodes;
  for (const char* city : {"The Hague", "Copenhagen", "Lyon", "Malmo", "Toronto"})
    nodes.push_back(std::make_unique<ServedNode>(city));
  for (auto& n : nodes) n->serve();
  for (size_t i = 0; i < nodes.size(); ++i)
    for (size_t j = i + 1; j < nodes.size(); ++j) peer_both(*nodes[i], *nodes[j]);
  for (size_t i = 0; i < nodes.size(); ++i) import_into(*nodes[i], "n" + std::to_string(i) + "-", 60);
  std::vector<ServedNode*> all;
  for (auto& n : nodes) all.push_back(n.get());
  REQUIRE(wait_until([&] { return converged(all); }, std::chrono::seconds(60)));
  for (auto* n : all) {
    CHECK(n->status()["records"]["practice"] == 300);
    check_verified_without_duplicates(*n);
  }
}

TEST_CASE("after kill -9 of the receiver mid-sync it resumes without loss or duplicates", "[sync]") {
  ServedNode a("Johannesburg", "ZA"), b("Malmo", "SE");
  import_into(a, "jhb", 4000);
  // The receiver takes 2,000 records/s, so the 4,001 take two seconds: time to kill it midway.
  a.serve(), b.serve({"--max-records-per-s", "2000"});
  peer_both(a, b);
  REQUIRE(wait_until([&] { return b.head_of(a.id) > 0; }));
  CHECK(b.kill9() == 128 + SIGKILL);
  uint64_t before = b.head_of(a.id);  // what survived the kill
  REQUIRE(before > 0);
  REQUIRE(before < 4000 + kInitRecords);  // the kill came mid-sync
  b.serve();                              // new port: tell a
  a.agora({"peer", "add", b.sync_url, "--key", b.id});
  REQUIRE(wait_until([&] { return b.head_of(a.id) == 4000 + kInitRecords; }, std::chrono::seconds(60)));
  check_verified_without_duplicates(b);
  // The sender too can die and come back.
  a.kill9();
  a.serve();
  b.agora({"peer", "add", a.sync_url, "--key", a.id});
  REQUIRE(b.agora({"publish", "-"}, practice_json("after-restart")).exit_code == 0);
  REQUIRE(wait_until([&] { return a.head_of(b.id) == 1 + kInitRecords; }));
  check_verified_without_duplicates(a);
}

TEST_CASE("a receiver whose store map must grow mid-sync keeps every record intact", "[sync]") {
  // LMDB reports a full map by failing the write transaction; the node grows the map and
  // runs the batch again, which must store the same records, not emptied ones.
  ServedNode a("Lyon", "FR");
  std::string file = a.tmp.str("long.ndjson");
  {
    std::ofstream out(file);
    uint32_t x = 12345;
    for (int i = 0; i < 3000; ++i) {
      std::string summary;
      while (summary.size() < 1500) {  // words that do not compress away
        x = x * 1103515245 + 12345;
        summary += std::to_string(x >> 8) + " ";
      }
      out << json{{"kind", "practice"},
                  {"id", "long-" + std::to_string(i)},
                  {"title", "Practice " + std::to_string(i)},
                  {"summary", summary},
                  {"language", "en"},
                  {"themes", {"employment"}}}
                 .dump()
          << "\n";
    }
  }
  REQUIRE(a.agora({"import", file}).exit_code == 0);
  setenv("AGORA_MAP_INITIAL_MB", "1", 1);
  ServedNode b("Malmo", "SE");
  b.serve();
  unsetenv("AGORA_MAP_INITIAL_MB");
  a.serve();
  peer_both(a, b);
  bool synced = wait_until([&] { return b.head_of(a.id) == 3000 + kInitRecords; }, std::chrono::seconds(60));
  INFO("B:\n" << b.log() << "B's peers:\n" << b.agora({"peer", "list"}).out << "A:\n" << a.log());
  REQUIRE(synced);
  CHECK(b.log().find("map grown") != std::string::npos);
  check_verified_without_duplicates(b);
}

TEST_CASE("a city that lost its data dir gets its records back from a peer and never forks its chain",
          "[sync][restore]") {
  ServedNode lyon("Lyon", "FR"), malmo("Malmo", "SE");
  import_into(lyon, "lyon", 3);
  lyon.serve(), malmo.serve();
  peer_both(lyon, malmo);
  REQUIRE(wait_until([&] { return malmo.head_of(lyon.id) == 3 + kInitRecords; }));

  // The key was backed up; the data dir is lost.
  // The root key was backed up (and kept off the machine); the data dir is lost.
  std::string backup = lyon.tmp.str("lyon-backup.key");
  std::filesystem::copy_file(lyon.data + "/root.key", backup);
  lyon.kill9();
  std::filesystem::remove_all(lyon.data);
  auto restored = lyon.agora({"init", "--restore", backup});
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK(restored.out.substr(0, 64) == lyon.id);
  CHECK(lyon.status()["restoring"] == true);
  auto early = lyon.agora({"publish", "-"}, practice_json("too-early"));
  CHECK(early.exit_code != 0);
  CHECK(early.err.find("restoring") != std::string::npos);
  CHECK(lyon.head_of(lyon.id) == 0);  // nothing signed

  lyon.serve();
  lyon.agora({"peer", "add", malmo.sync_url, "--key", malmo.id});
  malmo.agora({"peer", "add", lyon.sync_url, "--key", lyon.id});
  bool back =
      wait_until([&] { return lyon.head_of(lyon.id) == 3 + kInitRecords && lyon.status()["restoring"] == false; });
  INFO("Lyon:\n" << lyon.log());
  REQUIRE(back);
  CHECK(json::parse(lyon.agora({"show", "lyon2", "--json"}).out)["title"] == "Practice lyon2");
  CHECK(lyon.status()["city"]["name"] == "Lyon");

  // The next record continues the chain the peers hold: seq 5, accepted, no fork anywhere.
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("after-restore")).exit_code == 0);
  REQUIRE(wait_until([&] { return malmo.head_of(lyon.id) == 4 + kInitRecords; }));
  CHECK(json::parse(malmo.agora({"peer", "list", "--json"}).out)["forks"].empty());
  check_verified_without_duplicates(lyon);
  check_verified_without_duplicates(malmo);
}

TEST_CASE("a node refuses a peer whose key it does not list, and logs it", "[sync]") {
  ServedNode a("Lyon", "FR"), stranger("Nowhere", "NL");
  a.serve(), stranger.serve();
  auto added = stranger.agora({"peer", "add", a.sync_url, "--key", a.id});  // a does not list stranger
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  if (!wait_until([&] { return a.log().find("refused unknown key " + stranger.id) != std::string::npos; }))
    FAIL("Lyon's log:\n"
         << a.log() << "\nthe stranger's log:\n"
         << stranger.log() << "\nits peers: " << stranger.agora({"peer", "list", "--json"}).out);
  CHECK(a.log().find("from 127.0.0.1") != std::string::npos);
  CHECK(a.head_of(stranger.id) == 0);
  CHECK(stranger.head_of(a.id) == 0);
}

TEST_CASE("withheld bodies never reach a non-member, directly or through a relay", "[sync][visibility]") {
  ServedNode hague("The Hague", "NL"), joburg("Johannesburg", "ZA"), observer("Institute", "DE");
  for (auto* n : {&hague, &joburg, &observer}) n->serve();
  // The Hague and Johannesburg declare a twin partnership; the observer only peers.
  REQUIRE(hague
              .agora({"publish", "-"}, json{{"kind", "partnership"},
                                            {"with", joburg.id},
                                            {"relation", "twin"},
                                            {"topics", {"migration-development"}}}
                                           .dump())
              .exit_code == 0);
  REQUIRE(joburg.agora({"publish", "-"}, json{{"kind", "partnership"}, {"with", hague.id}, {"relation", "twin"}}.dump())
              .exit_code == 0);
  REQUIRE(hague.agora({"publish", "-"}, practice_json("twin-only", "partners")).exit_code == 0);
  REQUIRE(hague.agora({"publish", "-"}, practice_json("internal", "private")).exit_code == 0);
  REQUIRE(hague.agora({"publish", "-"}, practice_json("open")).exit_code == 0);
  peer_both(hague, joburg);
  peer_both(joburg, observer);  // the observer hears The Hague only through Johannesburg
  REQUIRE(wait_until(
      [&] { return observer.head_of(hague.id) == 4 + kInitRecords && joburg.head_of(hague.id) == 4 + kInitRecords; }));

  auto twin_copy = json::parse(joburg.agora({"show", hague.id + "/twin-only", "--json"}).out);
  CHECK(twin_copy["title"] == "Practice twin-only");
  auto private_at_twin = json::parse(joburg.agora({"show", hague.id + "/internal", "--json"}).out);
  CHECK(private_at_twin["withheld"] == true);
  CHECK_FALSE(private_at_twin.contains("title"));

  auto relayed = json::parse(observer.agora({"show", hague.id + "/twin-only", "--json"}).out);
  CHECK(relayed["withheld"] == true);
  CHECK_FALSE(relayed.contains("title"));
  auto open = json::parse(observer.agora({"show", hague.id + "/open", "--json"}).out);
  CHECK(open["title"] == "Practice open");
  // Stubs keep the chain whole: every node verifies every origin.
  for (auto* n : {&hague, &joburg, &observer}) CHECK(n->agora({"verify"}).exit_code == 0);
  // Nor does an export anywhere carry a withheld body.
  CHECK(observer.agora({"export"}).out.find("twin-only") == std::string::npos);
}

TEST_CASE("nodes offering protocol 1 and protocol 2 sync both ways, and an upgraded node moves to 2", "[sync]") {
  // Lyon offers protocol 1 only, as a node of an earlier release would; Malmo and Toronto
  // offer 1 and 2. Each connection uses the highest version both offer.
  ServedNode lyon("Lyon", "FR"), malmo("Malmo", "SE"), toronto("Toronto", "CA");
  lyon.serve({"--protocol", "1"});
  malmo.serve(), toronto.serve();
  peer_both(lyon, malmo);
  peer_both(malmo, toronto);
  peer_both(lyon, toronto);
  import_into(lyon, "lyo", 300);
  import_into(malmo, "mal", 300);
  import_into(toronto, "tor", 300);
  std::vector<ServedNode*> all = {&lyon, &malmo, &toronto};
  REQUIRE(wait_until([&] { return converged(all); }, std::chrono::seconds(60)));
  for (auto* n : all) {
    CHECK(n->status()["records"]["practice"] == 900);
    check_verified_without_duplicates(*n);
  }
  auto protocol_with = [](const ServedNode& n, const ServedNode& peer) -> json {
    json list = json::parse(n.agora({"peer", "list", "--json"}).out);  // alive through the loop
    for (const auto& p : list["peers"])
      if (p["node"] == peer.id) return p["protocol"];
    return nullptr;
  };
  // A node writes its peers' state every 2 s: `peer list` shows the versions by then.
  REQUIRE(
      wait_until([&] { return !protocol_with(toronto, malmo).is_null() && !protocol_with(lyon, toronto).is_null(); }));
  CHECK(protocol_with(lyon, malmo) == 1);
  CHECK(protocol_with(malmo, lyon) == 1);
  CHECK(protocol_with(toronto, lyon) == 1);
  CHECK(protocol_with(malmo, toronto) == 2);
  CHECK(protocol_with(toronto, malmo) == 2);

  // Lyon upgrades (restarts offering both, on the same address): its connections move to
  // protocol 2, and records keep flowing both ways.
  lyon.listen = lyon.sync_url.substr(5, lyon.sync_url.rfind('/') - 5);  // ws://HOST:PORT/sync
  REQUIRE(lyon.stop() == 0);
  lyon.serve();
  REQUIRE(malmo.agora({"publish", "-"}, practice_json("after-upgrade")).exit_code == 0);
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("from-lyon")).exit_code == 0);
  REQUIRE(wait_until([&] { return converged(all) && lyon.head_of(malmo.id) == 301 + kInitRecords; },
                     std::chrono::seconds(30)));
  CHECK(toronto.head_of(lyon.id) == 301 + kInitRecords);
  CHECK(wait_until([&] {
    return protocol_with(malmo, lyon) == 2 && protocol_with(toronto, lyon) == 2 && protocol_with(lyon, malmo) == 2;
  }));
}
