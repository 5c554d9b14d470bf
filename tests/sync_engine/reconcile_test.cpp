// Heads by set reconciliation (protocol 2) between two in-memory sides: each learns exactly
// what the other holds of its origins, at a cost that follows the differences, not the size.
#include <catch2/catch.hpp>

#include <random>

#include "node/sync/reconcile.hpp"
#include "protocol/hex.hpp"
#include "protocol/sync_messages.hpp"

using namespace agora;
using sync::RangeEntry;
using sync::Reconciler;

namespace {

using Heads = std::map<PublicKey, uint64_t>;

PublicKey random_key(std::mt19937_64& rng) {
  PublicKey k;
  for (auto& b : k) b = static_cast<uint8_t>(rng());
  return k;
}

Heads random_heads(std::mt19937_64& rng, size_t n) {
  Heads h;
  while (h.size() < n) h[random_key(rng)] = 1 + rng() % 50;
  return h;
}

struct Exchange {
  size_t bytes = 0, messages = 0, turns = 0;
  Heads client_learned, server_learned;
};

// Runs a whole exchange through the wire encoding, as two nodes would.
Exchange reconcile(const Heads& client, const Heads& server) {
  Hash salt = sync::reconcile_salt(std::string(64, 'a'), std::string(64, 'b'));
  Reconciler c(client, salt), s(server, salt);
  Exchange x;
  std::vector<RangeEntry> turn = c.open();
  bool to_server = true;
  for (int guard = 0; guard < 200; ++guard) {
    // Over the wire and back: what arrives is what decodes.
    std::vector<RangeEntry> arrived;
    for (const std::string& m : sync::encode_turn(turn)) {
      x.bytes += m.size(), ++x.messages;
      auto decoded = sync::decode_control(m);
      REQUIRE(decoded);
      auto& r = std::get<sync::Reconcile>(decoded.value());
      arrived.insert(arrived.end(), r.ranges.begin(), r.ranges.end());
    }
    ++x.turns;
    Reconciler& receiver = to_server ? s : c;
    auto reply = receiver.on_turn(arrived);
    REQUIRE(reply);
    if (!reply.value()) break;  // the exchange is over
    turn = *reply.value();
    to_server = !to_server;
  }
  REQUIRE(c.done());
  REQUIRE(s.done());
  x.client_learned = c.peer_heads();
  x.server_learned = s.peer_heads();
  return x;
}

// What a side must know: the peer's head for every origin it holds itself (0 or absent when
// the peer holds none).
void check_knows(const Heads& mine, const Heads& learned, const Heads& peer) {
  for (const auto& [origin, seq] : mine) {
    auto truth = peer.find(origin);
    auto got = learned.find(origin);
    uint64_t expected = truth == peer.end() ? 0 : truth->second;
    uint64_t known = got == learned.end() ? 0 : got->second;
    REQUIRE(known == expected);
  }
}

void check(const Heads& client, const Heads& server, const Exchange& x) {
  check_knows(client, x.client_learned, server);
  check_knows(server, x.server_learned, client);
}

}  // namespace

TEST_CASE("reconcile: equal sets settle in one round trip of one range", "[engine][reconcile]") {
  std::mt19937_64 rng(1);
  Heads h = random_heads(rng, 10000);
  Exchange x = reconcile(h, h);
  check(h, h, x);
  CHECK(x.turns == 2);
  CHECK(x.bytes < 400);
}

TEST_CASE("reconcile: empty sides, one side empty, tiny sets", "[engine][reconcile]") {
  std::mt19937_64 rng(2);
  Heads none, few = random_heads(rng, 3), many = random_heads(rng, 5000);
  for (auto [a, b] : {std::pair{&none, &none},
                      {&none, &many},
                      {&many, &none},
                      {&few, &many},
                      {&many, &few},
                      {&few, &none},
                      {&none, &few}}) {
    Exchange x = reconcile(*a, *b);
    check(*a, *b, x);
    CHECK(x.bytes < 20000);  // never a list of every origin
  }
}

TEST_CASE("reconcile: random differences of every kind are all found", "[engine][reconcile]") {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 30; ++round) {
    Heads a = random_heads(rng, 1 + rng() % 3000), b = a;
    size_t changes = rng() % 60;
    for (size_t i = 0; i < changes; ++i) {
      switch (rng() % 4) {
        case 0:  // b is ahead on an origin
          if (!b.empty()) std::next(b.begin(), long(rng() % b.size()))->second += 1 + rng() % 5;
          break;
        case 1:  // a is ahead
          if (!a.empty()) std::next(a.begin(), long(rng() % a.size()))->second += 1 + rng() % 5;
          break;
        case 2:  // an origin only b holds
          b[random_key(rng)] = 1 + rng() % 9;
          break;
        case 3:  // an origin only a holds
          a[random_key(rng)] = 1 + rng() % 9;
          break;
      }
    }
    Exchange x = reconcile(a, b);
    check(a, b, x);
  }
}

