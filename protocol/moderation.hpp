// Moderation records: what a coalition's lead (or an admin it names) decides about a member
// or a coalition-scoped record, and the id one decision lives under. No I/O.
// docs/data-model.md, "moderation".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agora {

// remove-member: the target (a node id) stops being a member of the coalition.
// dispute:       the target record (ORIGIN/ID) is shown marked as disputed, with the reason.
// withdraw:      the target record leaves the coalition's scope: members neither list it nor
//                pass its body on.
enum class ModerationAction { remove_member, dispute, withdraw };

std::string_view moderation_action_name(ModerationAction a);
std::optional<ModerationAction> parse_moderation_action(std::string_view name);

struct ModerationStatement {
  std::string coalition;
  ModerationAction action = ModerationAction::dispute;
  std::string target;  // remove-member: 64 hex digits; dispute, withdraw: ORIGIN/ID
  std::string reason;
};

// The body a moderation record signs (canonical JSON) and the statement a valid body makes.
std::string moderation_body(const ModerationStatement& m);
std::optional<ModerationStatement> read_moderation(std::string_view body);

// One decision per (coalition, target) and moderator: its record id is "moderation-" and the
// first 16 hex digits of SHA-256(coalition "\n" target). A new version changes the decision;
// a retraction lifts it.
std::string moderation_id(std::string_view coalition, std::string_view target);

// Whether the target suits the action: a node id for remove-member, ORIGIN/ID otherwise.
bool is_valid_moderation_target(ModerationAction action, std::string_view target);

}  // namespace agora
