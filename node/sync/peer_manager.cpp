#include "node/sync/peer_manager.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>

#include "node/local/invitations.hpp"
#include "node/local/publisher.hpp"
#include "node/net/address.hpp"
#include "node/sync/peer_session.hpp"
#include "protocol/hex.hpp"

namespace agora::sync {

namespace {

// Adds one connection's counters to a peer's running totals.
void fold_session_counters(PeerState& total, const PeerState& session, bool heads = true) {
  total.bytes_in += session.bytes_in, total.bytes_out += session.bytes_out;
  total.records_in += session.records_in, total.records_out += session.records_out;
  total.errors += session.errors, total.forks += session.forks, total.skipped += session.skipped;
  total.last_contact_ms = std::max(total.last_contact_ms, session.last_contact_ms);
  if (heads && !session.remote_heads.empty()) total.remote_heads = session.remote_heads;
  if (!session.last_error.empty()) total.last_error = session.last_error;
}

// The recoveries a store holds, as one string: it changes when a recovery is stored.
std::string recovery_fingerprint(const storage::StoreReader& r) {
  std::string out;
  for (const auto& [origin, seq] : r.recoveries()) out += to_hex(origin) + std::to_string(seq) + ";";
  return out;
}

}  // namespace

PeerManager::PeerManager(Services services, SyncLimits limits, net::TransportLimits transport)
    : services_(std::move(services)), limits_(limits), transport_(transport) {}

PeerManager::~PeerManager() = default;

void PeerManager::start(std::shared_ptr<net::TlsContexts> tls) {
  tls_ = std::move(tls);
  reload_peers();
  {
    // Totals, last errors and each peer's new-origin window go on from the last run (they
    // were written as the node ran; a node that started from zero overwrote them).
    storage::ReadTxn txn(dir().store().env());
    for (auto& [key, st] : load_peer_states(dir().store(), txn)) {
      if (st.state == peer_state::kConnected || st.state == peer_state::kBackoff) st.state = peer_state::kDisconnected;
      st.next_dial_ms = 0;  // this run dials at once
      states_[key] = std::move(st);
    }
  }
  restoring_ = dir().restoring();
  recovery_fingerprint_ = dir().store().read(recovery_fingerprint);
  if (restoring_) spdlog::info("restoring: waiting for a peer to send this city's records back");
}

void PeerManager::reload_peers() {
  storage::ReadTxn txn(dir().store().env());
  blocked_.clear();
  for (const auto& b : load_blocks(dir().store(), txn)) blocked_.insert(b.key);
  peers_.clear();
  for (auto& p : load_peers(dir().store(), txn)) peers_[p.key] = p;
  for (const auto& [key, p] : invited_) peers_.try_emplace(key, p);
}

std::optional<std::string> PeerManager::accept_invitation(const PublicKey& peer, const std::string& proof,
                                                          const std::string& challenge) {
  std::optional<InvitationRecord> record;
  {
    storage::ReadTxn txn(dir().store().env());
    record = find_invitation_by_id(dir().store(), txn, std::string_view(proof).substr(0, 64));
  }
  // The proof binds the secret to this handshake: a secret seen in transit proves nothing.
  if (record && (record->secret.empty() || invitation_proof(record->secret, challenge, peer) != proof)) record.reset();
  const std::string secret = record ? record->secret : std::string();
  if (record && spent_invitations_.count(secret) && record->used_by.empty()) {
    record->used_by = "(a node)";
    record->used_ms = now_ms();
  }
  if (auto why = invitation_problem(record, now_ms())) return why;
  spent_invitations_.insert(secret);
  PeerConfig config{peer, "", record->relation, now_ms(), ""};
  invited_[peer] = config;
  peers_[peer] = config;
  record->used_by = node_id(peer);
  record->used_ms = config.added_ms;
  spdlog::info("peer {} joined with an invitation{}", short_node_id(peer),
               record->relation.empty() ? "" : " (" + record->relation + ")");
  DataDir& d = dir();
  writer().submit([this, &d, config, secret, spent = *record] {
    try {
      d.store().env().write([&](storage::WriteTxn& txn) {
        save_peer(d.store(), txn, config);
        save_invitation(d.store(), txn, secret, spent);
      });
    } catch (const std::exception& e) {
      spdlog::error("cannot save the peer that joined with an invitation: {}", e.what());
    }
    boost::asio::post(io(), [this, key = config.key] { invited_.erase(key); });
  });
  return std::nullopt;
}

void PeerManager::invitation_spent(const PublicKey& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.invitation.empty()) return;
  it->second.invitation.clear();
  DataDir& d = dir();
  writer().submit([&d, peer] {
    try {
      d.store().env().write([&](storage::WriteTxn& txn) {
        if (auto config = find_peer(d.store(), txn, peer)) {
          config->invitation.clear();
          save_peer(d.store(), txn, *config);
        }
      });
    } catch (const std::exception& e) {
      spdlog::error("cannot record that the invitation was used: {}", e.what());
    }
  });
}

