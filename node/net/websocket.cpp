// Boost.Beast underneath net::Transport and net::Listener: one TU, so Beast is compiled once.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <zlib.h>

#include <deque>

#include "node/net/address.hpp"
#include "node/net/http_headers.hpp"
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
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "agora"); }));
    // Compression off: records are mostly signatures and compact JSON, and deflating every
    // frame costs the io thread more than it saves on a LAN (not re-measured since).
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
    // Once this side chose to close, its reason stands, even if the peer's close or a
    // read error ends the connection first.
    if (on_closed) on_closed(closing_ && !close_reason_.empty() ? close_reason_ : reason);
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::pair<std::string, bool>> queue_;
  size_t queued_bytes_ = 0;
  std::string remote_, close_reason_;
  Handlers handlers_;
  bool closed_ = false, closing_ = false;
};

// Every answer carries them: the API is public and read-only, any page may read it, and
// its scripts may read the headers a client revalidates and pages with.
void set_cors(beast::http::fields& fields) {
  fields.set(beast::http::field::access_control_allow_origin, "*");
  fields.set(beast::http::field::access_control_expose_headers, "ETag, Retry-After, Content-Disposition");
}

// One HTTP connection, from the first request to the close. Its life cycle is one chain of
// operations at a time, except while an event stream plays, when a read watches for the
// client leaving beside the writes. Every continuation holds the session (and, while a
// body streams, the StreamedAnswer it works on), so none can outlive what it touches.
template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  using std::enable_shared_from_this<HttpSession<Stream>>::shared_from_this;
  template <class... TlsContext>
  HttpSession(tcp::socket socket, std::shared_ptr<ConnectionSlot> slot, const TransportLimits& limits, HttpHandler http,
              PeerAcceptor peers, TlsContext&... tls)
      : stream_(std::move(socket), tls...),
        slot_(std::move(slot)),
        limits_(limits),
        http_(std::move(http)),
        peers_(std::move(peers)) {
    beast::error_code ec;
    remote_ = endpoint_text(beast::get_lowest_layer(stream_).socket().remote_endpoint(ec));
  }

  void run() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      lowest().expires_after(std::chrono::seconds(limits_.handshake_timeout_s));
      stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->close_now();
        self->do_read();
      });
    } else {
      do_read();
    }
  }

 private:
  // A streamed body (an export, an event stream) on this connection: its source, its
  // compressor and the chunk being written. It is created for one answer and never reset:
  // every continuation of the answer holds it, and once it has ended — completed, or
  // stopped because the client left, a write failed or the node shuts down — it asks its
  // source for nothing more and writes nothing more; the source is cancelled exactly once.
  class StreamedAnswer : public std::enable_shared_from_this<StreamedAnswer> {
   public:
    // chunked: HTTP/1.1 chunks; else (HTTP/1.0) the bare bytes, the end of the body being
    // the close of the connection.
    StreamedAnswer(std::shared_ptr<HttpSession> session, std::shared_ptr<BodySource> source,
                   std::unique_ptr<GzipStream> gzip, bool chunked)
        : session_(std::move(session)), source_(std::move(source)), gzip_(std::move(gzip)), chunked_(chunked) {}

    enum class State { playing, completed, stopped };
    State state() const { return state_; }

    void pull() {
      if (state_ != State::playing) return;
      // The source may wait for news (event streams): no deadline while it does.
      session_->lowest().expires_never();
      source_->next([self = this->shared_from_this()](std::string piece, bool last) {
        self->write_piece(std::move(piece), last);
      });
    }

    // The client went away or the connection failed: the source stops producing.
    void stop() {
      if (state_ != State::playing) return;
      state_ = State::stopped;
      source_->cancel();
    }

   private:
    void write_piece(std::string piece, bool last) {
      if (state_ != State::playing) return;
      if (gzip_) piece = gzip_->push(piece, last);
      // Nothing out of the compressor yet: ask again, from the event loop so that a long
      // run of such pieces does not nest calls.
      if (piece.empty() && !last)
        return asio::post(session_->stream_.get_executor(), [self = this->shared_from_this()] { self->pull(); });
      chunk_.clear();
      if (!chunked_) {
        chunk_ = std::move(piece);
      } else {
        if (!piece.empty()) {
          char size[20];
          chunk_.append(size, static_cast<size_t>(std::snprintf(size, sizeof size, "%zx\r\n", piece.size())));
          chunk_ += piece;
          chunk_ += "\r\n";
        }
        if (last) chunk_ += "0\r\n\r\n";
      }
      session_->lowest().expires_after(std::chrono::seconds(30));
      asio::async_write(session_->stream_, asio::buffer(chunk_),
                        [self = this->shared_from_this(), last](beast::error_code ec, size_t) {
                          if (self->state_ != State::playing) return;  // stopped meanwhile: the session is closing
                          if (ec) {
                            self->stop();
                            return self->session_->close_now();
                          }
                          if (!last) return self->pull();
                          self->state_ = State::completed;
                          self->session_->answer_completed();
                        });
    }

    const std::shared_ptr<HttpSession> session_;
    const std::shared_ptr<BodySource> source_;
    const std::unique_ptr<GzipStream> gzip_;
    const bool chunked_;
    std::string chunk_;
    State state_ = State::playing;
  };

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void do_read() {
    parser_.emplace();
    // The request line is bounded by the target limit (414) and the rest by the header
    // limit (431): the parser's one limit covers both, each is checked on its own below.
    // Beast refuses (throws on) a field of 64 KiB or more: the limit stays below that.
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(limits_.http_max_header_bytes + limits_.http_max_target_bytes + 32, 65535)));
    parser_->body_limit(limits_.http_max_body_bytes);
    lowest().expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  // The header block overflowed: the target is too long (414) when the parser never got
  // past the request line or got a target over the limit; else the fields are (431).
  int header_overflow_status() const {
    std::string_view target = parser_->get().target();
    return target.empty() || target.size() > limits_.http_max_target_bytes ? 414 : 431;
  }

  // Every value of a field that may be given on several lines, as one comma-separated list.
  template <class Request>
  static std::string joined(const Request& req, http::field name) {
    std::string out;
    for (auto [it, end] = req.equal_range(name); it != end; ++it) {
      if (!out.empty()) out += ", ";
      out += std::string(it->value());
    }
    return out;
  }

  // The target in origin form: an absolute-form target (`GET http://host/path`, which
  // HTTP/1.1 servers must accept) loses its scheme and authority.
  static std::string origin_form(std::string_view target) {
    for (std::string_view scheme : {"http://", "https://"}) {
      if (target.size() < scheme.size()) continue;
      bool same = true;
      for (size_t i = 0; i < scheme.size() && same; ++i) same = std::tolower(target[i]) == scheme[i];
      if (!same) continue;
      size_t slash = target.find('/', scheme.size());
      return slash == std::string_view::npos ? "/" : std::string(target.substr(slash));
    }
    return std::string(target);
  }

  static std::string error_body(std::string_view message) {
    return R"({"error":")" + std::string(message) + R"(","param":null})";
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close_gracefully();  // closed between requests
    if (ec && ec.category() != http::make_error_code(http::error::bad_target).category())
      return close_now();  // reset, timeout, aborted: nobody to answer
    if (ec == http::error::header_limit) {
      if (header_overflow_status() == 414)
        return respond(
            414, error_body("request target longer than " + std::to_string(limits_.http_max_target_bytes) + " bytes"),
            false);
      return respond(431, error_body("request headers too large"), false);
    }
    if (ec == http::error::body_limit) return respond(413, error_body("request body too large"), false);
    if (ec) return respond(400, error_body("malformed HTTP request"), false);
    auto req = parser_->release();
    if (req.target().size() > limits_.http_max_target_bytes)
      return respond(
          414, error_body("request target longer than " + std::to_string(limits_.http_max_target_bytes) + " bytes"),
          false);
    size_t header_bytes = 0;
    for (const auto& field : req) header_bytes += field.name_string().size() + field.value().size() + 4;
    if (header_bytes > limits_.http_max_header_bytes)
      return respond(431, error_body("request headers too large"), false);
    if (req.version() >= 11 && req.find(http::field::host) == req.end())
      return respond(400, error_body("an HTTP/1.1 request needs a Host header"), false);
    if (websocket::is_upgrade(req)) {
      if (req.target() != "/sync") return respond(404, error_body("no WebSocket endpoint here"), false);
      lowest().expires_never();
      auto ws = std::make_shared<WsTransport<Stream>>(websocket::stream<Stream>(std::move(stream_)), remote_, limits_);
      auto peers = peers_;
      ws->accept(req, [ws, peers](bool ok) {
        if (ok && peers) peers(ws);
      });
      return;  // the WebSocket owns the connection now
    }
    HttpRequest request{std::string(req.method_string()),
                        origin_form(req.target()),
                        remote_,
                        joined(req, http::field::if_none_match),
                        std::string(req[http::field::origin]),
                        accepts_gzip(joined(req, http::field::accept_encoding)),
                        std::string(req["Last-Event-ID"]),
                        joined(req, http::field::accept_language).substr(0, 200)};
    bool head = req.method() == http::verb::head;
    bool keep_alive = req.keep_alive(), http11 = req.version() >= 11;
    if (!http_) return respond(404, error_body("not found"), keep_alive);
    // The answer may come from a worker thread: everything after it runs on this
    // connection's executor, and the compression (pure work) where the answer was made.
    auto reply = [self = shared_from_this(), head, keep_alive, http11,
                  gzip_ok = request.accepts_gzip](HttpResponse r) mutable {
      if (!r.stream) compress(r, gzip_ok);
      // The session moves into the posted handler: its last reference, and so its end,
      // must never be dropped on the worker (the listener's connection slot is not theirs).
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self = std::move(self), r = std::move(r), head, keep_alive, http11, gzip_ok]() mutable {
        if (r.stream) return self->start_stream(std::move(r), keep_alive, head, gzip_ok, http11);
        self->respond(r.status, std::move(r.body), keep_alive, r.content_type, head, std::move(r.headers));
      });
    };
    try {
      http_(request, std::move(reply));
    } catch (...) {
      // A handler's bug is this request's 500, never the node's end.
      respond(500, error_body("internal error"), keep_alive);
    }
  }

  // Large text answers travel compressed when the client asks for it.
  static void compress(HttpResponse& r, bool accepts_gzip) {
    if (accepts_gzip && r.body.size() >= kGzipFrom && r.status == 200) {
      if (auto packed = gzip(r.body)) {
        r.body = std::move(*packed);
        r.headers.emplace_back("Content-Encoding", "gzip");
      }
    }
    if (r.body.size() >= kGzipFrom || accepts_gzip) r.headers.emplace_back("Vary", "Accept-Encoding");
  }

  void respond(int status, std::string body, bool keep_alive, const std::string& type = "application/json",
               bool head = false, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "agora");
    res->set(http::field::content_type, type);
    set_cors(*res);
    for (auto& [name, value] : headers) res->set(name, value);
    res->keep_alive(keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    if (head) res->body().clear();
    lowest().expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
      if (ec) return self->close_now();
      if (!keep_alive) return self->close_gracefully();
      self->do_read();
    });
  }

  // The header now, then the source's pieces as chunks, each asked for once the last is
  // written.
  void start_stream(HttpResponse r, bool keep_alive, bool head, bool accepts_gzip, bool chunked) {
    auto res = std::make_shared<http::response<http::empty_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "agora");
    res->set(http::field::content_type, r.content_type);
    set_cors(*res);
    for (auto& [name, value] : r.headers) res->set(name, value);
    std::unique_ptr<GzipStream> packer;
    if (accepts_gzip && r.stream->compressible() && !head) {
      packer = std::make_unique<GzipStream>();
      if (packer->ok())
        res->set(http::field::content_encoding, "gzip");
      else
        packer.reset();
    }
    if (r.stream->compressible()) res->set(http::field::vary, "Accept-Encoding");
    // An event stream ends only with the connection; reading meanwhile shows when the
    // client has gone, so its slot is freed at once rather than at the next heartbeat.
    bool watch = !r.stream->compressible();
    keep_alive_ = keep_alive && !watch && chunked;
    res->keep_alive(keep_alive_);
    res->chunked(chunked);
    auto answer = std::make_shared<StreamedAnswer>(shared_from_this(), std::move(r.stream), std::move(packer), chunked);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    lowest().expires_after(std::chrono::seconds(30));
    http::async_write_header(
        stream_, *serializer,
        [self = shared_from_this(), answer, res, serializer, head, watch](beast::error_code ec, size_t) {
          if (ec || head) {
            answer->stop();
            if (ec) return self->close_now();
            if (!self->keep_alive_) return self->close_gracefully();
            return self->do_read();
          }
          if (watch) {
            self->watching_ = true;
            self->watch_client(answer);
          }
          answer->pull();
        });
  }

  // The answer's last chunk is written.
  void answer_completed() {
    // The watching read still waits: cancel it, and it ends the connection in turn, so
    // that a TLS close never runs beside another operation.
    if (watching_) return lowest().cancel();
    if (!keep_alive_) return close_gracefully();
    do_read();
  }

  void watch_client(std::shared_ptr<StreamedAnswer> answer) {
    stream_.async_read_some(
        watch_buffer_.prepare(512), [self = shared_from_this(), answer](beast::error_code ec, size_t) {
          switch (answer->state()) {
            case StreamedAnswer::State::completed:
              self->watching_ = false;
              return self->close_gracefully();
            case StreamedAnswer::State::stopped:
              return;  // whoever stopped it closes the connection
            case StreamedAnswer::State::playing:
              if (ec) {
                answer->stop();
                return self->close_now();
              }
              return self->watch_client(answer);  // bytes from a client that should be listening: ignored
          }
        });
  }

  // Ends the connection with a proper close (TLS close_notify, TCP FIN after what was
  // written); only when no other operation is pending on it.
  void close_gracefully() {
    if (closed_) return;
    closed_ = true;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      lowest().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->lowest().close(); });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.close();
    }
  }

  // Ends the connection at once: pending operations complete with an error, and their
  // continuations find the session closed.
  void close_now() {
    if (closed_) return;
    closed_ = true;
    lowest().close();
  }

  Stream stream_;
  std::shared_ptr<ConnectionSlot> slot_;
  beast::flat_buffer buffer_, watch_buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true, watching_ = false, closed_ = false;
  TransportLimits limits_;
  HttpHandler http_;
  PeerAcceptor peers_;
  std::string remote_;
};

