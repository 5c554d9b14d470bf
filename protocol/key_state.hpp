// What cities' chains state of their keys, read record by record in chain order on top of
// what a store already holds: the one place that applies the recovery commitment and a
// recovery's retirement of the other root keys (docs/identity.md). No I/O.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "protocol/authority.hpp"

namespace agora {

class KeyState {
 public:
  // What the base (a store, or nothing) states before the records applied here.
  using BaseGrant = std::function<std::optional<KeyGrant>(const PublicKey& origin, const PublicKey& key)>;
  using BaseCommitment = std::function<std::optional<Hash>(const PublicKey& origin)>;
  KeyState() = default;
  KeyState(BaseGrant grant, BaseCommitment commitment)
      : base_grant_(std::move(grant)), base_commitment_(std::move(commitment)) {}

  // What the chain states of `key` (the genesis key included: only its retirement; the
  // recovery key: the recovery role).
  std::optional<KeyGrant> grant(const PublicKey& origin, const PublicKey& key) const;
  std::optional<Hash> commitment(const PublicKey& origin) const;
  bool is_recovery_key(const PublicKey& origin, const PublicKey& key) const;

  // Why `h` (with `body`, when held) may not stand next in its chain; nullopt when it may.
  // `signer` and `granted` are filled with what the check read.
  std::optional<std::string> problem(const Header& h, const std::optional<std::string>& body,
                                     std::optional<KeyGrant>* signer = nullptr) const;
  // Takes `h` as stored: a key record's grant, a recovery's retirement, a commitment.
  void apply(const Header& h, const std::optional<std::string>& body);

 private:
  BaseGrant base_grant_;
  BaseCommitment base_commitment_;
  std::map<std::pair<PublicKey, PublicKey>, KeyGrant> grants_;
  std::map<PublicKey, Hash> commitments_;
  std::map<PublicKey, std::pair<PublicKey, uint64_t>> recovered_;  // origin -> (root it granted, seq)
};

}  // namespace agora