const Entitlements& PeerManager::entitlements() {
  if (!entitlements_)
    entitlements_ = dir().store().read([](const storage::StoreReader& r) { return Entitlements::load(r); });
  return *entitlements_;
}

bool PeerManager::entitlements_changed_for(const PublicKey& peer) {
  std::string now = entitlement_fingerprint();
  auto [it, fresh] = fingerprint_sent_.try_emplace(peer, now);
  if (fresh) return true;
  if (it->second == now) return false;
  it->second = std::move(now);
  return true;
}

// What peers may read, as one string: it changes when a twin pair, a coalition's members or
// a withdrawal does.
std::string PeerManager::entitlement_fingerprint() {
  const Entitlements& ent = entitlements();
  std::string fingerprint;
  for (const auto& [a, b] : ent.twin_pairs()) fingerprint += to_hex(a) + to_hex(b);
  for (const auto& [name, members] : ent.coalitions()) {
    fingerprint += name;
    for (const auto& m : members) fingerprint += to_hex(m);
  }
  fingerprint += ent.moderation().fingerprint();  // a lifted withdrawal makes bodies readable again
  return fingerprint;
}

bool PeerManager::lists(const PublicKey& key) {
  // A key added a moment ago may not have been noticed yet: read the registry itself.
  if (!peers_.count(key)) reload_peers();
  return peers_.count(key) > 0;
}

bool PeerManager::in_backoff(const PublicKey& key) const {
  auto b = backoff_.find(key);
  auto st = states_.find(key);
  return b != backoff_.end() && st != states_.end() && st->second.state == peer_state::kBackoff &&
         Clock::now() < b->second.next;
}

void PeerManager::peers_changed() {
  std::set<PublicKey> blocked_before = blocked_;
  reload_peers();
  // A changed block list changes what each connection accepts and sends: they start again.
  const bool blocks_changed = blocked_ != blocked_before;
  for (auto it = ready_.begin(); it != ready_.end();) {
    auto s = (it++)->second;
    if (!peers_.count(s->peer()))
      s->fail(ErrorCode::removed, "this node no longer lists you as a peer");
    else if (blocked_.count(s->peer()))
      s->fail(ErrorCode::removed, "this node blocks your key");
    else if (blocks_changed)
      s->fail(ErrorCode::shutdown, "this node's block list changed; reconnect");
  }
  dial_due_peers();
}

