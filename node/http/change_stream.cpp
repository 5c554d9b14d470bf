#include "node/http/change_stream.hpp"

#include <boost/asio/steady_timer.hpp>

#include "node/local/record_view.hpp"

namespace agora {

namespace asio = boost::asio;

class ChangeStreams::Stream : public net::BodySource, public std::enable_shared_from_this<Stream> {
 public:
  Stream(asio::io_context& io, DataDir& dir, uint64_t since, std::optional<Kind> kind,
         std::chrono::milliseconds heartbeat)
      : dir_(dir), since_(since), kind_(kind), heartbeat_(heartbeat), timer_(io) {}

  void next(Deliver deliver) override {
    if (closed_) return deliver("", true);
    if (!started_) {
      started_ = true;
      // Tells EventSource to reconnect after 3 s; it then sends Last-Event-ID.
      return deliver("retry: 3000\n\n", false);
    }
    std::string events = read_events();
    if (!events.empty()) return deliver(std::move(events), false);
    pending_ = std::move(deliver);
    timer_.expires_after(heartbeat_);
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->pending_) return;
      auto d = std::move(self->pending_);
      self->pending_ = nullptr;
      d(": heartbeat\n\n", false);
    });
  }

  void cancel() override {
    closed_ = true;
    pending_ = nullptr;  // drops the connection's handler: no cycle outlives the client
    timer_.cancel();
  }

  bool compressible() const override { return false; }

  void notify() {
    if (!pending_) return;
    std::string events = read_events();
    if (events.empty()) return;
    timer_.cancel();
    auto d = std::move(pending_);
    pending_ = nullptr;
    d(std::move(events), false);
  }

  void close() {
    closed_ = true;
    timer_.cancel();
    if (pending_) {
      auto d = std::move(pending_);
      pending_ = nullptr;
      d("", true);
    }
  }

 private:
  // Up to 200 changes as events; the id of each is its log position.
  std::string read_events() {
    ChangesPage page =
        dir_.store().read([&](const storage::StoreReader& r) { return read_changes(r, since_, 200, kind_); });
    since_ = page.last;
    std::string out;
    for (const auto& change : page.results) {
      out +=
          "id: " + std::to_string(change["seq"].get<uint64_t>()) + "\nevent: change\ndata: " + change.dump() + "\n\n";
    }
    return out;
  }

  DataDir& dir_;
  uint64_t since_;
  std::optional<Kind> kind_;
  std::chrono::milliseconds heartbeat_;
  asio::steady_timer timer_;
  Deliver pending_;
  bool started_ = false, closed_ = false;
};

ChangeStreams::ChangeStreams(asio::io_context& io, DataDir& dir, size_t max_streams,
                             std::chrono::milliseconds heartbeat)
    : io_(io), dir_(dir), max_streams_(max_streams), heartbeat_(heartbeat) {}

ChangeStreams::~ChangeStreams() = default;

size_t ChangeStreams::open_count() {
  std::erase_if(streams_, [](const std::weak_ptr<Stream>& w) { return w.expired(); });
  return streams_.size();
}

std::shared_ptr<net::BodySource> ChangeStreams::open(uint64_t since, std::optional<Kind> kind) {
  if (open_count() >= max_streams_) return nullptr;
  auto s = std::make_shared<Stream>(io_, dir_, since, kind, heartbeat_);
  streams_.push_back(s);
  return s;
}

void ChangeStreams::notify() {
  for (auto& w : std::vector<std::weak_ptr<Stream>>(streams_))
    if (auto s = w.lock()) s->notify();
}

void ChangeStreams::close_all() {
  for (auto& w : std::vector<std::weak_ptr<Stream>>(streams_))
    if (auto s = w.lock()) s->close();
}

}  // namespace agora
