#include "protocol/unicode.hpp"

#include <cstdint>

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include "protocol/utf8.hpp"

namespace agora {

namespace {

// Every character below U+0300 (the combining diacritical marks) is NFC_QC=Yes with
// combining class 0 (ICU's own quick check starts at U+0300 for NFC, tests/protocol checks
// it against ICU's data), so text without a UTF-8 lead byte of U+0300 or above (0xCC) — ASCII
// and the Latin-1 and Latin Extended letters of most city names — is NFC as it is.
bool below_combining_marks(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0xCC) return false;
  return true;
}

// ICU's NFC instance: its data is built into libicuuc, so this fails only when ICU itself
// is broken. Fetched once (a function-local static, also for TSan's sake); its const
// methods are thread-safe.
const icu::Normalizer2* nfc_instance() {
  static const icu::Normalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return instance;
}

}  // namespace

// True also for invalid UTF-8, for text beyond ICU's int32_t lengths (no input of Agora
// comes near 2 GiB) and when ICU is unavailable: nfc() leaves such text as it is.
bool is_nfc(std::string_view s) {
  if (below_combining_marks(s) || s.size() > INT32_MAX / 2) return true;
  const icu::Normalizer2* n = nfc_instance();
  if (!n) return true;
  // ICU reads ill-formed UTF-8 safely (as U+FFFD), so validity is checked only for text it
  // finds not normalized: one pass over NFC text instead of two (measured on import).
  UErrorCode status = U_ZERO_ERROR;
  UBool normalized = n->isNormalizedUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), status);
  return U_FAILURE(status) || normalized || !is_valid_utf8(s);
}

std::string nfc(std::string_view s) {
  if (is_nfc(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode status = U_ZERO_ERROR;
  nfc_instance()->normalizeUTF8(0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, nullptr, status);
  if (U_FAILURE(status)) return std::string(s);  // out of memory inside ICU: leave the text as it is
  return out;
}

uint32_t next_code_point(std::string_view s, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c = byte(i);
  size_t need = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
  if (need == 0) return s[i++] & 0x7f;
  if (need == 4 || i + need >= s.size()) {
    ++i;
    return 0xfffd;
  }
  uint32_t cp = c & (0x3f >> need);
  for (size_t k = 1; k <= need; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      ++i;
      return 0xfffd;
    }
    cp = cp << 6 | (byte(i + k) & 0x3f);
  }
  i += need + 1;
  return cp;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | cp >> 6));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | cp >> 12));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | cp >> 18));
    out.push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

namespace {
bool in(uint32_t cp, uint32_t low, uint32_t high) { return cp >= low && cp <= high; }

bool written_without_spaces(uint32_t cp) {
  return in(cp, 0x0e00, 0x0eff) ||                                                      // Thai, Lao
         in(cp, 0x1000, 0x109f) ||                                                      // Myanmar
         in(cp, 0x1100, 0x11ff) ||                                                      // Hangul Jamo
         in(cp, 0x1780, 0x17ff) ||                                                      // Khmer
         in(cp, 0x2e80, 0x2fdf) ||                                                      // CJK and Kangxi radicals
         in(cp, 0x3040, 0x31ff) ||                                                      // kana, Bopomofo, Hangul Jamo
         in(cp, 0x3400, 0x4dbf) || in(cp, 0x4e00, 0x9fff) ||                            // CJK ideographs
         in(cp, 0xa960, 0xa97f) || in(cp, 0xac00, 0xd7ff) ||                            // Hangul
         in(cp, 0xf900, 0xfaff) || in(cp, 0xff66, 0xffdc) || in(cp, 0x20000, 0x3ffff);  // compatibility, halfwidth
}

// Marks dropped when folding: Cyrillic titlo and the like, Hebrew points, Arabic harakat.
bool dropped_mark(uint32_t cp) {
  return in(cp, 0x0483, 0x0489) || (in(cp, 0x0591, 0x05c7) && u_charType(cp) == U_NON_SPACING_MARK) ||
         in(cp, 0x0610, 0x061a) || in(cp, 0x064b, 0x065f) || cp == 0x0670 || in(cp, 0x06d6, 0x06dc) ||
         in(cp, 0x06df, 0x06e4) || in(cp, 0x06e7, 0x06e8) || in(cp, 0x06ea, 0x06ed) || cp == 0x0640 ||
         in(cp, 0x1ab0, 0x1aff) || in(cp, 0x1dc0, 0x1dff) || in(cp, 0x20d0, 0x20ff) || in(cp, 0xfe20, 0xfe2f);
}

const icu::Normalizer2* nfd_instance() {
  static const icu::Normalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFDInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return instance;
}
}  // namespace

WordChar word_char(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ? WordChar::letter
                                                                                            : WordChar::separator;
  if (cp == 0x200c || cp == 0x200d) return WordChar::letter;  // ZWNJ, ZWJ: inside Persian and Indic words
  int8_t type = u_charType(static_cast<UChar32>(cp));
  bool part = u_isalnum(static_cast<UChar32>(cp)) || type == U_NON_SPACING_MARK || type == U_COMBINING_SPACING_MARK ||
              type == U_ENCLOSING_MARK || type == U_MODIFIER_LETTER;
  if (!part) return WordChar::separator;
  return written_without_spaces(cp) ? WordChar::ngram : WordChar::letter;
}

void append_folded(uint32_t cp, std::string& out) {
  if (dropped_mark(cp)) return;
  if (in(cp, 0xff01, 0xff5e)) {  // fullwidth ASCII
    cp -= 0xfee0;
    append_utf8(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp, out);
    return;
  }
  if (in(cp, 0x0370, 0x03ff) || in(cp, 0x1f00, 0x1fff)) {  // Greek: the base letter, without accents
    icu::UnicodeString decomposed;
    if (const auto* n = nfd_instance();
        n && n->getDecomposition(static_cast<UChar32>(cp), decomposed) && decomposed.length() > 0)
      cp = static_cast<uint32_t>(decomposed.char32At(0));
  }
  switch (cp) {
    case 0x0401:
    case 0x0451:
      cp = 0x0435;  // Ё ё -> е
      break;
    case 0x0622:
    case 0x0623:
    case 0x0625:
    case 0x0671:
      cp = 0x0627;  // alef with madda or hamza, wasla -> alef
      break;
    case 0x06cc:
      cp = 0x064a;  // Farsi yeh -> yeh (teh marbuta and alef maksura stay: the Arabic stemmer reads them)
      break;
    case 0x06a9:
      cp = 0x0643;  // keheh -> kaf
      break;
    default:
      break;
  }
  append_utf8(static_cast<uint32_t>(u_foldCase(static_cast<UChar32>(cp), U_FOLD_CASE_DEFAULT)), out);
}

size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<UChar32>(next_code_point(s, i));
    int8_t type = u_charType(c);
    if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK || type == U_FORMAT_CHAR || type == U_CONTROL_CHAR)
      continue;
    auto east_asian = static_cast<UEastAsianWidth>(u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH));
    width += east_asian == U_EA_WIDE || east_asian == U_EA_FULLWIDTH ? 2 : 1;
  }
  return width;
}

std::string truncate_to_width(std::string_view s, size_t width) {
  if (display_width(s) <= width) return std::string(s);
  std::string out;
  size_t used = 0;
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    next_code_point(s, i);  // to the next character
    size_t w = display_width(s.substr(start, i - start));
    if (used + w + 1 > width) break;  // room for the "…"
    out.append(s.substr(start, i - start));
    used += w;
  }
  return out + "\u2026";
}

std::string pad_to_width(std::string s, size_t width) {
  size_t w = display_width(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

}  // namespace agora
