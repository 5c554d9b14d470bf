// UTF-8 checks and small text helpers shared by validation and the CLI.
#pragma once

#include <string>
#include <string_view>

namespace agora {

// True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);
// Number of Unicode code points in valid UTF-8.
size_t utf8_length(std::string_view s);
// NFC-normalized (protocol/unicode.hpp), ASCII-lowercased, with common Latin diacritics
// folded (ö→o, æ→ae; precomposed or not): for matching names and search terms.
std::string fold_for_match(std::string_view s);
// <, >, & and " as entities: text safe inside HTML/XML elements and quoted attributes.
std::string escape_markup(std::string_view s);
// A URL-safe id fragment from free text: lowercase ASCII letters, digits and '-'.
std::string slugify(std::string_view s, size_t max_len);

}  // namespace agora