void PeerManager::store_changed() {
  entitlements_.reset();
  // New twin or coalition declarations can entitle a peer to bodies it got as stubs.
  std::string fingerprint = entitlement_fingerprint();
  bool changed = fingerprint != entitlement_fingerprint_;
  entitlement_fingerprint_ = fingerprint;
  // A connection proved with a node key this node now holds revoked ends: the key may be
  // in other hands (docs/identity.md). Collected first: failing a session changes ready_.
  std::vector<std::shared_ptr<PeerSession>> revoked;
  std::string recoveries;
  dir().store().read([&](const storage::StoreReader& r) {
    for (auto& [key, s] : ready_)  // a node key, or a genesis key a rotation or recovery retired
      if (auto g = r.grant(key, s->peer_key()); g && g->revoked) revoked.push_back(s);
    recoveries = recovery_fingerprint(r);
    return 0;
  });
  if (recoveries != recovery_fingerprint_) {
    recovery_fingerprint_ = recoveries;
    recovery_restart_pending_ = true;
    restart_after_recovery();
    if (!recovery_restart_pending_) revoked.clear();  // every connection is closing anyway
  }
  for (auto& s : revoked) {
    spdlog::warn("peer {}: its node key {} was revoked; closing the connection", short_node_id(s->peer()),
                 short_node_id(s->peer_key()));
    s->fail(ErrorCode::bad_proof, "the node key this connection proved was revoked");
  }
  for (auto& [key, s] : ready_) {
    if (changed && s->queue_newly_readable()) fingerprint_sent_[s->peer()] = entitlement_fingerprint_;
    s->pump();
  }
}

void PeerManager::ingested(const PublicKey& from, uint32_t stored, uint32_t filled,
                           const std::vector<std::pair<PublicKey, uint64_t>>& filled_at) {
  // A body that filled a stub may be one this node relayed as a stub to a peer entitled to
  // it (it held only the stub then): those bodies, and only those, go to the peers that hold
  // the records; a peer not connected now gets every body it may read when it next is.
  if (!filled_at.empty()) {
    for (auto& [key, s] : ready_)
      if (key != from) s->queue_filled(filled_at);
    std::erase_if(fingerprint_sent_, [&](const auto& entry) { return !ready_.count(entry.first); });
  }
  if (stored || filled) services_.on_records_stored();
  if (stored && restoring_) check_restore_done();
}

// A recovery moved a chain's head back: what each side believes the other holds is wrong for
// that origin. Every connection starts again (docs/identity.md), at most once per interval.
void PeerManager::restart_after_recovery() {
  if (!recovery_restart_pending_ || stopping_) return;
  auto now = Clock::now();
  if (last_recovery_restart_ &&
      now - *last_recovery_restart_ < std::chrono::milliseconds(limits_.recovery_restart_interval_ms))
    return;  // tick() comes back to it
  recovery_restart_pending_ = false;
  last_recovery_restart_ = now;
  std::vector<std::shared_ptr<PeerSession>> all;
  for (auto& [key, s] : ready_) all.push_back(s);
  for (auto& s : all) {
    spdlog::info("peer {}: reconnecting after a city's recovery, to compare chains again", short_node_id(s->peer()));
    s->fail(ErrorCode::shutdown, "a city's chain was recovered here; reconnect to compare chains again");
  }
}

void PeerManager::tick() {
  if (stopping_) return;
  restart_after_recovery();
  dial_due_peers();
  if (Clock::now() - last_state_save_ > std::chrono::seconds(2)) save_states();
  if (traffic_bytes_ - traffic_at_release_ > (uint64_t{32} << 20)) {
    traffic_at_release_ = traffic_bytes_;
    dir().store().env().release_resident_pages();
  }
}

void PeerManager::learn_own_head(uint64_t seq_at_peer) {
  own_head_at_peers_ = std::max(own_head_at_peers_.value_or(0), seq_at_peer);
  spdlog::info("restore: a peer holds this city's records up to seq {}", seq_at_peer);
  check_restore_done();
}

// Publishing resumes once this node holds its own chain as far as any peer that answered.
void PeerManager::check_restore_done() {
  if (!restoring_ || !own_head_at_peers_) return;
  uint64_t held = dir().store().read([&](const storage::StoreReader& r) {
    auto h = r.head(dir().id());
    return h ? h->seq : uint64_t{0};
  });
  if (held < *own_head_at_peers_) return;
  restoring_ = false;
  uint64_t seq = held;
  DataDir& d = dir();
  writer().submit([&d, seq] {
    try {
      d.store().env().write([&](storage::WriteTxn& txn) { d.finish_restoring(txn); });
      spdlog::info("restore complete: this node holds its own records up to seq {}; publishing is open again", seq);
    } catch (const std::exception& e) {
      spdlog::error("cannot record the end of the restore: {}", e.what());
    }
  });
}

