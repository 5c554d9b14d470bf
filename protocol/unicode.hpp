// NFC normalization of UTF-8 text (ICU): the one function every published string, query,
// filter and path segment goes through, so that "Malmö" typed precomposed (U+00F6) and
// decomposed ("o" + U+0308) are the same text.
#pragma once

#include <string>
#include <string_view>

namespace agora {

// True when s is already in Unicode Normalization Form C (ASCII always is). Text that is
// not valid UTF-8 counts as normalized: nfc() returns it as it is.
bool is_nfc(std::string_view s);

// s in Normalization Form C. Cheap when s already is: text with no character from U+0300
// on (ASCII, Latin-1, Latin Extended) returns after one pass over its bytes, other text is
// checked with ICU's quick check (Normalizer2::isNormalizedUTF8) before anything is
// rewritten. Never throws on valid UTF-8; text that is not valid UTF-8 is returned
// unchanged (the callers validate UTF-8 and report it themselves).
std::string nfc(std::string_view s);

}  // namespace agora
