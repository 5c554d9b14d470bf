// Rules for JSON text that travels between nodes, beyond what a parser checks.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace agora {

// Parses JSON text, refusing (nullopt) text that does not parse and text in which an object
// has the same key twice: parsers disagree on which value wins, so two implementations
// could read one signed body (or message) differently. One pass.
std::optional<nlohmann::json> parse_unique_keys(std::string_view json_text);

// Whether any object in the text has the same key twice (text that does not parse: false).
bool has_duplicate_keys(std::string_view json_text);
// The first key found twice in one object, for an error message; nullopt if none (or if the
// text does not parse).
std::optional<std::string> first_duplicate_key(std::string_view json_text);

}  // namespace agora
