// Ingest: verifying a peer's batch on all cores, then storing what extends each chain in one
// LMDB transaction (the engine's decide_batch says what that is).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "node/sync/engine.hpp"
#include "protocol/sync_messages.hpp"
#include "storage/record_store.hpp"

namespace agora::sync {

// A batch from a peer after the checks that need no store: signatures, schema, sizes.
struct VerifiedBatch {
  uint64_t batch = 0;
  std::vector<storage::IncomingRecord> records;
  std::vector<std::string> errors;  // per record; empty when it passed
  std::vector<uint8_t> newer;       // per record: an envelope newer than this node reads
};

// What storing a batch did; the counts are what the ack reports.
struct IngestOutcome {
  uint32_t stored = 0, duplicate = 0, rejected = 0, forks = 0, filled = 0, skipped = 0, new_origins = 0;
  std::string first_error;
  std::map<PublicKey, uint64_t> sender_holds;             // highest valid seq per origin the sender sent
  std::vector<PublicKey> recovered;                       // origins a recovery record of this batch reset
  std::vector<std::pair<PublicKey, uint64_t>> filled_at;  // (origin, seq) of each stub this batch filled
  // (origin, seq) of each stub the sender sent of a record this node holds whole: the sender
  // may be entitled to the body (it got the stub from a relay that had no more).
  std::vector<std::pair<PublicKey, uint64_t>> stubs_of_held_bodies;
  bool local_failure = false;  // this node could not write (disk full, ...): not the peer's fault
};

// Verifies every record on the worker pool and encodes the stored form there too, so the
// single writer only has to link and append. Never throws for a bad record (it is listed
// in `errors`); a failure of this node (out of memory) refuses the whole batch.
VerifiedBatch verify_batch(RecordBatch& batch);

// Stores what extends each origin's chain in one transaction, keeps fork evidence, fills
// stubs. Runs on the writer thread; a failure to write is reported as a local failure.
// `policy` (the connection's new-origin allowance and skipped origins) is updated only when
// the batch is committed.
IngestOutcome store_batch(storage::RecordStore& store, const PublicKey& from, const VerifiedBatch& batch,
                          IngestPolicy& policy);

}  // namespace agora::sync
