// The race between a thief holding a city's root key and the city's recovery key, as a
// receiving node decides it (docs/identity.md, "The race"): a record signed by the recovery
// key the genesis record commits to wins its seq over any other; between two, the lower
// hash; the branch it replaces is set aside; the thief's later records are refused.
#include <catch2/catch.hpp>

#include "keyed_chain.hpp"
#include "protocol/authority.hpp"
#include "sync_engine/decide.hpp"
#include "sync_engine/memory_store.hpp"

using namespace agora;
using agora::test::decide_and_store;
using agora::test::KeyedChain;
using agora::test::MemoryStore;
using agora::test::outcome_of;
using agora::test::refusal_of;
using sync::Disposition;

namespace {

// The key record, signed by the recovery key, that grants `root` the root role.
SignedRecord recovery_record(KeyedChain& chain, const SigningKey& recovery, const SigningKey& root) {
  return chain.delegate(root, KeyRole::root, &recovery, 1, false, "", "recovered root");
}

}  // namespace

TEST_CASE("recovery: the recovery key's record wins its seq over a thief's branch", "[engine][identity][hostile]") {
  KeyedChain honest;
  SigningKey recovery = SigningKey::generate(), new_root = SigningKey::generate();
  MemoryStore node;
  REQUIRE(outcome_of(node, honest.genesis(&recovery)) == Disposition::store);
  REQUIRE(outcome_of(node, honest.practice("before")) == Disposition::store);

  // The thief holds the genesis key and extends the chain first: seq 3 to 5 on this node.
  KeyedChain thief = honest;
  std::vector<SignedRecord> branch;
  for (int i = 0; i < 3; ++i) {
    branch.push_back(thief.practice("thief-" + std::to_string(i)));
    REQUIRE(outcome_of(node, branch.back()) == Disposition::store);
  }
  // It even rotates the root to a key of its own.
  SigningKey thief_root = SigningKey::generate();
  REQUIRE(outcome_of(node, thief.delegate(thief_root, KeyRole::root)) == Disposition::store);

  // The city recovers from seq 2, the last record it trusts.
  SignedRecord r = recovery_record(honest, recovery, new_root);
  auto d = decide_and_store(node, {r});
  REQUIRE(d.dispositions.at(0) == Disposition::recover);
  CHECK(node.tip(honest.root.public_key()).seq == 3);
  CHECK(node.set_aside_.size() == 4);

  // The new root signs on; the genesis key, the thief's root and the thief's branch do not.
  CHECK(outcome_of(node, honest.practice("after", &new_root)) == Disposition::store);
  KeyedChain late_thief = honest;
  late_thief.seq = honest.seq;
  CHECK_THAT(refusal_of(node, late_thief.practice("thief-late")), Catch::Contains("genesis key was retired"));
  CHECK_THAT(refusal_of(node, honest.practice("by-thief-root", &thief_root)), Catch::Contains("not delegated"));
  // A record of the replaced branch (relayed by a peer that has not learned of the
  // recovery) is refused without blame.
  CHECK(outcome_of(node, thief.practice("thief-relayed")) == Disposition::skip);
  // So is one at a seq the recovered chain holds again (seq 4: not a fork).
  CHECK(outcome_of(node, branch.at(1)) == Disposition::skip);
  // But a second record on the recovered chain itself (linking to what is held) is a fork.
  KeyedChain twin = honest;
  const uint64_t tip = node.tip(honest.root.public_key()).seq;
  twin.seq = tip - 1;
  twin.last = record_hash(node.held(honest.root.public_key(), tip - 1)->header_bytes);
  CHECK(outcome_of(node, twin.practice("other", &new_root)) == Disposition::fork);
}

