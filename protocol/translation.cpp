#include "protocol/translation.hpp"

#include <nlohmann/json.hpp>

#include "protocol/crypto.hpp"
#include "protocol/hex.hpp"
#include "protocol/languages.hpp"
#include "protocol/record.hpp"

namespace agora {

std::optional<std::pair<PublicKey, std::string>> parse_translation_source(std::string_view of) {
  size_t slash = of.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto origin = parse_node_id(of.substr(0, slash));
  if (!origin || !is_valid_record_id(of.substr(slash + 1))) return std::nullopt;
  return std::make_pair(*origin, std::string(of.substr(slash + 1)));
}

std::optional<TranslationOf> read_translation_of(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto of = j.find("of"), version = j.find("of_version"), language = j.find("language");
  if (of == j.end() || !of->is_string() || version == j.end() || !version->is_number_unsigned() ||
      version->get<uint64_t>() == 0 || version->get<uint64_t>() > (1u << 31) || language == j.end() ||
      !language->is_string())
    return std::nullopt;
  auto source = parse_translation_source(of->get_ref<const std::string&>());
  if (!source) return std::nullopt;
  return TranslationOf{source->first, source->second, version->get<uint32_t>(), language->get<std::string>()};
}

std::string translation_id(const PublicKey& origin, std::string_view id, std::string_view language) {
  return "translation-" +
         to_hex(sha256(node_id(origin) + "/" + std::string(id) + "/" + std::string(language))).substr(0, 16);
}

}  // namespace agora
