// File and store helpers the CLI tests share: defined once, since the tests compile in unity
// batches where two files' private helpers of one name would clash.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/process.hpp"

namespace agora::test {

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What "unchanged" means for a store: heads, counts and the log length.
inline std::string store_state(const std::string& data) {
  auto r = run_agora({"status", "--data", data, "--json"});
  REQUIRE(r.exit_code == 0);
  nlohmann::json s = nlohmann::json::parse(r.out);
  return s["origins"].dump() + s["records"].dump() + s["log_length"].dump();
}

}  // namespace agora::test
