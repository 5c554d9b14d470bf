// Re-checks every stored record: canonical header, body hash, signature, hash chain, heads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/record_store.hpp"

namespace agora {

struct VerifyReport {
  uint64_t records = 0;
  uint64_t origins = 0;
  uint64_t stubs = 0;                 // records held without their body
  uint64_t set_aside = 0;             // kept as evidence of a branch a recovery replaced
  std::vector<std::string> problems;  // empty when everything holds (capped at 100)
  uint64_t problem_count = 0;
  bool ok() const { return problem_count == 0; }
};

// Verifies on all cores, keeping memory bounded however large the store is.
VerifyReport verify_store(storage::RecordStore& store);

}  // namespace agora
