// Request-target parsing for the HTTP API: percent-decoding, path segments, query strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/result.hpp"

namespace agora {

// %XX and (in queries) '+' decoded, then normalized to NFC (protocol/unicode.hpp), so that
// every path segment, parameter name and value reaches the API in one form; nullopt for a
// broken escape or invalid UTF-8.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);
// "/api/v1/x" -> {"api", "v1", "x"}.
std::vector<std::string> split_path(std::string_view path);
// Splits and percent-decodes a query string; the error names the offending parameter.
Result<std::vector<std::pair<std::string, std::string>>> parse_query_string(std::string_view query);

}  // namespace agora
