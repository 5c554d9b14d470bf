#include "protocol/retraction.hpp"

#include <nlohmann/json.hpp>

#include "protocol/crypto.hpp"
#include "protocol/hex.hpp"

namespace agora {

std::string retraction_body(const RetractionNote& n) {
  return nlohmann::json{{"reason", n.reason}, {"target", n.target}, {"tombstone_version", n.version}}.dump();
}

std::optional<RetractionNote> read_retraction(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto target = j.find("target"), version = j.find("tombstone_version"), reason = j.find("reason");
  if (target == j.end() || !target->is_string() || version == j.end() || !version->is_number_unsigned() ||
      version->get<uint64_t>() == 0 || version->get<uint64_t>() > (1u << 31) || reason == j.end() ||
      !reason->is_string())
    return std::nullopt;
  return RetractionNote{target->get<std::string>(), version->get<uint32_t>(), reason->get<std::string>()};
}

std::string retraction_id(std::string_view target, uint32_t version) {
  return "retraction-" + to_hex(sha256(std::string(target) + "/" + std::to_string(version))).substr(0, 16);
}

}  // namespace agora
