// The sans-I/O sync engine on an in-memory store: what is sent and in what order, stubs and
// bodies per entitlement, the window, resuming, and what each received record becomes.
#include <catch2/catch.hpp>

#include "sync_engine/memory_store.hpp"

using namespace agora;
using agora::test::City;
using agora::test::deliver;
using agora::test::MemoryStore;
using agora::test::received;
using sync::Disposition;

namespace {

sync::SendLimits limits(size_t records = 512, size_t window = 8, size_t bytes = 1 << 20) {
  return sync::SendLimits{records, bytes, window};
}

// Sends from `from` to `to` through `out` until nothing is left, acking each batch.
size_t sync_all(sync::Outbound& out, const MemoryStore& from, MemoryStore& to) {
  size_t batches = 0;
  while (auto b = out.next(from)) {
    deliver(*b, to);
    REQUIRE(out.on_ack());
    ++batches;
  }
  return batches;
}

std::vector<std::pair<PublicKey, uint64_t>> order_of(const sync::OutgoingBatch& b) {
  auto [records, errors] = received(b.frame());
  std::vector<std::pair<PublicKey, uint64_t>> out;
  for (const auto& r : records) out.emplace_back(r.header.origin, r.header.seq);
  return out;
}

}  // namespace

TEST_CASE("engine: nothing is sent before the peer's heads arrive", "[engine]") {
  City lyon;
  MemoryStore a;
  a.put(lyon.next("p1"));
  sync::Outbound out(City().id(), limits());
  CHECK_FALSE(out.next(a));
  out.on_heads({});
  CHECK(out.next(a));
}

TEST_CASE("engine: an empty peer gets every chain, each origin in seq order", "[engine]") {
  City lyon, malmo;
  MemoryStore a, b;
  for (int i = 0; i < 5; ++i) a.put(lyon.next("l" + std::to_string(i)));
  for (int i = 0; i < 3; ++i) a.put(malmo.next("m" + std::to_string(i)));
  sync::Outbound out(City().id(), limits());
  out.on_heads({});
  auto batch = out.next(a);
  REQUIRE(batch);
  CHECK(batch->count == 8);
  std::map<PublicKey, uint64_t> last;
  for (auto [origin, seq] : order_of(*batch)) {
    CHECK(seq == last[origin] + 1);  // each origin's records in chain order
    last[origin] = seq;
  }
  auto d = deliver(*batch, b);
  CHECK(d.to_store == 8);
  CHECK(b.head_map() == a.head_map());
}

TEST_CASE("engine: records of other origins are relayed like the node's own", "[engine]") {
  City lyon, malmo;
  MemoryStore a, relay, c;
  a.put(lyon.next("l1"));
  a.put(malmo.next("m1"));
  sync::Outbound to_relay(City().id(), limits());
  to_relay.on_heads({});
  sync_all(to_relay, a, relay);
  sync::Outbound to_c(City().id(), limits());
  to_c.on_heads({});
  sync_all(to_c, relay, c);
  CHECK(c.head_of(lyon.id()) == 1);
  CHECK(c.head_of(malmo.id()) == 1);
}

TEST_CASE("engine: only what the peer lacks is sent", "[engine]") {
  City lyon;
  MemoryStore a;
  for (int i = 0; i < 10; ++i) a.put(lyon.next("p" + std::to_string(i)));
  sync::Outbound out(City().id(), limits());
  out.on_heads({{lyon.id(), 7}});
  auto b = out.next(a);
  REQUIRE(b);
  auto order = order_of(*b);
  REQUIRE(order.size() == 3);
  CHECK(order.front().second == 8);
  CHECK(order.back().second == 10);
  CHECK_FALSE(out.next(a));  // all sent: nothing more until the store grows
  a.put(lyon.next("p10"));
  auto more = out.next(a);
  REQUIRE(more);
  CHECK(order_of(*more) == std::vector<std::pair<PublicKey, uint64_t>>{{lyon.id(), 11}});
}

