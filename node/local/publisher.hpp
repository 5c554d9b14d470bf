// Turns validated input into this city's signed records: ids, versions, hash chain, signing,
// and one LMDB transaction per call.
#pragma once

#include <stdexcept>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "node/local/data_dir.hpp"
#include "protocol/authority.hpp"
#include "protocol/input_schema.hpp"
#include "protocol/moderation.hpp"

namespace agora {

struct PublishResult {
  Kind kind = Kind::practice;
  std::string id;
  uint32_t version = 0;
  uint64_t seq = 0;        // 0 when unchanged (nothing was written)
  bool unchanged = false;  // same body and visibility as the latest version
};

// A record drafted for a key held elsewhere: the header bytes it signs and the body.
struct SubmissionDraft {
  PublishResult result;      // result.unchanged: nothing to sign
  std::string header_bytes;  // canonical header: its signer signs exactly these bytes
  std::string body;
};

// The chain moved between a submission's draft and its signed return: draft it again.
class SubmissionMoved : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RecoveryResult {
  PublishResult record;
  uint64_t set_aside = 0;  // records of the city's chain after the recovery point
};

// What `agora erase` asks for: which versions of one of the city's records lose their bodies.
struct ErasureRequest {
  std::string id;
  std::optional<uint32_t> version;  // one version; neither this nor all_versions: the current one
  bool all_versions = false;
  std::string reason;
};

struct ErasureResult {
  PublishResult record;  // the erasure record
  Kind target_kind = Kind::practice;
  std::vector<uint32_t> erased;  // versions whose bodies are gone
  std::vector<uint32_t> kept;    // versions of the record that still hold their text
};

class Publisher {
 public:
  explicit Publisher(DataDir& dir) : dir_(dir) {}
  // Lets publish(), publish_stream() and draft() bring back records whose current version
  // is a retraction or an erasure (`--revive`); without it they are refused.
  Publisher& allow_revive(bool revive = true) {
    revive_ = revive;
    return *this;
  }
  // Indicators a plan update may drop although reports name them (`--drop-indicator`).
  Publisher& allow_dropped_indicators(std::set<std::string> names) {
    dropped_indicators_ = std::move(names);
    return *this;
  }

  // Signs and stores all inputs in order, in one transaction: all or nothing. Safe against
  // another process publishing at the same time (the batch is re-chained if the head moved).
  std::vector<PublishResult> publish(const std::vector<ValidatedInput>& inputs);

  // Bulk publishing: batches from next_batch (false when there are no more) are signed
  // while the previous batch is being written; on_committed is called, in order, after each
  // batch is durably stored. Falls back to one batch at a time if another process writes.
  void publish_stream(const std::function<bool(std::vector<ValidatedInput>&)>& next_batch,
                      const std::function<void(const std::vector<PublishResult>&)>& on_committed);

  // A signed tombstone for one of this city's records; throws InvalidInput if there is no
  // such live record. With a reason, a retraction note follows it in the same transaction
  // (docs/data-model.md, "Retraction").
  PublishResult retract(std::string_view id, std::string_view reason = {});

  // A signed erasure (docs/data-model.md): the bodies of the named versions are dropped
  // here at once and on every node that holds them. Throws InvalidInput, changing nothing,
  // for a record this city does not have, a kind that cannot be erased, or versions that
  // do not exist or were erased already.
  ErasureResult erase(const ErasureRequest& request);

  // A signed moderation decision of a coalition's lead or admin (docs/data-model.md,
  // "moderation"): a new version of this city's decision on that target. Throws
  // InvalidInput, changing nothing, when this city may not moderate the coalition, for the
  // lead as the member to remove, an admin removed by an admin, a member the coalition does
  // not have, or a record this node does not hold shared with that coalition. An unchanged
  // decision writes nothing. `retract(moderation_id(...))` lifts a decision.
  PublishResult moderate(const ModerationStatement& m);

  // A signed key record: delegates grant.key with its role and expiry, or (grant.revoked)
  // revokes it. Throws InvalidInput when the key in use may not (docs/identity.md).
  PublishResult publish_key(const KeyGrant& grant);
  // The city's recovery (`agora key recover`): the records after `after_seq` are set aside
  // and a key record signed by `recovery_key` (the one the genesis record commits to) grants
  // `new_root` the root role in their place, retiring every other root key. Throws
  // InvalidInput, changing nothing, for another key or a seq outside the chain.
  RecoveryResult recover(const SigningKey& recovery_key, const KeyGrant& new_root, uint64_t after_seq);

  // Submission from a key held elsewhere (docs/identity.md, "Several staff at once"): the
  // node drafts the record (id, version, chain position, exactly as publish() would) for
  // `signer`, which signs the header bytes where it is; submit() then stores the signed
  // record if it still extends the chain (else SubmissionMoved) and its signer may sign it
  // there (else InvalidInput). Nothing is written by draft().
  SubmissionDraft draft(const ValidatedInput& input, const PublicKey& signer);
  PublishResult submit(const SignedRecord& record);

 private:
  void ensure_may_publish();  // throws InvalidInput for observers and restoring nodes
  DataDir& dir_;
  bool revive_ = false;
  std::set<std::string> dropped_indicators_;
};

// The id given to an input without one: a slug of its title and a short body hash.
std::string generated_id(const ValidatedInput& input);
int64_t now_ms();

}  // namespace agora
