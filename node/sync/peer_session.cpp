#include "node/sync/peer_session.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <random>

#include "node/local/publisher.hpp"
#include "node/sync/peer_manager.hpp"
#include "node/sync/store_views.hpp"
#include "protocol/authority.hpp"
#include "protocol/hex.hpp"

namespace agora::sync {

namespace {

// This node's node-key proof when its key is not the city's own (docs/identity.md).
std::optional<NodeKeyProof> own_node_key(DataDir& dir) {
  if (dir.key().public_key() == dir.id()) return std::nullopt;
  auto delegation = dir.node_key_proof();
  if (!delegation) {
    spdlog::error("node key {} has no delegation record in this store: peers will refuse its handshakes",
                  short_node_id(dir.key().public_key()));
    return std::nullopt;
  }
  return delegation;
}

}  // namespace

namespace asio = boost::asio;

namespace {

// The highest protocol version both sides speak (1 if the peer lists none in common).
int common_version(const std::vector<int>& theirs, int ours) {
  int best = 1;
  for (int v : theirs)
    if (v <= ours) best = std::max(best, v);
  return best;
}

std::vector<int> versions_up_to(int highest) {
  std::vector<int> v;
  for (int i = 1; i <= highest; ++i) v.push_back(i);
  return v;
}

// A turn may span messages; more ranges than this in one turn is not an honest peer.
constexpr size_t kMaxRangesPerTurn = 1'000'000;

std::string random_challenge() {
  std::random_device rd;
  std::array<uint8_t, 32> bytes;
  for (auto& b : bytes) b = static_cast<uint8_t>(rd());
  return to_hex(bytes);
}

}  // namespace

PeerSession::PeerSession(PeerManager& manager, std::shared_ptr<net::Transport> transport,
                         std::optional<PublicKey> expected, std::string invitation)
    : manager_(manager),
      transport_(std::move(transport)),
      expected_(expected),
      outbound_(expected.has_value()),
      invitation_(std::move(invitation)),
      out_(PublicKey{}, manager.limits().send),
      timer_(manager.io()),
      rate_timer_(manager.io()) {}

void PeerSession::start() {
  // The transport holds the session only weakly: the manager's session set keeps it alive
  // until it closes, and a transport still closing when the node stops (its operations
  // dropped with the io_context) leaves no session behind in a cycle.
  std::weak_ptr<PeerSession> weak = shared_from_this();
  transport_->start({[weak](std::string m, bool binary) {
                       if (auto self = weak.lock()) self->on_message(std::move(m), binary);
                     },
                     [weak](const std::string& reason) {
                       if (auto self = weak.lock()) self->on_closed(reason);
                     }});
  auto self = shared_from_this();
  timer_.expires_after(std::chrono::seconds(manager_.transport_limits().handshake_timeout_s));
  timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec && !self->is_ready()) self->fail(ErrorCode::handshake_timeout, "no authenticated handshake in time");
  });
  if (!outbound_) {
    challenge_ = random_challenge();
    send(encode(Hello{manager_.dir().id(), challenge_, versions_up_to(manager_.limits().max_protocol),
                      own_node_key(manager_.dir())}));
  }
}

void PeerSession::fail(ErrorCode code, const std::string& message) {
  if (closing_) return;
  std::string name(error_code_name(code));
  if (code != ErrorCode::duplicate && code != ErrorCode::shutdown) stats_.last_error = name + ": " + message;
  send(encode(error_message(code, message)));
  closing_ = true;
  transport_->close(name);
}

bool PeerSession::queue_newly_readable() {
  // Before the peer's heads are known nothing can be queued: its first heads do it then.
  if (!is_ready() || closing_ || !checked_newly_readable_) return false;
  const Entitlements& ent = manager_.entitlements();
  manager_.dir().store().read([&](const storage::StoreReader& r) {
    return out_.queue_newly_readable(LmdbStoreView(r, ent, &manager_.blocked()));
  });
  return true;
}

void PeerSession::queue_filled(const std::vector<std::pair<PublicKey, uint64_t>>& records) {
  if (!is_ready() || closing_ || !checked_newly_readable_) return;
  const Entitlements& ent = manager_.entitlements();
  manager_.dir().store().read([&](const storage::StoreReader& r) {
    return out_.queue_filled(LmdbStoreView(r, ent, &manager_.blocked()), records);
  });
}