int PeerManager::schedule_retry(Backoff& b) {
  b.dialing = false;
  ++b.attempts;
  int base = std::min(limits_.backoff_max_ms, limits_.backoff_initial_ms << std::min(b.attempts - 1, 16));
  int jittered = base / 2 + static_cast<int>(rng_() % static_cast<unsigned>(base / 2 + 1));
  b.next = Clock::now() + std::chrono::milliseconds(jittered);
  return jittered;
}

void PeerManager::dial_failed(const PublicKey& key, std::string_view state, const std::string& why) {
  int retry_ms = schedule_retry(backoff_[key]);
  PeerState& st = states_[key];
  bool again = st.state == state && st.last_error == why;
  if (st.state != peer_state::kBackoff) st.state = state;
  st.last_error = why;
  st.last_error_ms = now_ms();
  st.next_dial_ms = st.last_error_ms + retry_ms;
  ++st.errors;
  // Once at info, then (the same reason on every retry) at debug: the log keeps the change.
  auto level = again ? spdlog::level::debug : spdlog::level::info;
  // An unlisted key is fixed on the other node: say what to run there.
  std::string fix = why.find("does not list your key") != std::string::npos
                        ? "; that node allows this one with `agora peer add - --key " + node_id(dir().id()) + "`"
                        : "";
  spdlog::log(level, "peer {} {}: {}{} (next try in {} s)", short_node_id(key),
              state == peer_state::kRefused ? "refused our connection" : "connection failed", why, fix,
              (retry_ms + 999) / 1000);
}

void PeerManager::dial_due_peers() {
  auto now = Clock::now();
  for (const auto& [key, peer] : peers_) {
    if (peer.url.empty() || ready_.count(key) || blocked_.count(key)) continue;
    Backoff& b = backoff_[key];
    if (b.dialing || now < b.next) continue;
    dial(peer);
  }
}

void PeerManager::dial(const PeerConfig& peer) {
  Backoff& b = backoff_[peer.key];
  b.dialing = true;
  PublicKey key = peer.key;
  spdlog::debug("dialling {} at {}", short_node_id(key), peer.url);
  net::dial(io(), peer.url, transport_, tls_,
            [this, key, invitation = peer.invitation](std::shared_ptr<net::Transport> t, std::string error) {
              if (stopping_) return;
              if (!t) return dial_failed(key, peer_state::kUnreachable, error);
              auto s = std::make_shared<PeerSession>(*this, t, key, invitation);
              sessions_.insert(s);
              s->start();
            });
}

void PeerManager::accept(std::shared_ptr<net::Transport> t) {
  if (stopping_) return t->close(std::string(error_code_name(ErrorCode::shutdown)));
  std::string ip = net::host_of(t->remote_address());
  if (sessions_.size() >= limits_.max_connections || sessions_per_ip_[ip] >= limits_.max_connections_per_ip) {
    spdlog::warn("refused connection from {}: connection limit", t->remote_address());
    t->send(encode(error_message(ErrorCode::busy, "connection limit reached")), false);
    return t->close(std::string(error_code_name(ErrorCode::busy)));
  }
  ++sessions_per_ip_[ip];
  auto s = std::make_shared<PeerSession>(*this, t, std::nullopt);
  sessions_.insert(s);
  s->start();
}

