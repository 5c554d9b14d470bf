// Boost.Beast underneath net::Transport and net::Listener: one TU, so Beast is compiled once.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>
#include <zlib.h>

#include <deque>

#include "node/net/transport.hpp"

namespace agora::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

class TlsContexts {
 public:
  explicit TlsContexts(const TlsSettings& s) : client(ssl::context::tls_client) {
    client.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    client.set_default_verify_paths();
    client.set_verify_mode(ssl::verify_peer);
    if (!s.ca_file.empty()) load(s.ca_file, "--tls-ca", [&] { client.load_verify_file(s.ca_file); });
    if (s.serves()) {
      server.emplace(ssl::context::tls_server);
      server->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      load(s.cert_file, "--tls-cert", [&] { server->use_certificate_chain_file(s.cert_file); });
      load(s.key_file, "--tls-key", [&] { server->use_private_key_file(s.key_file, ssl::context::pem); });
      if (SSL_CTX_check_private_key(server->native_handle()) != 1)
        throw std::runtime_error("--tls-key: " + s.key_file + " is not the key of the certificate in " + s.cert_file);
    }
  }
  ssl::context client;
  std::optional<ssl::context> server;  // set when this node serves wss://

 private:
  template <class Fn>
  static void load(const std::string& file, const char* option, Fn&& fn) {
    try {
      fn();
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(std::string(option) + ": cannot load " + file + ": " + e.code().message());
    }
  }
};

std::shared_ptr<TlsContexts> make_tls(const TlsSettings& settings) { return std::make_shared<TlsContexts>(settings); }

namespace {

constexpr size_t kGzipFrom = 1400;  // about one packet: smaller answers gain nothing

std::optional<std::string> gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

// Incremental gzip for streamed bodies: each piece is compressed as it goes out.
class GzipStream {
 public:
  GzipStream() { ok_ = deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK; }
  ~GzipStream() {
    if (ok_) deflateEnd(&z_);
  }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;
  bool ok() const { return ok_; }

  std::string push(const std::string& in, bool finish) {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char buf[16384];
    int rc;
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      rc = deflate(&z_, finish ? Z_FINISH : Z_NO_FLUSH);
      out.append(buf, sizeof buf - z_.avail_out);
    } while (z_.avail_out == 0 || (finish && rc == Z_OK));
    return out;
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

// One HTTP connection counted against the listener's limit while it lives.
struct ConnectionSlot {
  explicit ConnectionSlot(std::shared_ptr<size_t> open) : open_(std::move(open)) { ++*open_; }
  ~ConnectionSlot() { --*open_; }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  std::shared_ptr<size_t> open_;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string endpoint_text(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

template <class Stream>
class WsTransport : public Transport, public std::enable_shared_from_this<WsTransport<Stream>> {
 public:
  using std::enable_shared_from_this<WsTransport<Stream>>::shared_from_this;
  WsTransport(websocket::stream<Stream> ws, std::string remote, const TransportLimits& limits)
      : ws_(std::move(ws)), remote_(std::move(remote)) {
    ws_.read_message_max(limits.max_message_bytes);
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(limits.handshake_timeout_s);
    t.idle_timeout = std::chrono::seconds(limits.idle_timeout_s);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "agora");
    }));
    // Compression off: measured as a throughput cost (docs/protocol.md).
    ws_.auto_fragment(false);
  }

  template <class Request>
  void accept(const Request& req, std::function<void(bool)> done) {
    ws_.async_accept(req, [self = shared_from_this(), done = std::move(done)](beast::error_code ec) { done(!ec); });
  }

  void start(Handlers handlers) override {
    handlers_ = std::move(handlers);
    do_read();
  }

  void send(std::string message, bool binary) override {
    if (closed_ || closing_) return;
    queued_bytes_ += message.size();
    queue_.emplace_back(std::move(message), binary);
    if (queue_.size() == 1) do_write();
  }

