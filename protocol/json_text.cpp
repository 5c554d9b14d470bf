#include "protocol/json_text.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace agora {

using nlohmann::json;

bool has_duplicate_keys(std::string_view text) {
  std::vector<std::set<std::string>> open;  // the keys seen in each object being parsed
  bool duplicate = false;
  json::parser_callback_t watch = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second) duplicate = true;
        break;
      default:
        break;
    }
    return true;
  };
  json parsed = json::parse(text, watch, false);  // walked for its keys only
  (void)parsed;
  return duplicate;
}

}  // namespace agora
