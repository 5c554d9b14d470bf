#include "node/server/server.hpp"

#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <thread>

#include "node/http/api.hpp"
#include "node/http/change_stream.hpp"
#include "node/http/router.hpp"
#include "node/local/job_thread.hpp"
#include "node/net/address.hpp"
#include "node/search/search_index.hpp"
#include "node/search/search_readers.hpp"
#include "node/sync/peer_manager.hpp"

namespace agora {

namespace asio = boost::asio;

struct Server::Impl {
  Impl(DataDir& d, ServeOptions o)
      : dir(d),
        opt(std::move(o)),
        writer("agora-writer"),
        verifier("agora-verify"),
        indexer("agora-index", 1, JobThread::Priority::background),
        http_workers("agora-http", 2),
        readers(d, http_workers.threads()),
        peers({io, dir, verifier, writer, [this] { records_stored(); }}, opt.sync, opt.transport),
        tick_timer(io),
        signals(io, SIGINT, SIGTERM),
        notices(io) {}

  DataDir& dir;
  ServeOptions opt;
  asio::io_context io;
  JobThread writer;        // the one LMDB writer
  JobThread verifier;      // checks incoming batches ahead of the writer
  JobThread indexer;       // keeps the search index caught up with the store, at background priority
  JobThread http_workers;  // answer API reads and searches: the io thread never waits on one
  SearchReaders readers;   // each HTTP worker's own handle on the index
  sync::PeerManager peers;
  std::unique_ptr<SearchIndex> index_writer;  // used on the indexer thread only
  bool index_queued = false, index_dirty = false;
  IndexProgress index_progress;
  std::optional<HttpApi> api;
  std::optional<ChangeStreams> change_streams;
  std::optional<Router> router;
  asio::steady_timer tick_timer;
  asio::signal_set signals;
  asio::local::datagram_protocol::socket notices;  // the CLI's "store changed" datagrams
  char notice_buffer[64];
  std::shared_ptr<net::Listener> sync_listener, http_listener;
  size_t last_txnid = 0;
  bool stopping = false;

  void schedule_index();
  void index_committed(bool ok, SearchIndex::Step step);
  void records_stored();
  void check_external_writes();
  void listen_for_notices();
  void receive_notice();
  void tick();
  void shutdown();
};

// ---- the search index: derived from the store, on its own thread ----

// Log entries per indexing step: each step commits, so the index's memory stays bounded
// and readers see progress during a first build.
constexpr size_t kIndexStep = 2000;

void Server::Impl::schedule_index() {
  if (stopping || !opt.search_index) return;
  if (index_queued) {
    index_dirty = true;  // caught up again once the running pass ends
    return;
  }
  index_queued = true;
  index_dirty = false;
  indexer.submit([this] {
    bool ok = true;
    SearchIndex::Step step;
    try {
      if (!index_writer) index_writer = SearchIndex::open_writable(dir);
      // Derived work yields to what peers wait for: batches queued for verification or the
      // writer go first (bounded, so a steady stream of them cannot stop the index).
      for (int i = 0; i < 25 && (verifier.queued() > 0 || writer.queued() > 0); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(4));
      step = index_writer->catch_up_step(kIndexStep);
      if (step.changed) spdlog::debug("search index: {} records indexed, at {}", step.changed, step.position);
    } catch (const std::exception& e) {
      ok = false;
      index_writer.reset();
      spdlog::warn("search index not updated: {}", e.what());
    }
    asio::post(io, [this, ok, step] { index_committed(ok, step); });
  });
}

void Server::Impl::index_committed(bool ok, SearchIndex::Step step) {
  index_queued = false;
  if (ok) {
    index_progress.position.store(step.position);
    if (!step.more) index_progress.complete.store(true);
  }
  if (step.wrote) {
    readers.committed();
    if (api) api->invalidate();
  }
  if (ok && (step.more || index_dirty)) schedule_index();
}

// ---- the store changed: index, feeds, peers ----

void Server::Impl::records_stored() {
  schedule_index();
  if (change_streams) change_streams->notify();
  peers.store_changed();
}

void Server::Impl::check_external_writes() {
  size_t id = dir.store().env().last_txnid();
  if (id == last_txnid) return;
  // Taken before reading anything: a write that lands while we reload is seen next time.
  // (Our own writes also move the id; re-reading then is cheap and harmless.)
  last_txnid = id;
  // Another process (the CLI) wrote: new records, peers, partnerships.
  spdlog::debug("store changed (txn {})", id);
  // `agora key rotate` writes records: the node key may have changed with them.
  try {
    if (dir.reload_key()) spdlog::info("node key is now {}", short_node_id(dir.key().public_key()));
  } catch (const std::exception& e) {
    spdlog::warn("cannot re-read the node key: {}", e.what());
  }
  peers.peers_changed();
  records_stored();
}

void Server::Impl::listen_for_notices() {
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

void Server::Impl::receive_notice() {
  notices.async_receive(asio::buffer(notice_buffer), [this](boost::system::error_code ec, size_t) {
    if (ec || stopping) return;
    check_external_writes();
    receive_notice();
  });
}

void Server::Impl::tick() {
  if (stopping) return;
  check_external_writes();  // the fallback when a notice was lost
  peers.tick();
  tick_timer.expires_after(std::chrono::milliseconds(50));
  tick_timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) tick();
  });
}

