#include "node/sync_node.hpp"

#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "node/entitlements.hpp"
#include "node/embedded.hpp"
#include "node/change_stream.hpp"
#include "node/http_api.hpp"
#include "node/metrics.hpp"
#include "node/http_query.hpp"
#include "node/net/http_headers.hpp"
#include "node/network_view.hpp"
#include "node/search_index.hpp"
#include "node/peer_registry.hpp"
#include "node/publisher.hpp"
#include "node/job_thread.hpp"
#include "node/worker_pool.hpp"
#include "protocol/hex.hpp"
#include "protocol/input_schema.hpp"
#include "protocol/sync_messages.hpp"

namespace agora {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

std::string short_id(const PublicKey& k) { return node_id(k).substr(0, 12); }

std::string random_challenge() {
  std::random_device rd;
  std::array<uint8_t, 32> bytes;
  for (auto& b : bytes) b = static_cast<uint8_t>(rd());
  return to_hex(bytes);
}

std::string ip_of(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

// Adds one connection's counters to a peer's running totals.
void fold_session_counters(PeerState& total, const PeerState& session) {
  total.bytes_in += session.bytes_in, total.bytes_out += session.bytes_out;
  total.records_in += session.records_in, total.records_out += session.records_out;
  total.errors += session.errors, total.forks += session.forks;
  total.last_contact_ms = std::max(total.last_contact_ms, session.last_contact_ms);
  if (!session.remote_heads.empty()) total.remote_heads = session.remote_heads;
  if (!session.last_error.empty()) total.last_error = session.last_error;
}

struct IngestOutcome {
  uint32_t stored = 0, duplicate = 0, rejected = 0, forks = 0, filled = 0;
  std::string first_error;
  std::map<PublicKey, uint64_t> sender_holds;  // highest valid seq per origin the sender sent
  bool local_failure = false;  // this node could not write (disk full, ...): not the peer's fault
};

// A batch from a peer after the checks that need no store: signatures, schema, sizes.
struct VerifiedBatch {
  uint64_t batch = 0;
  std::vector<storage::IncomingRecord> records;
  std::vector<std::string> errors;  // per record; empty when it passed
};

// Verifies every record on all cores and encodes the stored form there too, so the single
// writer only has to link and append. Runs on the verifier thread.
VerifiedBatch verify_batch(sync::RecordBatch& batch) {
  VerifiedBatch v;
  v.batch = batch.batch;
  std::vector<SignedRecord>& records = batch.records;
  std::vector<storage::IncomingRecord>& incoming = v.records;
  std::vector<std::string>& errors = v.errors;
  incoming.resize(records.size());
  errors.resize(records.size());
  parallel_for(records.size(), [&](size_t i) {
    auto h = verify_record(records[i]);
    if (!h) {
      errors[i] = h.error().to_string();
      return;
    }
    if (records[i].body) {
      auto keys = validate_received_body(h.value().kind, h.value().id, h.value().visibility, h.value().tombstone,
                                         *records[i].body);
      if (!keys) {
        errors[i] = keys.error().to_string();
        return;
      }
      incoming[i].keys = keys.value();
    }
    incoming[i].header = std::move(h).value();
    incoming[i].record = std::move(records[i]);
    storage::prepare_log_value(incoming[i]);
  });
  return v;
}

// Stores what extends each origin's chain in one transaction; runs on the writer thread.
// The transaction body only reads the batch: LMDB may run it again after growing the map.
IngestOutcome store_batch(storage::RecordStore& store, const PublicKey& from, const VerifiedBatch& batch) {
  const std::vector<storage::IncomingRecord>& incoming = batch.records;
  const std::vector<std::string>& errors = batch.errors;
  IngestOutcome out;
  store.env().write([&](storage::WriteTxn& txn) {
    out = IngestOutcome{};
    storage::StoreReader r(store, txn);
    std::map<PublicKey, storage::OriginHead> heads;
    std::map<std::pair<PublicKey, uint64_t>, const storage::IncomingRecord*> accepted_at;
    std::vector<const storage::IncomingRecord*> accepted;
    for (size_t i = 0; i < incoming.size(); ++i) {
      auto reject = [&](const std::string& why) {
        ++out.rejected;
        if (out.first_error.empty()) out.first_error = why;
      };
      if (!errors[i].empty()) {
        reject(errors[i]);
        continue;
      }
      const storage::IncomingRecord& in = incoming[i];
      const Header& h = in.header;
      uint64_t& held = out.sender_holds[h.origin];
      held = std::max(held, h.seq);
      auto it = heads.find(h.origin);
      if (it == heads.end()) {
        auto stored = r.head(h.origin);
        it = heads.emplace(h.origin, stored ? *stored : storage::OriginHead{h.origin, 0, {}}).first;
      }
      storage::OriginHead& head = it->second;
      auto where = [&] { return short_id(h.origin) + "/" + std::to_string(h.seq); };  // only for messages
      if (h.seq <= head.seq) {  // already held: the same record again, or a fork
        std::string_view held_bytes;
        std::optional<storage::StoredRecordView> existing;
        if (auto a = accepted_at.find({h.origin, h.seq}); a != accepted_at.end())
          held_bytes = a->second->record.header_bytes;
        else if ((existing = r.at(h.origin, h.seq)))
          held_bytes = existing->header_bytes;
        if (held_bytes == in.record.header_bytes) {
          // A body for a record held as a stub: the sender now counts us as entitled.
          if (existing && existing->is_stub() && in.record.body &&
              store.fill_body(txn, h.origin, h.seq, *in.record.body, in.keys))
            ++out.filled;
          else
            ++out.duplicate;
        } else {
          ++out.forks;
          save_fork(store, txn, ForkEvidence{h.origin, h.seq, from, in.record.header_bytes, now_ms()});
          spdlog::warn("fork: {} holds a second, different record from {} (reported by {})", where(),
                       short_id(h.origin), short_id(from));
        }
        continue;
      }
      if (h.seq != head.seq + 1) {
        reject(where() + ": gap after seq " + std::to_string(head.seq));
        continue;
      }
      if (h.prev != head.hash) {
        reject(where() + ": does not link to the previous record's hash");
        continue;
      }
      head.seq = h.seq;
      head.hash = record_hash(in.record.header_bytes);
      accepted.push_back(&in);
      accepted_at[{h.origin, h.seq}] = &in;
    }
    store.append(txn, accepted);
    out.stored = static_cast<uint32_t>(accepted.size());
  });
  return out;
}

}  // namespace

class Session;

struct SyncNode::Impl {
  Impl(DataDir& d, SyncOptions o)
      : dir(d), opt(std::move(o)), writer("agora-writer"), verifier("agora-verify"), indexer("agora-index"), tick(io),
        signals(io, SIGINT, SIGTERM), notices(io) {}

