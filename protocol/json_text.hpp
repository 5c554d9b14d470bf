// Rules for JSON text that travels between nodes, beyond what a parser checks.
#pragma once

#include <string_view>

namespace agora {

// Whether any object in the text has the same key twice: parsers disagree on which value
// wins, so two implementations could read one signed body (or message) differently.
bool has_duplicate_keys(std::string_view json_text);

}  // namespace agora
