// Protocol rules that a peer depends on, tried against a real node: what is never sent back,
// records newer than the node understands, and many origins (docs/protocol.md).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "protocol/sync_messages.hpp"
#include "http_client.hpp"
#include "sync/served_node.hpp"
#include "sync/test_peer.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

TEST_CASE_METHOD(ListedPeerConnected,
                 "records a peer pushes never come back to it, while the node publishes at the same time",
                 "[sync][echo]") {
  p.send(sync::encode(sync::Heads{}));  // holds nothing yet: the node sends all it has

  // The node publishes all along (each publish wakes it to push to its peers).
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    for (int i = 0; i < 400 && !stop; ++i)
      if (a.agora({"publish", "-"}, practice_json("local-" + std::to_string(i))).exit_code == 0) ++published;
  });

  const PublicKey mine = key.public_key();
  size_t echoes = 0;
  std::set<uint64_t> local_seqs;  // the node's own records received
  // Reads until the ack of `batch`, acknowledging the node's batches and counting any
  // record of this peer's own origin among them.
  auto until_ack = [&](uint64_t batch) {
    for (;;) {
      auto m = p.next();
      REQUIRE(m);
      if (m->second) {
        auto b = sync::decode_batch(m->first);
        REQUIRE(b);
        for (const auto& r : b.value().records) {
          auto h = decode_header(r.header_bytes);
          REQUIRE(h);
          if (h.value().origin == mine)
            ++echoes;
          else
            local_seqs.insert(h.value().seq);
        }
        p.send(sync::encode(sync::Ack{b.value().batch, uint32_t(b.value().records.size()), 0, 0}));
        continue;
      }
      auto c = sync::decode_control(m->first);
      REQUIRE(c);
      if (auto* ack = std::get_if<sync::Ack>(&c.value())) {
        REQUIRE(ack->batch == batch);
        REQUIRE(ack->rejected == 0);
        return;
      }
    }
  };
  Hash prev{};
  uint64_t seq = 0;
  const int kTrials = 300;
  for (int trial = 1; trial <= kTrials; ++trial) {
    sync::RecordBatch batch{uint64_t(trial), {}};
    for (int i = 0; i < 3; ++i) {
      ++seq;
      batch.records.push_back(record(key, seq, prev, "pushed-" + std::to_string(seq)));
      prev = record_hash(batch.records.back().header_bytes);
    }
    p.send(sync::encode(batch), true);
    // Now and then the peer repeats the heads it sent first, as a simple peer may: lower
    // values than it has shown since never make the node send back what the peer sent.
    if (trial % 10 == 0) p.send(sync::encode(sync::Heads{}));
    until_ack(uint64_t(trial));
  }
  stop = true;
  publisher.join();
  // Everything the node published reached the peer; none of the peer's own records did.
  uint64_t local_head = a.head_of(a.id);
  REQUIRE(published > 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (local_seqs.size() < local_head && std::chrono::steady_clock::now() < deadline) {
    auto m = p.next();
    if (!m || !m->second) continue;
    auto b = sync::decode_batch(m->first);
    REQUIRE(b);
    for (const auto& r : b.value().records) {
      auto h = decode_header(r.header_bytes).value();
      if (h.origin == mine)
        ++echoes;
      else
        local_seqs.insert(h.seq);
    }
    p.send(sync::encode(sync::Ack{b.value().batch, uint32_t(b.value().records.size()), 0, 0}));
  }
  CHECK(local_seqs.size() == local_head);
  CHECK(a.head_of(node_id(mine)) == seq);
  CHECK(echoes == 0);
}

namespace {

using Received = std::map<std::pair<PublicKey, uint64_t>, SignedRecord>;

// Collects every record the node sends the peer (acknowledging each batch), and the acks it
// sends, until `done` says so or nothing more comes.
void receive_until(TestPeer& p, Received& got, std::vector<sync::Ack>& acks, const std::function<bool()>& done) {
  while (!done()) {
    auto m = p.next();
    if (!m) break;
    if (!m->second) {
      auto c = sync::decode_control(m->first);
      REQUIRE(c);
      if (auto* ack = std::get_if<sync::Ack>(&c.value())) acks.push_back(*ack);
      continue;
    }
    auto b = sync::decode_batch(m->first);
    REQUIRE(b);
    for (auto& r : b.value().records) {
      auto at = claimed_position(r.header_bytes);
      REQUIRE(at);
      got[*at] = r;
    }
    p.send(sync::encode(sync::Ack{b.value().batch, uint32_t(b.value().records.size()), 0, 0}));
  }
}

// Records as a newer node writes them: a practice with a field and a language this node
// does not know, a record of a kind it does not know, and the practice's second version.
std::vector<SignedRecord> newer_records(const SigningKey& key, const std::string& tag) {
  std::vector<SignedRecord> out;
  Hash prev{};
  auto add = [&](const std::string& kind, const std::string& id, uint32_t version, const json& body) {
    Header h;
    h.origin = key.public_key();
    h.seq = out.size() + 1;
    h.prev = prev;
    if (auto k = parse_kind(kind)) {
      h.kind = *k;
    } else {
      h.kind = Kind::unknown;
      h.unknown_kind = kind;
    }
    h.id = id;
    h.version = version;
    h.ts = 1700000000000 + int64_t(out.size());
    out.push_back(sign_record(h, body.dump(), key));
    prev = record_hash(out.back().header_bytes);
  };
  json practice = {{"title", "Newer practice " + tag},
                   {"summary", "Written by a newer node."},
                   {"language", "zh"},
                   {"themes", {"employment", "climate-justice"}},
                   {"impact_score", 7}};
  add("practice", "newer-" + tag, 1, practice);
  add("glossary", "gl-" + tag, 1, {{"of", "newer-" + tag}, {"language", "fr"}, {"title", "Pratique " + tag}});
  practice["summary"] = "Second version.";
  add("practice", "newer-" + tag, 2, practice);
  return out;
}

}  // namespace