TEST_CASE("recovery: a thief without the recovery key cannot win, nor change the commitment",
          "[engine][identity][hostile]") {
  KeyedChain city;
  SigningKey recovery = SigningKey::generate(), fake = SigningKey::generate();
  MemoryStore node;
  REQUIRE(outcome_of(node, city.genesis(&recovery)) == Disposition::store);
  // A later profile naming another recovery key changes nothing: the first commitment holds.
  REQUIRE(outcome_of(node, city.sign(Kind::city, "profile",
                                     R"({"kind":"city","name":"T","country":"NL","recovery":")" +
                                         to_hex(recovery_commitment(fake.public_key())) + "\"}",
                                     nullptr, 2)) == Disposition::store);
  KeyedChain copy = city;
  CHECK_THAT(refusal_of(node, recovery_record(copy, fake, SigningKey::generate())), Catch::Contains("not delegated"));
  // The recovery key only grants a new root.
  copy = city;
  CHECK_THAT(refusal_of(node, copy.practice("by-recovery", &recovery)),
             Catch::Contains("recovery key, which may not sign"));
  copy = city;
  CHECK_THAT(refusal_of(node, copy.delegate(SigningKey::generate(), KeyRole::publisher, &recovery)),
             Catch::Contains("only grants a new root"));
  // A thief with the root key cannot revoke (or re-delegate) the recovery key.
  copy = city;
  CHECK_THAT(refusal_of(node, copy.delegate(recovery, KeyRole::publisher, nullptr, 1, true)),
             Catch::Contains("cannot name the city's recovery key"));
  // No key record grants the recovery role itself, and the genesis key is only retired.
  copy = city;
  KeyGrant g;
  g.key = city.root.public_key();
  g.name = "genesis";
  g.role = KeyRole::root;
  CHECK_THAT(refusal_of(node, copy.sign(Kind::key, key_record_id(g.key), key_grant_body(g))),
             Catch::Contains("genesis key can only be retired"));
}

TEST_CASE("recovery: between two recovery records at one seq the lower hash wins, in any order", "[engine][identity]") {
  KeyedChain city;
  SigningKey recovery = SigningKey::generate();
  MemoryStore a, b;
  std::vector<SignedRecord> base = {city.genesis(&recovery), city.practice("p")};
  decide_and_store(a, base);
  decide_and_store(b, base);
  KeyedChain one = city, two = city;
  SignedRecord r1 = recovery_record(one, recovery, SigningKey::generate());
  SignedRecord r2 = recovery_record(two, recovery, SigningKey::generate());
  decide_and_store(a, {r1});
  decide_and_store(a, {r2});
  decide_and_store(b, {r2});
  decide_and_store(b, {r1});
  const SignedRecord& lower = record_hash(r1.header_bytes) < record_hash(r2.header_bytes) ? r1 : r2;
  CHECK(a.record(city.root.public_key(), 3)->header_bytes == lower.header_bytes);
  CHECK(b.record(city.root.public_key(), 3)->header_bytes == lower.header_bytes);
}

TEST_CASE("recovery: on a branch this node does not hold, a recovery waits without blame", "[engine][identity]") {
  KeyedChain city;
  SigningKey recovery = SigningKey::generate();
  MemoryStore node;
  decide_and_store(node, {city.genesis(&recovery)});
  KeyedChain thief = city;
  REQUIRE(outcome_of(node, thief.practice("thief")) == Disposition::store);  // seq 2: the thief's
  city.practice("honest");                                                   // seq 2 elsewhere
  SignedRecord r = recovery_record(city, recovery, SigningKey::generate());  // seq 3 after the honest 2
  CHECK(outcome_of(node, r) == Disposition::skip);
  CHECK(node.tip(city.root.public_key()).seq == 2);
  // A recovery ahead of the chain held waits too.
  MemoryStore behind;
  decide_and_store(behind, {node.record(city.root.public_key(), 1).value()});
  CHECK(outcome_of(behind, r) == Disposition::skip);
}

TEST_CASE("rotate-root: the new root retires the genesis key, and a later root is replaced the same way",
          "[engine][identity]") {
  KeyedChain city;
  SigningKey root2 = SigningKey::generate(), root3 = SigningKey::generate(), admin = SigningKey::generate();
  MemoryStore node;
  decide_and_store(node, {city.genesis()});
  REQUIRE(outcome_of(node, city.delegate(root2, KeyRole::root)) == Disposition::store);
  KeyGrant retire;
  retire.key = city.root.public_key();
  retire.name = "genesis key";
  retire.role = KeyRole::root;
  retire.revoked = true;
  REQUIRE(outcome_of(node, city.sign(Kind::key, key_record_id(retire.key), key_grant_body(retire), &root2)) ==
          Disposition::store);
  KeyedChain copy = city;
  CHECK_THAT(refusal_of(node, copy.practice("by-genesis")), Catch::Contains("genesis key was retired"));
  // The new root has the root's powers: admin and root grants.
  REQUIRE(outcome_of(node, city.delegate(admin, KeyRole::admin, &root2)) == Disposition::store);
  copy = city;
  CHECK_THAT(refusal_of(node, copy.delegate(SigningKey::generate(), KeyRole::root, &admin)),
             Catch::Contains("only a root key"));
  REQUIRE(outcome_of(node, city.delegate(root3, KeyRole::root, &root2)) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(root2, KeyRole::root, &root3, 2, true)) == Disposition::store);
  copy = city;
  CHECK_THAT(refusal_of(node, copy.practice("by-root2", &root2)), Catch::Contains("was retired"));
  CHECK(outcome_of(node, city.practice("by-root3", &root3)) == Disposition::store);
}

