// The network as the records held here declare it — cities, coalitions with their lead and
// members, twin pairs — plus this node's own peers; for `agora network` and the HTTP API.
#pragma once

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "node/local/data_dir.hpp"
#include "node/local/entitlements.hpp"
#include "node/local/peer_registry.hpp"

namespace agora {

struct NetworkViewInput {
  const storage::StoreReader& reader;
  const Entitlements& entitlements;
  const PublicKey& self;
  const std::vector<PeerConfig>& peers;
  const std::map<PublicKey, PeerState>& peer_states;  // a running node passes its live states
  const std::vector<ForkEvidence>& forks;
};

// JSON: {"self", "cities", "coalitions", "twins", "pending", "peers", "forks"}.
nlohmann::json network_view(const NetworkViewInput& in);

// The same as text for the terminal.
std::string network_text(const nlohmann::json& view);

}  // namespace agora
