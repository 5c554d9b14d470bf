// The chain rule (protocol/chain.hpp) that the store, the ingest path and `verify` share.
#include <catch2/catch.hpp>

#include "protocol/chain.hpp"

using namespace agora;

namespace {
struct Signed {
  SignedRecord record;
  Header header;
};
Signed make(const SigningKey& key, uint64_t seq, const Hash& prev, const std::string& id) {
  Header h;
  h.origin = key.public_key();
  h.seq = seq;
  h.prev = prev;
  h.id = id;
  h.version = 1;
  h.ts = 1;
  SignedRecord r = sign_record(h, "{}", key);
  return {r, decode_header(r.header_bytes).value()};
}
}  // namespace

TEST_CASE("chain rule: each relation of a record to the chain held", "[chain]") {
  SigningKey key = SigningKey::generate();
  Signed first = make(key, 1, Hash{}, "a");
  ChainTip none{};
  ChainTip after_first = tip_after(first.header, first.record.header_bytes);
  CHECK(after_first.seq == 1);
  CHECK(after_first.hash == record_hash(first.record.header_bytes));

  CHECK(chain_step(first.header, first.record.header_bytes, true, none, nullptr) == ChainStep::extends);
  Signed second = make(key, 2, after_first.hash, "b");
  CHECK(chain_step(second.header, second.record.header_bytes, true, after_first, nullptr) == ChainStep::extends);
  CHECK(chain_step(second.header, second.record.header_bytes, true, none, nullptr) == ChainStep::gap);
  Signed unlinked = make(key, 2, Hash{}, "b");
  CHECK(chain_step(unlinked.header, unlinked.record.header_bytes, true, after_first, nullptr) == ChainStep::unlinked);

  HeldRecord held{first.record.header_bytes, false};
  CHECK(chain_step(first.header, first.record.header_bytes, true, after_first, &held) == ChainStep::duplicate);
  HeldRecord stub{first.record.header_bytes, true};
  CHECK(chain_step(first.header, first.record.header_bytes, true, after_first, &stub) == ChainStep::fills_stub);
  CHECK(chain_step(first.header, first.record.header_bytes, false, after_first, &stub) == ChainStep::duplicate);
  Signed other = make(key, 1, Hash{}, "other");
  CHECK(chain_step(other.header, other.record.header_bytes, true, after_first, &held) == ChainStep::fork);
  // At a seq the chain has passed, with nothing to compare against: not an extension.
  CHECK(chain_step(first.header, first.record.header_bytes, true, after_first, nullptr) == ChainStep::fork);
  CHECK(chain_step_name(ChainStep::fills_stub) == "fills-stub");
}
