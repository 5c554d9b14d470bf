#include "protocol/moderation.hpp"

#include <nlohmann/json.hpp>

#include "protocol/crypto.hpp"
#include "protocol/hex.hpp"
#include "protocol/record.hpp"

namespace agora {

namespace {
constexpr std::string_view kActionNames[] = {"remove-member", "dispute", "withdraw"};
}

std::string_view moderation_action_name(ModerationAction a) { return kActionNames[static_cast<int>(a)]; }

std::optional<ModerationAction> parse_moderation_action(std::string_view name) {
  for (int i = 0; i < 3; ++i)
    if (kActionNames[i] == name) return static_cast<ModerationAction>(i);
  return std::nullopt;
}

std::string moderation_body(const ModerationStatement& m) {
  return nlohmann::json{{"action", moderation_action_name(m.action)},
                        {"coalition", m.coalition},
                        {"reason", m.reason},
                        {"target", m.target}}
      .dump();
}

std::optional<ModerationStatement> read_moderation(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto coalition = j.find("coalition"), action = j.find("action"), target = j.find("target"), reason = j.find("reason");
  if (coalition == j.end() || !coalition->is_string() || action == j.end() || !action->is_string() ||
      target == j.end() || !target->is_string())
    return std::nullopt;
  auto a = parse_moderation_action(action->get<std::string>());
  if (!a || !is_valid_moderation_target(*a, target->get<std::string>())) return std::nullopt;
  ModerationStatement m;
  m.coalition = coalition->get<std::string>();
  m.action = *a;
  m.target = target->get<std::string>();
  if (reason != j.end() && reason->is_string()) m.reason = reason->get<std::string>();
  return m;
}

std::string moderation_id(std::string_view coalition, std::string_view target) {
  std::string what = std::string(coalition) + "\n" + std::string(target);
  return "moderation-" + to_hex(sha256(what)).substr(0, 16);
}

namespace {
bool is_node_id(std::string_view s) {  // 64 lowercase hex digits, as node ids are written
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}
}  // namespace

bool is_valid_moderation_target(ModerationAction action, std::string_view target) {
  if (action == ModerationAction::remove_member) return is_node_id(target);
  return target.size() > 65 && target[64] == '/' && is_node_id(target.substr(0, 64)) &&
         is_valid_record_id(target.substr(65));
}

}  // namespace agora
