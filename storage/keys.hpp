// Big-endian integer encoding for table keys, so LMDB's byte order is numeric order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agora::storage {

template <class T>
void put_be(std::string& out, T value) {
  for (int i = sizeof(T) - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

template <class T>
T get_be(std::string_view in, size_t offset = 0) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>(value << 8 | static_cast<uint8_t>(in[offset + i]));
  return value;
}

template <class T>
std::string be(T value) {
  std::string s;
  put_be(s, value);
  return s;
}

}  // namespace agora::storage
