#include "node/local/peer_registry.hpp"

#include <cstring>

#include <nlohmann/json.hpp>

#include "protocol/hex.hpp"
#include "storage/keys.hpp"

namespace agora {

using nlohmann::json;

namespace {
std::string_view key_bytes(const PublicKey& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }
PublicKey key_from(std::string_view bytes) {
  PublicKey k{};
  std::copy(bytes.begin(), bytes.begin() + 32, k.begin());
  return k;
}
PeerConfig config_from(std::string_view key, std::string_view value) {
  json j = json::parse(value, nullptr, false);
  PeerConfig p;
  p.key = key_from(key);
  if (j.is_object()) {
    p.url = j.value("url", "");
    p.relation = j.value("relation", "");
    p.invitation = j.value("invitation", "");
    p.added_ms = j.value("added_ms", int64_t{0});
  }
  return p;
}
}  // namespace

std::vector<PeerConfig> load_peers(storage::RecordStore& store, const storage::Txn& txn) {
  std::vector<PeerConfig> out;
  storage::Cursor c(txn, store.peers_table());
  for (bool ok = c.first(); ok; ok = c.next())
    if (c.key().size() == 32) out.push_back(config_from(c.key(), c.value()));
  return out;
}

std::optional<PeerConfig> find_peer(storage::RecordStore& store, const storage::Txn& txn, const PublicKey& key) {
  auto v = txn.get(store.peers_table(), key_bytes(key));
  if (!v) return std::nullopt;
  return config_from(key_bytes(key), *v);
}

void save_peer(storage::RecordStore& store, storage::WriteTxn& txn, const PeerConfig& peer) {
  json j = {{"url", peer.url}, {"relation", peer.relation}, {"added_ms", peer.added_ms}};
  if (!peer.invitation.empty()) j["invitation"] = peer.invitation;
  txn.put(store.peers_table(), key_bytes(peer.key), j.dump());
}

bool remove_peer(storage::RecordStore& store, storage::WriteTxn& txn, const PublicKey& key) {
  txn.del(store.peer_state_table(), key_bytes(key));
  txn.del(store.peer_state_table(), std::string(key_bytes(key)) + "h");
  return txn.del(store.peers_table(), key_bytes(key));
}

namespace {
// Blocks live in the peers table under 'B' + the key (33 bytes): load_peers reads 32-byte keys only.
std::string block_key(const PublicKey& key) { return "B" + std::string(key_bytes(key)); }
}  // namespace

std::vector<Block> load_blocks(storage::RecordStore& store, const storage::Txn& txn) {
  std::vector<Block> out;
  storage::Cursor c(txn, store.peers_table());
  // Peer keys (32 bytes) starting with the byte 'B' sort among the blocks: passed over.
  for (bool ok = c.seek("B"); ok && !c.key().empty() && c.key()[0] == 'B'; ok = c.next()) {
    if (c.key().size() != 33) continue;
    Block b;
    std::memcpy(b.key.data(), c.key().data() + 1, 32);
    json j = json::parse(c.value(), nullptr, false);
    if (j.is_object()) b.reason = j.value("reason", ""), b.since_ms = j.value("since_ms", int64_t{0});
    out.push_back(std::move(b));
  }
  return out;
}

void save_block(storage::RecordStore& store, storage::WriteTxn& txn, const Block& block) {
  txn.put(store.peers_table(), block_key(block.key),
          json{{"reason", block.reason}, {"since_ms", block.since_ms}}.dump());
}

bool remove_block(storage::RecordStore& store, storage::WriteTxn& txn, const PublicKey& key) {
  return txn.del(store.peers_table(), block_key(key));
}

std::map<PublicKey, PeerState> load_peer_states(storage::RecordStore& store, const storage::Txn& txn) {
  std::map<PublicKey, PeerState> out;
  storage::Cursor c(txn, store.peer_state_table());
  auto read_heads = [](const json& h, PeerState& s) {
    if (!h.is_object()) return;
    for (auto& [origin, seq] : h.items()) {
      PublicKey k;
      if (from_hex(origin, k.data(), k.size()) && seq.is_number_unsigned()) s.remote_heads[k] = seq.get<uint64_t>();
    }
  };
  for (bool ok = c.first(); ok; ok = c.next()) {
    if (c.key().size() == 33 && c.key().back() == 'h') {  // the peer's heads, saved apart
      read_heads(json::parse(c.value(), nullptr, false), out[key_from(c.key().substr(0, 32))]);
      continue;
    }
    if (c.key().size() != 32) continue;
    json j = json::parse(c.value(), nullptr, false);
    if (!j.is_object()) continue;
    PeerState& s = out[key_from(c.key())];
    s.state = j.value("state", "");
    s.address = j.value("address", "");
    s.last_error = j.value("last_error", "");
    s.node_key = j.value("node_key", "");
    s.protocol = j.value("protocol", 0);
    s.last_contact_ms = j.value("last_contact_ms", int64_t{0});
    s.last_error_ms = j.value("last_error_ms", int64_t{0});
    s.next_dial_ms = j.value("next_dial_ms", int64_t{0});
    s.errors = j.value("errors", uint64_t{0});
    s.bytes_in = j.value("bytes_in", uint64_t{0});
    s.bytes_out = j.value("bytes_out", uint64_t{0});
    s.records_in = j.value("records_in", uint64_t{0});
    s.records_out = j.value("records_out", uint64_t{0});
    s.forks = j.value("forks", uint64_t{0});
    s.skipped = j.value("skipped", uint64_t{0});
    s.new_origins_window_start_ms = j.value("new_origins_window_start_ms", int64_t{0});
    s.new_origins_in_window = j.value("new_origins_in_window", uint64_t{0});
    if (auto h = j.find("remote_heads"); h != j.end()) read_heads(*h, s);  // as stores of the first release kept them
  }
  return out;
}

namespace {
// Beside the peers' states, under a key no peer state has (their keys are 32 and 33 bytes).
constexpr std::string_view kRefusedKeysKey = "refused-keys";
}  // namespace

std::vector<RefusedKey> load_refused_keys(storage::RecordStore& store, const storage::Txn& txn) {
  std::vector<RefusedKey> out;
  auto v = txn.get(store.peer_state_table(), kRefusedKeysKey);
  if (!v) return out;
  json j = json::parse(*v, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    auto key = e.is_object() ? parse_node_id(e.value("key", "")) : std::nullopt;
    if (!key) continue;
    out.push_back({*key, e.value("address", ""), e.value("attempts", uint64_t{0}), e.value("first_ms", int64_t{0}),
                   e.value("last_ms", int64_t{0})});
  }
  return out;
}

void save_refused_keys(storage::RecordStore& store, storage::WriteTxn& txn, const std::vector<RefusedKey>& keys) {
  json j = json::array();
  for (const auto& k : keys)
    j.push_back({{"key", node_id(k.key)},
                 {"address", k.address},
                 {"attempts", k.attempts},
                 {"first_ms", k.first_ms},
                 {"last_ms", k.last_ms}});
  txn.put(store.peer_state_table(), kRefusedKeysKey, j.dump());
}

void mark_node_stopped(std::map<PublicKey, PeerState>& states) {
  for (auto& [key, st] : states) {
    if (st.state == peer_state::kConnected || st.state == peer_state::kBackoff) st.state = peer_state::kDisconnected;
    st.next_dial_ms = 0;
  }
}

void save_peer_state(storage::RecordStore& store, storage::WriteTxn& txn, const PublicKey& key, const PeerState& s,
                     bool with_heads) {
  if (with_heads) {
    json heads = json::object();
    for (const auto& [origin, seq] : s.remote_heads) heads[to_hex(origin)] = seq;
    txn.put(store.peer_state_table(), std::string(key_bytes(key)) + "h", heads.dump());
  }
  json j = {{"state", s.state},
            {"address", s.address},
            {"last_error", s.last_error},
            {"node_key", s.node_key},
            {"protocol", s.protocol},
            {"last_contact_ms", s.last_contact_ms},
            {"last_error_ms", s.last_error_ms},
            {"next_dial_ms", s.next_dial_ms},
            {"errors", s.errors},
            {"bytes_in", s.bytes_in},
            {"bytes_out", s.bytes_out},
            {"records_in", s.records_in},
            {"records_out", s.records_out},
            {"forks", s.forks},
            {"skipped", s.skipped},
            {"new_origins_window_start_ms", s.new_origins_window_start_ms},
            {"new_origins_in_window", s.new_origins_in_window}};
  txn.put(store.peer_state_table(), key_bytes(key), j.dump());
}

void save_fork(storage::RecordStore& store, storage::WriteTxn& txn, const ForkEvidence& f) {
  std::string key(key_bytes(f.origin));
  storage::put_be(key, f.seq);
  key.append(key_bytes(f.reported_by));
  json j = {{"header", f.header_bytes}, {"seen_ms", f.seen_ms}};
  txn.put(store.forks_table(), key, j.dump());
}

std::vector<ForkEvidence> load_forks(storage::RecordStore& store, const storage::Txn& txn) {
  std::vector<ForkEvidence> out;
  storage::Cursor c(txn, store.forks_table());
  for (bool ok = c.first(); ok; ok = c.next()) {
    if (c.key().size() != 72) continue;
    json j = json::parse(c.value(), nullptr, false);
    ForkEvidence f;
    f.origin = key_from(c.key());
    f.seq = storage::get_be<uint64_t>(c.key(), 32);
    f.reported_by = key_from(c.key().substr(40));
    if (j.is_object()) f.header_bytes = j.value("header", ""), f.seen_ms = j.value("seen_ms", int64_t{0});
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace agora
