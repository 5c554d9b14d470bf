// libFuzzer target: the peer wire messages (control frames and record batches) a hostile
// peer can send. Decoding never crashes; what decodes re-encodes to something that decodes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "protocol/sync_messages.hpp"

using namespace agora;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto control = sync::decode_control(text)) {
    std::string again = std::visit([](const auto& m) { return sync::encode(m); }, control.value());
    if (!sync::decode_control(again)) __builtin_trap();  // our own encoding must decode
  }
  if (auto batch = sync::decode_batch(text)) {
    std::string again = sync::encode(batch.value());
    auto round = sync::decode_batch(again);
    if (!round || round.value().records.size() != batch.value().records.size()) __builtin_trap();
  }
  return 0;
}