TEST_CASE("node-key proofs: a path of root grants is read in order, so a loop of grants proves nothing",
          "[engine][identity][hostile]") {
  KeyedChain city;
  SigningKey recovery = SigningKey::generate(), a = SigningKey::generate(), b = SigningKey::generate();
  SigningKey node_key = SigningKey::generate();
  SignedRecord genesis = city.genesis(&recovery);
  auto none = [](const PublicKey&) { return std::optional<KeyGrant>(); };
  const PublicKey origin = city.root.public_key();
  // A grants B root and B grants A root: neither is signed by a root key the proof shows first.
  KeyedChain loop = city;
  SignedRecord a_grants_b = loop.delegate(b, KeyRole::root, &a);
  SignedRecord b_grants_a = loop.delegate(a, KeyRole::root, &b);
  SignedRecord by_a = loop.delegate(node_key, KeyRole::node, &a);
  std::vector<SignedRecord> path = {a_grants_b, b_grants_a};
  CHECK_THAT(node_key_problem(origin, node_key.public_key(), by_a, path, none, {}, 1700000000000).value_or(""),
             Catch::Contains("is not signed by a root key of that city"));
  // The honest chain of proof: the genesis record, the recovery record, the delegation.
  KeyedChain honest = city;
  SignedRecord recovered = honest.delegate(a, KeyRole::root, &recovery);
  SignedRecord delegation = honest.delegate(node_key, KeyRole::node, &a);
  std::vector<SignedRecord> proof = {genesis, recovered};
  CHECK_FALSE(node_key_problem(origin, node_key.public_key(), delegation, proof, none, {}, 1700000000000));
  // Without the genesis record the recovery key is no one's.
  std::vector<SignedRecord> short_proof = {recovered};
  CHECK(node_key_problem(origin, node_key.public_key(), delegation, short_proof, none, {}, 1700000000000));
  // A root key the receiver holds retired proves nothing, whatever the path says.
  auto retired = [&](const PublicKey& k) {
    std::optional<KeyGrant> g;
    if (k == a.public_key()) {
      g = KeyGrant{};
      g->key = k;
      g->role = KeyRole::root;
      g->revoked = true;
    }
    return g;
  };
  CHECK(node_key_problem(origin, node_key.public_key(), delegation, proof, retired, {}, 1700000000000));
}

TEST_CASE("recovery: a thief who revoked the new root in advance, or relays its keys after it, changes nothing",
          "[engine][identity][hostile]") {
  KeyedChain honest;
  SigningKey recovery = SigningKey::generate(), new_root = SigningKey::generate(), thief_key = SigningKey::generate();
  MemoryStore node;
  REQUIRE(outcome_of(node, honest.genesis(&recovery)) == Disposition::store);
  REQUIRE(outcome_of(node, honest.practice("before")) == Disposition::store);
  KeyedChain thief = honest;
  // On its branch the thief revokes the root key the recovery grants (it saw it spread)
  // and delegates a key of its own.
  REQUIRE(outcome_of(node, thief.delegate(new_root, KeyRole::root, nullptr, 1, true)) == Disposition::store);
  REQUIRE(outcome_of(node, thief.delegate(thief_key, KeyRole::publisher)) == Disposition::store);
  SignedRecord r = recovery_record(honest, recovery, new_root);
  // The same batch carries, after the recovery, a record by the thief's key at the next seq.
  KeyedChain after = honest;
  SignedRecord by_thief_key = after.practice("by-thief-key", &thief_key);
  auto d = decide_and_store(node, {r, by_thief_key});
  CHECK(d.dispositions.at(0) == Disposition::recover);
  CHECK(d.dispositions.at(1) == Disposition::skip);  // judged on the next connection
  CHECK_THAT(refusal_of(node, by_thief_key), Catch::Contains("not delegated"));
  CHECK(outcome_of(node, honest.practice("after", &new_root)) == Disposition::store);
}