class ListenerImpl : public Listener, public std::enable_shared_from_this<ListenerImpl> {
 public:
  ListenerImpl(asio::io_context& io, const tcp::endpoint& at, TransportLimits limits, HttpHandler http,
               PeerAcceptor peers, Admission admission, std::shared_ptr<TlsContexts> tls, size_t max_http)
      : io_(io),
        acceptor_(io),
        limits_(limits),
        http_(std::move(http)),
        peers_(std::move(peers)),
        admission_(std::move(admission)),
        tls_(std::move(tls)),
        max_http_(max_http) {
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
             "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: ETag, Retry-After, "
             "Content-Disposition\r\n"
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
  size_t open_connections() const override { return *open_; }
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
  auto parsed = parse_host_port(hostport);
  if (!parsed) return false;
  out.host = parsed->host;
  out.port = std::to_string(parsed->port);
  return true;
}

// What was wrong with a peer's certificate, and what fixes it ("" when the handshake failed
// for another reason): an operator reads this in `agora peer list` and the log.
std::string certificate_problem(SSL* ssl, const std::string& host, const beast::error_code& ec) {
  long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) {
    // The chain verified but the name check (asio's host_name_verification) refused it.
    if (ec.message().find("certificate verify failed") == std::string::npos) return "";
    return "; the peer's certificate does not name " + host +
           ": dial the name it was issued for, or the peer needs a certificate for " + host;
  }
  std::string out = std::string("; the peer's certificate: ") + X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return out + " (a private or self-signed CA? trust it with --tls-ca FILE, serve.tls-ca in the config file)";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return out + " (the peer must renew it; check this machine's clock too)";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return out + " (check this machine's clock)";
    default:
      return out;
  }
}

