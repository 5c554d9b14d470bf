// The chain rule: how a record relates to what this node holds of its origin's chain.
// One pure function used by the store, the sync ingest path and `agora verify`.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/record.hpp"

namespace agora {

// The last record held of one origin's chain (seq 0 and an all-zero hash: none yet).
struct ChainTip {
  uint64_t seq = 0;
  Hash hash{};
};

// The record held at the incoming record's seq, when that seq is at or below the tip.
struct HeldRecord {
  std::string_view header_bytes;
  bool stub = false;  // held without its body
};

enum class ChainStep {
  extends,     // seq = tip + 1 and prev = the tip's hash: append it
  duplicate,   // the same header is already held there (nothing to do)
  fills_stub,  // the same header is held as a stub and this copy carries the body
  fork,        // a different header at a seq the chain has passed: evidence, never stored
  gap,         // seq > tip + 1: records between are missing
  unlinked,    // seq = tip + 1 but prev is not the tip's hash
};

// `held` is the record held at header.seq when header.seq <= tip.seq (nullptr when this
// node cannot say, which counts as a fork: the chain has passed that seq without it).
ChainStep chain_step(const Header& header, std::string_view header_bytes, bool has_body, const ChainTip& tip,
                     const HeldRecord* held);

// The tip after appending a record that extends it.
inline ChainTip tip_after(const Header& header, std::string_view header_bytes) {
  return ChainTip{header.seq, record_hash(header_bytes)};
}

std::string_view chain_step_name(ChainStep step);

}  // namespace agora
