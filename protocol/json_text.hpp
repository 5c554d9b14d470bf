// Rules for JSON text that travels between nodes, beyond what a parser checks.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

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
UniqueKeysParse parse_unique_keys(std::string_view json_text);

}  // namespace agora