  DataDir& dir;
  SyncOptions opt;
  asio::io_context io;
  JobThread writer;    // the one LMDB writer
  JobThread verifier;  // checks incoming batches ahead of the writer
  JobThread indexer;   // keeps the search index caught up with the store
  std::unique_ptr<SearchIndex> index_writer;  // used on the indexer thread only
  std::unique_ptr<SearchIndex> index_reader;  // used on the io thread only
  bool index_queued = false, index_dirty = false;
  void schedule_index();
  void index_committed(bool ok);
  std::optional<HttpApi> api;
  std::optional<ChangeStreams> change_streams;
  RequestMetrics http_metrics;
  net::HttpResponse route_http(const net::HttpRequest& req);
  std::string metrics_text();
  asio::steady_timer tick;
  asio::signal_set signals;
  asio::local::datagram_protocol::socket notices;  // the CLI's "store changed" datagrams
  char notice_buffer[64];
  std::shared_ptr<net::Listener> sync_listener, http_listener;
  std::shared_ptr<net::TlsContexts> tls;
  std::set<std::shared_ptr<Session>> sessions;
  std::map<PublicKey, std::shared_ptr<Session>> ready;
  std::map<PublicKey, PeerConfig> peers;
  std::map<PublicKey, PeerState> states;
  struct Backoff {
    int attempts = 0;
    Clock::time_point next{};
    bool dialing = false;
  };
  std::map<PublicKey, Backoff> backoff;
  std::map<std::string, size_t> sessions_per_ip;
  std::optional<Entitlements> entitlements;
  size_t last_txnid = 0;
  // Bulk sync touches the whole log once; dropping those mapped pages now and then keeps
  // RSS to what the node is working on (the page cache still holds them).
  uint64_t traffic_bytes = 0, traffic_at_release = 0;
  Clock::time_point last_state_save{};
  bool stopping = false;
  // After `init --restore`: the highest seq of our own chain any peer said it holds.
  bool restoring = false;
  std::optional<uint64_t> own_head_at_peers;
  void learn_own_head(uint64_t seq_at_peer);
  void check_restore_done();
  std::mt19937 rng{std::random_device{}()};

  size_t txnid() const {
    return dir.store().env().last_txnid();
  }
  const Entitlements& current_entitlements() {
    if (!entitlements) entitlements = dir.store().read([](const storage::StoreReader& r) { return Entitlements::load(r); });
    return *entitlements;
  }
  void reload_peers() {
    storage::ReadTxn txn(dir.store().env());
    peers.clear();
    for (auto& p : load_peers(dir.store(), txn)) peers[p.key] = p;
  }
  void on_store_changed();
  std::string entitlement_fingerprint;
  void on_tick();
  void check_external_writes();
  void listen_for_notices();
  void receive_notice();
  void dial_due_peers();
  void dial(const PeerConfig& peer);
  void accept_inbound(std::shared_ptr<net::Transport> t);
  void session_ready(const std::shared_ptr<Session>& s);
  void session_closed(const std::shared_ptr<Session>& s, const std::string& reason);
  void penalize(const PublicKey& peer, const std::string& why);
  // After a failed dial or handshake: exponential backoff with jitter; returns the delay.
  int schedule_retry(Backoff& b) {
    b.dialing = false;
    ++b.attempts;
    int base = std::min(opt.backoff_max_ms, opt.backoff_initial_ms << std::min(b.attempts - 1, 16));
    int jittered = base / 2 + static_cast<int>(rng() % static_cast<unsigned>(base / 2 + 1));
    b.next = Clock::now() + std::chrono::milliseconds(jittered);
    return jittered;
  }
  void save_states();
  net::HttpResponse http(const net::HttpRequest& req);
  void shutdown();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(SyncNode::Impl& node, std::shared_ptr<net::Transport> t, std::optional<PublicKey> expected)
      : node_(node), transport_(std::move(t)), expected_(expected), outbound_(expected.has_value()),
        timer_(node.io), rate_timer_(node.io) {}

  bool outbound() const { return outbound_; }
  bool is_ready() const { return ready_; }
  const PublicKey& peer() const { return peer_; }
  PublicKey target() const { return outbound_ ? *expected_ : peer_; }
  std::string address() const { return transport_->remote_address(); }
  PeerState& stats() { return stats_; }

