// The peer manager: the peers this node lists, one authenticated session per peer,
// dialling with backoff, connection limits, penalties, the restore from peers after
// `init --restore`, and each peer's state saved for `agora peer list`.
// Lives on the io thread: every member is called there.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "node/local/data_dir.hpp"
#include "node/local/entitlements.hpp"
#include "node/local/job_thread.hpp"
#include "node/local/peer_registry.hpp"
#include "node/net/transport.hpp"
#include "node/sync/engine.hpp"

namespace agora::sync {

// How this node syncs with each peer (`agora serve` options; defaults are the CLI's).
struct SyncLimits {
  SendLimits send;
  double max_records_per_s = 50000;  // accepted from one peer; beyond it its batches wait (and their acks)
  size_t max_bad_batches = 3;        // batches with rejected records before disconnecting
  // Origins this node holds nothing of, accepted from one peer per 24 h (listed peers' own
  // origins do not count): one peer cannot flood the node with free keys.
  size_t max_new_origins_per_day = 10000;
  size_t max_connections = 256;
  size_t max_connections_per_ip = 16;
  int backoff_initial_ms = 500;
  int backoff_max_ms = 60000;
  // Connections restart when a city's chain is recovered here; further recoveries within
  // this interval wait for its end, so a city publishing recoveries in a loop cannot keep
  // every connection of the network restarting.
  int recovery_restart_interval_ms = 60000;
  // The highest peer-sync protocol version offered (`serve --protocol`): a node pinned to
  // an earlier one talks to every peer as a node of that release would.
  int max_protocol = kHighestProtocolVersion;
};

class PeerSession;

class PeerManager {
 public:
  using Clock = std::chrono::steady_clock;
  // What the manager works with; all outlive it. `on_records_stored` runs after a peer's
  // records were stored (the composition root re-indexes, wakes feeds, calls store_changed()).
  struct Services {
    boost::asio::io_context& io;
    DataDir& dir;
    JobThread& verifier;
    JobThread& writer;
    std::function<void()> on_records_stored;
  };
  PeerManager(Services services, SyncLimits limits, net::TransportLimits transport);
  ~PeerManager();

  void start(std::shared_ptr<net::TlsContexts> tls);       // reads the peer list; dials from the next tick
  void accept(std::shared_ptr<net::Transport> transport);  // an inbound WebSocket
  void tick();                                             // dials peers that are due, saves peer state every 2 s
  void peers_changed();                                    // the peer list may have changed (another process wrote)
  void store_changed();  // new records: send them on, and bodies newly readable after entitlements change
  void shutdown();       // tells every peer, saves peer state
  PeerSnapshot snapshot();
  size_t connected() const { return ready_.size(); }
  const std::set<PublicKey>& blocked() const { return blocked_; }  // `agora block`

