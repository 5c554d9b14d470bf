#include "protocol/chain.hpp"

namespace agora {

ChainStep chain_step(const Header& header, std::string_view header_bytes, bool has_body, const ChainTip& tip,
                     const HeldRecord* held) {
  if (header.seq <= tip.seq) {
    if (!held || held->header_bytes != header_bytes) return ChainStep::fork;
    return held->stub && has_body ? ChainStep::fills_stub : ChainStep::duplicate;
  }
  if (header.seq != tip.seq + 1) return ChainStep::gap;
  if (header.prev != tip.hash) return ChainStep::unlinked;
  return ChainStep::extends;
}

std::string_view chain_step_name(ChainStep step) {
  switch (step) {
    case ChainStep::extends:
      return "extends";
    case ChainStep::duplicate:
      return "duplicate";
    case ChainStep::fills_stub:
      return "fills-stub";
    case ChainStep::fork:
      return "fork";
    case ChainStep::gap:
      return "gap";
    case ChainStep::unlinked:
      return "unlinked";
  }
  return "?";
}

}  // namespace agora
