// A blocking HTTP/1.1 client against a node on loopback, for tests (Beast stays in the .cpp).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace agora::test {

struct HttpReply {
  int status = 0;
  std::string content_type, body;
  std::map<std::string, std::string> headers;  // names lowercased
};

// base_url: http://HOST:PORT/ (as `serve` prints it); target: "/api/v1/...", sent as is.
HttpReply http_request(const std::string& base_url, const std::string& method, const std::string& target,
                       const std::map<std::string, std::string>& headers = {});
// Sends bytes as they are and returns whatever comes back until the server closes (or
// `wait` passes): for malformed and hostile requests.
// With `until`: returns as soon as what was read contains it (a slow machine gets the whole
// of `wait`, a fast one does not wait it out).
std::string raw_http(const std::string& base_url, const std::string& bytes, std::chrono::milliseconds wait,
                     const std::string& until = "");

// A connection the test holds open, e.g. with a request that never ends. The constructor
// returns once the kernel has queued the connection for the server's accept, so the server
// accepts it before any connection the test opens afterwards.
class HeldConnection {
 public:
  HeldConnection(const std::string& base_url, const std::string& bytes);
  ~HeldConnection();
  // Everything the server has sent so far, without waiting.
  std::string received();
  // The same, once it contains `marker` or `wait` has passed.
  std::string received_until(const std::string& marker, std::chrono::milliseconds wait);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline HttpReply http_get(const std::string& base_url, const std::string& target) {
  return http_request(base_url, "GET", target);
}

}  // namespace agora::test