void PeerSession::pump() {
  if (!is_ready() || closing_) return;
  const Entitlements& ent = manager_.entitlements();
  // The window bounds batches in flight; the transport's queue bounds what waits for the socket.
  while (transport_->queued_bytes() < 4 * manager_.limits().send.batch_bytes) {
    std::optional<OutgoingBatch> b = manager_.dir().store().read(
        [&](const storage::StoreReader& r) { return out_.next(LmdbStoreView(r, ent, &manager_.blocked())); });
    if (!b) return;
    stats_.records_out += b->count;
    send(b->frame(), true);
  }
}

void PeerSession::send(std::string message, bool binary) {
  stats_.bytes_out += message.size();
  manager_.count_traffic(message.size());
  transport_->send(std::move(message), binary);
}

void PeerSession::on_message(std::string message, bool binary) {
  if (closing_) return;
  stats_.bytes_in += message.size();
  manager_.count_traffic(message.size());
  stats_.last_contact_ms = now_ms();
  if (binary) {
    if (!is_ready()) return fail(ErrorCode::protocol, "records before the handshake");
    return on_batch(message);
  }
  auto decoded = decode_control(message);
  if (!decoded) return fail(ErrorCode::bad_message, decoded.error().to_string());
  std::visit([&](auto& m) { handle(m); }, decoded.value());
}

// The key the peer's proofs are by: its node id, or a node key its city delegated (shown
// by the delegation it sent, and not revoked in this node's copy of its chain).
std::optional<PublicKey> PeerSession::proving_key(const PublicKey& node, const std::optional<NodeKeyProof>& proof) {
  if (!proof) {
    // A city whose genesis key a root rotation or a recovery retired proves itself with a
    // node key since: the genesis key may be in a thief's hands (docs/identity.md).
    auto genesis = manager_.dir().store().read([&](const storage::StoreReader& r) { return r.grant(node, node); });
    if (genesis && genesis->revoked) {
      spdlog::warn("peer {} at {}: proved with its retired genesis key; refused", short_node_id(node), address());
      fail(ErrorCode::bad_proof, "that city's genesis key was retired: it proves nothing any more");
      return std::nullopt;
    }
    return node;
  }
  auto held = [&](const PublicKey& key) {
    return manager_.dir().store().read([&](const storage::StoreReader& r) { return r.grant(node, key); });
  };
  auto held_header = [&](uint64_t seq) {
    return manager_.dir().store().read([&](const storage::StoreReader& r) -> std::optional<std::string> {
      auto view = r.at(node, seq);
      return view ? std::optional<std::string>(std::string(view->header_bytes)) : std::nullopt;
    });
  };
  if (auto why = node_key_problem(node, proof->key, proof->delegation, proof->path, held, held_header, now_ms())) {
    spdlog::warn("peer {} at {}: {}", short_node_id(node), address(), *why);
    fail(ErrorCode::bad_proof, "node key: " + *why);
    return std::nullopt;
  }
  return proof->key;
}

void PeerSession::handle(const Hello& m) {
  if (!outbound_ || stage_ != Stage::start) return fail(ErrorCode::protocol, "unexpected hello");
  if (m.node != *expected_) {
    spdlog::warn("peer at {} presented key {}, expected {}", address(), short_node_id(m.node),
                 short_node_id(*expected_));
    return fail(ErrorCode::wrong_key, "the node at this address is " + short_node_id(m.node) +
                                          ", not the one the peer list names (" + short_node_id(*expected_) + ")");
  }
  auto key = proving_key(m.node, m.node_key);
  if (!key) return;
  peer_ = m.node;
  peer_key_ = *key;
  challenge_ = random_challenge();
  peer_challenge_ = m.challenge;
  version_ = common_version(m.versions, manager_.limits().max_protocol);
  DataDir& dir = manager_.dir();
  Auth auth{dir.id(),
            challenge_,
            dir.key().sign(auth_transcript(m.challenge, dir.id(), peer_)),
            versions_up_to(manager_.limits().max_protocol),
            own_node_key(dir),
            invitation_.empty() ? "" : invitation_proof(invitation_, m.challenge, dir.id())};
  stage_ = Stage::auth_sent;
  send(encode(auth));
}

