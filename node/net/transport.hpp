// A message connection to a peer (WebSocket underneath), kept free of Beast so that the
// sync logic and most of the node compile without it. All callbacks run on the node's
// io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace agora::net {

struct TransportLimits {
  size_t max_message_bytes = 8 * 1024 * 1024;
  int handshake_timeout_s = 10;              // TCP/TLS/WebSocket handshake
  int idle_timeout_s = 60;                   // no traffic at all (pings are sent at half of it)
  size_t http_max_target_bytes = 8 * 1024;   // a plain HTTP request's path and query (414 beyond)
  size_t http_max_header_bytes = 16 * 1024;  // and its header fields (431 beyond)
  size_t http_max_body_bytes = 64 * 1024;    // and its body (413 beyond)
};

// TLS (wss://). With a certificate and key the sync port speaks TLS only; dialling a
// wss:// peer checks its certificate against the system's CAs plus ca_file, and its name.
struct TlsSettings {
  std::string cert_file, key_file;  // PEM; both or neither
  std::string ca_file;              // extra trusted CAs (PEM), e.g. a network's own CA
  bool serves() const { return !cert_file.empty(); }
};
class TlsContexts;  // OpenSSL contexts, built once per node
// Loads the files; throws std::runtime_error naming the file that does not load.
std::shared_ptr<TlsContexts> make_tls(const TlsSettings& settings);

class Transport {
 public:
  struct Handlers {
    std::function<void(std::string message, bool binary)> on_message;
    std::function<void(const std::string& reason)> on_closed;  // called once
  };
  virtual ~Transport() = default;
  virtual void start(Handlers handlers) = 0;  // starts reading
  virtual void send(std::string message, bool binary) = 0;
  virtual void close(const std::string& reason) = 0;
  virtual std::string remote_address() const = 0;  // "IP:PORT"
  virtual size_t queued_bytes() const = 0;         // written by us, not yet sent
};

// Dials ws://HOST:PORT/PATH or wss://HOST:PORT/PATH; done(transport, "") or done(nullptr, error).
void dial(boost::asio::io_context& io, const std::string& url, const TransportLimits& limits,
          std::shared_ptr<TlsContexts> tls, std::function<void(std::shared_ptr<Transport>, std::string)> done);

// True for ws://HOST:PORT/PATH and wss://HOST:PORT/PATH.
bool is_peer_url(const std::string& url);

// A plain HTTP request/response, for the API served next to the sync endpoint.
struct HttpRequest {
  std::string method, target, remote;
  std::string if_none_match, origin;  // the request headers the API looks at
  bool accepts_gzip = false;          // Accept-Encoding accepts gzip (net::accepts_gzip)
  std::string last_event_id;          // an EventSource resuming a stream
  std::string accept_language;        // the languages a reader prefers (records' translations)
};
// A body produced piece by piece and sent chunked (exports, event streams): the connection
// asks for the next piece only once the previous one is written, so a slow client holds
// back the producer instead of filling memory.
class BodySource {
 public:
  using Deliver = std::function<void(std::string piece, bool last)>;
  virtual ~BodySource() = default;
  // Calls deliver exactly once, now or later, on the io thread; last = true ends the body.
  virtual void next(Deliver deliver) = 0;
  // The client went away (or asked with HEAD): no more next() calls follow.
  virtual void cancel() {}
  // False for event streams: each piece must reach the client as it is, not when a
  // compressor's block fills.
  virtual bool compressible() const { return true; }
};
struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status, std::string content_type, std::string body,
               std::vector<std::pair<std::string, std::string>> headers = {})
      : status(status), content_type(std::move(content_type)), body(std::move(body)), headers(std::move(headers)) {}
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra: ETag, Allow, CORS, ...
  std::shared_ptr<BodySource> stream;                        // when set, the body comes from it (body is ignored)
};
// Answers a request by calling reply exactly once, on any thread: on the io thread at once,
// or later from a worker (the connection writes the answer on its own thread).
using HttpReply = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, HttpReply)>;
// Called for a WebSocket upgraded on /sync: accept (take ownership) or not.
using PeerAcceptor = std::function<void(std::shared_ptr<Transport>)>;
// Admission control before any bytes are read: return false to refuse the connection.
using Admission = std::function<bool(const std::string& remote_ip)>;

// Listens on host:port; returns the bound port (useful with port 0). Throws on failure.
// With tls (and a certificate in it) every connection starts with a TLS handshake.
// max_http_connections (0: no limit) bounds the HTTP connections open at once; beyond it a
// new connection is answered 503 and closed (upgraded WebSockets no longer count).
class Listener {
 public:
  static std::shared_ptr<Listener> start(boost::asio::io_context& io, const std::string& host, uint16_t port,
                                         TransportLimits limits, HttpHandler http, PeerAcceptor peers,
                                         Admission admission, std::shared_ptr<TlsContexts> tls = nullptr,
                                         size_t max_http_connections = 0);
  virtual ~Listener() = default;
  virtual uint16_t port() const = 0;
  // HTTP connections open now (accepted, not yet closed or upgraded to a WebSocket).
  virtual size_t open_connections() const = 0;
  virtual void stop() = 0;
};

}  // namespace agora::net