TEST_CASE("engine: a peer ahead of this node is sent nothing", "[engine]") {
  City lyon;
  MemoryStore a;
  a.put(lyon.next("p"));
  sync::Outbound out(City().id(), limits());
  out.on_heads({{lyon.id(), 5}});
  CHECK_FALSE(out.next(a));
}

TEST_CASE("engine: batches are cut at the record and byte limits", "[engine]") {
  City lyon;
  MemoryStore a;
  for (int i = 0; i < 25; ++i) a.put(lyon.next("p" + std::to_string(i)));
  SECTION("records") {
    sync::Outbound out(City().id(), limits(10, 16));
    out.on_heads({});
    std::vector<uint32_t> counts;
    while (auto b = out.next(a)) counts.push_back(b->count);
    CHECK(counts == std::vector<uint32_t>{10, 10, 5});
  }
  SECTION("bytes: a batch stops once its records reach the limit") {
    sync::Outbound out(City().id(), limits(512, 16, 1));
    out.on_heads({});
    size_t batches = 0;
    while (auto b = out.next(a)) {
      CHECK(b->count == 1);
      REQUIRE(out.on_ack());
      ++batches;
    }
    CHECK(batches == 25);
  }
}

TEST_CASE("engine: the window stops sending until an ack", "[engine]") {
  City lyon;
  MemoryStore a;
  for (int i = 0; i < 10; ++i) a.put(lyon.next("p" + std::to_string(i)));
  sync::Outbound out(City().id(), limits(2, 3));
  out.on_heads({});
  CHECK(out.next(a));
  CHECK(out.next(a));
  CHECK(out.next(a));
  CHECK(out.unacked() == 3);
  CHECK_FALSE(out.next(a));  // window exhausted although records remain
  REQUIRE(out.on_ack());
  auto b = out.next(a);
  REQUIRE(b);
  CHECK(b->number == 4);
  CHECK(order_of(*b).front().second == 7);
}

TEST_CASE("engine: an ack with no batch in flight is a protocol error", "[engine]") {
  sync::Outbound out(City().id(), limits());
  out.on_heads({});
  CHECK_FALSE(out.on_ack());
}

TEST_CASE("engine: batches are numbered from 1 on each connection", "[engine]") {
  City lyon;
  MemoryStore a;
  for (int i = 0; i < 3; ++i) a.put(lyon.next("p" + std::to_string(i)));
  sync::Outbound out(City().id(), limits(1));
  out.on_heads({});
  CHECK(out.next(a)->number == 1);
  CHECK(out.next(a)->number == 2);
  sync::Outbound again(City().id(), limits(1));
  again.on_heads({});
  CHECK(again.next(a)->number == 1);
}

TEST_CASE("engine: a sync resumes from any acked point without gaps or repeats", "[engine]") {
  City lyon, malmo;
  MemoryStore a;
  for (int i = 0; i < 12; ++i) a.put(lyon.next("l" + std::to_string(i)));
  for (int i = 0; i < 7; ++i) a.put(malmo.next("m" + std::to_string(i)));
  for (size_t cut = 0; cut <= 7; ++cut) {
    MemoryStore b;
    sync::Outbound first(City().id(), limits(3, 2));
    first.on_heads({});
    for (size_t i = 0; i < cut; ++i) {
      auto batch = first.next(a);
      if (!batch) break;
      deliver(*batch, b);
      REQUIRE(first.on_ack());
    }
    // The connection drops; a new one starts from what the receiver says it holds.
    sync::Outbound second(City().id(), limits(3, 2));
    second.on_heads(b.head_map());
    while (auto batch = second.next(a)) {
      auto d = deliver(*batch, b);
      CHECK(d.duplicates == 0);  // nothing the receiver held is sent again
      CHECK(d.rejected == 0);    // and nothing arrives out of chain order
      REQUIRE(second.on_ack());
    }
    CHECK(b.head_map() == a.head_map());
  }
}

