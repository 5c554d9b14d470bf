#include "system/fault_proxy.hpp"

#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <mutex>
#include <random>
#include <thread>

namespace agora::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// One proxied connection: two sockets and a pump each way.
struct Faults {
  std::atomic<int64_t> delay_ms{0}, retransmit_ms{0};
  std::atomic<double> loss{0};
  std::atomic<uint64_t> bytes{0};
  std::mt19937 rng{std::random_device{}()};  // the io thread's only
  int64_t next_delay() {
    int64_t d = delay_ms.load();
    if (loss.load() > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < loss.load()) d += retransmit_ms.load();
    return d;
  }
};

// One proxied connection: two sockets and a pipe each way. A pipe reads all the time and
// forwards each chunk once its delay has passed, in order: like a link, many chunks are on
// the way at once (a delay is latency, not a cap on throughput). A lost chunk holds back
// every chunk behind it until it is retransmitted, as TCP's in-order delivery does.
struct Link : std::enable_shared_from_this<Link> {
  Link(asio::io_context& io, Faults& faults) : client(io), server(io), faults(faults), up(io), down(io) {}
  tcp::socket client, server;
  Faults& faults;
  struct Pipe {
    explicit Pipe(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> queue;
    std::chrono::steady_clock::time_point last_release{};
    bool writing = false;
  } up, down;

  void start() {
    read(client, server, up);
    read(server, client, down);
  }
  void close() {
    boost::system::error_code ec;
    client.close(ec);
    server.close(ec);
    up.timer.cancel();
    down.timer.cancel();
  }
  void read(tcp::socket& from, tcp::socket& to, Pipe& pipe) {
    auto self = shared_from_this();
    auto buffer = std::make_shared<std::array<char, 16384>>();
    from.async_read_some(
        asio::buffer(*buffer), [self, buffer, &from, &to, &pipe](boost::system::error_code ec, size_t n) {
          if (ec) return self->close();
          auto release = std::chrono::steady_clock::now() + std::chrono::milliseconds(self->faults.next_delay());
          release = std::max(release, pipe.last_release);  // in order, as TCP delivers
          pipe.last_release = release;
          pipe.queue.emplace_back(release, std::string(buffer->data(), n));
          self->write(to, pipe);
          self->read(from, to, pipe);
        });
  }
  void write(tcp::socket& to, Pipe& pipe) {
    if (pipe.writing || pipe.queue.empty()) return;
    pipe.writing = true;
    auto self = shared_from_this();
    pipe.timer.expires_at(pipe.queue.front().first);
    pipe.timer.async_wait([self, &to, &pipe](boost::system::error_code ec) {
      if (ec) return;
      asio::async_write(to, asio::buffer(pipe.queue.front().second),
                        [self, &to, &pipe](boost::system::error_code ec, size_t n) {
                          if (ec) return self->close();
                          self->faults.bytes += n;
                          pipe.queue.pop_front();
                          pipe.writing = false;
                          self->write(to, pipe);
                        });
    });
  }
};

}  // namespace

struct FaultProxy::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::atomic<uint16_t> target;
  std::atomic<bool> partitioned{false};
  Faults faults;
  std::list<std::weak_ptr<Link>> links;  // touched on the io thread only
  std::thread thread;

  explicit Impl(uint16_t t) : target(t) {}

  void accept() {
    auto link = std::make_shared<Link>(io, faults);
    acceptor.async_accept(link->client, [this, link](boost::system::error_code ec) {
      if (ec) return;
      accept();
      if (partitioned) return link->close();
      links.remove_if([](const std::weak_ptr<Link>& l) { return l.expired(); });
      links.push_back(link);
      tcp::endpoint to(asio::ip::make_address("127.0.0.1"), target.load());
      link->server.async_connect(to, [link](boost::system::error_code ec) {
        if (ec) return link->close();
        link->start();
      });
    });
  }
  void cut_all() {
    for (auto& l : links)
      if (auto link = l.lock()) link->close();
    links.clear();
  }
};

FaultProxy::FaultProxy(uint16_t target_port) : impl_(std::make_unique<Impl>(target_port)) {
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FaultProxy::~FaultProxy() {
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->cut_all();
    impl_->io.stop();
  });
  impl_->thread.join();
}

uint16_t FaultProxy::port() const { return impl_->acceptor.local_endpoint().port(); }

void FaultProxy::set_partitioned(bool partitioned) {
  impl_->partitioned = partitioned;
  if (partitioned) asio::post(impl_->io, [this] { impl_->cut_all(); });
}

void FaultProxy::set_delay(std::chrono::milliseconds delay) { impl_->faults.delay_ms = delay.count(); }

void FaultProxy::set_loss(double probability, std::chrono::milliseconds retransmit_after) {
  impl_->faults.retransmit_ms = retransmit_after.count();
  impl_->faults.loss = probability;
}

void FaultProxy::retarget(uint16_t target_port) {
  impl_->target = target_port;
  asio::post(impl_->io, [this] { impl_->cut_all(); });
}

uint64_t FaultProxy::bytes_forwarded() const { return impl_->faults.bytes.load(); }

}  // namespace agora::test