  void close(const std::string& reason) override {
    if (closed_ || closing_) return;
    closing_ = true;
    close_reason_ = reason;
    if (queue_.empty()) do_close();
  }

  std::string remote_address() const override { return remote_; }
  size_t queued_bytes() const override { return queued_bytes_; }

 private:
  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return finish(ec == websocket::error::closed ? "closed by peer" : ec.message());
    std::string message = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    bool binary = ws_.got_binary();
    if (handlers_.on_message) handlers_.on_message(std::move(message), binary);
    if (!closed_) do_read();
  }

  void do_write() {
    ws_.binary(queue_.front().second);
    ws_.async_write(asio::buffer(queue_.front().first), [self = shared_from_this()](beast::error_code ec, size_t) {
      self->queued_bytes_ -= self->queue_.front().first.size();
      self->queue_.pop_front();
      if (ec) return self->finish(ec.message());
      if (!self->queue_.empty())
        self->do_write();
      else if (self->closing_)
        self->do_close();
    });
  }

  void do_close() {
    ws_.async_close(websocket::close_reason(websocket::close_code::normal, close_reason_.substr(0, 120)),
                    [self = shared_from_this()](beast::error_code) { self->finish(self->close_reason_); });
  }

  void finish(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    auto on_closed = std::move(handlers_.on_closed);
    handlers_ = {};  // drop references to the session: no cycles survive the connection
    if (on_closed) on_closed(reason);
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::pair<std::string, bool>> queue_;
  size_t queued_bytes_ = 0;
  std::string remote_, close_reason_;
  Handlers handlers_;
  bool closed_ = false, closing_ = false;
};

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  using std::enable_shared_from_this<HttpSession<Stream>>::shared_from_this;
  template <class... TlsContext>
  HttpSession(tcp::socket socket, std::shared_ptr<ConnectionSlot> slot, const TransportLimits& limits,
              HttpHandler http, PeerAcceptor peers, TlsContext&... tls)
      : stream_(std::move(socket), tls...), slot_(std::move(slot)), limits_(limits), http_(std::move(http)),
        peers_(std::move(peers)) {
    beast::error_code ec;
    remote_ = endpoint_text(beast::get_lowest_layer(stream_).socket().remote_endpoint(ec));
  }

  void run() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(limits_.handshake_timeout_s));
      stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return beast::get_lowest_layer(self->stream_).close();
        self->do_read();
      });
    } else {
      do_read();
    }
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.http_max_header_bytes));
    parser_->body_limit(limits_.http_max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return shutdown();
    if (ec) {
      int status = ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400;
      return respond(status, R"({"error":")" + std::string(status == 431 ? "request headers too large"
                                                             : status == 413 ? "request body too large"
                                                                             : "malformed HTTP request") +
                                 R"(","param":null})",
                     false);
    }
    auto req = parser_->release();
    if (websocket::is_upgrade(req)) {
      if (req.target() != "/sync") return respond(404, R"({"error":"no WebSocket endpoint here","param":null})", false);
      beast::get_lowest_layer(stream_).expires_never();
      auto ws = std::make_shared<WsTransport<Stream>>(websocket::stream<Stream>(std::move(stream_)), remote_,
                                                      limits_);
      auto peers = peers_;
      ws->accept(req, [ws, peers](bool ok) {
        if (ok && peers) peers(ws);
      });
      return;
    }
    HttpRequest request{std::string(req.method_string()), std::string(req.target()), remote_,
                        std::string(req[http::field::if_none_match]), std::string(req[http::field::origin]),
                        std::string_view(req[http::field::accept_encoding]).find("gzip") != std::string_view::npos,
                        std::string(req["Last-Event-ID"])};
    HttpResponse r = http_ ? http_(request) : HttpResponse{404, "application/json", R"({"error":"not found","param":null})", {}};
    if (r.stream)
      return start_stream(std::move(r), req.keep_alive(), req.method() == http::verb::head, request.accepts_gzip);
    // Large text answers travel compressed when the client asks for it.
    if (request.accepts_gzip && r.body.size() >= kGzipFrom && r.status == 200) {
      if (auto packed = gzip(r.body)) {
        r.body = std::move(*packed);
        r.headers.emplace_back("Content-Encoding", "gzip");
      }
    }
    if (r.body.size() >= kGzipFrom || request.accepts_gzip) r.headers.emplace_back("Vary", "Accept-Encoding");
    respond(r.status, std::move(r.body), req.keep_alive(), r.content_type, req.method() == http::verb::head,
            std::move(r.headers));
  }

  void respond(int status, std::string body, bool keep_alive, const std::string& type = "application/json",
               bool head = false, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "agora");
    res->set(http::field::content_type, type);
    for (auto& [name, value] : headers) res->set(name, value);
    res->keep_alive(keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    if (head) res->body().clear();
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
      if (ec || !keep_alive) return self->shutdown();
      self->do_read();
    });
  }

  // Header now, then the source's pieces as chunks, each asked for once the last is written.
  void start_stream(HttpResponse r, bool keep_alive, bool head, bool accepts_gzip) {
    source_ = std::move(r.stream);
    keep_alive_ = keep_alive;
    auto res = std::make_shared<http::response<http::empty_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "agora");
    res->set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res->set(name, value);
    if (accepts_gzip && source_->compressible() && !head) {
      gzip_ = std::make_unique<GzipStream>();
      if (gzip_->ok())
        res->set(http::field::content_encoding, "gzip");
      else
        gzip_.reset();
    }
    if (source_->compressible()) res->set(http::field::vary, "Accept-Encoding");
    // An event stream ends only with the connection; reading meanwhile shows when the
    // client has gone, so its slot is freed at once rather than at the next heartbeat.
    watch_ = !source_->compressible();
    if (watch_) keep_alive_ = false;
    res->keep_alive(keep_alive_);
    res->chunked(true);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), res, serializer, head](beast::error_code ec, size_t) {
                               if (ec || head) {
                                 self->end_stream();
                                 if (ec || !self->keep_alive_) return self->shutdown();
                                 return self->do_read();
                               }
                               if (self->watch_) self->watch_client();
                               self->pull();
                             });
  }

  void pull() {
    // The source may wait for news (event streams): no deadline while it does.
    beast::get_lowest_layer(stream_).expires_never();
    source_->next([self = shared_from_this()](std::string piece, bool last) { self->write_piece(std::move(piece), last); });
  }

  void write_piece(std::string piece, bool last) {
    if (!source_) return;
    if (gzip_) piece = gzip_->push(piece, last);
    // Nothing out of the compressor yet: ask again, from the event loop so that a long
    // run of such pieces does not nest calls.
    if (piece.empty() && !last)
      return asio::post(stream_.get_executor(), [self = shared_from_this()] { self->pull(); });
    chunk_.clear();
    if (!piece.empty()) {
      char size[20];
      chunk_.append(size, static_cast<size_t>(std::snprintf(size, sizeof size, "%zx\r\n", piece.size())));
      chunk_ += piece;
      chunk_ += "\r\n";
    }
    if (last) chunk_ += "0\r\n\r\n";
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    asio::async_write(stream_, asio::buffer(chunk_), [self = shared_from_this(), last](beast::error_code ec, size_t) {
      if (ec) {
        self->end_stream();
        return self->shutdown();
      }
      if (!last) return self->pull();
      self->source_.reset();
      self->gzip_.reset();
      if (!self->keep_alive_) return self->shutdown();
      self->do_read();
    });
  }

  void watch_client() {
    stream_.async_read_some(buffer_.prepare(512), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!self->source_) return;  // the stream ended on its own
      if (ec) {
        self->end_stream();
        return self->shutdown();
      }
      self->watch_client();  // bytes from a client that should be listening: ignored
    });
  }

  void end_stream() {
    if (source_) source_->cancel();
    source_.reset();
    gzip_.reset();
  }

  void shutdown() {
    if (shut_) return;
    shut_ = true;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(
          [self = shared_from_this()](beast::error_code) { beast::get_lowest_layer(self->stream_).close(); });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.close();
    }
  }

  Stream stream_;
  std::shared_ptr<ConnectionSlot> slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<BodySource> source_;  // while a streamed body is being sent
  std::unique_ptr<GzipStream> gzip_;
  std::string chunk_;
  bool keep_alive_ = true, watch_ = false, shut_ = false;
  TransportLimits limits_;
  HttpHandler http_;
  PeerAcceptor peers_;
  std::string remote_;
};

