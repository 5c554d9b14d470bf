// A JSON answer from a node's HTTP API, with its status asserted (Catch2).
#pragma once

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "http_client.hpp"
#include "sync/served_node.hpp"

namespace agora::test {

inline nlohmann::json get_json(const std::string& base_url, const std::string& target, int expected_status = 200) {
  auto r = http_get(base_url, target);
  INFO(base_url << target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expected_status);
  return nlohmann::json::parse(r.body);
}

inline nlohmann::json get_json(const ServedNode& node, const std::string& target, int expected_status = 200) {
  return get_json(node.http_url, target, expected_status);
}

}  // namespace agora::test
