// NFC normalization of UTF-8 text (ICU): the one function every published string, query,
// filter and path segment goes through, so that "Malmö" typed precomposed (U+00F6) and
// decomposed ("o" + U+0308) are the same text.
#pragma once

#include <cstdint>
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

// The code point at s[i] (advancing i past it); U+FFFD, one byte on, for a byte that does
// not start a well-formed sequence.
uint32_t next_code_point(std::string_view s, size_t& i);
void append_utf8(uint32_t cp, std::string& out);

// What a character is to the search's word splitting (docs/api.md, "How text is matched"):
// part of a word (letters, digits, combining marks, ZWNJ/ZWJ), a character of a script
// written without spaces between words (Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer,
// Myanmar: indexed as n-grams), or a separator (spaces, punctuation, symbols).
enum class WordChar { separator, letter, ngram };
WordChar word_char(uint32_t cp);

// Appends a character from U+0370 on, folded for matching: case folded (Greek final sigma
// included); Greek accents, Hebrew points and Arabic harakat and tatweel dropped; ё as е;
// Arabic alef forms as bare alef, Persian yeh as yeh, keheh as kaf (teh marbuta and alef
// maksura stay: Xapian's Arabic stemmer reads them); fullwidth ASCII as ASCII. Other
// characters are appended as they are.
void append_folded(uint32_t cp, std::string& out);

// Columns a terminal gives UTF-8 text: 2 for East Asian wide and fullwidth characters
// (Chinese, Japanese, Korean, most emoji), 0 for combining marks, format and control
// characters, 1 for the rest (Arabic and Hebrew letters among them).
size_t display_width(std::string_view s);

// s cut to at most `width` columns (as display_width counts them), ending in "…" when cut.
std::string truncate_to_width(std::string_view s, size_t width);

// s followed by spaces up to `width` columns (as display_width counts them); s as it is
// when it is wider: for the CLI's aligned tables.
std::string pad_to_width(std::string s, size_t width);

}  // namespace agora
