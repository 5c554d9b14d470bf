// libFuzzer target: an input record as a coordinator writes it (agora publish / import).
// Never crashes; whatever is accepted is NFC-normalized and also accepted as a body from a peer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/input_schema.hpp"
#include "protocol/unicode.hpp"

using namespace agora;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const PublisherIdentity self{std::string(64, 'a'), "Malmö", "SE"};
  auto input = parse_and_validate_input(text, self);
  if (!input) return 0;
  const ValidatedInput& v = input.value();
  if (!is_nfc(v.body)) __builtin_trap();  // what this node signs is normalized
  auto received = validate_received_body(v.kind, v.id.value_or("generated-id"), v.visibility, false, v.body);
  if (!received) __builtin_trap();  // a record this node signs must pass its peers' checks
  return 0;
}
