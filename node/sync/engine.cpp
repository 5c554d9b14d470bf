#include "node/sync/engine.hpp"

#include <algorithm>

#include "protocol/erasure.hpp"
#include "protocol/key_state.hpp"
#include "protocol/sync_messages.hpp"

namespace agora::sync {

std::string OutgoingBatch::frame() const { return batch_frame_prefix(number, count) + records; }

void Outbound::on_heads(const std::map<PublicKey, uint64_t>& heads) {
  // Within a connection what the peer holds never shrinks: heads lower than what it sent
  // (or was sent and acked) are stale, and must not make this node send those records back.
  for (const auto& [origin, seq] : heads) {
    uint64_t& has = peer_has_[origin];
    has = std::max(has, seq);
  }
  has_heads_ = true;
}

OutgoingBatch Outbound::take(std::string records, uint32_t count, Clock::time_point now) {
  ++unacked_;
  sent_at_.push_back(now);
  return OutgoingBatch{++batches_sent_, count, std::move(records)};
}

std::optional<OutgoingBatch> Outbound::next(const StoreView& store, Clock::time_point now) {
  if (!has_heads_ || unacked_ >= window()) return std::nullopt;
  if (!pending_.empty()) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    return take(std::move(p.records), p.count, now);
  }
  std::string records;
  uint32_t count = 0;
  auto full = [&] { return count >= limits_.batch_records || records.size() >= limits_.batch_bytes; };
  for (const auto& head : store.heads()) {
    uint64_t& has = peer_has_[head.origin];
    while (has < head.seq && !full()) {
      auto rec = store.record(head.origin, has + 1);
      if (!rec) break;
      if (rec->body && !header_is_public(rec->header_bytes)) {
        auto h = decode_header(rec->header_bytes);
        if (!h || !store.may_read(h.value(), peer_)) rec->body.reset();  // a stub keeps the chain
      }
      append_record(records, *rec);
      ++count, ++has;
    }
    if (full()) break;
  }
  if (count == 0) return std::nullopt;
  return take(std::move(records), count, now);
}

void Outbound::queue(const SignedRecord& rec, bool newly_readable) {
  // Into the last waiting batch of the same sort while it has room, else a new one.
  if (pending_.empty() || pending_.back().newly_readable != newly_readable ||
      pending_.back().count >= limits_.batch_records || pending_.back().records.size() >= limits_.batch_bytes)
    pending_.push_back(Pending{{}, 0, newly_readable});
  append_record(pending_.back().records, rec);
  ++pending_.back().count;
}

size_t Outbound::queue_newly_readable(const StoreView& store) {
  if (!has_heads_) return 0;
  // Bodies queued on an earlier change and not sent yet were readable then: a removal or a
  // withdrawal since may have taken that away, so they are queued again from now's rules.
  std::erase_if(pending_, [](const Pending& p) { return p.newly_readable; });
  size_t queued = 0;
  store.for_each_restricted_latest([&](std::string_view header_bytes) {
    auto h = decode_header(header_bytes);
    if (!h) return;
    auto has = peer_has_.find(h.value().origin);
    if (has == peer_has_.end() || h.value().seq > has->second || !store.may_read(h.value(), peer_)) return;
    auto rec = store.record(h.value().origin, h.value().seq);
    if (!rec || !rec->body) return;
    queue(*rec, true);
    ++queued;
  });
  return queued;
}

size_t Outbound::queue_filled(const StoreView& store, const std::vector<std::pair<PublicKey, uint64_t>>& records) {
  if (!has_heads_) return 0;
  size_t queued = 0;
  for (const auto& [origin, seq] : records) {
    auto has = peer_has_.find(origin);
    if (has == peer_has_.end() || has->second < seq) continue;  // it gets the body in chain order
    auto rec = store.record(origin, seq);
    if (!rec || !rec->body) continue;
    auto h = decode_header(rec->header_bytes);
    if (!h || !store.may_read(h.value(), peer_)) continue;
    queue(*rec, false);
    ++queued;
  }
  return queued;
}