  void start() {
    // The transport holds the session only weakly: the node's `sessions` keeps it alive
    // until it closes, and a transport still closing when the node stops (its operations
    // dropped with the io_context) leaves no session behind in a cycle.
    std::weak_ptr<Session> weak = shared_from_this();
    transport_->start({[weak](std::string m, bool binary) {
                         if (auto self = weak.lock()) self->on_message(std::move(m), binary);
                       },
                       [weak](const std::string& reason) {
                         if (auto self = weak.lock()) self->on_closed(reason);
                       }});
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::seconds(node_.opt.transport.handshake_timeout_s));
    timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec && !self->ready_) self->fail("handshake-timeout", "no authenticated handshake in time");
    });
    if (!outbound_) {
      challenge_ = random_challenge();
      send(sync::encode(sync::Hello{node_.dir.id(), challenge_}));
    }
  }

  void fail(const std::string& code, const std::string& message) {
    if (closing_) return;
    if (code != "duplicate" && code != "shutdown") stats_.last_error = code + ": " + message;
    send(sync::encode(sync::ErrorMessage{code, message}));
    closing_ = true;
    transport_->close(code);
  }

  // Re-sends, with their bodies, the latest non-public records this peer may now read and
  // already holds (possibly as stubs); the peer fills in what it lacks.
  void send_newly_readable() {
    if (!ready_ || closing_ || !heads_received_) return;
    const Entitlements& ent = node_.current_entitlements();
    std::string body;
    uint32_t count = 0;
    auto flush = [&] {
      if (count == 0) return;
      ++unacked_;
      stats_.records_out += count;
      send(sync::batch_frame_prefix(++batches_sent_, count) + body, true);
      body.clear();
      count = 0;
    };
    node_.dir.store().read([&](const storage::StoreReader& r) {
      r.list({}, [&](const PublicKey& origin, std::string_view, const storage::LatestEntry& e) {
        if (e.is_public) return true;
        auto view = r.at(e.local);
        if (!view || view->is_stub()) return true;
        auto h = decode_header(view->header_bytes);
        if (!h || h.value().seq > peer_has_[origin] || !ent.may_read(h.value(), peer_)) return true;
        sync::append_record(body, view->load());
        if (++count >= node_.opt.batch_records) flush();
        return true;
      });
      return 0;
    });
    flush();
  }

  // Sends what the peer lacks, up to the window of unacknowledged batches.
  void pump() {
    if (!ready_ || closing_ || !heads_received_) return;
    const Entitlements& ent = node_.current_entitlements();
    while (unacked_ < node_.opt.window && transport_->queued_bytes() < 4 * node_.opt.batch_bytes) {
      std::string body;
      uint32_t count = 0;
      node_.dir.store().read([&](const storage::StoreReader& r) {
        for (const auto& head : r.heads()) {
          uint64_t& has = peer_has_[head.origin];
          while (has < head.seq && count < node_.opt.batch_records && body.size() < node_.opt.batch_bytes) {
            auto view = r.at(head.origin, has + 1);
            if (!view) break;
            SignedRecord rec = view->load();
            // Canonical headers end with the visibility, so public records need no parse.
            if (!rec.header_bytes.ends_with(",\"visibility\":\"public\"}") && rec.body) {
              auto h = decode_header(rec.header_bytes);
              if (!h || !ent.may_read(h.value(), peer_)) rec.body.reset();  // a stub keeps the chain
            }
            sync::append_record(body, rec);
            ++count, ++has;
          }
          if (count >= node_.opt.batch_records || body.size() >= node_.opt.batch_bytes) break;
        }
        return 0;
      });
      if (count == 0) return;
      std::string frame = sync::batch_frame_prefix(++batches_sent_, count) + body;
      stats_.records_out += count;
      ++unacked_;
      send(std::move(frame), true);
    }
  }

 private:
  void send(std::string message, bool binary = false) {
    stats_.bytes_out += message.size();
    node_.traffic_bytes += message.size();
    transport_->send(std::move(message), binary);
  }

  void on_message(std::string message, bool binary) {
    if (closing_) return;
    stats_.bytes_in += message.size();
    node_.traffic_bytes += message.size();
    stats_.last_contact_ms = now_ms();
    if (binary) {
      if (!ready_) return fail("protocol", "records before the handshake");
      return on_batch(message);
    }
    auto decoded = sync::decode_control(message);
    if (!decoded) return fail("bad-message", decoded.error().to_string());
    std::visit([&](auto& m) { handle(m); }, decoded.value());
  }

  void handle(const sync::Hello& m) {
    if (!outbound_ || state_ != 0) return fail("protocol", "unexpected hello");
    if (m.node != *expected_) {
      spdlog::warn("peer at {} presented key {}, expected {}", address(), short_id(m.node), short_id(*expected_));
      return fail("wrong-key", "this is not the node the peer list names");
    }
    peer_ = m.node;
    challenge_ = random_challenge();
    sync::Auth auth{node_.dir.id(), challenge_,
                    node_.dir.key().sign(sync::auth_transcript(m.challenge, node_.dir.id(), peer_))};
    state_ = 1;
    send(sync::encode(auth));
  }

  void handle(const sync::Auth& m) {
    if (outbound_ || state_ != 0) return fail("protocol", "unexpected auth");
    // A key added a moment ago may not have been noticed yet: read the registry itself.
    if (!node_.peers.count(m.node)) node_.reload_peers();
    if (!node_.peers.count(m.node)) {
      spdlog::warn("refused unknown key {} from {}", node_id(m.node), address());
      return fail("unknown-key", "this node does not list your key as a peer");
    }
    if (!verify_signature(m.node, sync::auth_transcript(challenge_, m.node, node_.dir.id()), m.proof)) {
      spdlog::warn("refused {} from {}: bad handshake proof (replayed or forged)", short_id(m.node), address());
      return fail("bad-proof", "handshake proof does not verify");
    }
    auto b = node_.backoff.find(m.node);
    if (b != node_.backoff.end() && node_.states[m.node].state == "backoff" && Clock::now() < b->second.next)
      return fail("backoff", "too many invalid records recently; try later");
    peer_ = m.node;
    send(sync::encode(sync::Welcome{node_.dir.key().sign(sync::welcome_transcript(m.challenge, node_.dir.id(), peer_))}));
    become_ready();
  }

  void handle(const sync::Welcome& m) {
    if (!outbound_ || state_ != 1) return fail("protocol", "unexpected welcome");
    if (!verify_signature(peer_, sync::welcome_transcript(challenge_, peer_, node_.dir.id()), m.proof))
      return fail("bad-proof", "handshake proof does not verify");
    become_ready();
  }

  void handle(const sync::Heads& m) {
    if (!ready_) return fail("protocol", "heads before the handshake");
    peer_has_ = m.heads;
    stats_.remote_heads = m.heads;
    heads_received_ = true;
    if (node_.restoring) {
      auto own = m.heads.find(node_.dir.id());
      node_.learn_own_head(own == m.heads.end() ? 0 : own->second);
    }
    pump();
  }

  void handle(const sync::Ack& m) {
    if (!ready_ || unacked_ == 0) return fail("protocol", "unexpected ack");
    --unacked_;
    if (unacked_ == 0) stats_.remote_heads = peer_has_;  // everything sent is now stored there
    pump();
  }

  void handle(const sync::ErrorMessage& m) {
    stats_.last_error = "peer said " + m.code + ": " + m.message;
    spdlog::info("peer {} closed the connection: {} {}", ready_ ? short_id(peer_) : address(), m.code, m.message);
    closing_ = true;
    transport_->close(m.code);
  }

  void become_ready() {
    ready_ = true;
    state_ = 2;
    timer_.cancel();
    node_.session_ready(shared_from_this());
    if (closing_) return;
    std::map<PublicKey, uint64_t> heads;
    node_.dir.store().read([&](const storage::StoreReader& r) {
      for (const auto& h : r.heads()) heads[h.origin] = h.seq;
      return 0;
    });
    send(sync::encode(sync::Heads{heads}));
  }

  void on_batch(const std::string& frame) {
    auto batch = sync::decode_batch(frame);
    if (!batch) return fail("bad-frame", batch.error().to_string());
    if (incoming_.size() + in_pipeline_ >= sync::kMaxUnackedBatches)
      return fail("flow-control", "more than 16 batches sent without waiting for acks");
    // Token bucket: a peer sending faster than the limit has its batches held back (and so
    // its acks), which its window turns into waiting.
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - bucket_time_).count();
    bucket_time_ = now;
    tokens_ = std::min(node_.opt.max_records_per_s, tokens_ + elapsed * node_.opt.max_records_per_s);
    tokens_ -= static_cast<double>(batch.value().records.size());
    spdlog::debug("peer {}: batch {} with {} records", short_id(peer_), batch.value().batch, batch.value().records.size());
    incoming_.push_back(std::move(batch).value());
    process_incoming();
  }

  // Batches go through two stages: the verifier (all cores), then the writer (one LMDB
  // transaction each). Up to kPipelineDepth may be in the pipeline so that verifying the next
  // batches overlaps committing this one; both stages keep arrival order.
  void process_incoming() {
    while (in_pipeline_ < kPipelineDepth && !rate_waiting_ && !incoming_.empty() && !closing_) {
      if (tokens_ < 0) {
        auto wait = std::chrono::duration<double>(-tokens_ / node_.opt.max_records_per_s);
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
      auto batch = std::make_shared<sync::RecordBatch>(std::move(incoming_.front()));
      incoming_.pop_front();
      auto self = shared_from_this();
      PublicKey from = peer_;
      storage::RecordStore& store = node_.dir.store();
      JobThread& writer = node_.writer;
      node_.verifier.submit([self, batch, from, &store, &writer]() mutable {
        auto verified = std::make_shared<VerifiedBatch>();
        try {
          *verified = verify_batch(*batch);
        } catch (const std::exception& e) {  // e.g. out of memory: refuse the whole batch
          verified->batch = batch->batch;
          verified->records.resize(batch->records.size());
          verified->errors.assign(batch->records.size(), std::string("cannot verify: ") + e.what());
        }
        batch.reset();
        writer.submit([self, verified, from, &store] {
          IngestOutcome outcome;
          try {
            outcome = store_batch(store, from, *verified);
          } catch (const std::exception& e) {
            outcome.rejected = static_cast<uint32_t>(verified->records.size());
            outcome.first_error = std::string("cannot store: ") + e.what();
            outcome.local_failure = true;
          }
          uint64_t batch_no = verified->batch;
          asio::post(self->node_.io, [self, batch_no, outcome] { self->ingested(batch_no, outcome); });
        });
      });
    }
  }

  void ingested(uint64_t batch_no, const IngestOutcome& o) {
    spdlog::debug("peer {}: batch {} stored {} duplicate {} rejected {}", short_id(peer_), batch_no, o.stored,
                  o.duplicate, o.rejected);
    --in_pipeline_;
    stats_.records_in += o.stored;
    // What the peer sent, it holds: never send those records back to it.
    for (const auto& [origin, seq] : o.sender_holds) {
      uint64_t& has = peer_has_[origin];
      has = std::max(has, seq);
      uint64_t& known = stats_.remote_heads[origin];
      known = std::max(known, seq);
    }
    stats_.forks += o.forks;
    if (closing_) return;
    if (o.local_failure) {
      // Nothing of the batch was written and the peer did nothing wrong: drop the session
      // without blame; the next connection resends from what this node holds.
      spdlog::error("cannot store records from peer {}: {}; sync with it pauses until writing works again",
                    short_id(peer_), o.first_error);
      return fail("local-error", "this node cannot store records now; try later");
    }
    send(sync::encode(sync::Ack{batch_no, o.stored, o.duplicate, o.rejected}));
    if (o.stored || o.filled) node_.on_store_changed();
    if (o.stored && node_.restoring) node_.check_restore_done();
    if (o.rejected) {
      ++stats_.errors;
      ++bad_batches_;
      spdlog::warn("peer {}: rejected {} records of batch {}: {}", short_id(peer_), o.rejected, batch_no,
                   o.first_error);
      if (bad_batches_ >= node_.opt.max_bad_batches) {
        node_.penalize(peer_, o.first_error);
        return fail("invalid-records", "too many invalid records: " + o.first_error);
      }
    }
    process_incoming();
  }

  void on_closed(const std::string& reason) {
    closing_ = true;
    timer_.cancel();
    rate_timer_.cancel();
    node_.session_closed(shared_from_this(), reason);
  }

  SyncNode::Impl& node_;
  std::shared_ptr<net::Transport> transport_;
  std::optional<PublicKey> expected_;
  bool outbound_;
  PublicKey peer_{};
  std::string challenge_;
  int state_ = 0;  // 0 start, 1 auth sent (client), 2 ready
  bool ready_ = false, closing_ = false, heads_received_ = false, rate_waiting_ = false;
  static constexpr int kPipelineDepth = 4;
  int in_pipeline_ = 0;
  std::map<PublicKey, uint64_t> peer_has_;
  size_t unacked_ = 0, bad_batches_ = 0;
  uint64_t batches_sent_ = 0;
  std::deque<sync::RecordBatch> incoming_;
  double tokens_ = 0;
  Clock::time_point bucket_time_ = Clock::now();
  PeerState stats_;
  asio::steady_timer timer_, rate_timer_;
};