TEST_CASE("engine: a batch lost in flight is resent on the next connection", "[engine]") {
  City lyon;
  MemoryStore a, b;
  for (int i = 0; i < 6; ++i) a.put(lyon.next("p" + std::to_string(i)));
  sync::Outbound out(City().id(), limits(2, 4));
  out.on_heads({});
  deliver(*out.next(a), b);
  out.next(a);  // sent, never stored (the connection died)
  sync::Outbound again(City().id(), limits(2, 4));
  again.on_heads(b.head_map());
  sync_all(again, a, b);
  CHECK(b.head_of(lyon.id()) == 6);
}

TEST_CASE("engine: bodies go only to entitled peers, others get stubs that keep the chain", "[engine]") {
  City lyon, malmo, turin;
  MemoryStore a;
  a.put(lyon.next("open"));
  a.put(lyon.next("shared", "partners"));
  a.put(lyon.next("closed", "private"));
  a.grant("shared", malmo.id());
  auto bodies_for = [&](const PublicKey& peer) {
    sync::Outbound out(peer, limits());
    out.on_heads({});
    auto b = out.next(a);
    auto batch = sync::decode_batch(b->frame());
    std::vector<bool> bodies;
    for (const auto& r : batch.value().records) bodies.push_back(r.body.has_value());
    return bodies;
  };
  CHECK(bodies_for(malmo.id()) == std::vector<bool>{true, true, false});
  CHECK(bodies_for(turin.id()) == std::vector<bool>{true, false, false});
  CHECK(bodies_for(lyon.id()) == std::vector<bool>{true, true, true});  // the origin itself
  // A stub still verifies and extends the chain at the receiver.
  MemoryStore t;
  sync::Outbound out(turin.id(), limits());
  out.on_heads({});
  auto d = deliver(*out.next(a), t);
  CHECK(d.to_store == 3);
  CHECK(t.head_of(lyon.id()) == 3);
  CHECK_FALSE(t.at(lyon.id(), 2)->record.body);
}

TEST_CASE("engine: bodies newly readable are re-sent, and a stub is filled", "[engine]") {
  City lyon, malmo;
  MemoryStore a, m;
  a.put(lyon.next("shared", "partners"));
  a.put(lyon.next("open"));
  sync::Outbound out(malmo.id(), limits());
  out.on_heads({});
  sync_all(out, a, m);
  REQUIRE(m.head_of(lyon.id()) == 2);
  REQUIRE_FALSE(m.at(lyon.id(), 1)->record.body);  // a stub: not entitled yet
  CHECK(out.queue_newly_readable(a) == 0);         // still not entitled: nothing to re-send
  CHECK_FALSE(out.next(a));

  a.grant("shared", malmo.id());
  CHECK(out.queue_newly_readable(a) == 1);  // only the restricted record, not the public one
  auto batch = out.next(a);
  REQUIRE(batch);
  CHECK(batch->count == 1);
  auto d = deliver(*batch, m);
  REQUIRE(out.on_ack());
  CHECK(d.fills == 1);
  CHECK(m.at(lyon.id(), 1)->record.body);
  // Sending the body again is a duplicate, not another fill.
  REQUIRE(out.queue_newly_readable(a) == 1);
  CHECK(deliver(*out.next(a), m).duplicates == 1);
}

TEST_CASE("engine: newly readable bodies wait for the window and keep the batch limits", "[engine]") {
  City lyon, malmo;
  MemoryStore a, m;
  for (int i = 0; i < 5; ++i) a.put(lyon.next("shared-" + std::to_string(i), "partners"));
  sync::Outbound out(malmo.id(), limits(2, 1));
  out.on_heads({});
  while (auto b = out.next(a)) {  // all five as stubs, one batch in flight at a time
    deliver(*b, m);
    REQUIRE(out.on_ack());
  }
  for (int i = 0; i < 5; ++i) a.grant("shared-" + std::to_string(i), malmo.id());
  a.put(lyon.next("open"));
  auto in_flight = out.next(a);  // the new public record fills the window of 1
  REQUIRE(in_flight);
  CHECK(out.queue_newly_readable(a) == 5);
  CHECK_FALSE(out.next(a));  // the window is full: the bodies wait
  REQUIRE(out.on_ack());
  std::vector<uint32_t> counts;
  while (auto b = out.next(a)) {
    counts.push_back(b->count);
    CHECK(deliver(*b, m).fills == b->count);
    REQUIRE(out.on_ack());
  }
  CHECK(counts == std::vector<uint32_t>{2, 2, 1});  // cut at the batch's record limit
}