void PeerSession::handle(const Auth& m) {
  if (outbound_ || stage_ != Stage::start) return fail(ErrorCode::protocol, "unexpected auth");
  DataDir& dir = manager_.dir();
  if (manager_.blocked().count(m.node)) {
    spdlog::warn("refused blocked key {} from {}", node_id(m.node), address());
    return fail(ErrorCode::unknown_key, "this node blocks your key");
  }
  bool listed = manager_.lists(m.node);
  if (!listed && m.invitation.empty()) {
    spdlog::log(manager_.note_refused_key(m.node, address()) ? spdlog::level::warn : spdlog::level::debug,
                "refused unknown key {} from {}: not a peer here (`agora peer add - --key {}` allows it)",
                node_id(m.node), address(), node_id(m.node));
    return fail(ErrorCode::unknown_key, "this node does not list your key as a peer");
  }
  auto key = proving_key(m.node, m.node_key);
  if (!key) return;
  if (!verify_signature(*key, auth_transcript(challenge_, m.node, dir.id()), m.proof)) {
    spdlog::warn("refused {} from {}: bad handshake proof (replayed or forged)", short_node_id(m.node), address());
    return fail(ErrorCode::bad_proof, "handshake proof does not verify");
  }
  if (!listed) {  // an `agora join`: the invitation lists it, once
    if (auto why = manager_.accept_invitation(m.node, m.invitation, challenge_)) {
      spdlog::warn("refused {} from {}: invitation {}", short_node_id(m.node), address(), *why);
      return fail(ErrorCode::unknown_key, "invitation " + *why);
    }
  }
  if (manager_.in_backoff(m.node)) return fail(ErrorCode::backoff, "too many invalid records recently; try later");
  peer_ = m.node;
  peer_key_ = *key;
  peer_challenge_ = m.challenge;
  version_ = common_version(m.versions, manager_.limits().max_protocol);
  send(encode(Welcome{dir.key().sign(welcome_transcript(m.challenge, dir.id(), peer_))}));
  become_ready();
}

void PeerSession::handle(const Welcome& m) {
  if (!outbound_ || stage_ != Stage::auth_sent) return fail(ErrorCode::protocol, "unexpected welcome");
  if (!verify_signature(peer_key_, welcome_transcript(challenge_, peer_, manager_.dir().id()), m.proof))
    return fail(ErrorCode::bad_proof, "handshake proof does not verify");
  become_ready();
}

void PeerSession::handle(const Heads& m) {
  if (!is_ready()) return fail(ErrorCode::protocol, "heads before the handshake");
  if (heads_in_.size() + m.heads.size() > kMaxHeadsTotal)
    return fail(ErrorCode::protocol, "heads for more than 1,000,000 origins");
  heads_in_.insert(m.heads.begin(), m.heads.end());
  if (m.more) return;
  std::map<PublicKey, uint64_t> heads = std::move(heads_in_);
  heads_in_.clear();
  learned_heads(heads);
}

void PeerSession::learned_heads(const std::map<PublicKey, uint64_t>& heads) {
  out_.on_heads(heads);
  {
    const Entitlements& ent = manager_.entitlements();
    manager_.dir().store().read([&](const storage::StoreReader& r) {
      return out_.queue_recoveries(LmdbStoreView(r, ent, &manager_.blocked()));
    });
  }
  // The peer may hold as stubs bodies it became entitled to while not connected to this
  // node (heads count stubs as held): the first heads of a connection send them, unless
  // nothing changed since this process last did so for this peer.
  if (!checked_newly_readable_) {
    checked_newly_readable_ = true;
    if (manager_.entitlements_changed_for(peer_)) queue_newly_readable();
  }
  for (const auto& [origin, seq] : heads) {
    uint64_t& known = stats_.remote_heads[origin];
    known = std::max(known, seq);
  }
  if (manager_.restoring()) {
    auto own = heads.find(manager_.dir().id());
    manager_.learn_own_head(own == heads.end() ? 0 : own->second);
  }
  pump();
}

void PeerSession::handle(const Reconcile& m) {
  if (!is_ready() || version_ < 2 || !reconciler_ || reconciler_->done())
    return fail(ErrorCode::protocol, "reconcile outside a heads reconciliation");
  if (turn_in_.size() + m.ranges.size() > kMaxRangesPerTurn)
    return fail(ErrorCode::protocol, "more ranges in one turn than the rules allow");
  turn_in_.insert(turn_in_.end(), m.ranges.begin(), m.ranges.end());
  if (m.more) return;
  std::vector<RangeEntry> turn = std::move(turn_in_);
  turn_in_.clear();
  auto reply = reconciler_->on_turn(turn);
  if (!reply) return fail(ErrorCode::protocol, reply.error().to_string());
  if (reply.value())
    for (auto& message : encode_turn(*reply.value())) send(std::move(message));
  if (reconciler_->done()) {
    std::map<PublicKey, uint64_t> heads = reconciler_->peer_heads();
    reconciler_.reset();
    learned_heads(heads);
  }
}

