#include "protocol/json_text.hpp"

#include <algorithm>
#include <vector>

namespace agora {

using nlohmann::json;

UniqueKeysParse parse_unique_keys(std::string_view text) {
  UniqueKeysParse out;
  // The keys seen per depth of open object: objects have few keys, so a flat list beats a set.
  std::vector<std::vector<std::string>> open;
  json::parser_callback_t watch = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      if (open.size() <= static_cast<size_t>(depth)) open.resize(static_cast<size_t>(depth) + 1);
      open[static_cast<size_t>(depth)].clear();
    } else if (event == json::parse_event_t::key) {
      // A key event comes at the depth of the object's members, one more than the object's.
      auto& keys = open[static_cast<size_t>(depth) - 1];
      const auto& k = parsed.get_ref<const std::string&>();
      if (!out.duplicate_key && std::find(keys.begin(), keys.end(), k) != keys.end()) out.duplicate_key = k;
      keys.push_back(k);
    }
    return true;
  };
  out.value = json::parse(text, watch, /*allow_exceptions=*/false);
  if (out.value.is_discarded()) out.duplicate_key.reset();
  return out;
}

}  // namespace agora
