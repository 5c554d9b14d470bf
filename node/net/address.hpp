// HOST:PORT addresses as the CLI, the peer list and the listeners write them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agora::net {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  uint16_t port = 0;
};

// "HOST:PORT", or "[IPv6]:PORT"; nullopt when the port is missing or not 0-65535.
std::optional<HostPort> parse_host_port(std::string_view text);
// The inverse: brackets around an IPv6 literal.
std::string format_host_port(const std::string& host, uint16_t port);
// The host part of a remote address ("1.2.3.4:5678" -> "1.2.3.4"); the text when it has no port.
std::string host_of(const std::string& address);

}  // namespace agora::net