// Connects, then (wss) the TLS handshake, then the WebSocket handshake.
template <class Stream>
void dial_stream(std::shared_ptr<websocket::stream<Stream>> ws, asio::io_context& io, const Url& u,
                 const TransportLimits& limits, std::function<void(std::shared_ptr<Transport>, std::string)> done) {
  auto resolver = std::make_shared<tcp::resolver>(io);
  resolver->async_resolve(
      u.host, u.port, [resolver, ws, u, limits, done](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) return done(nullptr, "cannot resolve " + u.host + ": " + ec.message());
        beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(limits.handshake_timeout_s));
        beast::get_lowest_layer(*ws).async_connect(
            results, [ws, u, limits, done](beast::error_code ec, const tcp::endpoint& ep) {
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
                ws->next_layer().async_handshake(
                    ssl::stream_base::client, [ws, remote, host = u.host, upgrade, done](beast::error_code ec) {
                      if (ec)
                        return done(nullptr, "TLS handshake with " + remote + " failed: " + ec.message() +
                                                 certificate_problem(ws->next_layer().native_handle(), host, ec));
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

void dial(asio::io_context& io, const std::string& url, const TransportLimits& limits, std::shared_ptr<TlsContexts> tls,
          std::function<void(std::shared_ptr<Transport>, std::string)> done) {
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
