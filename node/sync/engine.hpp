// The sync rules without sockets, threads or LMDB: what to send a peer next, and what a
// received batch means for this node's chains. The node drives it from a peer session;
// tests drive it with an in-memory store (tests/sync_engine/).
#pragma once

#include <cstdint>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "protocol/authority.hpp"
#include "protocol/chain.hpp"
#include "protocol/record.hpp"
#include "protocol/sync_messages.hpp"
#include "storage/record_store.hpp"

namespace agora::sync {

// What the sending side reads of this node's store.
class StoreView {
 public:
  virtual ~StoreView() = default;
  virtual std::vector<storage::OriginHead> heads() const = 0;
  // The record at (origin, seq), with its body unless held as a stub.
  virtual std::optional<SignedRecord> record(const PublicKey& origin, uint64_t seq) const = 0;
  // Visits the header bytes of the latest version of each record that is not public and is
  // held with its body (record() loads the ones worth sending).
  virtual void for_each_restricted_latest(const std::function<void(std::string_view header_bytes)>& visit) const = 0;
  // Whether `peer` is entitled to the body of a record (visibility, twins, coalitions).
  virtual bool may_read(const Header& header, const PublicKey& peer) const = 0;
  // Each origin whose chain holds a recovery, with the seq of its latest recovery record.
  virtual std::vector<std::pair<PublicKey, uint64_t>> recoveries() const = 0;
};

// What the receiving side reads of this node's chains (inside the writer's transaction).
class ChainView {
 public:
  virtual ~ChainView() = default;
  virtual ChainTip tip(const PublicKey& origin) const = 0;  // seq 0 when nothing is held
  // The record held at (origin, seq), if any; its bytes stay valid while the view lives.
  virtual std::optional<HeldRecord> held(const PublicKey& origin, uint64_t seq) const = 0;
  // What the origin's chain as held states of one of its delegated keys (nullopt: nothing).
  virtual std::optional<KeyGrant> grant(const PublicKey& origin, const PublicKey& key) const = 0;
  // The kind of the latest version of (origin, id) held, if any.
  virtual std::optional<Kind> latest_kind(const PublicKey& origin, const std::string& id) const = 0;
  // The recovery key commitment the origin's chain states, and the seq of its latest
  // recovery record (0: none).
  virtual std::optional<Hash> recovery_commitment(const PublicKey& origin) const = 0;
  virtual uint64_t recovered_at(const PublicKey& origin) const = 0;
};

using Clock = std::chrono::steady_clock;

struct SendLimits {
  size_t batch_records = 512;    // records per batch frame (≤ kMaxBatchRecords)
  size_t batch_bytes = 1 << 20;  // and about this many record bytes (≤ kMaxBatchBytes)
  // The most batches sent before waiting for acks (≤ kMaxUnackedBatches). Below it the
  // window follows the link: enough batches to cover one round trip at the rate the peer
  // acknowledges them (the bandwidth-delay product, counted in batches), plus two.
  size_t window = kMaxUnackedBatches;
  size_t initial_window = 8;  // until the first acks have measured the link
};

// One batch frame to send: its number, record count and the encoded records.
struct OutgoingBatch {
  uint64_t number = 0;
  uint32_t count = 0;
  std::string records;
  std::string frame() const;
};

// The sending half of one peer connection: what the peer holds, what is in flight.
class Outbound {
 public:
  Outbound(PublicKey peer, SendLimits limits) : peer_(peer), limits_(limits) {}

  // The peer's `heads` message: from now on, send what it lacks. Values below what the peer
  // is already known to hold on this connection are stale and leave that knowledge as it is.
  void on_heads(const std::map<PublicKey, uint64_t>& heads);
  bool has_heads() const { return has_heads_; }

  // The next batch to send: first any queued newly readable bodies, then what the peer
  // lacks, in each origin's chain order, bodies only where the peer is entitled (a stub
  // otherwise). Nothing before the heads, when the window is full, or when there is nothing.
  std::optional<OutgoingBatch> next(const StoreView& store, Clock::time_point now = Clock::now());
  // Queues, with their bodies, the latest restricted records the peer holds (perhaps as
  // stubs) and may now read: called when entitlements change. They go out through next(),
  // within the window and the batch limits like any batch. Returns the records queued.
  size_t queue_newly_readable(const StoreView& store);
  // Queues the bodies of these records (stubs this node just filled) when the peer holds
  // them, as it may then hold them as stubs, and may read them. Returns how many.
  size_t queue_filled(const StoreView& store, const std::vector<std::pair<PublicKey, uint64_t>>& records);
  // Queues the recovery records of the origins the peer holds at or past their place: a
  // peer on a branch a recovery replaced learns of it whatever its head (docs/identity.md).
  size_t queue_recoveries(const StoreView& store);

