// Reading a served node's gauges from /metrics, for tests that wait on the node's state
// instead of sleeping.
#pragma once

#include <stdexcept>
#include <string>

#include "http_client.hpp"
#include "sync/served_node.hpp"

namespace agora::test {

// agora_http_connections_open{listener} as the node reports it. It is read from the other
// port's /metrics, so the request that reads it is not among those it counts.
inline size_t open_http_connections(const ServedNode& node, const std::string& listener) {
  std::string sync_http = "http://" + node.sync_url.substr(5, node.sync_url.rfind('/') - 5) + "/";  // ws://H:P/sync
  auto metrics = http_get(listener == "http" ? sync_http : node.http_url, "/metrics").body;
  std::string key = "agora_http_connections_open{listener=\"" + listener + "\"} ";
  auto at = metrics.find(key);
  if (at == std::string::npos) throw std::runtime_error("no " + key + "in /metrics");
  return std::stoull(metrics.substr(at + key.size()));
}

}  // namespace agora::test
