#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace agora::test {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpReply http_get(const std::string& base_url, const std::string& target) {
  std::string rest = base_url.substr(base_url.find("//") + 2);
  rest = rest.substr(0, rest.find('/'));
  std::string host = rest.substr(0, rest.rfind(':')), port = rest.substr(rest.rfind(':') + 1);
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(resolver.resolve(host, port));
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, rest);
  req.set(http::field::connection, "close");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), res.body()};
}

}  // namespace agora::test
