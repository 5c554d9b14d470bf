// The sync engine's views over the real store: LMDB readers and the city's entitlements.
#pragma once

#include <set>

#include "node/local/entitlements.hpp"
#include "node/sync/engine.hpp"
#include "storage/record_store.hpp"

namespace agora::sync {

// Reads for the sending side, valid while the reader's transaction is open.
class LmdbStoreView final : public StoreView {
 public:
  // `withheld`: origins never sent (blocked by the operator).
  LmdbStoreView(const storage::StoreReader& reader, const Entitlements& entitlements,
                const std::set<PublicKey>* withheld = nullptr)
      : reader_(reader), entitlements_(entitlements), withheld_(withheld) {}
  std::vector<storage::OriginHead> heads() const override {
    auto heads = reader_.heads();
    if (withheld_ && !withheld_->empty())
      std::erase_if(heads, [&](const storage::OriginHead& h) { return withheld_->count(h.origin) > 0; });
    return heads;
  }
  std::optional<SignedRecord> record(const PublicKey& origin, uint64_t seq) const override;
  void for_each_restricted_latest(const std::function<void(std::string_view header_bytes)>& visit) const override;
  bool may_read(const Header& header, const PublicKey& peer) const override {
    return entitlements_.may_read(header, peer);
  }
  std::vector<std::pair<PublicKey, uint64_t>> recoveries() const override {
    auto out = reader_.recoveries();
    if (withheld_) std::erase_if(out, [&](const auto& r) { return withheld_->count(r.first) > 0; });
    return out;
  }

 private:
  const storage::StoreReader& reader_;
  const Entitlements& entitlements_;
  const std::set<PublicKey>* withheld_;
};

// Reads for the receiving side, inside the writer's transaction.
class LmdbChainView final : public ChainView {
 public:
  explicit LmdbChainView(const storage::StoreReader& reader) : reader_(reader) {}
  ChainTip tip(const PublicKey& origin) const override;
  std::optional<HeldRecord> held(const PublicKey& origin, uint64_t seq) const override;
  std::optional<KeyGrant> grant(const PublicKey& origin, const PublicKey& key) const override {
    return reader_.grant(origin, key);
  }
  std::optional<Kind> latest_kind(const PublicKey& origin, const std::string& id) const override {
    auto latest = reader_.latest(origin, id);
    return latest ? std::optional<Kind>(latest->kind) : std::nullopt;
  }
  std::optional<Hash> recovery_commitment(const PublicKey& origin) const override {
    return reader_.recovery_commitment(origin);
  }
  uint64_t recovered_at(const PublicKey& origin) const override { return reader_.recovered_at(origin); }

 private:
  const storage::StoreReader& reader_;
};

}  // namespace agora::sync