void PeerManager::session_ready(const std::shared_ptr<PeerSession>& s) {
  const PublicKey& p = s->peer();
  auto existing = ready_.find(p);
  if (existing != ready_.end() && existing->second != s) {
    // Both sides dialled: keep the connection dialled by the lower node id, on both ends.
    const PublicKey& me = dir().id();
    auto dialer = [&](const PeerSession& x) { return x.outbound() ? me : p; };
    PublicKey lower = std::min(me, p);
    if (dialer(*s) != lower) return s->fail(ErrorCode::duplicate, "already connected");
    existing->second->fail(ErrorCode::duplicate, "replaced by another connection");
  }
  ready_[p] = s;
  Backoff& b = backoff_[p];
  b.dialing = false;
  if (states_[p].state != peer_state::kBackoff) b.attempts = 0;
  states_[p].state = peer_state::kConnected;
  states_[p].next_dial_ms = 0;
  states_[p].address = s->address();
  states_[p].protocol = s->protocol_version();
  states_[p].node_key = s->peer_key() == p ? "" : node_id(s->peer_key());
  spdlog::info("peer {} connected ({}, {}{})", short_node_id(p), s->address(), s->outbound() ? "outbound" : "inbound",
               s->peer_key() == p ? "" : ", node key " + short_node_id(s->peer_key()));
}

void PeerManager::session_closed(const std::shared_ptr<PeerSession>& s, const std::string& reason) {
  sessions_.erase(s);
  if (!s->outbound()) {
    auto ip = net::host_of(s->address());
    if (sessions_per_ip_[ip] > 0 && --sessions_per_ip_[ip] == 0) sessions_per_ip_.erase(ip);
  }
  if (!s->is_ready()) {
    // Both sides dialled and this connection lost (here or there): the other one carries
    // the peer, so this is no failed dial and no error.
    if (s->outbound() && reason == error_code_name(ErrorCode::duplicate)) {
      backoff_[s->target()].dialing = false;
      return;
    }
    if (s->outbound()) {
      // Refused before the handshake ended (an unlisted key, a spent invitation, a bad
      // proof, no common version): the reason the other side gave is what `agora peer list`
      // and the log show.
      // What the peer said ("peer said CODE: …") is a refusal; what this side found wrong
      // with the peer (another node at the address, a proof that fails) a failed connection.
      const std::string& said = s->stats().last_error;
      dial_failed(s->target(), said.starts_with("peer said ") ? peer_state::kRefused : peer_state::kUnreachable,
                  said.empty() ? (reason.empty() ? "closed during the handshake" : reason) : said);
    }
    return;
  }
  const PublicKey& p = s->peer();
  PeerState& st = states_[p];
  fold_session_counters(st, s->stats());
  s->stats() = PeerState{};
  auto it = ready_.find(p);
  if (it != ready_.end() && it->second == s) {
    ready_.erase(it);
    if (st.state != peer_state::kBackoff) st.state = peer_state::kDisconnected;
    Backoff& b = backoff_[p];
    b.dialing = false;
    if (b.next < Clock::now()) b.next = Clock::now() + std::chrono::milliseconds(limits_.backoff_initial_ms);
    spdlog::info("peer {} disconnected: {}", short_node_id(p), reason);
  }
}

bool PeerManager::note_refused_key(const PublicKey& key, const std::string& address) {
  int64_t now = now_ms();
  auto it = std::find_if(refused_.begin(), refused_.end(), [&](const RefusedKey& r) { return r.key == key; });
  bool warn = it == refused_.end() || now - it->last_ms >= 10 * 60 * 1000;
  RefusedKey r = it == refused_.end() ? RefusedKey{key, address, 0, now, now} : *it;
  if (it != refused_.end()) refused_.erase(it);
  r.address = address;
  ++r.attempts;
  r.last_ms = now;
  refused_.push_back(std::move(r));
  if (refused_.size() > kMaxRefusedKeys) refused_.erase(refused_.begin());
  refused_changed_ = true;
  return warn;
}

void PeerManager::penalize(const PublicKey& peer, const std::string& why) {
  Backoff& b = backoff_[peer];
  ++b.attempts;
  int base = std::min(limits_.backoff_max_ms, limits_.backoff_initial_ms << std::min(b.attempts + 2, 16));
  b.next = Clock::now() + std::chrono::milliseconds(base);
  states_[peer].state = peer_state::kBackoff;
  states_[peer].last_error = why;
}

