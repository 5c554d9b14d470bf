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

HttpReply http_request(const std::string& base_url, const std::string& method, const std::string& target,
                       const std::map<std::string, std::string>& headers) {
  std::string rest = base_url.substr(base_url.find("//") + 2);
  rest = rest.substr(0, rest.find('/'));
  std::string host = rest.substr(0, rest.rfind(':')), port = rest.substr(rest.rfind(':') + 1);
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(resolver.resolve(host, port));
  http::request<http::empty_body> req(http::string_to_verb(method), target, 11);
  if (req.method() == http::verb::unknown) req.method_string(method);
  req.set(http::field::host, rest);
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
  std::string rest = base_url.substr(base_url.find("//") + 2);
  rest = rest.substr(0, rest.find('/'));
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.connect(resolver.resolve(rest.substr(0, rest.rfind(':')), rest.substr(rest.rfind(':') + 1)));
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

HeldConnection::HeldConnection(const std::string& base_url, const std::string& bytes) : impl_(std::make_unique<Impl>()) {
  std::string rest = base_url.substr(base_url.find("//") + 2);
  rest = rest.substr(0, rest.find('/'));
  tcp::resolver resolver(impl_->io);
  boost::asio::connect(impl_->socket, resolver.resolve(rest.substr(0, rest.rfind(':')), rest.substr(rest.rfind(':') + 1)));
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
