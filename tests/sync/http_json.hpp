// A JSON answer from a node's HTTP API, with its status asserted (Catch2).
#pragma once

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "http_client.hpp"
#include "sync/served_node.hpp"

namespace agora::test {

// Waits (up to 20 s) until the node's search index has read its whole log, as a client
// that wants words matched in what it just published does; lists need no such wait.
inline bool wait_for_search_index(const std::string& base_url) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http_get(base_url, "/health");
    if (r.status == 200) {
      auto index = nlohmann::json::parse(r.body)["search_index"];
      if (index["state"] != "building" && index["behind"] == 0) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A target with words to match (q=) first waits for the search index.
inline nlohmann::json get_json(const std::string& base_url, const std::string& target, int expected_status = 200) {
  if (target.find("q=") != std::string::npos && target.find("/api/v1/") == 0) wait_for_search_index(base_url);
  auto r = http_get(base_url, target);
  INFO(base_url << target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == expected_status);
  return nlohmann::json::parse(r.body);
}

inline nlohmann::json get_json(const ServedNode& node, const std::string& target, int expected_status = 200) {
  return get_json(node.http_url, target, expected_status);
}

}  // namespace agora::test
