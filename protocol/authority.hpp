// Who may sign what in a city's chain: the roles of delegated keys, and the rule a record's
// signer must pass at its place in the chain (docs/identity.md). Pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/crypto.hpp"
#include "protocol/record.hpp"
#include "protocol/vocabulary.hpp"

namespace agora {

// The powers of a delegated key. The genesis key (the city id itself) is the first root key.
//   root:      everything, as the genesis key (`key rotate-root`, `key recover` grant one)
//   admin:     everything but admin, node and root delegations (those need a root key)
//   node:      the node's operational key: what a publisher may sign
//   publisher: practices, plans, reports, adoptions, partnerships, coalitions, frameworks
//              and kinds newer than this node
//   reporter:  reports only
//   unknown:   a role newer than this node: nothing here
//   recovery:  never granted by a key record: the key whose hash the city's genesis record
//              commits to; it signs only key records granting a new root (a recovery)
enum class KeyRole : uint8_t { unknown = 0, admin, publisher, reporter, node, root, recovery };
std::string_view key_role_name(KeyRole role);
std::optional<KeyRole> parse_key_role(std::string_view name);
std::span<const std::string_view> key_role_names();  // the roles a key record may grant
bool role_may_sign(KeyRole role, Kind kind);
// Whether a key in `role` has the root's powers (grants admin, node and root keys).
bool has_root_powers(KeyRole role);

// What the latest version of a key record states about one key.
struct KeyGrant {
  PublicKey key{};
  std::string name;
  KeyRole role = KeyRole::publisher;
  std::string expires;  // "YYYY-MM-DD", the last day it may sign (UTC); empty: no expiry
  bool revoked = false;
  // With revoked: the key was in other hands after this place in the chain; the records it
  // signed after it are withdrawn (kept as evidence, not served as current). 0: none.
  uint64_t compromised_since = 0;
  uint64_t seq = 0;  // where in the chain it was stated
};

// The recovery key's commitment: SHA-256 of its 32 public key bytes. The city record at
// seq 1 states it as "recovery" (64 hex digits); a chain whose genesis has none may state
// it once in a later city record signed by a root key, and never change it.
Hash recovery_commitment(const PublicKey& recovery_key);
// The commitment a city record's body states, if any (the body passed the schema).
std::optional<Hash> read_recovery_commitment(std::string_view city_body);
// What the chain states of the key its commitment names: the recovery role.
KeyGrant recovery_grant(const PublicKey& recovery_key);
// A recovery record: a key record signed by the city's recovery key (`signer` is what the
// chain states of its signer). It wins its place in the chain over any other record
// (docs/identity.md, "The race between a thief and the recovery key").
bool is_recovery(const Header& h, const KeyGrant* signer);

// The id of the key record that delegates `key`: "key-" + its first 16 hex digits.
std::string key_record_id(const PublicKey& key);
// The grant a key record's body states (the body has passed validate_received_body).
std::optional<KeyGrant> read_key_grant(std::string_view body, uint64_t seq);
// The body of a key record stating `grant` (seq is not part of it).
std::string key_grant_body(const KeyGrant& grant);

// Why record `h` may not stand at its place in its origin's chain, or nullopt when it may.
// `signer`: what the chain before `h` states of the key that signed it (null: nothing; for
// the genesis key, only its retirement). For a key record, `granted` is what its body
// states and `before` what the chain before it stated of that key (null: nothing).
std::optional<std::string> authority_problem(const Header& h, const KeyGrant* signer, const KeyGrant* granted,
                                             const KeyGrant* before);

// Why `delegation` does not show that `key` is, at `now_ms`, a node key of the city `node`
// (a handshake through a delegated node key), or nullopt when it does. It must be a key
// record granting `key` the node role, unrevoked and unexpired, signed by a root key of the
// city: the genesis key, or a root key that `path` shows (key records granting the root
// role, each signed by the genesis key, a root key before it in the path, or the recovery
// key the city's genesis record in `path` commits to). `held_grant(k)` is what this node's
// copy of the city's chain states of key k (nullopt: nothing): it adds the revocations
// this node knows of — of the node key, and of every root key in the proof signing after
// its revocation (a record signed before a key's retirement stays valid). `held_header(s)`
// is the header this node holds at seq s of the city's chain: a proof record at a seq it
// holds must be that very record (a retired key cannot sign a new past).
using HeldGrant = std::function<std::optional<KeyGrant>(const PublicKey&)>;
using HeldHeader = std::function<std::optional<std::string>(uint64_t seq)>;
std::optional<std::string> node_key_problem(const PublicKey& node, const PublicKey& key, const SignedRecord& delegation,
                                            std::span<const SignedRecord> path, const HeldGrant& held_grant,
                                            const HeldHeader& held_header, int64_t now_ms);

}  // namespace agora
