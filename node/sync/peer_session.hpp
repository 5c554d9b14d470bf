// One peer connection: the wire state machine of docs/protocol.md — authenticated
// handshake, heads, batches sent through the engine's window, batches received through
// the verify → store pipeline with a per-peer rate limit, acks and errors.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "node/local/peer_registry.hpp"
#include "node/net/transport.hpp"
#include "node/sync/engine.hpp"
#include "node/sync/ingest.hpp"
#include "node/sync/reconcile.hpp"
#include "protocol/sync_messages.hpp"

namespace agora::sync {

class PeerManager;

class PeerSession : public std::enable_shared_from_this<PeerSession> {
 public:
  // `expected`: the key this node dialled (outbound); none for an inbound connection.
  // invitation: the secret an `agora join` dial presents (the node does not list us yet).
  PeerSession(PeerManager& manager, std::shared_ptr<net::Transport> transport, std::optional<PublicKey> expected,
              std::string invitation = "");

  void start();
  // Sends an `error` message with this code and closes.
  void fail(ErrorCode code, const std::string& message);
  // Sends what the peer lacks, up to the window.
  void pump();
  // Queues, with bodies, the latest restricted records the peer holds and may now read;
  // the next pump() sends them.
  // Queues the bodies the peer may now read (after a change of entitlements); false when
  // its heads are not known yet (its first heads queue them).
  bool queue_newly_readable();
  // Queues the bodies of stubs this node just filled, which the peer may hold as stubs.
  void queue_filled(const std::vector<std::pair<PublicKey, uint64_t>>& records);

  bool outbound() const { return outbound_; }
  // The protocol version this connection uses (the highest both sides offered).
  int protocol_version() const { return version_; }
  bool is_ready() const { return stage_ == Stage::ready; }
  const PublicKey& peer() const { return peer_; }
  const PublicKey& peer_key() const { return peer_key_; }  // its id, or the node key it proved with
  PublicKey target() const { return outbound_ ? *expected_ : peer_; }
  std::string address() const { return transport_->remote_address(); }
  PeerState& stats() { return stats_; }

 private:
  // Where the handshake is (docs/protocol.md section 3).
  enum class Stage {
    start,      // inbound: hello sent, waiting for auth; outbound: waiting for hello
    auth_sent,  // outbound: auth sent, waiting for welcome
    ready,      // authenticated both ways
  };
  using Clock = std::chrono::steady_clock;

  void send(std::string message, bool binary = false);
  void on_message(std::string message, bool binary);
  // The key the peer proves itself with (its node id or a delegated node key); nullopt after failing.
  std::optional<PublicKey> proving_key(const PublicKey& node, const std::optional<NodeKeyProof>& proof);
  void handle(const Hello& m);
  void handle(const Auth& m);
  void handle(const Welcome& m);
  void handle(const Heads& m);
  void handle(const Ack& m);
  void handle(const ErrorMessage& m);
  void handle(const Reconcile& m);
  void handle(const UnknownMessage& m);
  // The peer's heads are known (from `heads` or a finished reconciliation): start sending.
  void learned_heads(const std::map<PublicKey, uint64_t>& heads);
  std::map<PublicKey, uint64_t> heads_for_peer() const;
  void become_ready();
  void on_batch(const std::string& frame);
  void process_incoming();
  void ingested(uint64_t batch_no, const IngestOutcome& outcome);
  void on_closed(const std::string& reason);

  // Batches verified ahead of the one being stored, so verifying overlaps committing.
  static constexpr int kPipelineDepth = 4;

  PeerManager& manager_;
  std::shared_ptr<net::Transport> transport_;
  std::optional<PublicKey> expected_;
  bool outbound_;
  PublicKey peer_{};
  PublicKey peer_key_{};                    // the key the peer proves itself with: peer_, or its delegated node key
  std::string invitation_;                  // an invitation's secret our auth presents (outbound, after `agora join`)
  std::string challenge_;                   // this side's own challenge
  std::string peer_challenge_;              // the other side's (both key the reconciliation)
  int version_ = 1;                         // the protocol version of this connection
  std::optional<Reconciler> reconciler_;    // protocol 2: heads by reconciliation
  std::vector<RangeEntry> turn_in_;         // the peer's turn so far (`more`)
  std::map<PublicKey, uint64_t> heads_in_;  // the peer's heads so far (`more`)
  // What this connection accepts beyond the chain rule; used by the writer thread only.
  std::shared_ptr<IngestPolicy> policy_ = std::make_shared<IngestPolicy>();
  Stage stage_ = Stage::start;
  bool closing_ = false, rate_waiting_ = false, told_skipped_ = false;
  bool checked_newly_readable_ = false;  // on the connection's first heads
  Outbound out_;
  int in_pipeline_ = 0;
  size_t bad_batches_ = 0;
  std::deque<RecordBatch> incoming_;
  double tokens_ = 0;  // the rate limit's token bucket, in records
  Clock::time_point bucket_time_ = Clock::now();
  PeerState stats_;
  boost::asio::steady_timer timer_, rate_timer_;
};

}  // namespace agora::sync
