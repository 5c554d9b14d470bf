#include "protocol/authority.hpp"

#include <array>

#include <nlohmann/json.hpp>

#include "protocol/hex.hpp"
#include "protocol/input_schema.hpp"

namespace agora {

namespace {

constexpr std::array<std::string_view, 4> kRoles = {"admin", "publisher", "reporter", "node"};

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
  return role == KeyRole::unknown ? "unknown" : kRoles[static_cast<size_t>(role) - 1];
}

std::optional<KeyRole> parse_key_role(std::string_view name) {
  for (size_t i = 0; i < kRoles.size(); ++i)
    if (kRoles[i] == name) return static_cast<KeyRole>(i + 1);
  return std::nullopt;
}

std::span<const std::string_view> key_role_names() { return kRoles; }

bool role_may_sign(KeyRole role, Kind kind) {
  switch (role) {
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
  const bool root = !h.key;
  if (!root) {
    const std::string who = "key " + short_key(*h.key);
    if (!signer) return who + " signed this record, but the city has not delegated that key before it";
    if (signer->revoked) return who + " (" + signer->name + ") was revoked before this record";
    if (!signer->expires.empty() && h.ts >= end_of_day_ms(signer->expires))
      return who + " (" + signer->name + ") expired on " + signer->expires;
    if (signer->role == KeyRole::unknown)
      return who + " (" + signer->name + ") has a role newer than this node, which signs nothing here";
    if (!role_may_sign(signer->role, h.kind))
      return who + " (" + signer->name + ") is a " + std::string(key_role_name(signer->role)) +
             " key, which may not sign a " + std::string(header_kind_name(h));
  }
  if (h.kind != Kind::key) return std::nullopt;
  if (!granted) return std::string("a key record must carry its body");
  if (h.id != key_record_id(granted->key)) return "a key record's id is " + key_record_id(granted->key);
  if (granted->key == h.origin) return std::string("a key record cannot name the city's root key");
  if (!root && granted->key == *h.key) return std::string("a key cannot change its own delegation");
  if (!root && (granted->role == KeyRole::admin || (before && before->role == KeyRole::admin)))
    return std::string("only the root key delegates or changes admin keys");
  if (!root && (granted->role == KeyRole::node || (before && before->role == KeyRole::node)))
    return std::string("only the root key delegates or changes node keys (they prove the city in handshakes)");
  if (before && before->revoked && !granted->revoked)
    return "key " + short_key(granted->key) + " was revoked: a revoked key stays revoked";
  if (granted->compromised_since && (!granted->revoked || granted->compromised_since >= h.seq))
    return std::string("compromised_since names an earlier place in the chain, with revoked");
  if (before && before->compromised_since &&
      (!granted->compromised_since || granted->compromised_since > before->compromised_since))
    return "key " + short_key(granted->key) + "'s compromise point can only move earlier";
  return std::nullopt;
}

std::optional<std::string> node_key_problem(const PublicKey& node, const PublicKey& key, const SignedRecord& delegation,
                                            const KeyGrant* held, int64_t now_ms) {
  auto h = verify_record(delegation);
  if (!h) return "its delegation does not verify: " + h.error().to_string();
  const Header& header = h.value();
  if (header.origin != node || header.key || header.kind != Kind::key || !delegation.body)
    return std::string("its delegation is not a key record signed by the city's own key");
  if (auto valid = validate_received_body(header, *delegation.body); !valid)
    return "its delegation's body is invalid: " + valid.error().to_string();
  auto granted = read_key_grant(*delegation.body, header.seq);
  if (!granted || granted->key != key) return std::string("its delegation does not name that key");
  // The role and expiry are the presented delegation's (every node decides alike); what
  // this node holds of the chain only adds a revocation it knows of.
  if (granted->revoked || (held && held->revoked)) return "node key " + short_key(key) + " was revoked";
  if (granted->role != KeyRole::node) return "key " + short_key(key) + " is not a node key of that city";
  if (!granted->expires.empty() && now_ms >= end_of_day_ms(granted->expires))
    return "node key " + short_key(key) + " expired on " + granted->expires;
  return std::nullopt;
}

}  // namespace agora
