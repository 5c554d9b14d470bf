#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "node/local/importer.hpp"
#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "node/local/verifier.hpp"
#include "storage/keys.hpp"
#include "keyed_chain.hpp"
#include "temp_dir.hpp"

using namespace agora;
using nlohmann::json;

namespace {

DataDir make_city(const test::TempDir& tmp) {
  DataDir dir = DataDir::create(tmp.path() / "node", NodeRole::city, "Malmö");
  auto profile = validate_input(json{{"kind", "city"}, {"name", "Malmö"}, {"country", "SE"}}, {});
  Publisher(dir).publish({profile.value()});
  return dir;
}

ValidatedInput practice(DataDir& dir, const std::string& id, const std::string& title) {
  json in = {{"kind", "practice"}, {"id", id},         {"title", title},
             {"summary", "s"},     {"language", "sv"}, {"themes", {"employment"}}};
  return validate_input(in, dir.identity()).value();
}

}  // namespace

TEST_CASE("publishing assigns versions, skips unchanged bodies and retracts with a tombstone", "[node]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp);
  Publisher pub(dir);
  CHECK(pub.publish({practice(dir, "linkworkers", "Linkworkers")})[0].version == 1);
  auto again = pub.publish({practice(dir, "linkworkers", "Linkworkers")})[0];
  CHECK(again.unchanged);
  CHECK(pub.publish({practice(dir, "linkworkers", "Linkworkers 2")})[0].version == 2);
  auto retracted = pub.retract("linkworkers");
  CHECK(retracted.version == 3);
  CHECK_THROWS_AS(pub.retract("linkworkers"), InvalidInput);
  CHECK_THROWS_AS(pub.retract("nothing-here"), InvalidInput);
  CHECK(verify_store(dir.store()).ok());
  dir.store().read([&](const storage::StoreReader& r) {
    CHECK(r.head(dir.id())->seq == 4);  // profile, v1, v2, tombstone
    return 0;
  });
}

TEST_CASE("a large publish completes while another writer keeps extending the chain", "[node]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp);
  std::vector<ValidatedInput> batch;
  for (int i = 0; i < 2000; ++i) batch.push_back(practice(dir, "bulk-" + std::to_string(i), "Bulk"));
  // One-record publishes commit far faster than 2,000 records are signed, so every batch
  // signed against a snapshot finds its chain moved by the time it commits.
  std::atomic<bool> done = false;
  int small = 0;
  std::thread other([&] {
    Publisher pub(dir);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done && std::chrono::steady_clock::now() < deadline && small < 20000) {
      pub.publish({practice(dir, "small-" + std::to_string(small), "Small")});
      ++small;
    }
  });
  std::vector<PublishResult> results;
  CHECK_NOTHROW(results = Publisher(dir).publish(batch));
  done = true;
  other.join();
  REQUIRE(results.size() == 2000);
  CHECK(verify_store(dir.store()).ok());
  // The race happened: the other writer committed before the batch did (its chain moved).
  REQUIRE(small > 0);
  dir.store().read([&](const storage::StoreReader& r) {
    CHECK(r.head(dir.id())->seq == 1 + 2000 + static_cast<uint64_t>(small));
    CHECK(r.latest(dir.id(), "small-0")->local < r.latest(dir.id(), "bulk-0")->local);
    return 0;
  });
}

TEST_CASE("verify finds a tampered stored record and a broken head", "[node]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp);
  Publisher(dir).publish({practice(dir, "p1", "One"), practice(dir, "p2", "Two")});
  REQUIRE(verify_store(dir.store()).ok());
  {
    storage::Env& env = dir.store().env();
    MDB_dbi log = env.open_table("log");
    env.write([&](storage::WriteTxn& t) {
      std::string value(*t.get(log, storage::be<uint64_t>(2)));
      value[40] = value[40] == 'x' ? 'y' : 'x';  // a byte inside the signed header
      t.put(log, storage::be<uint64_t>(2), value);
    });
  }
  VerifyReport report = verify_store(dir.store());
  CHECK_FALSE(report.ok());
  REQUIRE_FALSE(report.problems.empty());
}

