// One-time invitations: `agora invite` prints one string that another city's node joins
// with (`agora join STRING`); its first handshake carries the secret, and both nodes then
// list each other. The inviting node keeps only the secret's hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/crypto.hpp"
#include "protocol/result.hpp"
#include "storage/record_store.hpp"

namespace agora {

// What the string carries: where to dial, whom to expect there, the secret, the relation.
struct Invitation {
  std::string url;         // the inviting node's sync address
  PublicKey city{};        // the inviting city's id
  std::string secret;      // 32 lowercase hex digits
  std::string relation;    // twin, coalition:NAME, or empty
  int64_t expires_ms = 0;  // as the inviting node said (it alone decides); 0: not said
};
std::string encode_invitation(const Invitation& invitation);
// Refuses a string that is not one, or that was damaged (it carries a checksum).
Result<Invitation> decode_invitation(std::string_view text);
std::string new_invitation_secret();

// What the inviting node keeps of an invitation, under the secret's hash (its id).
struct InvitationRecord {
  std::string secret;  // to check the proof a joining node's handshake carries
  int64_t created_ms = 0, expires_ms = 0;
  std::string relation;
  std::string used_by;  // the node id that used it; empty while unused
  int64_t used_ms = 0;
};
void save_invitation(storage::RecordStore& store, storage::WriteTxn& txn, std::string_view secret,
                     const InvitationRecord& record);
std::optional<InvitationRecord> find_invitation(storage::RecordStore& store, const storage::Txn& txn,
                                                std::string_view secret);
// By the id a handshake names (sync::invitation_id of the secret).
std::optional<InvitationRecord> find_invitation_by_id(storage::RecordStore& store, const storage::Txn& txn,
                                                      std::string_view id);
// Why a presented invitation is refused at `now_ms` (unknown, used, expired), or nullopt.
std::optional<std::string> invitation_problem(const std::optional<InvitationRecord>& record, int64_t now_ms);

}  // namespace agora
