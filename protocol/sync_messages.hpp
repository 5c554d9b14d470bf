// The peer-sync wire messages (docs/protocol.md): JSON control messages in text frames,
// record batches in binary frames. Decoders never throw; they enforce the limits.
#pragma once

#include <cstdint>
#include <iterator>
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

inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kMaxFrameBytes = 8 * 1024 * 1024;  // the most a receiver may be set to accept
inline constexpr size_t kMinFrameBytes = 2 * 1024 * 1024;  // the least every receiver accepts
inline constexpr size_t kMaxBatchRecords = 1024;
// A sender stops adding records to a batch once their bytes reach this, so a batch frame
// (this plus one maximal record) always fits in kMinFrameBytes.
inline constexpr size_t kMaxBatchBytes = 1024 * 1024;
inline constexpr size_t kMaxUnackedBatches = 16;  // a sender's window may not exceed this
inline constexpr size_t kMaxControlBytes = 256 * 1024;
inline constexpr size_t kMaxHeadsEntries = 100000;

// Text frames. `t` names the type.
struct Hello {  // server -> client, first message
  PublicKey node{};
  std::string challenge;  // 64 hex digits, fresh per connection
};
struct Auth {  // client -> server
  PublicKey node{};
  std::string challenge;  // the client's own fresh challenge for the server
  Signature proof{};      // over auth_transcript(server challenge, client, server)
};
struct Welcome {      // server -> client
  Signature proof{};  // over welcome_transcript(client challenge, server, client)
};
struct Heads {  // both ways after the handshake: what this side holds, per origin
  std::map<PublicKey, uint64_t> heads;
};
struct Ack {  // receiver -> sender, after a batch is durably stored
  uint64_t batch = 0;
  uint32_t stored = 0, duplicate = 0, rejected = 0;
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

using Control = std::variant<Hello, Auth, Welcome, Heads, Ack, ErrorMessage>;

std::string encode(const Hello&);
std::string encode(const Auth&);
std::string encode(const Welcome&);
std::string encode(const Heads&);
std::string encode(const Ack&);
std::string encode(const ErrorMessage&);
Result<Control> decode_control(std::string_view text);

// What each side signs in the handshake: both node ids and the other side's challenge, so
// a proof is bound to this connection and direction and cannot be replayed elsewhere.
std::string auth_transcript(std::string_view server_challenge, const PublicKey& client, const PublicKey& server);
std::string welcome_transcript(std::string_view client_challenge, const PublicKey& server, const PublicKey& client);

// Binary frames: 'R', batch number, then records (a record without body is a stub).
struct RecordBatch {
  uint64_t batch = 0;
  std::vector<SignedRecord> records;
};
std::string encode(const RecordBatch&);
void append_record(std::string& frame, const SignedRecord& record);  // for streaming encoders
std::string batch_frame_prefix(uint64_t batch, uint32_t count);
Result<RecordBatch> decode_batch(std::string_view frame);

}  // namespace agora::sync
