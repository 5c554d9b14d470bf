// Connection life cycles against a real `agora serve` on loopback: clients that close,
// half-close, reset, stall or talk garbage at every point of an exchange, on every route
// of both ports. The node must stay up, keep answering others, give back every
// connection slot and file descriptor, and stop cleanly afterwards.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "http_client.hpp"
#include "sync/node_metrics.hpp"
#include "sync/certificate.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Address {
  std::string host;
  uint16_t port = 0;
};

// "http://127.0.0.1:8080/" or "ws://127.0.0.1:7400/sync" -> 127.0.0.1, 8080
Address address_of(const std::string& url) {
  auto start = url.find("://") + 3;
  auto colon = url.find(':', start);
  auto end = url.find('/', colon);
  return {url.substr(start, colon - start), static_cast<uint16_t>(std::stoi(url.substr(colon + 1, end - colon - 1)))};
}

// A raw client socket with every wait bounded, so that no client can hang the test.
class RawClient {
 public:
  RawClient(const Address& to, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(to.port);
    ::inet_pton(AF_INET, to.host.c_str(), &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the node closed on us: that is its right
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Reads until `max` bytes, the end of the stream, `marker`, or `wait` passes.
  std::string read(size_t max, std::chrono::milliseconds wait, std::string_view marker = {}) {
    std::string got;
    auto deadline = Clock::now() + wait;
    char buf[4096];
    while (got.size() < max && Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int left =
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) break;
      ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, max - got.size()), 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      if (!marker.empty() && got.find(marker) != std::string::npos) break;
    }
    return got;
  }
  void half_close() { ::shutdown(fd_, SHUT_WR); }
  int fd() const { return fd_; }
  // Closes with a reset (RST) instead of a FIN.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd_);
    fd_ = -1;
  }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string get_request(const std::string& target, bool gzip, bool keep_alive = true) {
  return "GET " + target + " HTTP/1.1\r\nHost: node\r\nUser-Agent: chaos\r\n" +
         (gzip ? "Accept-Encoding: gzip\r\n" : "") + (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

std::string upgrade_request() {
  return "GET /sync HTTP/1.1\r\nHost: node\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

size_t open_fds(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

// agora_http_connections_open{listener="..."} from /metrics (the /metrics request itself
// is one of the HTTP listener's).
size_t open_connections(const ServedNode& node, const std::string& listener) {
  auto metrics = http_get(node.http_url, "/metrics").body;
  std::string key = "agora_http_connections_open{listener=\"" + listener + "\"} ";
  auto at = metrics.find(key);
  if (at == std::string::npos) throw std::runtime_error("no " + key + "in /metrics");
  return std::stoull(metrics.substr(at + key.size()));
}

// A node with enough public records that an export takes many chunks.
void fill(ServedNode& node, int practices) {
  std::string file = node.tmp.str("practices.ndjson");
  std::ofstream(file) << practices_ndjson("chaos-", practices);
  auto r = node.agora({"import", file});
  if (r.exit_code != 0) throw std::runtime_error("import failed: " + r.err);
}

// The run's seed (AGORA_CHAOS_SEED, else random), printed so that a failure can be replayed.
uint64_t seed_of_run(const char* what, size_t clients) {
  const char* given = std::getenv("AGORA_CHAOS_SEED");
  uint64_t seed = given ? std::stoull(given) : std::random_device{}();
  std::cout << what << ": seed " << seed << " (AGORA_CHAOS_SEED=" << seed << " replays it), " << clients << " clients"
            << std::endl;
  return seed;
}

size_t env_count(const char* name, size_t otherwise) {
  const char* v = std::getenv(name);
  return v ? std::stoull(v) : otherwise;
}

}  // namespace

TEST_CASE("an event stream closed right after its headers, hundreds of times, leaves the node up",
          "[http][lifecycle][sse]") {
  ServedNode node("Lyon", "FR");
  fill(node, 50);  // a backlog: the first pieces are still being written when the client leaves
  node.serve();
  Address http = address_of(node.http_url);
  for (int i = 0; i < 1000; ++i) {
    RawClient client(http);
    REQUIRE(client.connected());
    client.send(get_request("/api/v1/changes?feed=eventsource", false));
    std::string head = client.read(1 << 16, std::chrono::seconds(5), "\r\n\r\n");
    INFO("client " << i << " got: " << head.substr(0, 200));
    REQUIRE(head.starts_with("HTTP/1.1 200"));
    if (i % 2)
      client.close();  // a FIN right after the headers
    else
      client.reset();  // or a reset
    if (i % 100 == 99) REQUIRE(process_alive(node.pid));
  }
  CHECK(http_get(node.http_url, "/health").status == 200);
  REQUIRE(process_alive(node.pid));
  CHECK(node.stop() == 0);
}

TEST_CASE("thousands of clients leave at random points of every route, and the node stays up and leaks nothing",
          "[http][lifecycle][chaos]") {
  const size_t clients = env_count("AGORA_CHAOS_CLIENTS", 2000);
  const uint64_t seed = seed_of_run("lifecycle chaos", clients);
  INFO("seed " << seed);

  ServedNode node("Lyon", "FR");
  fill(node, 400);  // an NDJSON export of ~200 KB: many chunks, a client can stall in the middle
  node.serve();
  const Address http = address_of(node.http_url), sync = address_of(node.sync_url);
  const std::string record = "/api/v1/practices/Lyon/chaos-7";
  const std::vector<std::string> routes = {"/api/v1/practices",
                                           "/api/v1/practices?q=practice&limit=100",
                                           "/api/v1/plans",
                                           "/api/v1/stats",
                                           "/api/v1/cities",
                                           "/api/v1/adoptions",
                                           "/api/v1/frameworks",
                                           "/api/v1/vocabulary",
                                           "/api/v1/changes?limit=500",
                                           "/api/v1/changes?feed=eventsource",
                                           "/api/v1/export?format=ndjson",
                                           "/api/v1/export?format=csv",
                                           "/api/v1/export?format=jsonld",
                                           "/",
                                           "/app.js",
                                           "/health",
                                           "/metrics",
                                           "/api/v1/network",
                                           "/api/v1/openapi.json",
                                           record,
                                           record + "/history",
                                           "/api/v1/nowhere"};

  // Every route once, whole, before counting: the node opens what it opens lazily (the
  // search index's files, once its first build exists) and the counts below compare like
  // with like.
  REQUIRE(wait_for_search_index(node.http_url));
  for (const auto& route : routes) {
    if (route.find("eventsource") != std::string::npos) continue;
    REQUIRE(http_get(node.http_url, route).status > 0);
  }
  const size_t fds_before = open_fds(node.pid);
  const size_t http_before = open_connections(node, "http"), sync_before = open_connections(node, "sync");

  // Meanwhile a well-behaved client keeps asking: every answer must come.
  std::atomic<bool> chaos_done{false};
  std::atomic<int> probes{0}, probe_failures{0};
  std::thread prober([&] {
    while (!chaos_done) {
      auto r = http_get(node.http_url, "/health");
      ++probes;
      if (r.status != 200) ++probe_failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::atomic<size_t> next{0};
  std::atomic<int> behaviours_run[10] = {};
  auto worker = [&](unsigned index) {
    for (size_t i = next++; i < clients; i = next++) {
      std::mt19937_64 rng(seed * 1000003 + i);  // each client replays alone from the seed
      auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
      bool on_sync = pick(5) == 0;
      bool upgrade = on_sync && pick(2) == 0;
      std::string request = upgrade ? upgrade_request() : get_request(routes[pick(routes.size())], pick(2) == 0);
      int behaviour = static_cast<int>(pick(10));
      ++behaviours_run[behaviour];
      RawClient c(on_sync ? sync : http, behaviour == 6 ? 2048 : 0);
      if (!c.connected()) continue;
      auto some = [&](size_t n) { return std::chrono::milliseconds(static_cast<int>(pick(n))); };
      switch (behaviour) {
        case 0:  // connects and leaves
          break;
        case 1:  // leaves in the middle of its request
          c.send(request.substr(0, 1 + pick(request.size() - 1)));
          break;
        case 2:  // asks and leaves at once
          c.send(request);
          break;
        case 3:  // reads part of the answer, then leaves
          c.send(request);
          c.read(1 + pick(8192), some(200));
          break;
        case 4:  // asks, half-closes, reads until the node closes (bounded)
          c.send(request);
          c.half_close();
          c.read(1 << 20, std::chrono::milliseconds(1500));
          break;
        case 5:  // reads a little, then resets
          c.send(request);
          c.read(1 + pick(4096), some(100));
          c.reset();
          break;
        case 6:  // asks with a tiny receive window and reads nothing for a while
          c.send(request);
          std::this_thread::sleep_for(some(300));
          if (pick(2)) c.reset();
          break;
        case 7: {  // garbage instead of a request
          std::string junk(1 + pick(600), '\0');
          for (auto& ch : junk) ch = static_cast<char>(rng());
          c.send(junk);
          c.read(4096, some(100));
          break;
        }
        case 8: {  // a request, then garbage (frames after an upgrade, a bad pipelined request)
          c.send(request);
          c.read(1 + pick(2048), some(50));
          std::string junk(1 + pick(300), '\0');
          for (auto& ch : junk) ch = static_cast<char>(rng());
          c.send(junk);
          c.read(4096, some(100));
          if (pick(2)) c.reset();
          break;
        }
        default:  // a whole exchange, the node closing after it
          c.send(upgrade ? request : get_request(routes[pick(routes.size())], pick(2) == 0, false));
          c.read(1 << 20, std::chrono::milliseconds(upgrade ? 200 : 1500));
          break;
      }
      (void)index;
    }
  };
  auto started = Clock::now();
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < 16; ++w) workers.emplace_back(worker, w);
  for (auto& t : workers) t.join();
  chaos_done = true;
  prober.join();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "lifecycle chaos: " << clients << " clients in " << seconds << " s; behaviours";
  for (auto& b : behaviours_run) std::cout << " " << b.load();
  std::cout << "; " << probes.load() << " probes" << std::endl;

  REQUIRE(process_alive(node.pid));
  CHECK(probe_failures == 0);
  CHECK(probes > 0);
  // Slots and descriptors come back once the node has seen every client go (an unfinished
  // request waits out its 30 s read deadline at most).
  size_t http_after = 0, sync_after = 0, fds_after = 0;
  bool settled = wait_until(
      [&] {
        http_after = open_connections(node, "http");
        sync_after = open_connections(node, "sync");
        fds_after = open_fds(node.pid);
        return http_after <= http_before && sync_after <= sync_before && fds_after <= fds_before;
      },
      std::chrono::seconds(45));
  INFO("http connections " << http_before << " -> " << http_after << ", sync " << sync_before << " -> " << sync_after
                           << ", fds " << fds_before << " -> " << fds_after);
  CHECK(settled);
  CHECK(http_get(node.http_url, "/api/v1/practices?limit=1").status == 200);
  auto stop_started = Clock::now();
  CHECK(node.stop() == 0);
  CHECK(Clock::now() - stop_started < std::chrono::seconds(10));
}

TEST_CASE("SIGTERM stops a node cleanly in the middle of every kind of exchange", "[http][lifecycle]") {
  ServedNode node("Lyon", "FR");
  fill(node, 400);
  node.serve();
  const Address http = address_of(node.http_url), sync = address_of(node.sync_url);
  std::vector<std::unique_ptr<RawClient>> held;
  auto hold = [&](const Address& to, const std::string& bytes, int receive_buffer = 0) {
    held.push_back(std::make_unique<RawClient>(to, receive_buffer));
    REQUIRE(held.back()->connected());
    held.back()->send(bytes);
    return held.back().get();
  };
  std::vector<RawClient*> streams;
  for (int i = 0; i < 10; ++i) {
    streams.push_back(hold(http, get_request("/api/v1/changes?feed=eventsource", false)));
    REQUIRE(streams.back()->read(1 << 16, std::chrono::seconds(5), "retry: 3000").find("retry: 3000") !=
            std::string::npos);
  }
  for (int i = 0; i < 5; ++i) hold(http, get_request("/api/v1/export?format=csv", i % 2), 2048);        // never read
  for (int i = 0; i < 5; ++i) hold(i % 2 ? sync : http, "GET /api/v1/practices HTTP/1.1\r\nHost: no");  // unfinished
  std::vector<RawClient*> upgrades;
  for (int i = 0; i < 5; ++i) upgrades.push_back(hold(sync, upgrade_request()));  // WebSockets that never authenticate
  // Every exchange is under way before the signal: the upgrades answered, the 18 HTTP ones
  // (streams, exports, the three unfinished requests on the HTTP port) counted open.
  for (auto* u : upgrades) REQUIRE(u->read(1 << 12, std::chrono::seconds(5), "\r\n\r\n").starts_with("HTTP/1.1 101"));
  REQUIRE(wait_until([&] { return open_http_connections(node, "http") >= 18; }, std::chrono::seconds(10)));
  auto started = Clock::now();
  CHECK(node.stop() == 0);
  CHECK(Clock::now() - started < std::chrono::seconds(10));
  // Each event stream was ended properly: the last chunk, then the close.
  for (auto* s : streams) CHECK(s->read(1 << 20, std::chrono::seconds(2)).find("0\r\n\r\n") != std::string::npos);
}

namespace {

// A TLS client over a RawClient's socket (blocking, with the socket's 2 s timeouts). The
// certificate is not checked: these clients test the server's life cycle, not its name.
class TlsClient {
 public:
  TlsClient(SSL_CTX* ctx, RawClient& raw) : ssl_(SSL_new(ctx)) { SSL_set_fd(ssl_, raw.fd()); }
  ~TlsClient() { SSL_free(ssl_); }
  bool handshake() { return SSL_connect(ssl_) == 1; }
  void send(std::string_view bytes) {
    if (!bytes.empty()) SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
  }
  std::string read(size_t max) {
    std::string got;
    char buf[4096];
    while (got.size() < max) {
      int n = SSL_read(ssl_, buf, static_cast<int>(std::min(sizeof buf, max - got.size())));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ERR_clear_error();
    return got;
  }
  void close_notify() { SSL_shutdown(ssl_); }

 private:
  SSL* ssl_;
};

// The first bytes a TLS client sends (its ClientHello), made without a socket.
std::string client_hello(SSL_CTX* ctx) {
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_connect(ssl);  // wants to read the answer: the hello is in `out`
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<size_t>(n));
  SSL_free(ssl);
  ERR_clear_error();
  return hello;
}

}  // namespace

TEST_CASE("TLS clients leave at random points of the handshake and the exchange, and the node stays up",
          "[http][lifecycle][chaos][tls]") {
  const size_t clients = env_count("AGORA_CHAOS_TLS_CLIENTS", 600);
  const uint64_t seed = seed_of_run("lifecycle TLS chaos", clients);
  INFO("seed " << seed);
  TempDir certs;
  Certificate c = make_certificate(certs);
  ServedNode node("Lyon", "FR");
  fill(node, 400);
  node.serve({"--tls-cert", c.cert, "--tls-key", c.key});  // the sync port speaks TLS only
  const Address sync = address_of(node.sync_url);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  const std::string hello = client_hello(ctx.get());
  REQUIRE(hello.size() > 50);
  const std::vector<std::string> requests = {get_request("/health", false),
                                             get_request("/api/v1/export?format=ndjson", true),
                                             get_request("/api/v1/export?format=csv", false),
                                             get_request("/api/v1/changes?feed=eventsource", false),
                                             get_request("/api/v1/practices?limit=100", true),
                                             upgrade_request(),
                                             get_request("/metrics", false, false)};

  REQUIRE(wait_for_search_index(node.http_url));  // its readers open once it exists
  {                                               // a whole exchange before counting
    RawClient raw(sync);
    TlsClient tls(ctx.get(), raw);
    REQUIRE(tls.handshake());
    tls.send(get_request("/api/v1/practices", false, false));
    REQUIRE(tls.read(1 << 20).starts_with("HTTP/1.1 200"));
  }
  const size_t fds_before = open_fds(node.pid);
  const size_t sync_before = open_connections(node, "sync");

  std::atomic<size_t> next{0};
  std::atomic<int> handshakes{0};
  auto worker = [&] {
    for (size_t i = next++; i < clients; i = next++) {
      std::mt19937_64 rng(seed * 7919 + i);
      auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
      int behaviour = static_cast<int>(pick(10));
      RawClient raw(sync, behaviour == 7 ? 2048 : 0);
      if (!raw.connected()) continue;
      if (behaviour == 0) continue;  // connects and leaves
      if (behaviour == 1) {          // plain HTTP or garbage, no TLS
        raw.send(pick(2) ? requests[pick(requests.size())] : std::string(1 + pick(400), static_cast<char>(rng())));
        raw.read(4096, std::chrono::milliseconds(100));
        continue;
      }
      if (behaviour == 2) {  // part of a ClientHello, then leaves or resets
        raw.send(std::string_view(hello).substr(0, 1 + pick(hello.size() - 1)));
        if (pick(2)) raw.reset();
        continue;
      }
      TlsClient tls(ctx.get(), raw);
      if (!tls.handshake()) continue;
      ++handshakes;
      const std::string& request = requests[pick(requests.size())];
      switch (behaviour) {
        case 3:  // handshake, then a close without close_notify
          break;
        case 4:  // handshake, then a reset
          raw.reset();
          break;
        case 5:  // asks, reads part, leaves without close_notify
          tls.send(request);
          tls.read(1 + pick(8192));
          break;
        case 6:  // asks, reads part, close_notify
          tls.send(request);
          tls.read(1 + pick(4096));
          tls.close_notify();
          break;
        case 7:  // asks with a tiny window and does not read, then resets
          tls.send(request);
          std::this_thread::sleep_for(std::chrono::milliseconds(pick(200)));
          raw.reset();
          break;
        case 8:  // half a request, then close_notify
          tls.send(std::string_view(request).substr(0, 1 + pick(request.size() - 1)));
          tls.close_notify();
          break;
        default:  // a whole exchange the node closes
          tls.send(get_request("/api/v1/cities", pick(2), false));
          tls.read(1 << 20);
          break;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) workers.emplace_back(worker);
  for (auto& t : workers) t.join();
  std::cout << "lifecycle TLS chaos: " << handshakes.load() << " handshakes" << std::endl;

  REQUIRE(process_alive(node.pid));
  CHECK(handshakes > 0);
  size_t sync_after = 0, fds_after = 0;
  bool settled = wait_until(
      [&] {
        sync_after = open_connections(node, "sync");
        fds_after = open_fds(node.pid);
        return sync_after <= sync_before && fds_after <= fds_before;
      },
      std::chrono::seconds(45));
  INFO("sync connections " << sync_before << " -> " << sync_after << ", fds " << fds_before << " -> " << fds_after);
  CHECK(settled);
  CHECK(http_get(node.http_url, "/health").status == 200);
  CHECK(node.stop() == 0);
}
