// Compact storage of record bodies: zstd when it saves space, raw otherwise. Lossless, so
// the exact signed bytes come back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace agora::storage {

enum class BodyEncoding : uint8_t { raw = 0, zstd = 1, absent = 2 };

// Appends the encoding byte and the encoded body to out.
void encode_body(std::string_view body, std::string& out);
// Reads what encode_body wrote; nullopt for a stub (absent body); throws on corruption.
std::optional<std::string> decode_body(std::string_view encoded);

}  // namespace agora::storage