void PeerSession::handle(const UnknownMessage& m) {
  // Newer peers may add message types; before READY only the handshake is valid.
  if (!is_ready()) return fail(ErrorCode::protocol, "unexpected message \"" + m.type + "\" before the handshake");
  spdlog::debug("peer {}: ignored a message of unknown type \"{}\"", short_node_id(peer_), m.type);
}

void PeerSession::handle(const Ack& m) {
  if (!is_ready() || !out_.on_ack(m.batch))
    return fail(ErrorCode::protocol,
                "ack for batch " + std::to_string(m.batch) + ", which is not the oldest in flight");
  if (out_.unacked() == 0) stats_.remote_heads = out_.peer_has();  // everything sent is now stored there
  pump();
}

void PeerSession::handle(const ErrorMessage& m) {
  // Losing the race when both sides dialled is routine, not a problem to show.
  if (m.code != error_code_name(ErrorCode::duplicate)) stats_.last_error = "peer said " + m.code + ": " + m.message;
  // During our own handshake the peer manager logs the refusal once, with the next try.
  spdlog::log(is_ready() || !outbound_ ? spdlog::level::info : spdlog::level::debug,
              "peer {} closed the connection: {}: {}", is_ready() ? short_node_id(peer_) : address(), m.code,
              m.message);
  closing_ = true;
  transport_->close(m.code);
}

void PeerSession::become_ready() {
  stage_ = Stage::ready;
  if (outbound_ && !invitation_.empty()) manager_.invitation_spent(peer_);
  out_ = Outbound(peer_, manager_.limits().send);
  policy_ = std::make_shared<IngestPolicy>(manager_.ingest_policy(peer_));
  timer_.cancel();
  manager_.session_ready(shared_from_this());
  if (closing_) return;
  if (version_ >= 2) {
    // The client opens the reconciliation; the server answers its turns.
    const std::string& server = outbound_ ? peer_challenge_ : challenge_;
    const std::string& client = outbound_ ? challenge_ : peer_challenge_;
    reconciler_.emplace(heads_for_peer(), reconcile_salt(server, client));
    if (outbound_)
      for (auto& message : encode_turn(reconciler_->open())) send(std::move(message));
    return;
  }
  for (auto& message : encode_heads(heads_for_peer())) send(std::move(message));
}

std::map<PublicKey, uint64_t> PeerSession::heads_for_peer() const {
  std::map<PublicKey, uint64_t> heads;
  manager_.dir().store().read([&](const storage::StoreReader& r) {
    for (const auto& h : r.heads()) heads[h.origin] = h.seq;
    return 0;
  });
  // A restoring node asks for its own chain even when it holds none of it.
  if (manager_.restoring()) heads.try_emplace(manager_.dir().id(), 0);
  return heads;
}

void PeerSession::on_batch(const std::string& frame) {
  auto batch = decode_batch(frame);
  if (!batch) return fail(ErrorCode::bad_frame, batch.error().to_string());
  if (incoming_.size() + in_pipeline_ >= kMaxUnackedBatches)
    return fail(ErrorCode::flow_control, "more than 16 batches sent without waiting for acks");
  // Token bucket: a peer sending faster than the limit has its batches held back (and so
  // its acks), which its window turns into waiting.
  double rate = manager_.limits().max_records_per_s;
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - bucket_time_).count();
  bucket_time_ = now;
  tokens_ = std::min(rate, tokens_ + elapsed * rate);
  tokens_ -= static_cast<double>(batch.value().records.size());
  spdlog::debug("peer {}: batch {} with {} records", short_node_id(peer_), batch.value().batch,
                batch.value().records.size());
  // What the peer sends, it holds: from now on nothing of it is sent back, even while the
  // batch still waits to be verified and stored (another peer may bring the same records).
  for (const auto& r : batch.value().records)
    if (auto at = claimed_position(r.header_bytes)) out_.peer_holds(at->first, at->second);
  incoming_.push_back(std::move(batch).value());
  process_incoming();
}