size_t Outbound::queue_recoveries(const StoreView& store) {
  if (!has_heads_) return 0;
  size_t queued = 0;
  for (const auto& [origin, seq] : store.recoveries()) {
    auto has = peer_has_.find(origin);
    if (has == peer_has_.end() || has->second < seq) continue;  // it gets it in chain order
    auto rec = store.record(origin, seq);
    if (!rec) continue;
    queue(*rec, false);
    ++queued;
  }
  return queued;
}

bool Outbound::on_ack(std::optional<uint64_t> number, Clock::time_point now) {
  if (unacked_ == 0) return false;
  if (number && *number != batches_sent_ - unacked_ + 1) return false;  // acks come in batch order
  --unacked_;
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  // Smoothed as TCP smooths its round trip (RFC 6298): 7/8 of the old, 1/8 of the sample.
  // The round trip itself is the minimum seen: samples above it are queueing at the peer,
  // which a larger window would only lengthen.
  auto smooth = [](microseconds& avg, microseconds sample) {
    avg = avg.count() == 0 ? sample : (avg * 7 + sample) / 8;
  };
  if (!sent_at_.empty()) {
    auto sample = duration_cast<microseconds>(now - sent_at_.front());
    if (min_rtt_.count() == 0 || sample < min_rtt_) min_rtt_ = std::max(sample, microseconds(1));
    sent_at_.pop_front();
  }
  // The gap between acks while batches queue at the peer: its service time per batch. An
  // ack after an idle spell (nothing was in flight) measures the idleness instead.
  if (last_ack_ && unacked_ + 1 > 1) smooth(ack_gap_, duration_cast<microseconds>(now - *last_ack_));
  last_ack_ = now;
  return true;
}

size_t Outbound::window() const {
  size_t most = std::clamp<size_t>(limits_.window, 1, kMaxUnackedBatches);
  if (min_rtt_.count() == 0 || ack_gap_.count() == 0) return std::min(limits_.initial_window, most);
  // Batches in flight that keep the peer busy for one round trip, plus two for jitter.
  auto per_round_trip = static_cast<size_t>((min_rtt_.count() + ack_gap_.count() - 1) / ack_gap_.count());
  return std::clamp<size_t>(per_round_trip + 2, std::min<size_t>(4, most), most);
}

void Outbound::peer_holds(const PublicKey& origin, uint64_t seq) {
  uint64_t& has = peer_has_[origin];
  has = std::max(has, seq);
}

BatchDecision decide_batch(std::span<const storage::IncomingRecord> records, std::span<const std::string> errors,
                           const ChainView& chains) {
  IngestPolicy none;
  std::vector<uint8_t> newer(records.size(), 0);
  return decide_batch(records, errors, newer, chains, none);
}

