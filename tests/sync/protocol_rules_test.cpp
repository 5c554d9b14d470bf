// Protocol rules that a peer depends on, tried against a real node: what is never sent back,
// records newer than the node understands, and many origins (docs/protocol.md).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "protocol/sync_messages.hpp"
#include "sync/served_node.hpp"
#include "sync/test_peer.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

TEST_CASE("records a peer pushes never come back to it, while the node publishes at the same time", "[sync][echo]") {
  ServedNode a("Lyon", "FR");
  SigningKey key = listed_key(a);
  a.serve();
  TestPeer p;
  connect_as(p, a, key);
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
