// A city's chain that a test signs itself, record by record, with the city's root key or
// with keys it delegates (docs/identity.md): for the authority rule's tests, engine-level
// and through real nodes.
#pragma once

#include <string>

#include "protocol/authority.hpp"
#include "protocol/hex.hpp"
#include "protocol/record.hpp"

namespace agora::test {

struct KeyedChain {
  SigningKey root = SigningKey::generate();
  uint64_t seq = 0;
  Hash last{};
  int64_t ts = 1700000000000;
  std::string visibility = "public";  // of the records signed next

  // The next record's header, chained after the last one.
  Header next_header(Kind kind, const std::string& id, uint32_t version) {
    Header h;
    h.origin = root.public_key();
    h.seq = ++seq;
    h.prev = last;
    h.kind = kind;
    h.id = id;
    h.version = version;
    h.ts = ts;
    h.visibility = visibility;
    return h;
  }
  // The next record; signed by `by` (envelope 2) unless that is null or the root key.
  SignedRecord sign(Kind kind, const std::string& id, std::string body, const SigningKey* by = nullptr,
                    uint32_t version = 1) {
    Header h = next_header(kind, id, version);
    if (by && by->public_key() != root.public_key()) h.key = by->public_key();
    SignedRecord r = sign_record(h, std::move(body), by ? *by : root);
    last = record_hash(r.header_bytes);
    return r;
  }
  // The genesis record (seq 1): the city's profile, committing to `recovery` when given.
  SignedRecord genesis(const SigningKey* recovery = nullptr) {
    std::string body = R"({"kind":"city","name":"Testville","country":"NL")";
    if (recovery) body += R"(,"recovery":")" + to_hex(recovery_commitment(recovery->public_key())) + "\"";
    return sign(Kind::city, "profile", body + "}");
  }
  // A retraction (tombstone) of `id` as its version `version`.
  SignedRecord retract(Kind kind, const std::string& id, uint32_t version) {
    Header h = next_header(kind, id, version);
    h.tombstone = true;
    SignedRecord r = sign_record(h, "", root);
    last = record_hash(r.header_bytes);
    return r;
  }
  SignedRecord practice(const std::string& id, const SigningKey* by = nullptr) {
    return sign(Kind::practice, id, R"({"title":"x"})", by);
  }
  // The key record delegating `key` (or, with revoked, revoking it), signed by `by`.
  SignedRecord delegate(const SigningKey& key, KeyRole role, const SigningKey* by = nullptr, uint32_t version = 1,
                        bool revoked = false, const std::string& expires = "", const std::string& name = "staff") {
    KeyGrant g;
    g.key = key.public_key();
    g.name = name;
    g.role = role;
    g.revoked = revoked;
    g.expires = expires;
    return sign(Kind::key, key_record_id(key.public_key()), key_grant_body(g), by, version);
  }
};

}  // namespace agora::test