void Server::Impl::shutdown() {
  if (stopping) return;
  stopping = true;
  if (sync_listener) sync_listener->stop();
  if (http_listener) http_listener->stop();
  tick_timer.cancel();
  signals.cancel();
  notices.close();
  if (change_streams) change_streams->close_all();
  peers.shutdown();
  // Close frames go out while the io_context drains; give them a moment, then stop.
  auto grace = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(300));
  grace->async_wait([this, grace](boost::system::error_code) { io.stop(); });
}

// ---- Server ----

Server::Server(DataDir& dir, ServeOptions options) : impl_(std::make_unique<Impl>(dir, std::move(options))) {}

Server::~Server() {
  impl_->http_workers.stop();
  impl_->verifier.stop();
  impl_->indexer.stop();
  impl_->writer.stop();
}

void Server::run(const std::function<void(const std::string&, const std::string&)>& on_ready) {
  Impl& n = *impl_;
  n.listen_for_notices();
  n.last_txnid = n.dir.store().env().last_txnid();  // before reading: a write from now on is noticed
  auto tls = net::make_tls(n.opt.tls);
  n.peers.start(tls);
  n.api.emplace(n.dir, n.opt.search_index ? &n.readers : nullptr, ApiLimits{n.opt.http_max_page}, &n.index_progress);
  n.change_streams.emplace(n.io, n.dir, n.opt.http_max_streams);
  n.api->set_change_streams(
      [&n](uint64_t since, std::optional<Kind> kind) { return n.change_streams->open(since, kind); });
  auto offload = [&n](std::function<void()> job) { n.http_workers.submit(std::move(job)); };
  n.router.emplace(n.dir, *n.api, offload,
                   Router::NodeState{[&n] { return n.peers.snapshot(); }, [&n] { return n.peers.connected(); },
                                     [&n]() -> const Entitlements& { return n.peers.entitlements(); },
                                     [&n](std::string_view listener) -> std::optional<size_t> {
                                       auto& l = listener == "http" ? n.http_listener : n.sync_listener;
                                       if (!l) return std::nullopt;
                                       return l->open_connections();
                                     },
                                     n.opt.search_index ? &n.index_progress : nullptr});
  if (auto existing = SearchIndex::open_readonly(n.dir)) {
    try {
      n.index_progress.position.store(existing->position());
      n.index_progress.complete.store(existing->complete());
    } catch (const std::exception&) {  // rebuilt by the indexer
    }
  }
  n.schedule_index();  // catches up with what was written while no node ran
  auto http = [&n](const net::HttpRequest& r, net::HttpReply reply) { n.router->handle(r, std::move(reply)); };
  auto accept = [&n](std::shared_ptr<net::Transport> t) { n.peers.accept(std::move(t)); };
  // Connections still in their HTTP stage (a handshake not finished, or a plain request) are
  // bounded like peers: slow handshakes en masse get a 503, not the process's fds.
  n.sync_listener = net::Listener::start(n.io, n.opt.listen_host, n.opt.listen_port, n.opt.transport, http, accept,
                                         nullptr, tls, n.opt.sync.max_connections);
  n.http_listener = net::Listener::start(n.io, n.opt.http_host, n.opt.http_port, n.opt.transport, http, accept, nullptr,
                                         nullptr, n.opt.http_max_connections);
  on_ready((n.opt.tls.serves() ? "wss://" : "ws://") +
               net::format_host_port(n.opt.listen_host, n.sync_listener->port()) + "/sync",
           "http://" + net::format_host_port(n.opt.http_host, n.http_listener->port()) + "/");
  n.signals.async_wait([&n](boost::system::error_code ec, int) {
    if (!ec) n.shutdown();
  });
  n.tick();
  n.io.run();
  n.http_workers.stop();  // answers still computed go nowhere: the connections are gone
  n.verifier.stop();      // hands every batch it verified to the writer
  n.indexer.stop();
  n.writer.stop();  // every queued write (records, peer state) is committed before returning
}

void Server::stop() {
  asio::post(impl_->io, [this] { impl_->shutdown(); });
}

}  // namespace agora
