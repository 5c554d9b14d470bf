// A self-signed certificate for 127.0.0.1 made by the openssl tool, for wss:// tests.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "temp_dir.hpp"

namespace agora::test {

struct Certificate {
  std::string cert, key;
};

inline Certificate make_certificate(const TempDir& dir) {
  Certificate c{dir.str("cert.pem"), dir.str("key.pem")};
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=agora-test"
      " -addext subjectAltName=IP:127.0.0.1 -keyout " +
      c.key + " -out " + c.cert + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
  return c;
}

}  // namespace agora::test
