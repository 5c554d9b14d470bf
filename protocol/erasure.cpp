#include "protocol/erasure.hpp"

#include <nlohmann/json.hpp>

#include "protocol/crypto.hpp"
#include "protocol/hex.hpp"

namespace agora {

bool is_erasable(Kind kind) {
  return kind == Kind::practice || kind == Kind::plan || kind == Kind::report || kind == Kind::adoption;
}

std::string erasure_body(const ErasureStatement& e) {
  return nlohmann::json{{"target", e.target}, {"versions", e.versions}, {"reason", e.reason}}.dump();
}

std::optional<ErasureStatement> read_erasure(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto target = j.find("target"), versions = j.find("versions"), reason = j.find("reason");
  if (target == j.end() || !target->is_string() || versions == j.end() || !versions->is_array()) return std::nullopt;
  ErasureStatement e;
  e.target = target->get<std::string>();
  for (const auto& v : *versions) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > (1u << 30)) return std::nullopt;
    e.versions.push_back(v.get<uint32_t>());
  }
  if (reason != j.end() && reason->is_string()) e.reason = reason->get<std::string>();
  return e;
}

std::string erasure_id(const ErasureStatement& e, uint64_t seq) {
  std::string what = e.target + "/" + std::to_string(seq);
  for (uint32_t v : e.versions) what += "/" + std::to_string(v);
  return "erasure-" + to_hex(sha256(what)).substr(0, 16);
}

}  // namespace agora
