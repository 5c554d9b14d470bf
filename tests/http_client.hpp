// A blocking HTTP/1.1 GET against a node on loopback, for tests (Beast stays in the .cpp).
#pragma once

#include <string>

namespace agora::test {

struct HttpReply {
  int status = 0;
  std::string content_type, body;
};

// url: http://HOST:PORT/ (as `serve` prints it); target: "/api/v1/...".
HttpReply http_get(const std::string& base_url, const std::string& target);

}  // namespace agora::test