TEST_CASE("engine: newly readable skips records the peer does not hold yet", "[engine]") {
  City lyon, malmo;
  MemoryStore a;
  a.put(lyon.next("shared", "partners"));
  a.grant("shared", malmo.id());
  sync::Outbound out(malmo.id(), limits());
  out.on_heads({});  // holds nothing of Lyon: the normal send will carry the body
  CHECK(out.queue_newly_readable(a) == 0);
}

TEST_CASE("engine: records the peer sent are never sent back to it", "[engine]") {
  City lyon, malmo;
  MemoryStore a, b;
  a.put(lyon.next("l1"));
  b.put(malmo.next("m1"));
  // Both connections exchange heads; then b publishes m2 and pushes m1 and m2 to a.
  sync::Outbound a_to_b(malmo.id(), limits());
  a_to_b.on_heads(b.head_map());
  sync::Outbound b_to_a(lyon.id(), limits());
  b_to_a.on_heads(a.head_map());
  b.put(malmo.next("m2"));
  auto d = deliver(*b_to_a.next(b), a);
  REQUIRE(d.to_store == 2);
  for (auto [origin, seq] : d.sender_holds) a_to_b.peer_holds(origin, seq);
  auto back = a_to_b.next(a);
  REQUIRE(back);
  for (auto [origin, seq] : order_of(*back)) CHECK(origin == lyon.id());  // only Lyon's: no echo of m2
}

TEST_CASE("engine: heads lower than what the peer has shown are stale and change nothing", "[engine]") {
  City lyon, malmo;
  MemoryStore a;
  a.put(lyon.next("l1"));
  a.put(malmo.next("m1"));
  a.put(malmo.next("m2"));
  sync::Outbound out(malmo.id(), limits());
  out.on_heads({});
  out.peer_holds(malmo.id(), 2);  // the peer sent m1 and m2 on this connection
  out.on_heads({});               // then repeated its first, older heads
  auto batch = out.next(a);
  REQUIRE(batch);
  for (auto [origin, seq] : order_of(*batch)) CHECK(origin == lyon.id());
}

TEST_CASE("engine: decisions for each relation to the chain", "[engine]") {
  City lyon;
  MemoryStore held;
  auto r1 = lyon.next("p1"), r2 = lyon.next("p2"), r3 = lyon.next("p3"), r4 = lyon.next("p4");
  held.put(r1);
  held.put(r2);
  auto decide = [&](std::vector<SignedRecord> records) {
    sync::RecordBatch batch{1, std::move(records)};
    auto [in, errors] = received(sync::encode(batch));
    return sync::decide_batch(in, errors, held);
  };
  SECTION("extends") {
    auto d = decide({r3, r4});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::store, Disposition::store});
    CHECK(d.to_store == 2);
  }
  SECTION("duplicate") {
    auto d = decide({r2});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::duplicate});
  }
  SECTION("the same record twice in one batch") {
    auto d = decide({r3, r3});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::store, Disposition::duplicate});
  }
  SECTION("gap") {
    auto d = decide({r4});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::reject});
    CHECK(d.first_error.find("gap after seq 2") != std::string::npos);
    CHECK(d.sender_holds[lyon.id()] == 4);  // a valid record: the sender holds it
  }
  SECTION("unlinked: right seq, wrong prev") {
    City forger = lyon;  // the same key, a seq 3 that links to nothing held
    forger.seq = 2;
    forger.last = Hash{};
    auto bad = forger.next("p3-elsewhere");
    REQUIRE(decode_header(bad.header_bytes).value().seq == 3);
    auto d = decide({bad});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::reject});
    CHECK(d.first_error.find("does not link") != std::string::npos);
  }
  SECTION("fork: a different record at a held seq") {
    City twin = lyon;
    twin.seq = 1;
    twin.last = record_hash(r1.header_bytes);
    auto other2 = twin.next("p2-other");
    auto d = decide({other2});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::fork});
    CHECK(d.forks == 1);
  }
  SECTION("fork inside the batch: a second record at a seq the batch just stored") {
    City twin = lyon;
    twin.seq = 2;
    twin.last = record_hash(r2.header_bytes);
    auto other3 = twin.next("p3-other");
    auto d = decide({r3, other3});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::store, Disposition::fork});
  }
  SECTION("a forged signature is rejected and says nothing of what the sender holds") {
    auto forged = r3;
    forged.signature[0] ^= 1;
    auto d = decide({forged});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::reject});
    CHECK(d.sender_holds.empty());
  }
  SECTION("a rejected record stops its origin's chain, not others'") {
    City malmo;
    auto m1 = malmo.next("m1");
    auto d = decide({r4, m1, r3});
    CHECK(d.dispositions == std::vector<Disposition>{Disposition::reject, Disposition::store, Disposition::store});
  }
}