BatchDecision decide_batch(std::span<const storage::IncomingRecord> records, std::span<const std::string> errors,
                           std::span<const uint8_t> newer, const ChainView& chains, IngestPolicy& policy) {
  BatchDecision d;
  d.dispositions.assign(records.size(), Disposition::reject);
  d.reasons.resize(records.size());
  std::map<PublicKey, ChainTip> tips;                                // as the batch so far leaves them
  std::map<std::pair<PublicKey, uint64_t>, std::string_view> taken;  // records this batch stores
  std::map<std::pair<PublicKey, std::string>, Kind> kinds;           // ids this batch stores, as it leaves them
  auto kind_of = [&](const PublicKey& origin, const std::string& id) -> std::optional<Kind> {
    if (auto k = kinds.find({origin, id}); k != kinds.end()) return k->second;
    return chains.latest_kind(origin, id);
  };
  // What the chains, as the batch so far leaves them, state of their keys (docs/identity.md).
  KeyState keys([&](const PublicKey& o, const PublicKey& k) { return chains.grant(o, k); },
                [&](const PublicKey& o) { return chains.recovery_commitment(o); });
  std::set<PublicKey> recovered;  // origins a recovery record of this batch reset
  auto is_recovery_record = [&](const PublicKey& origin, const Header& h) {
    return h.kind == Kind::key && h.key && keys.is_recovery_key(origin, *h.key);
  };
  for (size_t i = 0; i < records.size(); ++i) {
    auto reject = [&](std::string why) {
      d.dispositions[i] = Disposition::reject;
      ++d.rejected;
      if (d.first_error.empty()) d.first_error = why;
      d.reasons[i] = std::move(why);
    };
    const storage::IncomingRecord& in = records[i];
    const Header& h = in.header;
    auto skip = [&] {
      d.dispositions[i] = Disposition::skip;
      ++d.skipped;
      auto [at, fresh] = policy.blocked.try_emplace(h.origin, h.seq);
      if (!fresh) at->second = std::min(at->second, h.seq);
    };
    if (newer[i]) {  // header holds only the claimed origin and seq
      skip();
      continue;
    }
    if (!errors[i].empty()) {
      reject(errors[i]);
      continue;
    }
    if (policy.refused_origins.count(h.origin)) {
      skip();
      continue;
    }
    if (auto b = policy.blocked.find(h.origin); b != policy.blocked.end() && h.seq >= b->second) {
      skip();
      continue;
    }
    // After a recovery in this batch, the rest of its origin is judged on the next connection
    // (every connection restarts), against the chain the recovery left, not the branch it replaced.
    if (recovered.count(h.origin)) {
      skip();
      continue;
    }
    uint64_t& holds = d.sender_holds[h.origin];
    holds = std::max(holds, h.seq);
    auto tip = tips.find(h.origin);
    if (tip == tips.end()) tip = tips.emplace(h.origin, chains.tip(h.origin)).first;
    bool starts_origin = tip->second.seq == 0 && h.seq == 1 && !policy.exempt.count(h.origin);
    if (starts_origin && policy.new_origins_left && *policy.new_origins_left == 0) {
      skip();
      continue;
    }
    std::optional<HeldRecord> held;
    if (h.seq <= tip->second.seq) {
      if (auto t = taken.find({h.origin, h.seq}); t != taken.end())
        held = HeldRecord{t->second, false};
      else
        held = chains.held(h.origin, h.seq);
    }
    auto where = [&] { return short_node_id(h.origin) + "/" + std::to_string(h.seq); };
    // Whether its signer may sign it here: the chain before it delegates the signer (and,
    // for a key record, may grant what it grants). docs/identity.md. Rejects when not.
    auto check_authority = [&](std::optional<KeyGrant>& signer) {
      if (auto why = keys.problem(h, in.record.body, &signer)) {
        reject(where() + ": " + *why);
        return false;
      }
      return true;
    };
    // What a record this batch stores states for the records after it.
    auto note_stored = [&] {
      if (h.kind != Kind::unknown) kinds[{h.origin, h.id}] = h.kind;
      keys.apply(h, in.record.body);
    };
    switch (chain_step(h, in.record.header_bytes, in.record.body.has_value(), tip->second, held ? &*held : nullptr)) {
      case ChainStep::extends: {
        // Whether its signer may sign it here: the chain before it delegates the signer
        // (and, for a key record, may grant what it grants). docs/identity.md.
        std::optional<KeyGrant> signer;
        if (!check_authority(signer)) break;
        // A delegated key may only replace a record of a kind its role may sign (a reporter
        // cannot turn a practice into a report, nor retract it).
        if (h.key && signer)
          if (auto held_kind = kind_of(h.origin, h.id); held_kind && !role_may_sign(signer->role, *held_kind)) {
            reject(where() + ": key " + short_node_id(*h.key) + " (" + signer->name + ") may not replace a " +
                   std::string(kind_name(*held_kind)));
            break;
          }
        // An erasure names a record of its own chain of a kind that can be erased, and one
        // its signer may sign (docs/data-model.md, "Erasure").
        if (h.kind == Kind::erasure && (!in.record.body || !is_public(h))) {
          // Public and whole, always: a stub of one would keep the text it erases alive.
          reject(where() + ": an erasure is public and carries its body");
          break;
        }
        if (h.kind == Kind::erasure) {
          auto e = read_erasure(*in.record.body);
          auto target = e ? kind_of(h.origin, e->target) : std::nullopt;
          if (target && !is_erasable(*target)) {
            reject(where() + ": erases a " + std::string(kind_name(*target)) +
                   "; only practices, plans, reports and adoptions can be erased");
            break;
          }
          if (target && signer && !role_may_sign(signer->role, *target)) {
            reject(where() + ": key " + short_node_id(*h.key) + " (" + signer->name + ") may not erase a " +
                   std::string(kind_name(*target)));
            break;
          }
        }
        note_stored();
        d.dispositions[i] = Disposition::store;
        ++d.to_store;
        if (starts_origin) {
          ++d.new_origins;
          if (policy.new_origins_left) --*policy.new_origins_left;
        }
        tip->second = tip_after(h, in.record.header_bytes);
        taken[{h.origin, h.seq}] = in.record.header_bytes;
        break;
      }
      case ChainStep::duplicate:
        d.dispositions[i] = Disposition::duplicate;
        ++d.duplicates;
        break;
      case ChainStep::fills_stub:
        d.dispositions[i] = Disposition::fill;
        ++d.fills;
        break;
      case ChainStep::fork: {
        // A recovery record wins its seq over any record but a recovery with a lower hash,
        // when the chain before it is the one held (docs/identity.md, the race).
        if (!is_recovery_record(h.origin, h) || h.seq < 2) {
          // At or past a recovery, a second record is the replaced branch, relayed by a peer
          // that has not heard of the recovery yet: nothing to blame, nothing to keep.
          if (uint64_t at = chains.recovered_at(h.origin); at && h.seq >= at) {
            bool links_to_held = false;  // on the chain the recovery left: a real fork
            if (h.seq > at) {
              std::optional<HeldRecord> before_it;
              if (auto t = taken.find({h.origin, h.seq - 1}); t != taken.end())
                before_it = HeldRecord{t->second, false};
              else
                before_it = chains.held(h.origin, h.seq - 1);
              links_to_held = before_it && record_hash(before_it->header_bytes) == h.prev;
            }
            if (!links_to_held) {
              skip();
              break;
            }
          }
          d.dispositions[i] = Disposition::fork;
          ++d.forks;
          break;
        }
        std::optional<HeldRecord> before_it;
        if (auto t = taken.find({h.origin, h.seq - 1}); t != taken.end())
          before_it = HeldRecord{t->second, false};
        else
          before_it = chains.held(h.origin, h.seq - 1);
        if (!before_it || record_hash(before_it->header_bytes) != h.prev) {
          skip();  // a branch this node does not hold: nothing to blame
          break;
        }
        if (held) {
          auto other = decode_header(held->header_bytes);
          if (other && is_recovery_record(h.origin, other.value()) &&
              record_hash(held->header_bytes) <= record_hash(in.record.header_bytes)) {
            d.dispositions[i] = Disposition::fork;  // the held recovery wins
            ++d.forks;
            break;
          }
        }
        std::optional<KeyGrant> signer;
        if (!check_authority(signer)) break;
        for (auto t = taken.lower_bound({h.origin, h.seq}); t != taken.end() && t->first.first == h.origin;)
          t = taken.erase(t);
        note_stored();
        recovered.insert(h.origin);
        d.dispositions[i] = Disposition::recover;
        ++d.recoveries;
        tip->second = tip_after(h, in.record.header_bytes);
        taken[{h.origin, h.seq}] = in.record.header_bytes;
        break;
      }
      case ChainStep::gap:
        // A recovery ahead of what this node holds comes again in chain order; after one, a
        // peer on the branch it replaced sends on from where it believed this node was.
        if (is_recovery_record(h.origin, h) || chains.recovered_at(h.origin)) {
          skip();
          break;
        }
        reject(where() + ": gap after seq " + std::to_string(tip->second.seq));
        break;
      case ChainStep::unlinked:
        // After a recovery, records of the branch it replaced still travel from peers that
        // have not learned of it: refused without blame.
        if (chains.recovered_at(h.origin) || is_recovery_record(h.origin, h)) {
          skip();
          break;
        }
        reject(where() + ": does not link to the previous record's hash");
        break;
    }
  }
  return d;
}

}  // namespace agora::sync
