// Delegated keys as a receiving node checks them (docs/identity.md): each record's signer
// must hold, at the record's place in its origin's chain, a delegation whose role allows it.
#include <catch2/catch.hpp>

#include "protocol/authority.hpp"
#include "protocol/erasure.hpp"
#include "protocol/hex.hpp"
#include "keyed_chain.hpp"
#include "sync_engine/decide.hpp"
#include "sync_engine/memory_store.hpp"

using namespace agora;
using agora::test::KeyedChain;
using agora::test::MemoryStore;
using agora::test::outcome_of;
using agora::test::refusal_of;
using sync::Disposition;

TEST_CASE("authority: a delegated key signs what its role allows, nothing else", "[engine][identity]") {
  KeyedChain city;
  MemoryStore node;
  SigningKey publisher = SigningKey::generate(), reporter = SigningKey::generate();
  REQUIRE(outcome_of(node, city.practice("root-signed")) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(publisher, KeyRole::publisher)) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(reporter, KeyRole::reporter)) == Disposition::store);
  CHECK(outcome_of(node, city.practice("by-publisher", &publisher)) == Disposition::store);
  CHECK(outcome_of(node, city.sign(Kind::report, "r1", R"({})", &reporter)) == Disposition::store);

  KeyedChain copy = city;  // what a reporter may not sign does not enter the chain
  CHECK_THAT(refusal_of(node, copy.practice("by-reporter", &reporter)),
             Catch::Contains("is a reporter key, which may not sign a practice"));
  copy = city;
  CHECK_THAT(refusal_of(node, copy.sign(Kind::city, "profile", R"({"name":"X","country":"FR"})", &publisher)),
             Catch::Contains("may not sign a city"));
  copy = city;
  CHECK_THAT(refusal_of(node, copy.delegate(SigningKey::generate(), KeyRole::reporter, &publisher)),
             Catch::Contains("may not sign a key"));
  CHECK(node.head_of(city.root.public_key()) == city.seq);
}

TEST_CASE("authority: a key the chain never delegated is refused, as is one delegated by another city",
          "[engine][identity]") {
  KeyedChain lyon, malmo;
  MemoryStore node;
  SigningKey stranger = SigningKey::generate();
  REQUIRE(outcome_of(node, malmo.delegate(stranger, KeyRole::admin)) == Disposition::store);
  REQUIRE(outcome_of(node, lyon.practice("first")) == Disposition::store);
  KeyedChain forged = lyon;
  CHECK_THAT(refusal_of(node, forged.practice("forged", &stranger)), Catch::Contains("has not delegated that key"));
  forged = lyon;  // a forged delegation: the stranger delegates itself
  CHECK_THAT(refusal_of(node, forged.delegate(stranger, KeyRole::admin, &stranger)),
             Catch::Contains("has not delegated that key"));
  CHECK(node.head_of(lyon.root.public_key()) == 1);
}

TEST_CASE("authority: a revoked key is refused from its revocation on, and stays revoked", "[engine][identity]") {
  KeyedChain city;
  MemoryStore node;
  SigningKey staff = SigningKey::generate();
  REQUIRE(outcome_of(node, city.delegate(staff, KeyRole::publisher)) == Disposition::store);
  REQUIRE(outcome_of(node, city.practice("before", &staff)) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(staff, KeyRole::publisher, nullptr, 2, /*revoked=*/true)) ==
          Disposition::store);
  KeyedChain after = city;
  CHECK_THAT(refusal_of(node, after.practice("after", &staff)), Catch::Contains("was revoked before this record"));
  after = city;  // not even the root key brings it back
  CHECK_THAT(refusal_of(node, after.delegate(staff, KeyRole::publisher, nullptr, 3)),
             Catch::Contains("a revoked key stays revoked"));
  CHECK(node.head_of(city.root.public_key()) == 3);  // what it signed before stays
}

TEST_CASE("authority: a key signs until the end of its expiry day (the record's time)", "[engine][identity]") {
  KeyedChain city;
  MemoryStore node;
  SigningKey staff = SigningKey::generate();
  city.ts = 1704067200000;  // 2024-01-01T00:00:00Z
  REQUIRE(outcome_of(node, city.delegate(staff, KeyRole::publisher, nullptr, 1, false, "2024-01-01")) ==
          Disposition::store);
  city.ts = 1704067200000 + 86'400'000 - 1;  // the last millisecond of that day
  CHECK(outcome_of(node, city.practice("in-time", &staff)) == Disposition::store);
  city.ts += 1;
  KeyedChain late = city;
  CHECK_THAT(refusal_of(node, late.practice("late", &staff)), Catch::Contains("expired on 2024-01-01"));
}