  // An ack for the oldest batch in flight; false when none was waiting for one, or when
  // `number` is given and is not that batch's number. `now` times the round trip.
  [[nodiscard]] bool on_ack(std::optional<uint64_t> number = std::nullopt, Clock::time_point now = Clock::now());
  // The peer sent these records, so it holds them: they are never sent back to it.
  void peer_holds(const PublicKey& origin, uint64_t seq);

  const std::map<PublicKey, uint64_t>& peer_has() const { return peer_has_; }
  size_t unacked() const { return unacked_; }
  size_t window() const;  // batches that may be in flight now
  // The shortest round trip of a batch (send to ack: the link's delay without the queue
  // our own window builds at the peer) and the smoothed time between acks; zero until measured.
  std::chrono::microseconds round_trip() const { return min_rtt_; }
  std::chrono::microseconds ack_interval() const { return ack_gap_; }

 private:
  OutgoingBatch take(std::string records, uint32_t count, Clock::time_point now);

  // Appends rec to the batches waiting for the window (newly_readable: re-queued on a change).
  void queue(const SignedRecord& rec, bool newly_readable);
  struct Pending {
    std::string records;
    uint32_t count = 0;
    bool newly_readable = false;  // bodies queued by queue_newly_readable (re-queued on a change)
  };
  PublicKey peer_;
  SendLimits limits_;
  std::deque<Pending> pending_;  // bodies and recoveries waiting for the window, sent before chain order
  bool has_heads_ = false;
  std::map<PublicKey, uint64_t> peer_has_;
  size_t unacked_ = 0;
  uint64_t batches_sent_ = 0;
  std::deque<Clock::time_point> sent_at_;  // of the batches in flight, oldest first
  std::chrono::microseconds min_rtt_{0}, ack_gap_{0};
  std::optional<Clock::time_point> last_ack_;
};

// What becomes of one received record.
enum class Disposition {
  store,      // extends its origin's chain
  duplicate,  // already held
  fill,       // fills in the body of a record held as a stub
  fork,       // a second, different record at a held seq: kept as evidence only
  recover,    // a recovery record that wins its seq: the records held from there are set aside
  reject,     // failed verification, or a gap or a broken link in the chain
  skip,       // refused without blame: a newer envelope, or over the new-origin allowance
};

// What one connection accepts beyond the chain rule, carried from batch to batch (touched
// by the writer only while a batch is decided).
struct IngestPolicy {
  std::optional<size_t> new_origins_left;  // origins this node holds nothing of; nullopt: no limit
  std::set<PublicKey> exempt;              // always accepted as new: listed peers, this node
  // origin -> first seq skipped: the chain cannot be checked past it, so the rest of that
  // origin is skipped too on this connection (not rejected as a gap).
  std::map<PublicKey, uint64_t> blocked;
  // Origins the operator blocks (`agora block`): skipped without blame, never stored.
  std::set<PublicKey> refused_origins;
};

// What a received batch means: one disposition per record, and the counts acked.
struct BatchDecision {
  std::vector<Disposition> dispositions;
  std::vector<std::string> reasons;  // per record; set for rejects
  uint32_t to_store = 0, duplicates = 0, fills = 0, forks = 0, rejected = 0, skipped = 0, recoveries = 0;
  uint32_t new_origins = 0;  // origins this batch starts on this node (counted against the allowance)
  std::string first_error;
  std::map<PublicKey, uint64_t> sender_holds;  // highest valid seq per origin the sender sent
};

// Decides a verified batch against the chains held: records are taken in order, each one
// seeing the chain as the ones before it in the batch left it. `errors[i]` non-empty means
// record i failed the store-free checks (signature, schema, size); `newer[i]` that its
// envelope is newer than this node reads (its header then only names origin and seq).
BatchDecision decide_batch(std::span<const storage::IncomingRecord> records, std::span<const std::string> errors,
                           std::span<const uint8_t> newer, const ChainView& chains, IngestPolicy& policy);
// The same with no allowance and nothing newer (tests).
BatchDecision decide_batch(std::span<const storage::IncomingRecord> records, std::span<const std::string> errors,
                           const ChainView& chains);

}  // namespace agora::sync
