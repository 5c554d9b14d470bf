// The peer-sync wire messages (docs/protocol.md): JSON control messages in text frames,
// record batches in binary frames. Decoders never throw; they enforce the limits.
#pragma once

#include <cstdint>
#include <iterator>
#include <array>
#include <map>
#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/crypto.hpp"
#include "protocol/record.hpp"
#include "protocol/result.hpp"

namespace agora::sync {

// `v` in hello and auth: always 1, the version every node reads. The versions a node speaks
// go in `versions`; a connection uses the highest both list (docs/protocol.md section 13).
inline constexpr int kProtocolVersion = 1;
inline constexpr int kHighestProtocolVersion = 2;          // 2: heads by set reconciliation
inline constexpr size_t kMaxFrameBytes = 8 * 1024 * 1024;  // the most a receiver may be set to accept
inline constexpr size_t kMinFrameBytes = 2 * 1024 * 1024;  // the least every receiver accepts
inline constexpr size_t kMaxBatchRecords = 1024;
// A sender stops adding records to a batch once their bytes reach this, so a batch frame
// (this plus one maximal record) always fits in kMinFrameBytes.
inline constexpr size_t kMaxBatchBytes = 1024 * 1024;
inline constexpr size_t kMaxUnackedBatches = 16;  // a sender's window may not exceed this
inline constexpr size_t kMaxControlBytes = 256 * 1024;
inline constexpr size_t kMaxHeadsEntries = 100000;
inline constexpr size_t kHeadsPerMessage = 2000;   // a sender splits larger heads (`more`)
inline constexpr size_t kMaxHeadsTotal = 1000000;  // origins in all the parts of one `heads`
inline constexpr size_t kMaxRangeHeads = 16;       // origins in one `heads` range of a reconcile
inline constexpr size_t kNodeIdHexDigits = 64;

// The key a node proves its city with when it is not the city's own: a node key the city
// delegated, and the key record of the city's chain that grants it (docs/identity.md).
struct NodeKeyProof {
  PublicKey key{};
  SignedRecord delegation;
  // When a root key other than the genesis key signed the delegation: the records that show
  // it is one (its root grants, and the genesis record when a recovery key granted one).
  std::vector<SignedRecord> path;
};
inline constexpr size_t kMaxNodeKeyPath = 8;

// Text frames. `t` names the type.
struct Hello {  // server -> client, first message
  PublicKey node{};
  std::string challenge;                 // 64 hex digits, fresh per connection
  std::vector<int> versions = {1};       // protocol versions the sender speaks
  std::optional<NodeKeyProof> node_key;  // absent: the proofs are by `node` itself
};
struct Auth {  // client -> server
  PublicKey node{};
  std::string challenge;  // the client's own fresh challenge for the server
  Signature proof{};      // over auth_transcript(server challenge, client, server)
  std::vector<int> versions = {1};
  std::optional<NodeKeyProof> node_key;  // absent: the proof is by `node` itself
  // From a node not yet listed: which invitation and a proof of its secret bound to this
  // handshake, "ID.MAC" (64 + 64 hex digits; invitation_proof()).
  std::string invitation;
};
struct Welcome {      // server -> client
  Signature proof{};  // over welcome_transcript(client challenge, server, client)
};
struct Heads {  // both ways after the handshake: what this side holds, per origin
  std::map<PublicKey, uint64_t> heads;
  bool more = false;  // further `heads` messages complete this set
};
struct Ack {  // receiver -> sender, after a batch is durably stored
  uint64_t batch = 0;
  uint32_t stored = 0, duplicate = 0, rejected = 0;
  uint32_t forks = 0;    // a second, different record for a held position (kept as evidence)
  uint32_t skipped = 0;  // refused without blame: newer envelope, over the new-origin allowance
};
// One range of a heads reconciliation (protocol 2): the origins whose node id starts with
// `prefix` (0-64 lowercase hex digits).
struct RangeEntry {
  enum class Type {
    fingerprints,  // the sender's fingerprints of the 16 sub-ranges prefix+'0' ... prefix+'f'
    heads,         // every origin the sender holds in the range, with its head (at most 16)
    answer,        // the sender's heads that differ, for the origins of the peer's `heads` range
  };
  std::string prefix;
  Type type = Type::fingerprints;
  std::array<uint64_t, 16> fingerprints{};
  std::map<PublicKey, uint64_t> heads;
};
struct Reconcile {  // one message of a turn; `more`: the turn goes on in the next message
  std::vector<RangeEntry> ranges;
  bool more = false;
};
// A control message type this node does not know: ignored once READY (section 13).
struct UnknownMessage {
  std::string type;
};
struct ErrorMessage {
  std::string code, message;
};

// The codes of `error` messages this node sends (docs/protocol.md section 9 lists each one;
// tests/protocol/error_codes_test.cpp checks that the table and this list agree both ways).
// A received ErrorMessage may carry any code: an unknown one is shown, not rejected.
enum class ErrorCode {
  wrong_key,
  unknown_key,
  bad_proof,
  backoff,
  handshake_timeout,
  protocol,
  bad_message,
  bad_frame,
  flow_control,
  invalid_records,
  duplicate,
  removed,
  busy,
  shutdown,
  local_error,
};
inline constexpr ErrorCode kAllErrorCodes[] = {
    ErrorCode::wrong_key,
    ErrorCode::unknown_key,
    ErrorCode::bad_proof,
    ErrorCode::backoff,
    ErrorCode::handshake_timeout,
    ErrorCode::protocol,
    ErrorCode::bad_message,
    ErrorCode::bad_frame,
    ErrorCode::flow_control,
    ErrorCode::invalid_records,
    ErrorCode::duplicate,
    ErrorCode::removed,
    ErrorCode::busy,
    ErrorCode::shutdown,
    ErrorCode::local_error,
};
static_assert(std::size(kAllErrorCodes) == static_cast<size_t>(ErrorCode::local_error) + 1, "list every code");
// The code as it travels: "wrong-key", "local-error", ...
std::string_view error_code_name(ErrorCode code);
inline ErrorMessage error_message(ErrorCode code, std::string message) {
  return ErrorMessage{std::string(error_code_name(code)), std::move(message)};
}

using Control = std::variant<Hello, Auth, Welcome, Heads, Ack, ErrorMessage, Reconcile, UnknownMessage>;

// The proof an `auth` carries for an invitation: its id (SHA-256 of the secret) and
// HMAC-SHA256(secret, "agora-sync/1 invitation C1 CLIENT_ID"), so that neither the secret
// nor the proof is of use to anyone who sees one handshake.
std::string invitation_proof(std::string_view secret, std::string_view server_challenge, const PublicKey& client);
std::string invitation_id(std::string_view secret);

std::string encode(const Hello&);
std::string encode(const Auth&);
std::string encode(const Welcome&);
std::string encode(const Heads&);
std::string encode(const Ack&);
std::string encode(const ErrorMessage&);
std::string encode(const Reconcile&);
std::string encode(const UnknownMessage&);
// A turn of ranges as messages of at most about `max_bytes` each, `more` set on all but the last.
std::vector<std::string> encode_turn(const std::vector<RangeEntry>& ranges, size_t max_bytes = 200 * 1024);
// Heads as messages of at most kHeadsPerMessage origins each, `more` set on all but the last.
std::vector<std::string> encode_heads(const std::map<PublicKey, uint64_t>& heads);
Result<Control> decode_control(std::string_view text);

// What each side signs in the handshake: both node ids and the other side's challenge, so
// a proof is bound to this connection and direction and cannot be replayed elsewhere.
std::string auth_transcript(std::string_view server_challenge, const PublicKey& client, const PublicKey& server);
std::string welcome_transcript(std::string_view client_challenge, const PublicKey& server, const PublicKey& client);

// Binary frames: 'R', batch number, then records (a record without body is a stub).
struct RecordBatch {
  RecordBatch() = default;
  RecordBatch(uint64_t number, std::vector<SignedRecord> list) : batch(number), records(std::move(list)) {}
  uint64_t batch = 0;
  std::vector<SignedRecord> records;
  // Per record, filled by decode_batch: why the record breaks a record limit (a header over
  // 1 KiB, a body over 256 KiB) although the frame around it is well formed. Such a record
  // is rejected as a record; only a frame that does not parse closes the connection.
  std::vector<std::string> oversized;
};
std::string encode(const RecordBatch&);
void append_record(std::string& frame, const SignedRecord& record);  // for streaming encoders
std::string batch_frame_prefix(uint64_t batch, uint32_t count);
Result<RecordBatch> decode_batch(std::string_view frame);

}  // namespace agora::sync