TEST_CASE("reconcile: origins ground to share a long prefix still reconcile", "[engine][reconcile]") {
  // Free keys let a peer pick origins that all start alike: ranges then split deeper.
  std::mt19937_64 rng(4);
  Heads a, b;
  for (int i = 0; i < 2000; ++i) {
    PublicKey k = random_key(rng);
    for (int j = 0; j < 12; ++j) k[j] = 0xab;
    a[k] = 1;
    if (i % 7) b[k] = 1 + (i % 3 == 0);
  }
  Exchange x = reconcile(a, b);
  check(a, b, x);
}

TEST_CASE("reconcile: 10 changed origins out of 10,000 cost under a kilobyte each", "[engine][reconcile]") {
  std::mt19937_64 rng(5);
  Heads a = random_heads(rng, 10000), b = a;
  Exchange same = reconcile(a, b);
  for (int i = 0; i < 10; ++i) std::next(b.begin(), long(rng() % b.size()))->second += 1;
  Exchange x = reconcile(a, b);
  check(a, b, x);
  double per_change = double(x.bytes - same.bytes) / 10;
  UNSCOPED_INFO("constant " << same.bytes << " B, 10 changes " << x.bytes << " B in " << x.turns << " turns");
  CHECK(per_change < 1024);
  // Listing every origin instead (protocol 1's heads) costs about 80 bytes per origin.
  size_t full = 0;
  for (const auto& m : sync::encode_heads(a)) full += m.size();
  CHECK(x.bytes * 50 < full);
}

TEST_CASE("reconcile: 100,000 origins against an empty peer and against itself", "[engine][reconcile]") {
  std::mt19937_64 rng(6);
  Heads big = random_heads(rng, 100000), none;
  Exchange to_empty = reconcile(none, big);
  check(none, big, to_empty);
  CHECK(to_empty.bytes < 10000);
  Exchange from_empty = reconcile(big, none);
  check(big, none, from_empty);
  CHECK(from_empty.bytes < 10000);
  for (const auto& m : sync::encode_turn(Reconciler(big, Hash{}).open())) CHECK(m.size() <= sync::kMaxControlBytes);
}

TEST_CASE("reconcile: ranges the node did not ask about are refused", "[engine][reconcile]") {
  std::mt19937_64 rng(7);
  Heads a = random_heads(rng, 100);
  Hash salt{};
  SECTION("a first turn must be the one range of everything") {
    Reconciler s(a, salt);
    RangeEntry e;
    e.prefix = "3";
    e.type = RangeEntry::Type::heads;
    CHECK_FALSE(s.on_turn({e}));
  }
  SECTION("an answer for an origin never listed") {
    Reconciler c(Heads{}, salt);  // lists its (empty) everything
    auto open = c.open();
    REQUIRE(open.size() == 1);
    RangeEntry answer;
    answer.type = RangeEntry::Type::answer;
    answer.heads[a.begin()->first] = 3;
    CHECK_FALSE(c.on_turn({answer}));
  }
  SECTION("a sub-range of a range that was not split, or the same range twice") {
    Reconciler c(a, salt);
    auto open = c.open();
    REQUIRE(open[0].type == RangeEntry::Type::fingerprints);
    RangeEntry deep;
    deep.prefix = "ab";
    deep.type = RangeEntry::Type::heads;
    CHECK_FALSE(c.on_turn({deep}));
    Reconciler c2(a, salt);
    (void)c2.open();
    RangeEntry one;
    one.prefix = "a";
    one.type = RangeEntry::Type::heads;
    CHECK_FALSE(c2.on_turn({one, one}));
  }
}

TEST_CASE("reconcile: the fingerprint test vector of docs/protocol.md", "[engine][reconcile]") {
  Hash k = sync::reconcile_salt(std::string(64, '1'), std::string(64, '2'));
  CHECK(to_hex(k) == "5a80a775d9ab2cbc50116fe6c2d7b86a91eb1ccfa66eb4963f1e42b639df9e23");
  Heads items;
  auto id = [](const std::string& hex) { return *parse_node_id(hex); };
  std::string o1, o3;
  for (int i = 0; i < 32; ++i) o1 += "a1", o3 += "5f";
  items[id(o1)] = 5;
  items[id("a2" + std::string(62, '0'))] = 1;
  items[id(o3)] = 9;
  // A peer whose fingerprints of the 16 sub-ranges of "" are these holds exactly the same
  // heads: the answer is empty. (Sub-range "5" holds 5f…, "a" holds a1… and a2….)
  RangeEntry fp;
  fp.prefix = "";
  fp.type = RangeEntry::Type::fingerprints;
  for (int d = 0; d < 16; ++d) fp.fingerprints[d] = 0;
  fp.fingerprints[5] = 0x29cce7603b820452ULL;
  fp.fingerprints[10] = 0xbdd671fdadc0fd8bULL;
  Reconciler same(items, k);
  auto none = same.on_turn({fp});  // a peer with these exact fingerprints: nothing differs
  REQUIRE(none);
  REQUIRE(none.value());
  CHECK(none.value()->empty());
  std::string wire = sync::encode(sync::Reconcile{{fp}, false});
  CHECK(wire.find(std::string(5 * 16, '0') + "29cce7603b820452") != std::string::npos);
}