  // ---- for peer sessions (peer_session.cpp) ----
  boost::asio::io_context& io() { return services_.io; }
  DataDir& dir() { return services_.dir; }
  JobThread& verifier() { return services_.verifier; }
  JobThread& writer() { return services_.writer; }
  const SyncLimits& limits() const { return limits_; }
  const net::TransportLimits& transport_limits() const { return transport_; }
  const Entitlements& entitlements();
  // Whether what peers may read changed since a connection with `peer` last queued the
  // bodies it may read (and notes that one is queueing them now).
  bool entitlements_changed_for(const PublicKey& peer);
  bool lists(const PublicKey& key);             // re-reads the list once when the key is not in it
  bool in_backoff(const PublicKey& key) const;  // serving a penalty now
  void session_ready(const std::shared_ptr<PeerSession>& s);
  void session_closed(const std::shared_ptr<PeerSession>& s, const std::string& reason);
  void penalize(const PublicKey& peer, const std::string& why);
  // A key this node does not list dialled in and was refused: remembered for `peer list`.
  // True when the refusal is worth a warning in the log (the first from that key in 10
  // minutes; the rest go to debug, as a dialler retries every few seconds).
  bool note_refused_key(const PublicKey& key, const std::string& address);
  // A batch from `from` was stored; `filled_at`: the stubs it filled, (origin, seq).
  void ingested(const PublicKey& from, uint32_t stored, uint32_t filled,
                const std::vector<std::pair<PublicKey, uint64_t>>& filled_at);
  // What a new connection of `peer` may still bring: its allowance of new origins left in
  // the current 24 h window, and the origins exempt from it.
  IngestPolicy ingest_policy(const PublicKey& peer);
  void count_new_origins(const PublicKey& peer, uint32_t n);
  void count_traffic(size_t bytes) { traffic_bytes_ += bytes; }
  bool restoring() const { return restoring_; }
  void learn_own_head(uint64_t seq_at_peer);
  // A node this one does not list presented an invitation's secret (after proving its key):
  // lists it with the invitation's relation and spends the invitation, or says why not.
  // `proof` as sync::invitation_proof made it over `challenge` (this node's, of that handshake).
  std::optional<std::string> accept_invitation(const PublicKey& peer, const std::string& proof,
                                               const std::string& challenge);
  // Our `agora join` dial got in: the invitation is spent, the peer config forgets it.
  void invitation_spent(const PublicKey& peer);

 private:
  struct Backoff {
    int attempts = 0;
    Clock::time_point next{};
    bool dialing = false;
  };
  void reload_peers();
  void dial_due_peers();
  void dial(const PeerConfig& peer);
  int schedule_retry(Backoff& b);  // after a failed dial or handshake; returns the delay (ms)
  // A dial that came to nothing: no connection (unreachable) or a refused handshake, why,
  // and when the next one is; logged at info when the reason changes.
  void dial_failed(const PublicKey& key, std::string_view state, const std::string& why);
  void check_restore_done();
  void save_states();
  // What peers may read, as one string: it changes with twins, members and withdrawals.
  std::string entitlement_fingerprint();

  Services services_;
  SyncLimits limits_;
  net::TransportLimits transport_;
  std::shared_ptr<net::TlsContexts> tls_;
  std::set<std::shared_ptr<PeerSession>> sessions_;          // every open session, authenticated or not
  std::map<PublicKey, std::shared_ptr<PeerSession>> ready_;  // the one authenticated session per peer
  std::map<PublicKey, PeerConfig> peers_;
  std::map<PublicKey, PeerConfig> invited_;  // listed by an invitation, until the writer has saved them
  std::set<std::string> spent_invitations_;  // spent here, saved or not
  std::map<PublicKey, PeerState> states_;
  std::map<PublicKey, Backoff> backoff_;
  std::map<std::string, size_t> sessions_per_ip_;
  std::optional<Entitlements> entitlements_;
  std::string entitlement_fingerprint_;
  std::map<PublicKey, std::string> fingerprint_sent_;  // per peer: entitlements its bodies were last queued under
  // The origins whose chain a recovery reset, with its seq: when it changes, every connection
  // starts again, so that both sides compare their heads anew.
  std::string recovery_fingerprint_;
  std::set<PublicKey> blocked_;
  bool recovery_restart_pending_ = false;
  std::optional<Clock::time_point> last_recovery_restart_;
  void restart_after_recovery();  // now, or when the interval since the last restart ends
  // Bulk sync touches the whole log once; dropping those mapped pages now and then keeps
  // RSS to what the node is working on (the page cache still holds them).
  uint64_t traffic_bytes_ = 0, traffic_at_release_ = 0;
  Clock::time_point last_state_save_{}, last_heads_save_{};
  std::vector<RefusedKey> refused_;  // most recent last; kMaxRefusedKeys at most
  bool refused_changed_ = false;
  bool stopping_ = false;
  // After `init --restore`: the highest seq of our own chain any peer said it holds.
  bool restoring_ = false;
  std::optional<uint64_t> own_head_at_peers_;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace agora::sync
