#include "protocol/utf8.hpp"

#include <cstdint>

#include "protocol/unicode.hpp"

namespace agora {

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

std::string escape_markup(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t count = 0;
  for (unsigned char c : s) count += (c & 0xc0) != 0x80;
  return count;
}

namespace {
// Two-byte Latin-1 Supplement and Latin Extended-A letters folded to ASCII.
const char* fold_codepoint(uint32_t cp) {
  switch (cp) {
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3:
    case 0xe4:
    case 0xe5:
    case 0x101:
    case 0x103:
    case 0x105:
    case 0xc0:
    case 0xc1:
    case 0xc2:
    case 0xc3:
    case 0xc4:
    case 0xc5:
    case 0x100:
    case 0x102:
    case 0x104:
      return "a";
    case 0xe6:
    case 0xc6:
      return "ae";
    case 0xe7:
    case 0xc7:
    case 0x107:
    case 0x106:
    case 0x10d:
    case 0x10c:
      return "c";
    case 0xe8:
    case 0xe9:
    case 0xea:
    case 0xeb:
    case 0x113:
    case 0x119:
    case 0x11b:
    case 0xc8:
    case 0xc9:
    case 0xca:
    case 0xcb:
    case 0x112:
    case 0x118:
    case 0x11a:
      return "e";
    case 0xec:
    case 0xed:
    case 0xee:
    case 0xef:
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
      return "i";
    case 0xf1:
    case 0xd1:
    case 0x144:
    case 0x143:
    case 0x148:
    case 0x147:
      return "n";
    case 0xf2:
    case 0xf3:
    case 0xf4:
    case 0xf5:
    case 0xf6:
    case 0xf8:
    case 0x151:
    case 0xd2:
    case 0xd3:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd8:
    case 0x150:
      return "o";
    case 0xf9:
    case 0xfa:
    case 0xfb:
    case 0xfc:
    case 0x16f:
    case 0x171:
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xdc:
    case 0x16e:
    case 0x170:
      return "u";
    case 0xfd:
    case 0xff:
    case 0xdd:
      return "y";
    case 0xdf:
      return "ss";
    case 0x142:
    case 0x141:
      return "l";
    case 0x15b:
    case 0x15a:
    case 0x161:
    case 0x160:
    case 0x15f:
    case 0x15e:
      return "s";
    case 0x17a:
    case 0x179:
    case 0x17c:
    case 0x17b:
    case 0x17e:
    case 0x17d:
      return "z";
    case 0x159:
    case 0x158:
      return "r";
    case 0x111:
    case 0x110:
    case 0x10f:
    case 0x10e:
    case 0xf0:
    case 0xd0:
      return "d";
    case 0xfe:
    case 0xde:
      return "th";
    case 0x11f:
    case 0x11e:
      return "g";
    case 0x131:
    case 0x130:
      return "i";
    case 0x163:
    case 0x162:
    case 0x165:
    case 0x164:
    case 0x21b:
    case 0x21a:
      return "t";
    case 0x219:
    case 0x218:
      return "s";
    default:
      return nullptr;
  }
}
}  // namespace

std::string fold_for_match(std::string_view text) {
  // NFC first, so that a decomposed "o" + U+0308 (as an old node may have signed it)
  // becomes the precomposed ö that the table below folds.
  std::string normalized;
  std::string_view s = text;
  if (!is_nfc(text)) s = normalized = nfc(text);
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  for (size_t i = 0; i < s.size();) {
    uint8_t c = p[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
      ++i;
    } else {
      size_t at = i;
      uint32_t cp = next_code_point(s, i);
      if (cp == 0xfffd && i - at == 1) {
        out.push_back(static_cast<char>(c));  // not UTF-8: kept as it is
      } else if (cp < 0x370) {
        if (const char* f = fold_codepoint(cp))
          out += f;
        else
          out.append(s.substr(at, i - at));
      } else {
        append_folded(cp, out);  // Greek, Cyrillic, Arabic, Hebrew, CJK, ... (protocol/unicode.cpp)
      }
    }
  }
  return out;
}

std::string slugify(std::string_view s, size_t max_len) {
  std::string folded = fold_for_match(s), out;
  bool dash = false;
  for (char c : folded) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (keep) {
      if (dash && !out.empty()) out.push_back('-');
      out.push_back(c);
      dash = false;
    } else {
      dash = true;
    }
    if (out.size() >= max_len) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

}  // namespace agora
