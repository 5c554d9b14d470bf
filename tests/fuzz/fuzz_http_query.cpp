// libFuzzer target: the HTTP API's request-target parsing (path segments, percent-decoding,
// query strings) that every anonymous client reaches.
#include <cstddef>
#include <cstdint>
#include <string>

#include "node/http/query.hpp"
#include "protocol/unicode.hpp"
#include "protocol/utf8.hpp"

using namespace agora;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  std::string_view path = target.substr(0, target.find('?'));
  if (auto decoded = percent_decode(path, false)) {
    if (!is_valid_utf8(*decoded) || !is_nfc(*decoded)) __builtin_trap();
    (void)split_path(*decoded);
  }
  if (auto q = target.find('?'); q != std::string_view::npos)
    if (auto params = parse_query_string(target.substr(q + 1)))
      for (const auto& [k, v] : params.value())
        if (!is_valid_utf8(k) || !is_valid_utf8(v) || !is_nfc(k) || !is_nfc(v)) __builtin_trap();
  return 0;
}