TEST_CASE("engine: a stub and a body of the same record", "[engine]") {
  City lyon;
  MemoryStore held;
  auto r1 = lyon.next("p1", "partners");
  SignedRecord stub = r1;
  stub.body.reset();
  held.put(stub);
  auto decide = [&](SignedRecord r) {
    auto [in, errors] = received(sync::encode(sync::RecordBatch{1, {r}}));
    return sync::decide_batch(in, errors, held);
  };
  CHECK(decide(r1).dispositions == std::vector<Disposition>{Disposition::fill});
  CHECK(decide(stub).dispositions == std::vector<Disposition>{Disposition::duplicate});
}

TEST_CASE("engine: three nodes in a line converge and the same sync twice changes nothing", "[engine]") {
  City lyon, malmo, hague;
  MemoryStore a, b, c;
  for (int i = 0; i < 20; ++i) a.put(lyon.next("l" + std::to_string(i)));
  for (int i = 0; i < 9; ++i) c.put(hague.next("h" + std::to_string(i)));
  b.put(malmo.next("m0"));
  auto link = [](MemoryStore& from, MemoryStore& to) {
    sync::Outbound out(City().id(), limits(4, 2));
    out.on_heads(to.head_map());
    return sync_all(out, from, to);
  };
  link(a, b), link(c, b), link(b, a), link(b, c);
  CHECK(a.head_map() == b.head_map());
  CHECK(c.head_map() == b.head_map());
  CHECK(link(a, c) == 0);  // nothing left to send
}

TEST_CASE("engine: a stub arriving where the body is held is a duplicate", "[engine]") {
  City lyon;
  MemoryStore held;
  auto r1 = lyon.next("p1", "partners");
  held.put(r1);  // with its body
  SignedRecord stub = r1;
  stub.body.reset();
  auto [in, errors] = received(sync::encode(sync::RecordBatch{1, {stub}}));
  auto d = sync::decide_batch(in, errors, held);
  CHECK(d.dispositions == std::vector<Disposition>{Disposition::duplicate});
  CHECK(held.at(lyon.id(), 1)->record.body);  // the body stays
}

TEST_CASE("engine: a fork does not move the chain: what links to it is refused", "[engine]") {
  City lyon;
  MemoryStore held;
  auto r1 = lyon.next("p1");
  held.put(r1);
  City twin = lyon;  // the same key signs a second history from seq 1
  twin.seq = 0;
  twin.last = Hash{};
  auto other1 = twin.next("p1-other");
  auto other2 = twin.next("p2-on-the-fork");
  auto [in, errors] = received(sync::encode(sync::RecordBatch{1, {other1, other2}}));
  auto d = sync::decide_batch(in, errors, held);
  CHECK(d.dispositions == std::vector<Disposition>{Disposition::fork, Disposition::reject});
  CHECK(d.first_error.find("does not link") != std::string::npos);
  CHECK(d.to_store == 0);
}