class ListenerImpl : public Listener, public std::enable_shared_from_this<ListenerImpl> {
 public:
  ListenerImpl(asio::io_context& io, const tcp::endpoint& at, TransportLimits limits, HttpHandler http,
               PeerAcceptor peers, Admission admission, std::shared_ptr<TlsContexts> tls, size_t max_http)
      : io_(io), acceptor_(io), limits_(limits), http_(std::move(http)), peers_(std::move(peers)),
        admission_(std::move(admission)), tls_(std::move(tls)), max_http_(max_http) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  void accept_loop() {
    acceptor_.async_accept(io_, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        beast::error_code ignored;
        auto ip = socket.remote_endpoint(ignored).address().to_string();
        socket.set_option(tcp::no_delay(true), ignored);
        if (self->max_http_ && *self->open_ >= self->max_http_) {
          self->refuse_busy(std::move(socket));
        } else if (!self->admission_ || self->admission_(ip)) {
          auto slot = std::make_shared<ConnectionSlot>(self->open_);
          if (self->tls_ && self->tls_->server)
            std::make_shared<HttpSession<TlsStream>>(std::move(socket), std::move(slot), self->limits_, self->http_,
                                                     self->peers_, *self->tls_->server)
                ->run();
          else
            std::make_shared<HttpSession<PlainStream>>(std::move(socket), std::move(slot), self->limits_, self->http_,
                                                       self->peers_)
                ->run();
        }
      }
      self->accept_loop();
    });
  }

  // Over the connection limit: a short 503 (plain HTTP) and close, without reading.
  void refuse_busy(tcp::socket socket) {
    if (tls_ && tls_->server) return;  // no handshake for a refusal: the socket just closes
    static const std::string kBusy = [] {
      std::string body = R"({"error":"too many HTTP connections; retry soon","param":null})";
      return "HTTP/1.1 503 Service Unavailable\r\nServer: agora\r\nContent-Type: application/json\r\n"
             "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    auto s = std::make_shared<tcp::socket>(std::move(socket));
    asio::async_write(*s, asio::buffer(kBusy), [s](beast::error_code, size_t) {
      beast::error_code ignored;
      s->shutdown(tcp::socket::shutdown_send, ignored);
      s->close(ignored);
    });
  }

  uint16_t port() const override { return acceptor_.local_endpoint().port(); }
  void stop() override {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  TransportLimits limits_;
  HttpHandler http_;
  PeerAcceptor peers_;
  Admission admission_;
  std::shared_ptr<TlsContexts> tls_;
  size_t max_http_;
  std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
};

struct Url {
  bool tls = false;
  std::string host, port, path;
};

bool parse_ws_url(const std::string& url, Url& out) {
  std::string rest;
  if (url.starts_with("ws://"))
    rest = url.substr(5);
  else if (url.starts_with("wss://"))
    rest = url.substr(6), out.tls = true;
  else
    return false;
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/sync" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  out.host = hostport.substr(0, colon);
  out.port = hostport.substr(colon + 1);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') out.host = out.host.substr(1, out.host.size() - 2);
  return !out.host.empty() && !out.port.empty() && out.port.size() <= 5 &&
         out.port.find_first_not_of("0123456789") == std::string::npos;
}

// Connects, then (wss) the TLS handshake, then the WebSocket handshake.
template <class Stream>
void dial_stream(std::shared_ptr<websocket::stream<Stream>> ws, asio::io_context& io, const Url& u,
                 const TransportLimits& limits, std::function<void(std::shared_ptr<Transport>, std::string)> done) {
  auto resolver = std::make_shared<tcp::resolver>(io);
  resolver->async_resolve(u.host, u.port, [resolver, ws, u, limits, done](beast::error_code ec,
                                                                          tcp::resolver::results_type results) {
    if (ec) return done(nullptr, "cannot resolve " + u.host + ": " + ec.message());
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(limits.handshake_timeout_s));
    beast::get_lowest_layer(*ws).async_connect(results, [ws, u, limits, done](beast::error_code ec,
                                                                              const tcp::endpoint& ep) {
      if (ec) return done(nullptr, "cannot connect to " + u.host + ":" + u.port + ": " + ec.message());
      beast::error_code ignored;
      beast::get_lowest_layer(*ws).socket().set_option(tcp::no_delay(true), ignored);
      std::string remote = endpoint_text(ep);
      auto upgrade = [ws, u, remote, limits, done] {
        ws->async_handshake(u.host + ":" + u.port, u.path, [ws, remote, limits, done](beast::error_code ec) {
          if (ec) return done(nullptr, "WebSocket handshake with " + remote + " failed: " + ec.message());
          beast::get_lowest_layer(*ws).expires_never();
          done(std::make_shared<WsTransport<Stream>>(std::move(*ws), remote, limits), "");
        });
      };
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        ws->next_layer().async_handshake(ssl::stream_base::client, [remote, upgrade, done](beast::error_code ec) {
          if (ec) return done(nullptr, "TLS handshake with " + remote + " failed: " + ec.message());
          upgrade();
        });
      } else {
        upgrade();
      }
    });
  });
}

}  // namespace

