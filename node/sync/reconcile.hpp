// Heads by set reconciliation (protocol 2): two nodes find the origins whose heads differ
// without either listing every origin, in turns of range messages. Sans-I/O like the engine.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/result.hpp"
#include "protocol/sync_messages.hpp"

namespace agora::sync {

// The key every fingerprint of one connection is computed with: both handshake challenges,
// so a peer cannot prepare origins whose fingerprints cancel out.
Hash reconcile_salt(std::string_view server_challenge, std::string_view client_challenge);

class Reconciler {
 public:
  // At most this many origins in a range are listed instead of split into 16 fingerprints.
  static constexpr size_t kListAtMost = 8;

  // `mine`: this node's heads as it tells this peer (origin -> highest seq held).
  Reconciler(const std::map<PublicKey, uint64_t>& mine, const Hash& salt);

  // The client's first turn: one range covering every origin.
  std::vector<RangeEntry> open();
  // A complete turn from the peer (all its messages up to the one without `more`). Returns
  // this node's next turn, which may be empty (send it: it ends the exchange), or nullopt
  // when the peer's turn was empty (the exchange is over, send nothing). An error means the
  // peer broke the rules (a range it was not asked about, heads outside its range).
  Result<std::optional<std::vector<RangeEntry>>> on_turn(const std::vector<RangeEntry>& turn);

  bool done() const { return done_; }
  // What the peer holds, per origin, as far as this node needs to know: exact for every
  // origin this node holds; origins missing from the map the peer does not hold.
  const std::map<PublicKey, uint64_t>& peer_heads() const { return peer_; }

 private:
  struct Item {
    PublicKey origin;
    uint64_t seq;
  };
  std::pair<size_t, size_t> range(std::string_view prefix) const;  // [first, last) of items_
  uint64_t fingerprint(std::string_view prefix) const;
  RangeEntry describe(const std::string& prefix) const;  // heads when small, else fingerprints
  uint64_t seq_of(const PublicKey& origin) const;        // 0 when not held

  std::vector<Item> items_;     // sorted by origin
  std::vector<uint64_t> sums_;  // sums_[i]: fingerprint sum of items_[0, i)
  std::map<PublicKey, uint64_t> peer_;
  std::set<std::string> sent_fingerprints_;                // ranges split, awaiting sub-ranges
  std::map<std::string, std::set<PublicKey>> sent_heads_;  // ranges listed, awaiting answers
  bool started_ = false, done_ = false;
  Hash salt_{};
};

}  // namespace agora::sync
