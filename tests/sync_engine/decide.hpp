// Deciding records as the node's ingest does, against an in-memory store: for the engine's
// identity tests (authority, recovery).
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sync_engine/memory_store.hpp"

namespace agora::test {

// Verifies and decides records as the node's ingest does, then keeps what was accepted.
inline sync::BatchDecision decide_and_store(MemoryStore& store, const std::vector<SignedRecord>& records) {
  std::vector<storage::IncomingRecord> in(records.size());
  std::vector<std::string> errors(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    auto h = verify_record(records[i]);
    if (!h) {
      errors[i] = h.error().to_string();
      continue;
    }
    in[i].header = h.value();
    in[i].record = records[i];
  }
  auto d = sync::decide_batch(in, errors, store);
  store.apply(d, in);
  return d;
}

inline sync::Disposition outcome_of(MemoryStore& store, const SignedRecord& r) {
  return decide_and_store(store, {r}).dispositions.at(0);
}

// Why the record was rejected (it must be).
inline std::string refusal_of(MemoryStore& store, const SignedRecord& r) {
  auto d = decide_and_store(store, {r});
  REQUIRE(d.dispositions.at(0) == sync::Disposition::reject);
  return d.reasons.at(0);
}

}  // namespace agora::test
