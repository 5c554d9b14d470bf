// Rules for JSON text that travels between nodes, beyond what a parser checks.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agora {

// What parse_unique_keys found.
struct UniqueKeysParse {
  nlohmann::json value;                      // discarded when the text does not parse
  std::optional<std::string> duplicate_key;  // the first key written twice in one object
  bool ok() const { return !value.is_discarded() && !duplicate_key; }
};

// Parses JSON text in one pass, noting the first object that has the same key twice:
// parsers disagree on which value wins, so two implementations could read one signed body
// (or message) differently. Never throws.
UniqueKeysParse parse_unique_keys(std::string_view json_text, bool ignore_comments = false);

// One member of a JSON object as written: the key between its quotes (escapes not decoded)
// and the value's bytes.
struct RawMember {
  std::string_view key;
  std::string_view value;
  bool key_has_escape = false;  // the key is spelled with a backslash: compare it decoded
};

// The top-level members of JSON text that is one object, in order, without decoding a
// value: what lets a reader pass a stored body on without parsing and serialising it.
// Checks structure only (quotes, brackets, separators), not the values' grammar or UTF-8:
// for text already validated as JSON. nullopt when the text is not one object.
std::optional<std::vector<RawMember>> raw_members(std::string_view json_text);

}  // namespace agora
