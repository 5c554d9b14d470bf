#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <thread>

namespace agora::test {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// "HOST:PORT" of http://HOST:PORT/..., and the endpoints it resolves to.
struct Authority {
  std::string host_port, host, port;
  explicit Authority(const std::string& base_url) {
    host_port = base_url.substr(base_url.find("//") + 2);
    host_port = host_port.substr(0, host_port.find('/'));
    host = host_port.substr(0, host_port.rfind(':'));
    port = host_port.substr(host_port.rfind(':') + 1);
  }
  tcp::resolver::results_type resolve(boost::asio::io_context& io) const {
    return tcp::resolver(io).resolve(host, port);
  }
};

}  // namespace

HttpReply http_request(const std::string& base_url, const std::string& method, const std::string& target,
                       const std::map<std::string, std::string>& headers) {
  Authority at(base_url);
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(at.resolve(io));
  http::request<http::empty_body> req(http::string_to_verb(method), target, 11);
  if (req.method() == http::verb::unknown) req.method_string(method);
  req.set(http::field::host, at.host_port);
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : headers) req.set(k, v);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  if (req.method() == http::verb::head) parser.skip(true);
  http::read(stream, buffer, parser);
  auto& res = parser.get();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  HttpReply reply{static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), res.body(), {}};
  for (const auto& f : res) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers[name] = std::string(f.value());
  }
  return reply;
}

std::string raw_http(const std::string& base_url, const std::string& bytes, std::chrono::milliseconds wait,
                     const std::string& until) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(Authority(base_url).resolve(io));
  beast::error_code ec;
  boost::asio::write(stream.socket(), boost::asio::buffer(bytes), ec);  // the server may close early
  // Beast's timeouts apply to asynchronous reads only.
  std::string out;
  char buf[4096];
  std::function<void()> read = [&] {
    stream.socket().async_read_some(boost::asio::buffer(buf), [&](beast::error_code e, size_t n) {
      out.append(buf, n);
      if (!until.empty() && out.find(until) != std::string::npos) return io.stop();
      if (!e) read();
    });
  };
  read();
  io.run_for(wait);
  return out;
}

struct HeldConnection::Impl {
  boost::asio::io_context io;
  tcp::socket socket{io};
  std::string received;
};

HeldConnection::HeldConnection(const std::string& base_url, const std::string& bytes)
    : impl_(std::make_unique<Impl>()) {
  boost::asio::connect(impl_->socket, Authority(base_url).resolve(impl_->io));
  boost::asio::write(impl_->socket, boost::asio::buffer(bytes));
  impl_->socket.non_blocking(true);
}

HeldConnection::~HeldConnection() = default;

std::string HeldConnection::received() {
  beast::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = impl_->socket.read_some(boost::asio::buffer(buf), ec);
    if (ec) break;  // would_block: nothing more yet; eof: the server closed
    impl_->received.append(buf, n);
  }
  return impl_->received;
}

std::string HeldConnection::received_until(const std::string& marker, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (received().find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return impl_->received;
}

}  // namespace agora::test
