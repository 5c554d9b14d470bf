#include "protocol/unicode.hpp"

#include <cstdint>

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

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

}  // namespace agora
