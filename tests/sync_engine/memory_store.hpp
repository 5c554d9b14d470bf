// An in-memory store for the sans-I/O sync engine: chains per origin, entitlements as a
// set of (record id, reader) grants. The engine's tests run on it in milliseconds.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "node/sync/engine.hpp"
#include "protocol/key_state.hpp"
#include "protocol/sync_messages.hpp"

namespace agora::test {

// A city that signs records in chain order.
struct City {
  SigningKey key = SigningKey::generate();
  uint64_t seq = 0;
  Hash last{};
  PublicKey id() const { return key.public_key(); }
  // The next record of this city's chain.
  SignedRecord next(const std::string& record_id, const std::string& visibility = "public", uint32_t version = 1) {
    Header h;
    h.origin = id();
    h.seq = ++seq;
    h.prev = last;
    h.kind = Kind::practice;
    h.id = record_id;
    h.version = version;
    h.ts = 1700000000000 + static_cast<int64_t>(seq);
    h.visibility = visibility;
    SignedRecord r = sign_record(h, "{\"title\":\"" + record_id + "\"}", key);
    last = record_hash(r.header_bytes);
    return r;
  }
};

class MemoryStore final : public sync::StoreView, public sync::ChainView {
 public:
  struct Held {
    SignedRecord record;
    Header header;
  };

  // Appends a record that extends its chain (as the store would after a decision).
  void put(const SignedRecord& r) {
    auto h = decode_header(r.header_bytes);
    chains_[h.value().origin].push_back(Held{r, h.value()});
    if (h.value().kind == Kind::key && h.value().key && keys_.is_recovery_key(h.value().origin, *h.value().key))
      recovered_[h.value().origin] = h.value().seq;
    keys_.apply(h.value(), r.body);
  }
  // A recovery record replaced the chain from its seq on: the held records from there are
  // set aside and what the chain states of keys is read again.
  void set_aside(const PublicKey& origin, uint64_t from_seq) {
    auto& chain = chains_[origin];
    for (size_t i = from_seq - 1; i < chain.size(); ++i) set_aside_.push_back(chain[i].record.header_bytes);
    chain.resize(from_seq - 1);
    keys_ = KeyState{};
    recovered_.clear();
    auto all = std::move(chains_);
    chains_.clear();
    for (auto& [o, records] : all)
      for (auto& held : records) put(held.record);
  }
  void grant(const std::string& record_id, const PublicKey& reader) { grants_.insert({record_id, reader}); }

  // ---- StoreView ----
  std::vector<storage::OriginHead> heads() const override {
    std::vector<storage::OriginHead> out;
    for (const auto& [origin, chain] : chains_)
      out.push_back({origin, chain.size(), record_hash(chain.back().record.header_bytes)});
    return out;
  }
  std::optional<SignedRecord> record(const PublicKey& origin, uint64_t seq) const override {
    const Held* h = at(origin, seq);
    if (!h) return std::nullopt;
    return h->record;
  }
  void for_each_restricted_latest(const std::function<void(std::string_view)>& visit) const override {
    std::map<std::pair<PublicKey, std::string>, const Held*> latest;
    for (const auto& [origin, chain] : chains_)
      for (const Held& h : chain) latest[{origin, h.header.id}] = &h;
    for (const auto& [key, h] : latest)
      if (!is_public(h->header) && h->record.body) visit(h->record.header_bytes);
  }
  bool may_read(const Header& h, const PublicKey& peer) const override {
    return is_public(h) || h.origin == peer || grants_.count({h.id, peer});
  }