std::shared_ptr<Listener> Listener::start(asio::io_context& io, const std::string& host, uint16_t port,
                                          TransportLimits limits, HttpHandler http, PeerAcceptor peers,
                                          Admission admission, std::shared_ptr<TlsContexts> tls,
                                          size_t max_http_connections) {
  tcp::endpoint at(asio::ip::make_address(host), port);
  auto listener = std::make_shared<ListenerImpl>(io, at, limits, std::move(http), std::move(peers),
                                                 std::move(admission), std::move(tls), max_http_connections);
  listener->accept_loop();
  return listener;
}

bool is_peer_url(const std::string& url) {
  Url u;
  return parse_ws_url(url, u);
}

void dial(asio::io_context& io, const std::string& url, const TransportLimits& limits,
          std::shared_ptr<TlsContexts> tls, std::function<void(std::shared_ptr<Transport>, std::string)> done) {
  Url u;
  if (!parse_ws_url(url, u)) return done(nullptr, "not a ws:// or wss://HOST:PORT/PATH URL: " + url);
  if (!u.tls) return dial_stream(std::make_shared<websocket::stream<PlainStream>>(io), io, u, limits, std::move(done));
  if (!tls) tls = make_tls({});
  auto ws = std::make_shared<websocket::stream<TlsStream>>(io, tls->client);
  // SNI, and the certificate must name the host we dialled. The stream keeps the context
  // alive only by reference: hold it until the connection is done with it.
  if (!SSL_set_tlsext_host_name(ws->next_layer().native_handle(), u.host.c_str()))
    return done(nullptr, "cannot set TLS server name " + u.host);
  ws->next_layer().set_verify_callback(ssl::host_name_verification(u.host));
  dial_stream(ws, io, u, limits, [tls, done](std::shared_ptr<Transport> t, std::string error) { done(t, error); });
}

}  // namespace agora::net
