// The practical limit for bench/http.sh: a minimal Boost.Beast HTTP/1.1 server that
// answers every request with the same 2 KB JSON body (keep-alive, async, no routing, no
// storage). Usage: agora_fixed_http [THREADS]; prints "http http://127.0.0.1:PORT/".
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

const std::string kBody = [] {
  std::string b = R"({"title":"fixed","summary":")";
  b.append(2048 - b.size() - 2, 'x');
  return b + "\"}";
}();

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket s) : stream_(std::move(s)) {}
  void read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, self->req_.version());
      res->set(http::field::server, "fixed");
      res->set(http::field::content_type, "application/json");
      res->keep_alive(self->req_.keep_alive());
      res->body() = kBody;
      res->prepare_payload();
      http::async_write(self->stream_, *res, [self, res](beast::error_code ec, size_t) {
        if (!ec && res->keep_alive()) self->read();
      });
    });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> req_;
};

void accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s))->read();
    }
    accept(acceptor);
  });
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 1;
  asio::io_context io(threads);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::cout << "http http://127.0.0.1:" << acceptor.local_endpoint().port() << "/" << std::endl;
  accept(acceptor);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
}