TEST_CASE("authority: admins delegate and revoke, but only the root key touches admin keys", "[engine][identity]") {
  KeyedChain city;
  MemoryStore node;
  SigningKey admin = SigningKey::generate(), admin2 = SigningKey::generate(), staff = SigningKey::generate();
  REQUIRE(outcome_of(node, city.delegate(admin, KeyRole::admin)) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(admin2, KeyRole::admin)) == Disposition::store);
  CHECK(outcome_of(node, city.delegate(staff, KeyRole::publisher, &admin)) == Disposition::store);
  CHECK(outcome_of(node, city.sign(Kind::city, "profile", R"({"name":"Lyon","country":"FR"})", &admin)) ==
        Disposition::store);
  CHECK(outcome_of(node, city.delegate(staff, KeyRole::publisher, &admin, 2, /*revoked=*/true)) == Disposition::store);
  KeyedChain copy = city;
  CHECK_THAT(refusal_of(node, copy.delegate(SigningKey::generate(), KeyRole::admin, &admin)),
             Catch::Contains("only a root key"));
  copy = city;
  CHECK_THAT(refusal_of(node, copy.delegate(admin2, KeyRole::admin, &admin, 2, /*revoked=*/true)),
             Catch::Contains("only a root key"));
  copy = city;
  CHECK_THAT(refusal_of(node, copy.delegate(admin, KeyRole::admin, &admin, 2, /*revoked=*/true)),
             Catch::Contains("its own delegation"));
  copy = city;  // the root key is the city: no key record names it
  KeyGrant g;
  g.key = city.root.public_key();
  g.role = KeyRole::admin;
  g.name = "root";
  CHECK_THAT(refusal_of(node, copy.sign(Kind::key, key_record_id(g.key), key_grant_body(g))),
             Catch::Contains("genesis key can only be retired"));
  copy = city;
  g.key = SigningKey::generate().public_key();
  CHECK_THAT(refusal_of(node, copy.sign(Kind::key, "key-0000000000000000", key_grant_body(g))),
             Catch::Contains("a key record's id is"));
}

TEST_CASE("authority: a delegation and its first use in one batch, and a whole chain relayed", "[engine][identity]") {
  KeyedChain city;
  MemoryStore first, relay;
  SigningKey staff = SigningKey::generate();
  std::vector<SignedRecord> batch = {city.delegate(staff, KeyRole::publisher), city.practice("a", &staff),
                                     city.practice("b", &staff)};
  auto d = decide_and_store(first, batch);
  CHECK(d.to_store == 3);
  CHECK(d.rejected == 0);
  // The next node gets the same records from the first (in its chain order).
  std::vector<SignedRecord> again;
  for (uint64_t s = 1; s <= first.head_of(city.root.public_key()); ++s)
    again.push_back(*first.record(city.root.public_key(), s));
  CHECK(decide_and_store(relay, again).to_store == 3);
}

TEST_CASE("authority: a role newer than this node grants nothing here, without refusing the record",
          "[engine][identity]") {
  KeyedChain city;
  MemoryStore node;
  SigningKey staff = SigningKey::generate();
  std::string body = R"({"key":")" + to_hex(staff.public_key()) + R"(","name":"translator","role":"translator"})";
  REQUIRE(outcome_of(node, city.sign(Kind::key, key_record_id(staff.public_key()), body)) == Disposition::store);
  KeyedChain copy = city;
  CHECK_THAT(refusal_of(node, copy.practice("p", &staff)), Catch::Contains("has a role newer than this node"));
}

TEST_CASE("authority: a delegated key replaces only records of kinds its role may sign", "[engine][identity]") {
  KeyedChain city;
  MemoryStore node;
  SigningKey reporter = SigningKey::generate();
  REQUIRE(outcome_of(node, city.practice("welcome-desk")) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(reporter, KeyRole::reporter)) == Disposition::store);
  KeyedChain copy = city;
  CHECK_THAT(refusal_of(node, copy.sign(Kind::report, "welcome-desk", R"({})", &reporter, 2)),
             Catch::Contains("may not replace a practice"));
  copy = city;  // nor a key record (its own included)
  CHECK_THAT(refusal_of(node, copy.sign(Kind::report, key_record_id(reporter.public_key()), R"({})", &reporter, 2)),
             Catch::Contains("may not replace a key"));
  CHECK(outcome_of(node, city.sign(Kind::report, "r-2026", R"({})", &reporter)) == Disposition::store);
}

TEST_CASE("erasure: only of the chain's own erasable records, by a key that may sign their kind", "[engine][erasure]") {
  KeyedChain city;
  MemoryStore node;
  SigningKey publisher = SigningKey::generate(), reporter = SigningKey::generate();
  REQUIRE(outcome_of(node, city.genesis()) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(publisher, KeyRole::publisher)) == Disposition::store);
  REQUIRE(outcome_of(node, city.delegate(reporter, KeyRole::reporter)) == Disposition::store);
  REQUIRE(outcome_of(node, city.practice("mentoring", &publisher)) == Disposition::store);
  auto erasure = [&](const std::string& target, const SigningKey* by) {
    ErasureStatement e{target, {1}, "names a person"};
    return city.sign(Kind::erasure, erasure_id(e, city.seq + 1), erasure_body(e), by);
  };
  KeyedChain copy = city;
  CHECK_THAT(refusal_of(node, erasure("profile", &publisher)),
             Catch::Contains("erases a city; only practices, plans, reports and adoptions can be erased"));
  city = copy;
  CHECK_THAT(refusal_of(node, erasure("mentoring", &reporter)),
             Catch::Contains("is a reporter key, which may not sign an erasure"));
  city = copy;
  SignedRecord stub = erasure("mentoring", &publisher);  // relayed without its body
  stub.body.reset();
  CHECK_THAT(refusal_of(node, stub), Catch::Contains("an erasure is public and carries its body"));
  city = copy;
  CHECK(outcome_of(node, erasure("mentoring", &publisher)) == Disposition::store);
}