TEST_CASE("engine: the same batch delivered twice is stored once", "[engine]") {
  City lyon;
  MemoryStore a, b;
  for (int i = 0; i < 6; ++i) a.put(lyon.next("p" + std::to_string(i)));
  sync::Outbound out(City().id(), limits());
  out.on_heads({});
  auto batch = out.next(a);
  REQUIRE(batch);
  CHECK(deliver(*batch, b).to_store == 6);
  auto again = deliver(*batch, b);  // a retransmission after a lost ack
  CHECK(again.to_store == 0);
  CHECK(again.duplicates == 6);
  CHECK(again.rejected == 0);
  CHECK(b.head_of(lyon.id()) == 6);
}

TEST_CASE("engine: origins the peer holds and this node does not are left alone", "[engine]") {
  City lyon, elsewhere;
  MemoryStore a;
  a.put(lyon.next("p"));
  sync::Outbound out(City().id(), limits());
  out.on_heads({{elsewhere.id(), 40}});
  auto b = out.next(a);
  REQUIRE(b);
  CHECK(order_of(*b) == std::vector<std::pair<PublicKey, uint64_t>>{{lyon.id(), 1}});
  CHECK(out.peer_has().at(elsewhere.id()) == 40);
}

TEST_CASE("engine: public records always carry their body, to any peer", "[engine]") {
  City lyon, stranger;
  MemoryStore a;
  for (int i = 0; i < 3; ++i) a.put(lyon.next("open-" + std::to_string(i)));
  sync::Outbound out(stranger.id(), limits());
  out.on_heads({});
  auto batch = sync::decode_batch(out.next(a)->frame());
  for (const auto& r : batch.value().records) CHECK(r.body.has_value());
}

TEST_CASE("engine: newly readable sends only the latest version of a record", "[engine]") {
  City lyon, malmo;
  MemoryStore a, m;
  a.put(lyon.next("plan", "partners", 1));
  a.put(lyon.next("plan", "partners", 2));
  sync::Outbound out(malmo.id(), limits());
  out.on_heads({});
  sync_all(out, a, m);
  a.grant("plan", malmo.id());
  REQUIRE(out.queue_newly_readable(a) == 1);
  auto b = out.next(a);
  REQUIRE(b);
  CHECK(order_of(*b) == std::vector<std::pair<PublicKey, uint64_t>>{{lyon.id(), 2}});
}

TEST_CASE("engine: what the sender holds is the highest valid seq of each origin it sent", "[engine]") {
  City lyon, malmo;
  MemoryStore held;
  auto l1 = lyon.next("l1"), l2 = lyon.next("l2");
  auto m1 = malmo.next("m1");
  auto forged = malmo.next("m2");
  forged.signature[5] ^= 1;
  auto [in, errors] = received(sync::encode(sync::RecordBatch{1, {l2, l1, m1, forged}}));
  auto d = sync::decide_batch(in, errors, held);
  CHECK(d.sender_holds[lyon.id()] == 2);   // l2 came first (a gap) but the sender holds it
  CHECK(d.sender_holds[malmo.id()] == 1);  // the forged seq 2 says nothing
  CHECK(d.dispositions ==
        std::vector<Disposition>{Disposition::reject, Disposition::store, Disposition::store, Disposition::reject});
}

TEST_CASE("engine: an empty store sends nothing, an empty batch decides nothing", "[engine]") {
  MemoryStore empty;
  sync::Outbound out(City().id(), limits());
  out.on_heads({});
  CHECK_FALSE(out.next(empty));
  CHECK(out.unacked() == 0);
  auto d = sync::decide_batch({}, {}, empty);
  CHECK(d.dispositions.empty());
  CHECK(d.sender_holds.empty());
}