TEST_CASE("a title typed with a combining diaeresis is signed and stored in NFC", "[node][unicode]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp);
  const std::string decomposed = "Malmo\xCC\x88", composed = "Malm\xC3\xB6";  // "o" + U+0308, U+00F6
  json in = {{"kind", "practice"},
             {"id", "linkworkers"},
             {"title", decomposed + " linkworkers"},
             {"summary", "La\xCC\x88nkarbetare i " + decomposed + "."},
             {"language", "sv"},
             {"themes", {"employment"}}};
  // As `agora publish -` reads it (one compact line) and as `agora import` does.
  auto typed = parse_and_validate_input(in.dump(), dir.identity());
  REQUIRE(typed);
  Publisher(dir).publish({typed.value()});
  in["id"] = "imported";
  auto file = tmp.path() / "decomposed.ndjson";
  std::ofstream(file) << in.dump() << "\n";
  CHECK(import_ndjson(dir, file, {}).created == 1);

  dir.store().read([&](const storage::StoreReader& r) {
    for (const char* id : {"linkworkers", "imported"}) {
      INFO(id);
      auto latest = r.latest(dir.id(), id);
      REQUIRE(latest);
      SignedRecord rec = r.at(latest->local)->load();
      REQUIRE(rec.body);  // the signed body: its hash is in the signed header
      CHECK(rec.body->find("\xCC\x88") == std::string::npos);
      json body = json::parse(*rec.body);
      CHECK(body["title"] == composed + " linkworkers");
      CHECK(body["summary"] == "L\xC3\xA4nkarbetare i " + composed + ".");
    }
    return 0;
  });
  CHECK(verify_store(dir.store()).ok());
  // The same text typed precomposed is the same body: nothing new to sign.
  in["id"] = "linkworkers";
  in["title"] = composed + " linkworkers";
  in["summary"] = "L\xC3\xA4nkarbetare i " + composed + ".";
  auto again = validate_input(in, dir.identity());
  REQUIRE(again);
  CHECK(Publisher(dir).publish({again.value()})[0].unchanged);
}

TEST_CASE("verify finds a delegated key's record that replaced a kind its role may not sign", "[node][identity]") {
  // Written around the node's checks (as a damaged or hand-edited store would hold it): a
  // reporter key turning the city's practice into a report.
  test::TempDir tmp;
  storage::RecordStore store(tmp.path() / "store");
  test::KeyedChain city;
  SigningKey reporter = SigningKey::generate();
  std::vector<SignedRecord> chain = {city.genesis(), city.delegate(reporter, KeyRole::reporter), city.practice("p1"),
                                     city.sign(Kind::report, "r1", "{}", &reporter)};
  auto append_all = [&] {
    std::vector<storage::IncomingRecord> in;
    for (const auto& r : chain) in.push_back({r, verify_record(r).value(), {}, {}});
    store.env().write([&](storage::WriteTxn& t) { store.append(t, in); });
  };
  append_all();
  REQUIRE(verify_store(store).ok());  // a reporter may sign reports

  chain = {city.sign(Kind::report, "p1", "{}", &reporter, 2)};
  append_all();
  VerifyReport report = verify_store(store);
  REQUIRE(report.problem_count == 1);
  CHECK_THAT(report.problems.at(0), Catch::Matchers::Contains("may not replace a practice"));
}

TEST_CASE("the block list is read whole, whatever peer keys sort among its entries", "[node][block]") {
  test::TempDir tmp;
  DataDir dir = make_city(tmp);
  PublicKey a{}, b{}, peer{};
  a[0] = 1, b[0] = 0xff, peer[0] = 'B';  // a peer key starting with the byte 'B'
  dir.store().env().write([&](storage::WriteTxn& txn) {
    save_block(dir.store(), txn, {a, "one", 1});
    save_block(dir.store(), txn, {b, "two", 2});
    save_peer(dir.store(), txn, PeerConfig{peer, "", "", 3, ""});
  });
  storage::ReadTxn txn(dir.store().env());
  CHECK(load_blocks(dir.store(), txn).size() == 2);
  CHECK(load_peers(dir.store(), txn).size() == 1);
}
