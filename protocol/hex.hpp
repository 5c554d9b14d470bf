// Lowercase hexadecimal encoding of byte strings (node ids, hashes, signatures).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agora {

std::string to_hex(const void* data, size_t size);
template <class Bytes>
std::string to_hex(const Bytes& b) {
  return to_hex(b.data(), b.size());
}
// Decodes exactly out_size bytes from 2*out_size hex digits (either case); false otherwise.
bool from_hex(std::string_view hex, uint8_t* out, size_t out_size);
// The same, lowercase digits only: the one form hex takes on the wire and in headers.
bool from_lower_hex(std::string_view hex, uint8_t* out, size_t out_size);

}  // namespace agora
