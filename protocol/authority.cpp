#include "protocol/authority.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/hex.hpp"
#include "protocol/input_schema.hpp"

namespace agora {

namespace {

constexpr std::array<std::string_view, 5> kRoles = {"admin", "publisher", "reporter", "node", "root"};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// The first millisecond after the day "YYYY-MM-DD" (UTC).
int64_t end_of_day_ms(std::string_view date) {
  auto number = [&](size_t from, size_t n) {
    int64_t v = 0;
    for (size_t i = from; i < from + n; ++i) v = v * 10 + (date[i] - '0');
    return v;
  };
  int64_t days =
      days_from_civil(number(0, 4), static_cast<unsigned>(number(5, 2)), static_cast<unsigned>(number(8, 2)));
  return (days + 1) * 86'400'000;
}

std::string short_key(const PublicKey& key) { return to_hex(key).substr(0, 12); }

}  // namespace

std::string_view key_role_name(KeyRole role) {
  if (role == KeyRole::unknown) return "unknown";
  if (role == KeyRole::recovery) return "recovery";
  return kRoles[static_cast<size_t>(role) - 1];
}

std::optional<KeyRole> parse_key_role(std::string_view name) {
  for (size_t i = 0; i < kRoles.size(); ++i)
    if (kRoles[i] == name) return static_cast<KeyRole>(i + 1);
  return std::nullopt;
}

std::span<const std::string_view> key_role_names() { return kRoles; }

bool has_root_powers(KeyRole role) { return role == KeyRole::root || role == KeyRole::recovery; }

bool role_may_sign(KeyRole role, Kind kind) {
  switch (role) {
    case KeyRole::root:
      return true;
    case KeyRole::recovery:
      return kind == Kind::key;  // only a new root (authority_problem)
    case KeyRole::admin:
      return true;  // admin delegations are checked apart (authority_problem)
    case KeyRole::publisher:
    case KeyRole::node:
      return kind != Kind::city && kind != Kind::key;
    case KeyRole::reporter:
      return kind == Kind::report;
    case KeyRole::unknown:
      return false;
  }
  return false;
}

Hash recovery_commitment(const PublicKey& recovery_key) {
  return sha256(std::string_view(reinterpret_cast<const char*>(recovery_key.data()), recovery_key.size()));
}

std::optional<Hash> read_recovery_commitment(std::string_view city_body) {
  auto j = nlohmann::json::parse(city_body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto r = j.find("recovery");
  Hash h{};
  if (r == j.end() || !r->is_string() || !from_lower_hex(r->get<std::string>(), h.data(), h.size()))
    return std::nullopt;
  return h;
}

KeyGrant recovery_grant(const PublicKey& recovery_key) {
  KeyGrant g;
  g.key = recovery_key;
  g.name = "recovery key";
  g.role = KeyRole::recovery;
  return g;
}

bool is_recovery(const Header& h, const KeyGrant* signer) {
  return h.kind == Kind::key && h.key && signer && signer->role == KeyRole::recovery;
}

std::string key_record_id(const PublicKey& key) { return "key-" + to_hex(key).substr(0, 16); }

std::optional<KeyGrant> read_key_grant(std::string_view body, uint64_t seq) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  KeyGrant g;
  g.seq = seq;
  auto key = j.find("key");
  auto role = j.find("role");
  if (key == j.end() || !key->is_string() || role == j.end() || !role->is_string()) return std::nullopt;
  if (!from_hex(key->get<std::string>(), g.key.data(), g.key.size())) return std::nullopt;
  g.role = parse_key_role(role->get<std::string>()).value_or(KeyRole::unknown);
  // Read without trusting types: a body that never passed the schema (a handshake's
  // delegation, fuzzing) must not throw.
  if (auto n = j.find("name"); n != j.end() && n->is_string()) g.name = n->get<std::string>();
  if (auto e = j.find("expires"); e != j.end()) {
    if (!e->is_string() || !is_calendar_date(e->get<std::string>())) return std::nullopt;
    g.expires = e->get<std::string>();
  }
  if (auto r = j.find("revoked"); r != j.end()) g.revoked = r->is_boolean() && r->get<bool>();
  if (auto c = j.find("compromised_since"); c != j.end() && c->is_number_unsigned())
    g.compromised_since = c->get<uint64_t>();
  return g;
}

std::string key_grant_body(const KeyGrant& grant) {
  nlohmann::json j = {{"key", to_hex(grant.key)}, {"name", grant.name}, {"role", key_role_name(grant.role)}};
  if (!grant.expires.empty()) j["expires"] = grant.expires;
  if (grant.revoked) j["revoked"] = true;
  if (grant.compromised_since) j["compromised_since"] = grant.compromised_since;
  return j.dump();
}

std::optional<std::string> authority_problem(const Header& h, const KeyGrant* signer, const KeyGrant* granted,
                                             const KeyGrant* before) {
  const bool genesis = !h.key;
  if (genesis && signer && signer->revoked)
    return std::string("the city's genesis key was retired (a root rotation or a recovery) before this record");
  if (!genesis) {
    const std::string who = "key " + short_key(*h.key);
    if (!signer) return who + " signed this record, but the city has not delegated that key before it";
    if (signer->revoked)
      return who + " (" + signer->name + ") was " + (signer->role == KeyRole::root ? "retired" : "revoked") +
             " before this record";
    if (!signer->expires.empty() && h.ts >= end_of_day_ms(signer->expires))
      return who + " (" + signer->name + ") expired on " + signer->expires;
    if (signer->role == KeyRole::unknown)
      return who + " (" + signer->name + ") has a role newer than this node, which signs nothing here";
    if (!role_may_sign(signer->role, h.kind))
      return who + " (" + signer->name + ") is a" + (signer->role == KeyRole::admin ? "n " : " ") +
             std::string(key_role_name(signer->role)) + " key, which may not sign " +
             (header_kind_name(h).starts_with('e') || header_kind_name(h).starts_with('a') ? "an " : "a ") +
             std::string(header_kind_name(h));
  }
  if (h.kind != Kind::key) return std::nullopt;
  const bool root = genesis || has_root_powers(signer->role);
  if (!granted) return std::string("a key record must carry its body");
  if (h.id != key_record_id(granted->key)) return "a key record's id is " + key_record_id(granted->key);
  if (!genesis && signer->role == KeyRole::recovery) {
    if (granted->role != KeyRole::root || granted->revoked || granted->key == h.origin)
      return std::string("the recovery key only grants a new root key");
    // What the chain said of that key before does not count: a recovery overrides the
    // branch it replaces, where a thief may have revoked the new root in advance.
    return std::nullopt;
  }
  if (granted->key == h.origin && (!granted->revoked || granted->role != KeyRole::root))
    return std::string("the city's genesis key can only be retired (a revoked root key)");
  if ((genesis && granted->key == h.origin) || (!genesis && granted->key == *h.key))
    return std::string("a key cannot change its own delegation");
  if (!root && (granted->role == KeyRole::admin || (before && before->role == KeyRole::admin)))
    return std::string("only a root key delegates or changes admin keys");
  if (!root && (granted->role == KeyRole::node || (before && before->role == KeyRole::node)))
    return std::string("only a root key delegates or changes node keys (they prove the city in handshakes)");
  if (!root && (granted->role == KeyRole::root || (before && before->role == KeyRole::root)))
    return std::string("only a root key grants or changes root keys");
  if (before && before->revoked && !granted->revoked)
    return "key " + short_key(granted->key) + " was revoked: a revoked key stays revoked";
  if (granted->compromised_since && (!granted->revoked || granted->compromised_since >= h.seq))
    return std::string("compromised_since names an earlier place in the chain, with revoked");
  if (before && before->compromised_since &&
      (!granted->compromised_since || granted->compromised_since > before->compromised_since))
    return "key " + short_key(granted->key) + "'s compromise point can only move earlier";
  return std::nullopt;
}

namespace {

// A key record of `node`'s chain that verifies, with the grant its valid body states.
struct ProvenGrant {
  Header header;
  KeyGrant grant;
};
std::optional<std::string> read_proof_record(const PublicKey& node, const SignedRecord& record, ProvenGrant& out) {
  auto h = verify_record(record);
  if (!h) return "does not verify: " + h.error().to_string();
  if (h.value().origin != node || h.value().kind != Kind::key || !record.body)
    return std::string("is not a key record of that city");
  if (auto valid = validate_received_body(h.value(), *record.body); !valid)
    return "has an invalid body: " + valid.error().to_string();
  auto granted = read_key_grant(*record.body, h.value().seq);
  if (!granted) return std::string("has an invalid body");
  out = ProvenGrant{h.value(), *granted};
  return std::nullopt;
}

}  // namespace

std::optional<std::string> node_key_problem(const PublicKey& node, const PublicKey& key, const SignedRecord& delegation,
                                            std::span<const SignedRecord> path, const HeldGrant& held_grant,
                                            const HeldHeader& held_header, int64_t now_ms) {
  // The root keys the path shows, in order: each granted by the genesis key, an earlier
  // one, or the recovery key the genesis record commits to.
  std::vector<PublicKey> roots;
  std::optional<Hash> commitment;
  auto revoked_here = [&](const PublicKey& k) {
    auto held = held_grant ? held_grant(k) : std::nullopt;
    return held && held->revoked;
  };
  // A record at a seq this node holds must be the one it holds.
  auto unlike_held = [&](const std::string& header_bytes, uint64_t seq) {
    auto held = held_header ? held_header(seq) : std::nullopt;
    return held && *held != header_bytes;
  };
  // Whether key k could sign the record at seq: not revoked (retired) as held here, or the
  // record is from before that and is the very record held there (a retired key cannot
  // sign a new past).
  auto valid_at = [&](const PublicKey& k, uint64_t seq, const std::string& header_bytes) {
    auto held = held_grant ? held_grant(k) : std::nullopt;
    return !held || !held->revoked || (seq < held->seq && !unlike_held(header_bytes, seq));
  };
  auto signed_by_root = [&](const Header& h, const std::string& header_bytes) {
    if (!h.key) return valid_at(node, h.seq, header_bytes);
    if (std::find(roots.begin(), roots.end(), *h.key) != roots.end()) return valid_at(*h.key, h.seq, header_bytes);
    if (commitment && recovery_commitment(*h.key) == *commitment) return true;
    auto held = held_grant ? held_grant(*h.key) : std::nullopt;  // a root key this node's copy of the chain knows
    return held && held->role == KeyRole::root &&
           (!held->revoked || (h.seq < held->seq && !unlike_held(header_bytes, h.seq)));
  };
  for (size_t i = 0; i < path.size(); ++i) {
    const SignedRecord& record = path[i];
    auto h = verify_record(record);
    std::string which = "its proof's record " + std::to_string(i + 1) + " ";
    if (!h) return which + "does not verify: " + h.error().to_string();
    if (h.value().origin == node && h.value().seq == 1 && h.value().kind == Kind::city && !h.value().key &&
        record.body) {
      if (unlike_held(record.header_bytes, 1)) return which + "is not the genesis record this node holds";
      commitment = read_recovery_commitment(*record.body);
      continue;
    }
    ProvenGrant step;
    if (auto why = read_proof_record(node, record, step)) return which + *why;
    if (step.grant.role != KeyRole::root || step.grant.revoked) return which + "does not grant a root key";
    if (!signed_by_root(step.header, record.header_bytes)) return which + "is not signed by a root key of that city";
    roots.push_back(step.grant.key);
  }
  ProvenGrant d;
  if (auto why = read_proof_record(node, delegation, d)) return "its delegation " + *why;
  if (!signed_by_root(d.header, delegation.header_bytes))
    return std::string("its delegation is not signed by a root key of that city");
  const KeyGrant& granted = d.grant;
  if (granted.key != key) return std::string("its delegation does not name that key");
  // The role and expiry are the presented delegation's (every node decides alike); what
  // this node holds of the chain only adds a revocation it knows of.
  if (granted.revoked || revoked_here(key)) return "node key " + short_key(key) + " was revoked";
  if (granted.role != KeyRole::node) return "key " + short_key(key) + " is not a node key of that city";
  if (!granted.expires.empty() && now_ms >= end_of_day_ms(granted.expires))
    return "node key " + short_key(key) + " expired on " + granted.expires;
  return std::nullopt;
}

}  // namespace agora