  // ---- ChainView ----
  ChainTip tip(const PublicKey& origin) const override {
    auto it = chains_.find(origin);
    if (it == chains_.end() || it->second.empty()) return {};
    return {it->second.size(), record_hash(it->second.back().record.header_bytes)};
  }
  std::optional<HeldRecord> held(const PublicKey& origin, uint64_t seq) const override {
    const Held* h = at(origin, seq);
    if (!h) return std::nullopt;
    return HeldRecord{h->record.header_bytes, !h->record.body};
  }
  std::optional<Kind> latest_kind(const PublicKey& origin, const std::string& id) const override {
    std::optional<Kind> kind;
    uint32_t best = 0;
    if (auto it = chains_.find(origin); it != chains_.end())
      for (const Held& h : it->second)
        if (h.header.id == id && h.header.version > best) best = h.header.version, kind = h.header.kind;
    return kind;
  }
  std::optional<KeyGrant> grant(const PublicKey& origin, const PublicKey& key) const override {
    return keys_.grant(origin, key);
  }
  std::optional<Hash> recovery_commitment(const PublicKey& origin) const override { return keys_.commitment(origin); }
  uint64_t recovered_at(const PublicKey& origin) const override {
    auto it = recovered_.find(origin);
    return it == recovered_.end() ? 0 : it->second;
  }
  std::vector<std::pair<PublicKey, uint64_t>> recoveries() const override {
    return {recovered_.begin(), recovered_.end()};
  }

  // Applies a decision the way the node's ingest does (store, fill; forks kept aside).
  void apply(const sync::BatchDecision& d, const std::vector<storage::IncomingRecord>& records) {
    for (size_t i = 0; i < records.size(); ++i) {
      if (d.dispositions[i] == sync::Disposition::store) put(records[i].record);
      if (d.dispositions[i] == sync::Disposition::recover) {
        set_aside(records[i].header.origin, records[i].header.seq);
        put(records[i].record);
      }
      if (d.dispositions[i] == sync::Disposition::fill)
        chains_[records[i].header.origin][records[i].header.seq - 1].record.body = records[i].record.body;
      if (d.dispositions[i] == sync::Disposition::fork) forks.push_back(records[i].record.header_bytes);
    }
  }

  uint64_t head_of(const PublicKey& origin) const {
    auto it = chains_.find(origin);
    return it == chains_.end() ? 0 : it->second.size();
  }
  std::map<PublicKey, uint64_t> head_map() const {
    std::map<PublicKey, uint64_t> m;
    for (const auto& [origin, chain] : chains_) m[origin] = chain.size();
    return m;
  }
  const Held* at(const PublicKey& origin, uint64_t seq) const {
    auto it = chains_.find(origin);
    if (it == chains_.end() || seq == 0 || seq > it->second.size()) return nullptr;
    return &it->second[seq - 1];
  }
  std::vector<std::string> forks;

 private:
  std::map<PublicKey, std::vector<Held>> chains_;
  std::set<std::pair<std::string, PublicKey>> grants_;
  KeyState keys_;                            // what the chains held state of their keys
  std::map<PublicKey, uint64_t> recovered_;  // origin -> seq of its latest recovery record

 public:
  std::vector<std::string> set_aside_;  // header bytes of the records recoveries set aside
};

// A received batch frame as the ingest path sees it after verification: signature and
// header checked (the body schema is the input validator's business, tested elsewhere).
inline std::pair<std::vector<storage::IncomingRecord>, std::vector<std::string>> received(const std::string& frame) {
  auto batch = sync::decode_batch(frame);
  std::vector<storage::IncomingRecord> records(batch.value().records.size());
  std::vector<std::string> errors(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    auto h = verify_record(batch.value().records[i]);
    if (!h) {
      errors[i] = h.error().to_string();
      continue;
    }
    records[i].header = h.value();
    records[i].record = batch.value().records[i];
  }
  return {std::move(records), std::move(errors)};
}

// Delivers one batch into `to`, returning the decision.
inline sync::BatchDecision deliver(const sync::OutgoingBatch& b, MemoryStore& to) {
  auto [records, errors] = received(b.frame());
  sync::BatchDecision d = sync::decide_batch(records, errors, to);
  to.apply(d, records);
  return d;
}

}  // namespace agora::test