// ---- SyncNode::Impl ----

void SyncNode::Impl::schedule_index() {
  if (stopping) return;
  if (index_queued) {
    index_dirty = true;  // caught up again once the running pass ends
    return;
  }
  index_queued = true;
  index_dirty = false;
  indexer.submit([this] {
    bool ok = true;
    try {
      if (!index_writer) index_writer = SearchIndex::open_writable(dir);
      size_t n = index_writer->catch_up();
      if (n) spdlog::debug("search index: {} records indexed", n);
    } catch (const std::exception& e) {
      ok = false;
      index_writer.reset();
      spdlog::warn("search index not updated: {}", e.what());
    }
    asio::post(io, [this, ok] { index_committed(ok); });
  });
}

void SyncNode::Impl::index_committed(bool ok) {
  index_queued = false;
  if (api) api->invalidate();
  try {
    if (!index_reader)
      index_reader = SearchIndex::open_readonly(dir);
    else
      index_reader->reopen();
  } catch (const std::exception& e) {
    spdlog::warn("search index unreadable: {}", e.what());
    index_reader.reset();
  }
  if (index_dirty && ok) schedule_index();
}

void SyncNode::Impl::on_store_changed() {
  schedule_index();
  if (change_streams) change_streams->notify();
  entitlements.reset();
  // New twin or coalition declarations can entitle a peer to bodies it got as stubs.
  const Entitlements& ent = current_entitlements();
  std::string fingerprint;
  for (const auto& [a, b] : ent.twin_pairs()) fingerprint += to_hex(a) + to_hex(b);
  for (const auto& [name, members] : ent.coalitions()) {
    fingerprint += name;
    for (const auto& m : members) fingerprint += to_hex(m);
  }
  bool changed = fingerprint != entitlement_fingerprint;
  entitlement_fingerprint = fingerprint;
  for (auto& [key, s] : ready) {
    if (changed) s->send_newly_readable();
    s->pump();
  }
}

