#include "protocol/key_state.hpp"

namespace agora {

std::optional<Hash> KeyState::commitment(const PublicKey& origin) const {
  if (auto c = commitments_.find(origin); c != commitments_.end()) return c->second;
  return base_commitment_ ? base_commitment_(origin) : std::nullopt;
}

bool KeyState::is_recovery_key(const PublicKey& origin, const PublicKey& key) const {
  auto c = commitment(origin);
  return key != origin && c && *c == recovery_commitment(key);
}

std::optional<KeyGrant> KeyState::grant(const PublicKey& origin, const PublicKey& key) const {
  // The committed recovery key is what the commitment says, whatever a key record claims.
  if (is_recovery_key(origin, key)) return recovery_grant(key);
  std::optional<KeyGrant> g;
  if (auto here = grants_.find({origin, key}); here != grants_.end())
    g = here->second;
  else if (base_grant_)
    g = base_grant_(origin, key);
  if (!g && is_recovery_key(origin, key)) g = recovery_grant(key);
  // A recovery read here retired the genesis key and the root keys granted before it.
  if (auto r = recovered_.find(origin); r != recovered_.end() && key != r->second.first) {
    if (key == origin && !g) {
      g = KeyGrant{};
      g->key = origin;
      g->name = "genesis key";
      g->role = KeyRole::root;
    }
    if (g && g->role == KeyRole::root && g->seq < r->second.second) g->revoked = true;
  }
  return g;
}

std::optional<std::string> KeyState::problem(const Header& h, const std::optional<std::string>& body,
                                             std::optional<KeyGrant>* signer_out) const {
  std::optional<KeyGrant> signer = grant(h.origin, h.key.value_or(h.origin)), granted, before;
  if (h.kind == Kind::key && body)
    if ((granted = read_key_grant(*body, h.seq))) before = grant(h.origin, granted->key);
  if (signer_out) *signer_out = signer;
  // No key record touches the recovery key: a thief holding a root key would revoke it.
  if (granted && is_recovery_key(h.origin, granted->key))
    return std::string("a key record cannot name the city's recovery key");
  return authority_problem(h, signer ? &*signer : nullptr, granted ? &*granted : nullptr, before ? &*before : nullptr);
}

void KeyState::apply(const Header& h, const std::optional<std::string>& body) {
  if (!body) return;
  if (h.kind == Kind::city) {  // only the genesis record commits (seq 1: signed by the genesis key)
    if (h.seq == 1 && !commitment(h.origin))
      if (auto c = read_recovery_commitment(*body)) commitments_[h.origin] = *c;
    return;
  }
  if (h.kind != Kind::key) return;
  auto g = read_key_grant(*body, h.seq);
  if (!g) return;
  if (h.key && is_recovery_key(h.origin, *h.key)) recovered_[h.origin] = {g->key, h.seq};
  grants_[{h.origin, g->key}] = *g;
}

}  // namespace agora
