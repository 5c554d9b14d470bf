// Who may sign what in a city's chain: the roles of delegated keys, and the rule a record's
// signer must pass at its place in the chain (docs/identity.md). Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/crypto.hpp"
#include "protocol/record.hpp"
#include "protocol/vocabulary.hpp"

namespace agora {

// The powers of a delegated key. The root key (the city id itself) may sign everything.
//   admin:     everything but admin delegations (those need the root key)
//   node:      the node's operational key: what a publisher may sign
//   publisher: practices, plans, reports, adoptions, partnerships, coalitions, frameworks
//              and kinds newer than this node
//   reporter:  reports only
//   unknown:   a role newer than this node: nothing here
enum class KeyRole : uint8_t { unknown = 0, admin, publisher, reporter, node };
std::string_view key_role_name(KeyRole role);
std::optional<KeyRole> parse_key_role(std::string_view name);
std::span<const std::string_view> key_role_names();
bool role_may_sign(KeyRole role, Kind kind);

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

// The id of the key record that delegates `key`: "key-" + its first 16 hex digits.
std::string key_record_id(const PublicKey& key);
// The grant a key record's body states (the body has passed validate_received_body).
std::optional<KeyGrant> read_key_grant(std::string_view body, uint64_t seq);
// The body of a key record stating `grant` (seq is not part of it).
std::string key_grant_body(const KeyGrant& grant);

// Why record `h` may not stand at its place in its origin's chain, or nullopt when it may.
// `signer`: what the chain before `h` states of the key that signed it (null: nothing; not
// consulted for the origin's own key). For a key record, `granted` is what its body states
// and `before` what the chain before it stated of that key (null: nothing).
std::optional<std::string> authority_problem(const Header& h, const KeyGrant* signer, const KeyGrant* granted,
                                             const KeyGrant* before);

// Why `delegation` does not show that `key` is, at `now_ms`, a node key of the city `node`
// (a handshake through a delegated node key), or nullopt when it does. It must be a key
// record signed by the city's own key granting `key` the node role, unrevoked and unexpired;
// `held` (what this node's copy of the city's chain states of `key`, null: nothing) wins
// when it is as new or newer.
std::optional<std::string> node_key_problem(const PublicKey& node, const PublicKey& key, const SignedRecord& delegation,
                                            const KeyGrant* held, int64_t now_ms);

}  // namespace agora