void SyncNode::Impl::check_external_writes() {
  size_t id = txnid();
  if (id == last_txnid) return;
  // Taken before reading anything: a write that lands while we reload is seen next time.
  // (Our own writes also move the id; re-reading then is cheap and harmless.)
  last_txnid = id;
  // Another process (the CLI) wrote: new records, peers, partnerships.
  reload_peers();
  spdlog::debug("store changed (txn {}): {} peers listed", id, peers.size());
  for (auto it = ready.begin(); it != ready.end();) {
    auto s = (it++)->second;
    if (!peers.count(s->peer())) s->fail("removed", "this node no longer lists you as a peer");
  }
  on_store_changed();
  dial_due_peers();
}

void SyncNode::Impl::listen_for_notices() {
  std::string address = DataDir::change_notice_address(dir.path());
  notices.open();
  boost::system::error_code ec;
  notices.bind(asio::local::datagram_protocol::endpoint(address), ec);
  if (ec == asio::error::address_in_use)
    throw std::runtime_error("another `agora serve` is already running on " + dir.path().string());
  if (ec) {  // the 50 ms poll still notices every write, only later
    spdlog::warn("cannot listen for change notices: {}", ec.message());
    return;
  }
  receive_notice();
}

void SyncNode::Impl::receive_notice() {
  notices.async_receive(asio::buffer(notice_buffer), [this](boost::system::error_code ec, size_t) {
    if (ec || stopping) return;
    check_external_writes();
    receive_notice();
  });
}

