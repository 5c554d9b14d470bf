// libFuzzer target: the peer wire messages (control frames and record batches) a hostile
// peer can send. Decoding never crashes; what decodes re-encodes to something that decodes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "node/sync/reconcile.hpp"
#include "protocol/authority.hpp"
#include "protocol/sync_messages.hpp"

using namespace agora;

namespace {

// A reconciliation turn from a hostile peer: answered or refused, never a crash, whether it
// opens the exchange or answers this side's own first turn.
void reconcile_turn(const sync::Reconcile& m, std::string_view input) {
  std::map<PublicKey, uint64_t> mine;
  Hash seed = sha256(input);
  for (int i = 0; i < 24; ++i) {  // enough origins that the first turn splits into fingerprints
    PublicKey k = sha256(std::string(reinterpret_cast<const char*>(seed.data()), seed.size()) + char(i));
    mine[k] = 1 + seed[i % 32] % 5;
  }
  sync::Reconciler server(mine, seed), client(mine, seed);
  (void)server.on_turn(m.ranges);
  (void)client.open();
  auto reply = client.on_turn(m.ranges);
  if (reply && reply.value() && client.done() != reply.value()->empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto control = sync::decode_control(text)) {
    std::string again = std::visit([](const auto& m) { return sync::encode(m); }, control.value());
    if (!sync::decode_control(again)) __builtin_trap();  // our own encoding must decode
    auto check_node_key = [](const PublicKey& node, const std::optional<sync::NodeKeyProof>& p) {
      if (p) (void)node_key_problem(node, p->key, p->delegation, p->path, {}, {}, 1700000000000);
    };
    if (auto* hello = std::get_if<sync::Hello>(&control.value())) check_node_key(hello->node, hello->node_key);
    if (auto* auth = std::get_if<sync::Auth>(&control.value())) check_node_key(auth->node, auth->node_key);
    if (auto* r = std::get_if<sync::Reconcile>(&control.value())) reconcile_turn(*r, text);
  }
  if (auto batch = sync::decode_batch(text)) {
    std::string again = sync::encode(batch.value());
    auto round = sync::decode_batch(again);
    if (!round || round.value().records.size() != batch.value().records.size()) __builtin_trap();
  }
  return 0;
}
