// The peers a node allows and dials (the `peers` table), and their last known sync state
// (`peer_state`), as the node writes it for `agora peer list`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/record_store.hpp"

namespace agora {

struct PeerConfig {
  PublicKey key{};
  std::string url;       // ws://HOST:PORT/sync; empty: only accept this peer's connections
  std::string relation;  // twin, coalition:NAME, observer, or empty
  int64_t added_ms = 0;
  std::string invitation;  // `agora join`: the secret its first handshake presents (cleared once connected)
};

// The states a peer is shown in (`agora peer list`, /api/v1/network).
namespace peer_state {
inline constexpr std::string_view kNeverConnected = "never connected";
inline constexpr std::string_view kConnected = "connected";
inline constexpr std::string_view kDisconnected = "disconnected";
inline constexpr std::string_view kBackoff = "backoff";                // refused for a while after invalid records
inline constexpr std::string_view kUnreachable = "connection failed";  // the last dial made no connection (last_error)
inline constexpr std::string_view kRefused = "refused";  // the peer refused the last handshake (its reason: last_error)
}  // namespace peer_state

struct PeerState {
  std::string state{peer_state::kNeverConnected};
  std::string address, last_error;
  std::string node_key;  // the key the peer last proved itself with, when not its id (a delegated node key)
  int protocol = 0;      // the protocol version of the last connection (0: none yet)
  int64_t last_contact_ms = 0;
  int64_t last_error_ms = 0;  // when last_error happened
  int64_t next_dial_ms = 0;   // when this node dials the peer next (0: connected, or it never dials)
  uint64_t errors = 0, bytes_in = 0, bytes_out = 0, records_in = 0, records_out = 0, forks = 0;
  std::map<PublicKey, uint64_t> remote_heads;  // what the peer said it holds
  // New origins accepted from this peer in the 24 h window that started at window_start_ms.
  int64_t new_origins_window_start_ms = 0;
  uint64_t new_origins_in_window = 0;
  uint64_t skipped = 0;  // records refused without blame (newer envelope, over the allowance)
};

// The peers as a running node sees them now, live counters included (/health, /metrics,
// the network view).
struct PeerSnapshot {
  std::vector<PeerConfig> peers;
  std::map<PublicKey, PeerState> states;  // per listed peer: connection state, totals, remote heads
  size_t connected = 0;
};

std::vector<PeerConfig> load_peers(storage::RecordStore& store, const storage::Txn& txn);
std::optional<PeerConfig> find_peer(storage::RecordStore& store, const storage::Txn& txn, const PublicKey& key);
void save_peer(storage::RecordStore& store, storage::WriteTxn& txn, const PeerConfig& peer);
bool remove_peer(storage::RecordStore& store, storage::WriteTxn& txn, const PublicKey& key);

// Ids this node blocks (`agora block`): as an origin, their records are neither stored nor
// relayed; as a peer, their connections are refused and never dialled.
struct Block {
  PublicKey key{};
  std::string reason;
  int64_t since_ms = 0;
};
std::vector<Block> load_blocks(storage::RecordStore& store, const storage::Txn& txn);
void save_block(storage::RecordStore& store, storage::WriteTxn& txn, const Block& block);
bool remove_block(storage::RecordStore& store, storage::WriteTxn& txn, const PublicKey& key);

std::map<PublicKey, PeerState> load_peer_states(storage::RecordStore& store, const storage::Txn& txn);
// A key this node refused because it does not list it (it dialled in): shown by `peer list`
// on the refusing side, with what allows it. The node keeps the most recent few.
struct RefusedKey {
  PublicKey key{};
  std::string address;  // where it last came from
  uint64_t attempts = 0;
  int64_t first_ms = 0, last_ms = 0;
};
inline constexpr size_t kMaxRefusedKeys = 32;
std::vector<RefusedKey> load_refused_keys(storage::RecordStore& store, const storage::Txn& txn);
// Replaces what was saved with `keys` (a peer added since drops out of it).
void save_refused_keys(storage::RecordStore& store, storage::WriteTxn& txn, const std::vector<RefusedKey>& keys);

// The states as they stand while no node runs on the data dir (it was killed, or this is a
// copy): a connection it saved as open is gone, and nothing dials.
void mark_node_stopped(std::map<PublicKey, PeerState>& states);
// `with_heads`: also write remote_heads (kept under a key of its own, as it can hold an
// entry per origin); otherwise the heads saved before stay.
void save_peer_state(storage::RecordStore& store, storage::WriteTxn& txn, const PublicKey& key, const PeerState& s,
                     bool with_heads = true);

// Fork evidence: a second, different record for an (origin, seq) this node already holds.
struct ForkEvidence {
  PublicKey origin{};
  uint64_t seq = 0;
  PublicKey reported_by{};
  std::string header_bytes;  // the conflicting header, kept as received
  int64_t seen_ms = 0;
};
void save_fork(storage::RecordStore& store, storage::WriteTxn& txn, const ForkEvidence& fork);
std::vector<ForkEvidence> load_forks(storage::RecordStore& store, const storage::Txn& txn);

}  // namespace agora