// Batches go through two stages: the verifier (all cores), then the writer (one LMDB
// transaction each). Up to kPipelineDepth may be in the pipeline so that verifying the next
// batches overlaps committing this one; both stages keep arrival order.
void PeerSession::process_incoming() {
  while (in_pipeline_ < kPipelineDepth && !rate_waiting_ && !incoming_.empty() && !closing_) {
    if (tokens_ < 0) {
      auto wait = std::chrono::duration<double>(-tokens_ / manager_.limits().max_records_per_s);
      rate_timer_.expires_after(std::chrono::duration_cast<Clock::duration>(wait));
      rate_waiting_ = true;
      rate_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        self->rate_waiting_ = false;
        self->tokens_ = 0;
        self->bucket_time_ = Clock::now();
        if (!ec) self->process_incoming();
      });
      return;
    }
    ++in_pipeline_;
    auto batch = std::make_shared<RecordBatch>(std::move(incoming_.front()));
    incoming_.pop_front();
    auto self = shared_from_this();
    PublicKey from = peer_;
    storage::RecordStore& store = manager_.dir().store();
    JobThread& writer = manager_.writer();
    asio::io_context& io = manager_.io();
    std::shared_ptr<IngestPolicy> policy = policy_;
    manager_.verifier().submit([self, batch, from, policy, &store, &writer, &io]() mutable {
      auto verified = std::make_shared<VerifiedBatch>(verify_batch(*batch));
      batch.reset();
      writer.submit([self, verified, from, policy, &store, &io] {
        IngestOutcome outcome = store_batch(store, from, *verified, *policy);
        uint64_t batch_no = verified->batch;
        asio::post(io, [self, batch_no, outcome] { self->ingested(batch_no, outcome); });
      });
    });
  }
}

void PeerSession::ingested(uint64_t batch_no, const IngestOutcome& o) {
  spdlog::debug("peer {}: batch {} stored {} duplicate {} rejected {}", short_node_id(peer_), batch_no, o.stored,
                o.duplicate, o.rejected);
  --in_pipeline_;
  stats_.records_in += o.stored;
  // The outbound side already counts these as held (on_batch marked them on arrival); this
  // is what `peer list` shows.
  for (const auto& [origin, seq] : o.sender_holds) {
    uint64_t& known = stats_.remote_heads[origin];
    known = std::max(known, seq);
  }
  stats_.forks += o.forks;
  stats_.skipped += o.skipped;
  manager_.count_new_origins(peer_, o.new_origins);
  if (o.skipped && !told_skipped_) {
    told_skipped_ = true;
    spdlog::warn(
        "peer {}: skipped records (envelope newer than this node, over the allowance of {} new "
        "origins per 24 h, or a branch a city's recovery replaced); no penalty",
        short_node_id(peer_), manager_.limits().max_new_origins_per_day);
  }
  if (closing_) return;
  if (o.local_failure) {
    // Nothing of the batch was written and the peer did nothing wrong: drop the session
    // without blame; the next connection resends from what this node holds.
    spdlog::error("cannot store records from peer {}: {}; sync with it pauses until writing works again",
                  short_node_id(peer_), o.first_error);
    return fail(ErrorCode::local_error, "this node cannot store records now; try later");
  }
  send(encode(Ack{batch_no, o.stored, o.duplicate, o.rejected, o.forks, o.skipped}));
  manager_.ingested(peer_, o.stored, o.filled, o.filled_at);
  // It sent stubs of records this node holds whole: the bodies it may read go back to it.
  if (!o.stubs_of_held_bodies.empty()) {
    queue_filled(o.stubs_of_held_bodies);
    pump();
  }
  if (o.rejected) {
    ++stats_.errors;
    ++bad_batches_;
    spdlog::warn("peer {}: rejected {} records of batch {}: {}", short_node_id(peer_), o.rejected, batch_no,
                 o.first_error);
    if (bad_batches_ >= manager_.limits().max_bad_batches) {
      manager_.penalize(peer_, o.first_error);
      return fail(ErrorCode::invalid_records, "too many invalid records: " + o.first_error);
    }
  }
  process_incoming();
}

void PeerSession::on_closed(const std::string& reason) {
  closing_ = true;
  timer_.cancel();
  rate_timer_.cancel();
  manager_.session_closed(shared_from_this(), reason);
}

}  // namespace agora::sync