IngestPolicy PeerManager::ingest_policy(const PublicKey& peer) {
  IngestPolicy policy;
  PeerState& st = states_[peer];
  constexpr int64_t kDayMs = 24 * 3600 * 1000;
  if (now_ms() - st.new_origins_window_start_ms >= kDayMs) {
    st.new_origins_window_start_ms = now_ms();
    st.new_origins_in_window = 0;
  }
  size_t used = static_cast<size_t>(st.new_origins_in_window);
  policy.new_origins_left = used >= limits_.max_new_origins_per_day ? 0 : limits_.max_new_origins_per_day - used;
  policy.exempt.insert(dir().id());
  policy.refused_origins = blocked_;
  for (const auto& [key, config] : peers_) policy.exempt.insert(key);
  return policy;
}

void PeerManager::count_new_origins(const PublicKey& peer, uint32_t n) { states_[peer].new_origins_in_window += n; }

PeerSnapshot PeerManager::snapshot() {
  PeerSnapshot snap;
  snap.connected = ready_.size();
  for (const auto& [key, peer] : peers_) {
    snap.peers.push_back(peer);
    PeerState st = states_[key];
    if (auto it = ready_.find(key); it != ready_.end()) {
      fold_session_counters(st, it->second->stats());
      st.remote_heads = it->second->stats().remote_heads;
      st.state = peer_state::kConnected;
    }
    snap.states.emplace(key, std::move(st));
  }
  return snap;
}

void PeerManager::save_states() {
  last_state_save_ = Clock::now();
  // Counters every 2 s; each peer's per-origin heads (an entry per origin: 100,000 in a large
  // network) every 10 s and when stopping.
  bool with_heads = stopping_ || last_state_save_ - last_heads_save_ >= std::chrono::seconds(10);
  if (with_heads) last_heads_save_ = last_state_save_;
  std::vector<std::pair<PublicKey, PeerState>> snapshot;
  for (const auto& [key, peer] : peers_) {
    PeerState& held = states_[key];
    std::map<PublicKey, uint64_t> heads = std::move(held.remote_heads);
    PeerState st = held;  // without the heads: copied below only when they are written
    held.remote_heads = std::move(heads);
    auto it = ready_.find(key);
    if (it != ready_.end()) fold_session_counters(st, it->second->stats(), with_heads);
    if (with_heads && st.remote_heads.empty()) st.remote_heads = held.remote_heads;
    if (stopping_) {  // as the next `peer list` should show it: no connection, no dialling
      if (st.state == peer_state::kConnected || st.state == peer_state::kBackoff) st.state = peer_state::kDisconnected;
      st.next_dial_ms = 0;
    }
    snapshot.emplace_back(key, std::move(st));
  }
  // Refused keys a peer added since are no longer news.
  std::erase_if(refused_, [&](const RefusedKey& r) { return peers_.count(r.key) != 0; });
  std::optional<std::vector<RefusedKey>> refused;
  if (refused_changed_) refused = refused_, refused_changed_ = false;
  storage::RecordStore& store = dir().store();
  writer().submit([&store, with_heads, snapshot = std::move(snapshot), refused = std::move(refused)] {
    try {
      store.env().write([&](storage::WriteTxn& txn) {
        for (const auto& [key, st] : snapshot) save_peer_state(store, txn, key, st, with_heads);
        if (refused) save_refused_keys(store, txn, *refused);
      });
    } catch (const std::exception& e) {
      spdlog::error("cannot save peer state: {}", e.what());
    }
  });
}

void PeerManager::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down: telling {} peers", ready_.size());
  for (auto s : std::vector<std::shared_ptr<PeerSession>>(sessions_.begin(), sessions_.end()))
    s->fail(ErrorCode::shutdown, "node is shutting down");
  save_states();
}

}  // namespace agora::sync