void SyncNode::Impl::on_tick() {
  if (stopping) return;
  check_external_writes();  // the fallback when a notice was lost
  dial_due_peers();
  if (Clock::now() - last_state_save > std::chrono::seconds(2)) save_states();
  if (traffic_bytes - traffic_at_release > (uint64_t{32} << 20)) {
    traffic_at_release = traffic_bytes;
    dir.store().env().release_resident_pages();
  }
  tick.expires_after(std::chrono::milliseconds(50));
  tick.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_tick();
  });
}

void SyncNode::Impl::learn_own_head(uint64_t seq_at_peer) {
  own_head_at_peers = std::max(own_head_at_peers.value_or(0), seq_at_peer);
  spdlog::info("restore: a peer holds this city's records up to seq {}", seq_at_peer);
  check_restore_done();
}

// Publishing resumes once this node holds its own chain as far as any peer that answered.
void SyncNode::Impl::check_restore_done() {
  if (!restoring || !own_head_at_peers) return;
  uint64_t held = dir.store().read([&](const storage::StoreReader& r) {
    auto h = r.head(dir.id());
    return h ? h->seq : uint64_t{0};
  });
  if (held < *own_head_at_peers) return;
  restoring = false;
  uint64_t seq = held;
  writer.submit([this, seq] {
    try {
      dir.store().env().write([&](storage::WriteTxn& txn) { dir.finish_restoring(txn); });
      spdlog::info("restore complete: this node holds its own records up to seq {}; publishing is open again", seq);
    } catch (const std::exception& e) {
      spdlog::error("cannot record the end of the restore: {}", e.what());
    }
  });
}

void SyncNode::Impl::dial_due_peers() {
  auto now = Clock::now();
  for (const auto& [key, peer] : peers) {
    if (peer.url.empty() || ready.count(key)) continue;
    Backoff& b = backoff[key];
    if (b.dialing || now < b.next) continue;
    dial(peer);
  }
}

void SyncNode::Impl::dial(const PeerConfig& peer) {
  Backoff& b = backoff[peer.key];
  b.dialing = true;
  PublicKey key = peer.key;
  spdlog::debug("dialling {} at {}", short_id(key), peer.url);
  net::dial(io, peer.url, opt.transport, tls, [this, key](std::shared_ptr<net::Transport> t, std::string error) {
    Backoff& b = backoff[key];
    if (stopping) return;
    if (!t) {
      int jittered = schedule_retry(b);
      PeerState& st = states[key];
      st.state = "disconnected";
      st.last_error = error;
      spdlog::debug("dial {} failed: {} (retry in {} ms)", short_id(key), error, jittered);
      return;
    }
    auto s = std::make_shared<Session>(*this, t, key);
    sessions.insert(s);
    s->start();
  });
}

void SyncNode::Impl::accept_inbound(std::shared_ptr<net::Transport> t) {
  if (stopping) return t->close("shutting down");
  std::string ip = ip_of(t->remote_address());
  if (sessions.size() >= opt.max_connections || sessions_per_ip[ip] >= opt.max_connections_per_ip) {
    spdlog::warn("refused connection from {}: connection limit", t->remote_address());
    t->send(sync::encode(sync::ErrorMessage{"busy", "connection limit reached"}), false);
    return t->close("busy");
  }
  ++sessions_per_ip[ip];
  auto s = std::make_shared<Session>(*this, t, std::nullopt);
  sessions.insert(s);
  s->start();
}

void SyncNode::Impl::session_ready(const std::shared_ptr<Session>& s) {
  const PublicKey& p = s->peer();
  auto existing = ready.find(p);
  if (existing != ready.end() && existing->second != s) {
    // Both sides dialled: keep the connection dialled by the lower node id, on both ends.
    const PublicKey& me = dir.id();
    auto dialer = [&](const Session& x) { return x.outbound() ? me : p; };
    PublicKey lower = std::min(me, p);
    if (dialer(*s) != lower) return s->fail("duplicate", "already connected");
    existing->second->fail("duplicate", "replaced by another connection");
  }
  ready[p] = s;
  Backoff& b = backoff[p];
  b.dialing = false;
  if (states[p].state != "backoff") b.attempts = 0;
  states[p].state = "connected";
  states[p].address = s->address();
  spdlog::info("peer {} connected ({}, {})", short_id(p), s->address(), s->outbound() ? "outbound" : "inbound");
}

void SyncNode::Impl::session_closed(const std::shared_ptr<Session>& s, const std::string& reason) {
  sessions.erase(s);
  if (!s->outbound()) {
    auto ip = ip_of(s->address());
    if (sessions_per_ip[ip] > 0 && --sessions_per_ip[ip] == 0) sessions_per_ip.erase(ip);
  }
  if (!s->is_ready()) {
    if (s->outbound()) schedule_retry(backoff[s->target()]);
    return;
  }
  const PublicKey& p = s->peer();
  PeerState& st = states[p];
  fold_session_counters(st, s->stats());
  s->stats() = PeerState{};
  auto it = ready.find(p);
  if (it != ready.end() && it->second == s) {
    ready.erase(it);
    if (st.state != "backoff") st.state = "disconnected";
    Backoff& b = backoff[p];
    b.dialing = false;
    if (b.next < Clock::now()) b.next = Clock::now() + std::chrono::milliseconds(opt.backoff_initial_ms);
    spdlog::info("peer {} disconnected: {}", short_id(p), reason);
  }
}