TEST_CASE("engine: a peer's allowance of new origins skips the excess, without blame, for good on the connection",
          "[engine]") {
  City a, b, c, listed;
  MemoryStore held;
  auto a1 = a.next("a1"), a2 = a.next("a2"), b1 = b.next("b1"), c1 = c.next("c1"), l1 = listed.next("l1");
  sync::IngestPolicy policy;
  policy.new_origins_left = 1;
  policy.exempt.insert(listed.id());
  auto decide = [&](std::vector<SignedRecord> records) {
    auto [in, errors] = received(sync::encode(sync::RecordBatch{1, std::move(records)}));
    std::vector<uint8_t> newer(in.size(), 0);
    auto d = sync::decide_batch(in, errors, newer, held, policy);
    held.apply(d, in);
    return d;
  };
  auto d = decide({a1, b1, c1, l1});
  CHECK(d.dispositions ==
        std::vector<Disposition>{Disposition::store, Disposition::skip, Disposition::skip, Disposition::store});
  CHECK(d.new_origins == 1);  // the listed peer's own origin does not count
  CHECK(d.rejected == 0);
  CHECK(*policy.new_origins_left == 0);
  // A known origin goes on; a skipped one stays skipped on this connection.
  auto d2 = decide({a2, b1});
  CHECK(d2.dispositions == std::vector<Disposition>{Disposition::store, Disposition::skip});
  CHECK(d2.skipped == 1);
}

TEST_CASE("engine: a record in a newer envelope is skipped with the rest of its origin, not rejected", "[engine]") {
  City a;
  MemoryStore held;
  auto a1 = a.next("a1"), a2 = a.next("a2"), a3 = a.next("a3");
  sync::IngestPolicy policy;
  auto [in, errors] = received(sync::encode(sync::RecordBatch{1, {a1, a2, a3}}));
  std::vector<uint8_t> newer = {0, 1, 0};  // a2 as a newer envelope
  auto d = sync::decide_batch(in, errors, newer, held, policy);
  CHECK(d.dispositions == std::vector<Disposition>{Disposition::store, Disposition::skip, Disposition::skip});
  CHECK(d.rejected == 0);
  CHECK(policy.blocked.at(a.id()) == 2);
}

TEST_CASE("engine: the window follows the link, a round trip's worth of batches plus two", "[engine]") {
  City lyon;
  MemoryStore a;
  for (int i = 0; i < 200; ++i) a.put(lyon.next("p" + std::to_string(i)));
  using namespace std::chrono_literals;
  auto t0 = sync::Clock::now();
  auto fill = [&](sync::Outbound& out, sync::Clock::time_point at) {
    size_t sent = 0;
    while (out.next(a, at)) ++sent;
    return sent;
  };
  SECTION("a long link: 400 ms round trip, the peer acks a batch every 50 ms") {
    sync::Outbound out(City().id(), limits(1, 16));
    out.on_heads({});
    CHECK(fill(out, t0) == 8);  // the initial window, until acks measure the link
    for (int i = 0; i < 8; ++i) REQUIRE(out.on_ack(std::nullopt, t0 + 400ms + i * 50ms));
    CHECK(out.round_trip() == std::chrono::microseconds(400000));
    CHECK(out.ack_interval() == std::chrono::microseconds(50000));
    CHECK(out.window() == 10);  // 400 / 50 + 2
    CHECK(fill(out, t0 + 800ms) == 10);
  }
  SECTION("loopback: a 2 ms round trip at 1 ms per batch needs few batches in flight") {
    sync::Outbound out(City().id(), limits(1, 16));
    out.on_heads({});
    CHECK(fill(out, t0) == 8);
    for (int i = 0; i < 8; ++i) REQUIRE(out.on_ack(std::nullopt, t0 + 2ms + i * 1ms));
    CHECK(out.window() == 4);
  }
  SECTION("never past the configured most, nor the protocol's 16") {
    sync::Outbound out(City().id(), limits(1, 12));
    out.on_heads({});
    fill(out, t0);
    for (int i = 0; i < 8; ++i) REQUIRE(out.on_ack(std::nullopt, t0 + 2s + i * 10ms));
    CHECK(out.window() == 12);
  }
}
