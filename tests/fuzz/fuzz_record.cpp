// libFuzzer target: a signed record as it arrives from a peer — header decoding, signature
// and chain-field checks, and the body checked against its kind's schema.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/input_schema.hpp"
#include "protocol/json_text.hpp"
#include "protocol/authority.hpp"
#include "protocol/key_state.hpp"
#include "protocol/record.hpp"

using namespace agora;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Header, body and signature as three parts split at the first two 0x1e bytes.
  size_t a = in.find('\x1e'), b = a == std::string_view::npos ? a : in.find('\x1e', a + 1);
  std::string_view header = in.substr(0, a);
  auto h = decode_header(header);
  // The direct reader of canonical bytes and the parser agree on every header either accepts.
  auto parsed_header = decode_header_parsed(header);
  if (bool(h) != bool(parsed_header)) __builtin_trap();
  if (h && encode_header(h.value()) != encode_header(parsed_header.value())) __builtin_trap();
  if (h) {
    std::string again = encode_header(h.value());
    auto round = decode_header(again);
    if (!round || encode_header(round.value()) != again) __builtin_trap();  // canonical form is stable
  }
  if (a != std::string_view::npos && b != std::string_view::npos) {
    SignedRecord rec;
    rec.header_bytes = std::string(header);
    rec.body = std::string(in.substr(a + 1, b - a - 1));
    std::string_view sig = in.substr(b + 1);
    std::copy_n(sig.begin(), std::min(sig.size(), rec.signature.size()), rec.signature.begin());
    (void)verify_record(rec);
    if (h) (void)validate_received_body(h.value(), *rec.body);
    if (h) {  // the authority rule over whatever grant the body states (docs/identity.md)
      auto grant = read_key_grant(*rec.body, h.value().seq);
      const KeyGrant* g = grant ? &*grant : nullptr;
      (void)authority_problem(h.value(), g, g, g);
      (void)authority_problem(h.value(), nullptr, g, nullptr);
      KeyState keys;  // what the chain states of its keys: a commitment, a grant, a recovery
      keys.apply(h.value(), rec.body);
      (void)keys.problem(h.value(), rec.body);
      if (grant) {
        HeldGrant held = [&](const PublicKey&) { return grant; };
        (void)node_key_problem(h.value().origin, grant->key, rec, std::span(&rec, 1), held, {}, 1700000000000);
      }
    }
  }
  for (int k = 1; k <= kKindCount; ++k) (void)validate_received_body(static_cast<Kind>(k), "x", "public", false, in);
  // A stored body is served as its bytes (record_item_text): where a parser reads an object
  // and the scanner answers, both must find the same members with the same values.
  auto members = raw_members(in);
  auto parsed = parse_unique_keys(in);
  if (members && parsed.ok()) {
    if (!parsed.value.is_object() || members->size() != parsed.value.size()) __builtin_trap();
    for (const auto& m : *members) {
      if (m.key_has_escape) continue;
      auto it = parsed.value.find(std::string(m.key));
      if (it == parsed.value.end() || nlohmann::json::parse(m.value, nullptr, false) != *it) __builtin_trap();
    }
  }
  (void)index_keys_for(Kind::practice, in);
  (void)index_keys_for(Kind::plan, in);
  return 0;
}