void SyncNode::Impl::penalize(const PublicKey& peer, const std::string& why) {
  Backoff& b = backoff[peer];
  ++b.attempts;
  int base = std::min(opt.backoff_max_ms, opt.backoff_initial_ms << std::min(b.attempts + 2, 16));
  b.next = Clock::now() + std::chrono::milliseconds(base);
  states[peer].state = "backoff";
  states[peer].last_error = why;
}

void SyncNode::Impl::save_states() {
  last_state_save = Clock::now();
  std::vector<std::pair<PublicKey, PeerState>> snapshot;
  for (const auto& [key, peer] : peers) {
    PeerState st = states[key];
    if (auto it = ready.find(key); it != ready.end()) fold_session_counters(st, it->second->stats());
    snapshot.emplace_back(key, std::move(st));
  }
  storage::RecordStore& store = dir.store();
  writer.submit([&store, snapshot = std::move(snapshot)] {
    try {
      store.env().write([&](storage::WriteTxn& txn) {
        for (const auto& [key, st] : snapshot) save_peer_state(store, txn, key, st);
      });
    } catch (const std::exception& e) {
      spdlog::error("cannot save peer state: {}", e.what());
    }
  });
}

net::HttpResponse SyncNode::Impl::http(const net::HttpRequest& req) {
  auto start = Clock::now();
  net::HttpResponse res;
  try {
    res = route_http(req);
  } catch (const std::exception& e) {
    spdlog::error("HTTP {} {}: {}", req.method, req.target.substr(0, 200), e.what());
    res = {500, "application/json", R"({"error":"internal error","param":null})", {}};
  }
  net::answer_conditionally(req, res);
  std::string_view target = req.target;
  http_metrics.observe(RequestMetrics::route_of(target.substr(0, target.find('?'))), res.status,
                       std::chrono::duration<double>(Clock::now() - start).count());
  return res;
}

std::string SyncNode::Impl::metrics_text() {
  std::ostringstream out;
  out << "# HELP agora_records Records held, latest live versions by kind (all visibilities).\n# TYPE agora_records gauge\n";
  uint64_t log_length = 0;
  std::vector<storage::OriginHead> heads;
  dir.store().read([&](const storage::StoreReader& r) {
    for (int k = 1; k <= kKindCount; ++k)
      out << "agora_records{kind=\"" << kind_name(Kind(k)) << "\"} " << r.count_latest(Kind(k)) << "\n";
    log_length = r.last_local();
    heads = r.heads();
    return 0;
  });
  out << "# HELP agora_log_records Records in this node's log.\n# TYPE agora_log_records gauge\n"
      << "agora_log_records " << log_length << "\n";
  out << "# HELP agora_peers Peers this node lists.\n# TYPE agora_peers gauge\nagora_peers " << peers.size() << "\n";
  out << "# HELP agora_peers_connected Peers with an authenticated connection.\n# TYPE agora_peers_connected gauge\n"
      << "agora_peers_connected " << ready.size() << "\n";
  // Sync lag: records this node holds that a peer is not known to hold yet.
  out << "# HELP agora_peer_records_behind Records the peer lacks of what this node holds.\n"
         "# TYPE agora_peer_records_behind gauge\n";
  for (const auto& [key, peer] : peers) {
    PeerState st = states[key];
    if (auto it = ready.find(key); it != ready.end()) st.remote_heads = it->second->stats().remote_heads;
    uint64_t behind = 0;
    for (const auto& h : heads) {
      uint64_t theirs = st.remote_heads.count(h.origin) ? st.remote_heads[h.origin] : 0;
      if (h.seq > theirs) behind += h.seq - theirs;
    }
    out << "agora_peer_records_behind{peer=\"" << node_id(key).substr(0, 12) << "\"} " << behind << "\n";
  }
  out << "# HELP agora_http_connections_open HTTP connections open now, by listener.\n"
         "# TYPE agora_http_connections_open gauge\n";
  if (http_listener) out << "agora_http_connections_open{listener=\"http\"} " << http_listener->open_connections() << "\n";
  if (sync_listener) out << "agora_http_connections_open{listener=\"sync\"} " << sync_listener->open_connections() << "\n";
  out << http_metrics.prometheus();
  return out.str();
}