TEST_CASE("records of a kind, field and vocabulary newer than the node are stored, verified and relayed both ways",
          "[sync][evolution]") {
  // newer1 -- C -- D -- newer2: C and D are this build; newer1 and newer2 speak for nodes
  // of a later release.
  ServedNode c("Lyon", "FR"), d("Malmo", "SE");
  SigningKey newer1 = listed_key(c), newer2 = listed_key(d);
  c.serve(), d.serve();
  peer_both(c, d);
  std::vector<SignedRecord> from1 = newer_records(newer1, "one"), from2 = newer_records(newer2, "two");

  TestPeer p1, p2;
  connect_as(p1, c, newer1);
  connect_as(p2, d, newer2);
  p1.send(sync::encode(sync::Heads{{{newer1.public_key(), 0}}}));
  p2.send(sync::encode(sync::Heads{{{newer2.public_key(), 0}}}));
  p1.send(sync::encode(sync::RecordBatch{1, from1}), true);
  p2.send(sync::encode(sync::RecordBatch{1, from2}), true);
  // Each newer peer gets the other's records through both current nodes, byte for byte.
  Received at1, at2;
  std::vector<sync::Ack> acks1, acks2;
  receive_until(p1, at1, acks1, [&] { return !acks1.empty() && at1.count({newer2.public_key(), 3}); });
  receive_until(p2, at2, acks2, [&] { return !acks2.empty() && at2.count({newer1.public_key(), 3}); });
  for (auto* acks : {&acks1, &acks2}) {
    REQUIRE(acks->size() == 1);
    CHECK(acks->front().stored == 3);
    CHECK(acks->front().rejected == 0);
    CHECK(acks->front().skipped == 0);
  }
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    REQUIRE(at2.count({newer1.public_key(), seq}));
    CHECK(at2[{newer1.public_key(), seq}].header_bytes == from1[seq - 1].header_bytes);
    CHECK(at2[{newer1.public_key(), seq}].body == from1[seq - 1].body);
    REQUIRE(at1.count({newer2.public_key(), seq}));
    CHECK(at1[{newer2.public_key(), seq}].body == from2[seq - 1].body);
  }
  for (ServedNode* n : {&c, &d}) {
    CHECK(n->agora({"verify"}).exit_code == 0);
    // Served as current data: the practice, with what this node understands of it; the
    // record of an unknown kind is held but shown nowhere.
    auto practice = http_get(n->http_url, "/api/v1/practices/" + node_id(newer1.public_key()) + "/newer-one");
    CHECK(practice.status == 200);
    CHECK(practice.body.find("Second version.") != std::string::npos);
    auto changes = http_get(n->http_url, "/api/v1/changes?since=0");
    CHECK(changes.status == 200);
    CHECK(changes.body.find("gl-one") == std::string::npos);
    CHECK(changes.body.find("gl-two") == std::string::npos);
    CHECK(n->log().find("rejected") == std::string::npos);
    auto peers = json::parse(n->agora({"peer", "list", "--json"}).out)["peers"];
    for (const auto& peer : peers) CHECK(peer["errors"] == 0);
  }
}

TEST_CASE_METHOD(ListedPeerConnected,
                 "a record in a newer envelope is skipped without blame, with the rest of its origin",
                 "[sync][evolution]") {
  p.send(sync::encode(sync::Heads{}));
  SignedRecord r1 = record(key, 1, Hash{}, "first");
  // A second record whose header says envelope version 3 (signed, but not readable here),
  // then a third that links to it.
  std::string v2 = record(key, 2, record_hash(r1.header_bytes), "second").header_bytes;
  v2.replace(v2.find("\"v\":1"), 5, "\"v\":3");
  SignedRecord r2{v2, key.sign(v2), std::string("{}")};
  Header h3 = decode_header(record(key, 3, record_hash(v2), "third").header_bytes).value();
  SignedRecord r3 = sign_record(h3, practice_json("third"), key);
  for (uint64_t n = 1; n <= 4; ++n) {  // more than the three strikes an invalid batch costs
    p.send(sync::encode(sync::RecordBatch{n, {r1, r2, r3}}), true);
    sync::Ack ack = p.next_ack();
    CHECK(ack.stored == (n == 1 ? 1 : 0));
    CHECK(ack.skipped == 2);
    CHECK(ack.rejected == 0);
  }
  CHECK(a.head_of(node_id(key.public_key())) == 1);
  CHECK(a.agora({"verify"}).exit_code == 0);
  // Still connected: the node answers an unknown message type by ignoring it.
  p.send(R"({"t":"from-the-future","x":1})");
  p.send(sync::encode(sync::RecordBatch{5, {r1}}), true);
  CHECK(p.next_ack().duplicate == 1);
}

