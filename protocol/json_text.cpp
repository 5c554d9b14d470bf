#include "protocol/json_text.hpp"

#include <algorithm>
#include <vector>

namespace agora {

using nlohmann::json;

UniqueKeysParse parse_unique_keys(std::string_view text, bool ignore_comments) {
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
  out.value = json::parse(text, watch, /*allow_exceptions=*/false, ignore_comments);
  if (out.value.is_discarded()) out.duplicate_key.reset();
  return out;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Moves past a string whose opening quote is at `at`; false when it never closes.
bool skip_string(std::string_view t, size_t& at, bool* escaped = nullptr) {
  for (++at; at < t.size(); ++at) {
    if (t[at] == '\\') {
      if (escaped) *escaped = true;
      ++at;
    } else if (t[at] == '"') {
      ++at;
      return true;
    }
  }
  return false;
}

// Moves past one value starting at `at` (no leading space).
bool skip_value(std::string_view t, size_t& at) {
  if (at >= t.size()) return false;
  if (t[at] == '"') return skip_string(t, at);
  if (t[at] == '{' || t[at] == '[') {
    size_t depth = 0;
    while (at < t.size()) {
      char c = t[at];
      if (c == '"') {
        if (!skip_string(t, at)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++at;
          return true;
        }
      }
      ++at;
    }
    return false;
  }
  size_t start = at;  // a number, true, false or null
  while (at < t.size() && !is_space(t[at]) && t[at] != ',' && t[at] != '}' && t[at] != ']') ++at;
  return at > start;
}

}  // namespace

std::optional<std::vector<RawMember>> raw_members(std::string_view t) {
  std::vector<RawMember> members;
  size_t at = 0;
  auto space = [&] {
    while (at < t.size() && is_space(t[at])) ++at;
  };
  space();
  if (at >= t.size() || t[at] != '{') return std::nullopt;
  ++at;
  space();
  if (at < t.size() && t[at] == '}') {
    ++at;
  } else {
    for (;;) {
      if (at >= t.size() || t[at] != '"') return std::nullopt;
      RawMember m;
      size_t key_start = at;
      if (!skip_string(t, at, &m.key_has_escape)) return std::nullopt;
      m.key = t.substr(key_start + 1, at - key_start - 2);
      space();
      if (at >= t.size() || t[at] != ':') return std::nullopt;
      ++at;
      space();
      size_t value_start = at;
      if (!skip_value(t, at)) return std::nullopt;
      m.value = t.substr(value_start, at - value_start);
      members.push_back(m);
      space();
      if (at < t.size() && t[at] == ',') {
        ++at;
        space();
        continue;
      }
      if (at < t.size() && t[at] == '}') {
        ++at;
        break;
      }
      return std::nullopt;
    }
  }
  space();
  if (at != t.size()) return std::nullopt;
  return members;
}

}  // namespace agora