net::HttpResponse SyncNode::Impl::route_http(const net::HttpRequest& req) {
  // Every route is read-only, and any page may read it (CORS preflights).
  if (req.method == "OPTIONS") {
    net::HttpResponse r{204, "text/plain", "", {}};
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    // The request headers a page's script may send: revalidation and resuming a stream.
    r.headers.emplace_back("Access-Control-Allow-Headers", "If-None-Match, Last-Event-ID, Cache-Control");
    r.headers.emplace_back("Access-Control-Max-Age", "86400");
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return r;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    net::HttpResponse r{405, "application/json",
                        R"json({"error":"method not allowed: every route is read-only (GET, HEAD, OPTIONS)","param":null})json",
                        {}};
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return r;
  }
  if (api)
    if (auto r = api->handle(req)) return std::move(*r);
  std::string path = req.target.substr(0, req.target.find('?'));
  // These routes take no parameters: one given is a mistake worth hearing of.
  if (path == "/health" || path == "/metrics" || path == "/api/v1/network") {
    auto query = parse_query_string(req.target.size() > path.size() ? std::string_view(req.target).substr(path.size() + 1)
                                                                    : std::string_view());
    if (!query) return {400, "application/json", json{{"error", query.error().message}, {"param", query.error().path.empty() ? json() : json(query.error().path)}}.dump(), {}};
    if (!query.value().empty())
      return {400, "application/json", json{{"error", "unknown parameter"}, {"param", query.value().front().first}}.dump(), {}};
  }
  if (path == "/health") {
    json j = {{"status", "ok"}, {"node", node_id(dir.id())}, {"peers_connected", ready.size()}};
    return {200, "application/json", j.dump(), {}};
  }
  std::string_view type;
  if (std::string_view file = embedded::web_file(path, type); !file.empty()) {
    // The page loads nothing from elsewhere: city networks and these machines are offline.
    net::HttpResponse page{200, std::string(type), std::string(file), {}};
    page.headers.emplace_back("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'");
    page.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return page;
  }
  if (path == "/metrics") return {200, "text/plain; version=0.0.4", metrics_text(), {}};
  if (path == "/api/v1/network") {
    // Live connection states override the ones last saved.
    std::map<PublicKey, PeerState> live = states;
    for (const auto& [key, session] : ready) live[key].state = "connected";
    std::vector<PeerConfig> peer_list;
    for (const auto& [key, p] : peers) peer_list.push_back(p);
    const Entitlements& ent = current_entitlements();
    storage::ReadTxn txn(dir.store().env());
    storage::StoreReader r(dir.store(), txn);
    auto forks = load_forks(dir.store(), txn);
    json view = network_view({r, ent, dir.id(), peer_list, live, forks});
    return {200, "application/json", view.dump(), {}};
  }
  return {404, "application/json", R"({"error":"not found","param":"path"})", {}};
}

void SyncNode::Impl::shutdown() {
  if (stopping) return;
  stopping = true;
  spdlog::info("shutting down: telling {} peers", ready.size());
  if (sync_listener) sync_listener->stop();
  if (http_listener) http_listener->stop();
  tick.cancel();
  signals.cancel();
  notices.close();
  if (change_streams) change_streams->close_all();
  for (auto s : std::vector<std::shared_ptr<Session>>(sessions.begin(), sessions.end()))
    s->fail("shutdown", "node is shutting down");
  save_states();
  // Close frames go out while the io_context drains; give them a moment, then stop.
  auto grace = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(300));
  grace->async_wait([this, grace](boost::system::error_code) { io.stop(); });
}

// ---- SyncNode ----

SyncNode::SyncNode(DataDir& dir, SyncOptions options) : impl_(std::make_unique<Impl>(dir, std::move(options))) {}

SyncNode::~SyncNode() {
  impl_->verifier.stop();
  impl_->indexer.stop();
  impl_->writer.stop();
}

void SyncNode::run(const std::function<void(const std::string&, const std::string&)>& on_ready) {
  Impl& n = *impl_;
  n.listen_for_notices();
  n.last_txnid = n.txnid();  // before reading: a write from now on is noticed
  n.reload_peers();
  n.restoring = n.dir.restoring();
  if (n.restoring) spdlog::info("restoring: waiting for a peer to send this city's records back");
  n.tls = net::make_tls(n.opt.tls);
  n.api.emplace(n.dir, [&n]() -> const SearchIndex* { return n.index_reader.get(); },
                ApiLimits{n.opt.http_max_page});
  n.change_streams.emplace(n.io, n.dir, n.opt.http_max_streams);
  n.api->set_change_streams(
      [&n](uint64_t since, std::optional<Kind> kind) { return n.change_streams->open(since, kind); });
  n.schedule_index();  // catches up with what was written while no node ran
  n.sync_listener = net::Listener::start(
      n.io, n.opt.listen_host, n.opt.listen_port, n.opt.transport, [&n](const net::HttpRequest& r) { return n.http(r); },
      [&n](std::shared_ptr<net::Transport> t) { n.accept_inbound(std::move(t)); }, nullptr, n.tls,
      // Connections still in their HTTP stage (a handshake not finished, or a plain request)
      // are bounded like peers: slow handshakes en masse get a 503, not the process's fds.
      n.opt.max_connections);
  n.http_listener = net::Listener::start(
      n.io, n.opt.http_host, n.opt.http_port, n.opt.transport, [&n](const net::HttpRequest& r) { return n.http(r); },
      [&n](std::shared_ptr<net::Transport> t) { n.accept_inbound(std::move(t)); }, nullptr, nullptr,
      n.opt.http_max_connections);
  auto host = [](const std::string& h) { return h.find(':') != std::string::npos ? "[" + h + "]" : h; };
  on_ready((n.opt.tls.serves() ? "wss://" : "ws://") + host(n.opt.listen_host) + ":" + std::to_string(n.sync_listener->port()) + "/sync",
           "http://" + host(n.opt.http_host) + ":" + std::to_string(n.http_listener->port()) + "/");
  n.signals.async_wait([&n](boost::system::error_code ec, int) {
    if (!ec) n.shutdown();
  });
  n.on_tick();
  n.io.run();
  n.verifier.stop();  // hands every batch it verified to the writer
  n.indexer.stop();
  n.writer.stop();  // every queued write (records, peer state) is committed before returning
}

void SyncNode::stop() {
  asio::post(impl_->io, [this] { impl_->shutdown(); });
}

}  // namespace agora
