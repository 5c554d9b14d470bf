#include "protocol/json_text.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace agora {

using nlohmann::json;

namespace {

// Builds the document like the library's own parser and watches the keys of each object:
// objects have few keys, so a flat list per open object beats a set.
class UniqueKeysParser {
 public:
  bool duplicate = false;
  std::string first;  // the first key found twice
  json parse(std::string_view text) {
    json::parser_callback_t watch = [this](int depth, json::parse_event_t event, json& parsed) {
      switch (event) {
        case json::parse_event_t::object_start:
          if (open_.size() <= static_cast<size_t>(depth)) open_.resize(static_cast<size_t>(depth) + 1);
          open_[static_cast<size_t>(depth)].clear();
          break;
        case json::parse_event_t::key: {
          // A key event comes at the depth of the object's members, one more than the object's.
          auto& keys = open_[static_cast<size_t>(depth) - 1];
          const auto& k = parsed.get_ref<const std::string&>();
          if (!duplicate && std::find(keys.begin(), keys.end(), k) != keys.end()) duplicate = true, first = k;
          keys.push_back(k);
          break;
        }
        default:
          break;
      }
      return true;
    };
    return json::parse(text, watch, /*allow_exceptions=*/false);
  }

 private:
  std::vector<std::vector<std::string>> open_;  // keys seen, per depth of open object
};

}  // namespace

std::optional<json> parse_unique_keys(std::string_view text) {
  UniqueKeysParser p;
  json j = p.parse(text);
  if (j.is_discarded() || p.duplicate) return std::nullopt;
  return j;
}

bool has_duplicate_keys(std::string_view text) { return first_duplicate_key(text).has_value(); }

std::optional<std::string> first_duplicate_key(std::string_view text) {
  UniqueKeysParser p;
  json j = p.parse(text);
  if (j.is_discarded() || !p.duplicate) return std::nullopt;
  return p.first;
}

}  // namespace agora