TEST_CASE("a hostile peer pushes 10,000 one-record origins: the excess is skipped, the node keeps syncing",
          "[sync][origins]") {
  // Before protocol 2, heads for more than about 3,800 origins exceeded the control-message
  // limit and the peers never synced again.
  ServedNode a("Lyon", "FR"), b("Malmo", "SE");
  SigningKey flooder = listed_key(a);
  a.serve({"--max-new-origins", "4000"});  // thousands of origins held: more than protocol 1's heads fitted
  b.serve();
  peer_both(a, b);
  TestPeer p;
  connect_as(p, a, flooder);
  p.send(sync::encode(sync::Heads{}));
  const int kOrigins = 10000;
  std::vector<SignedRecord> flood;
  for (int i = 0; i < kOrigins; ++i) flood.push_back(record(SigningKey::generate(), 1, Hash{}, "one"));
  uint32_t stored = 0, skipped = 0;
  for (int i = 0; i < kOrigins; i += 500) {
    sync::RecordBatch batch{uint64_t(i / 500 + 1), {flood.begin() + i, flood.begin() + std::min(i + 500, kOrigins)}};
    p.send(sync::encode(batch), true);
    sync::Ack ack = p.next_ack();
    CHECK(ack.rejected == 0);
    stored += ack.stored, skipped += ack.skipped;
    if (i == kOrigins / 2) b.publish(json::parse(practice_json("during-the-flood")));
  }
  CHECK(stored == 4000);  // the allowance
  CHECK(skipped == 6000);
  // The flooder is not cut off (skipping is no penalty), and the honest peer gets the 4,000
  // origins and keeps syncing in both directions.
  p.send(sync::encode(sync::RecordBatch{21, {flood[0]}}), true);
  CHECK(p.next_ack().duplicate == 1);
  auto origins = [](const ServedNode& n) { return n.status()["origins"].size(); };
  REQUIRE(wait_until([&] { return origins(b) >= 4002; }, std::chrono::seconds(60)));
  REQUIRE(wait_until([&] { return a.head_of(b.id) == b.head_of(b.id); }));  // published during the flood
  b.publish(json::parse(practice_json("from-malmo")));
  REQUIRE(wait_until([&] { return a.head_of(b.id) == b.head_of(b.id); }));
  // B restarts and redials: the heads exchange for 4,000 origins goes through again.
  b.stop();
  a.publish(json::parse(practice_json("while-malmo-was-away")));
  b.serve();
  REQUIRE(wait_until([&] { return b.head_of(a.id) == a.head_of(a.id); }));
  CHECK(b.log().find("bad-message") == std::string::npos);
  CHECK(a.log().find("bad-message") == std::string::npos);
}

TEST_CASE_METHOD(ListedPeerConnected,
                 "a record over the record limits is rejected as a record, and the connection goes on",
                 "[sync][limits]") {
  p.send(sync::encode(sync::Heads{}));
  SignedRecord big = record(key, 1, Hash{}, "big");
  big.body = std::string(300 * 1024, ' ');  // over 256 KiB, in a frame well under the limit
  p.send(sync::encode(sync::RecordBatch{1, {big}}), true);
  sync::Ack ack = p.next_ack();
  CHECK(ack.rejected == 1);
  p.send(sync::encode(sync::RecordBatch{2, {record(key, 1, Hash{}, "fine")}}), true);
  CHECK(p.next_ack().stored == 1);
}

TEST_CASE("an ack for a batch that is not the oldest in flight closes with protocol", "[sync][hostile]") {
  ServedNode a("Lyon", "FR");
  SigningKey key = listed_key(a);
  a.publish(json::parse(practice_json("something-to-send")));
  a.serve();
  TestPeer p;
  connect_as(p, a, key);
  p.send(sync::encode(sync::Heads{}));
  for (;;) {
    auto m = p.next();
    REQUIRE(m);
    if (m->second) break;  // the node's first batch (number 1)
  }
  p.send(sync::encode(sync::Ack{7, 1, 0, 0}));
  auto verdict = p.next_control();
  REQUIRE(std::holds_alternative<sync::ErrorMessage>(verdict));
  CHECK(std::get<sync::ErrorMessage>(verdict).code == "protocol");
}
