// Every error code the node can send is documented in docs/protocol.md section 9, and every
// code documented there is one the node knows: the two lists agree both ways.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "protocol/sync_messages.hpp"

using namespace agora;

TEST_CASE("error codes: the code's list and docs/protocol.md's table agree both ways", "[protocol]") {
  std::ifstream in(std::string(AGORA_SOURCE_DIR) + "/docs/protocol.md");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  auto start = doc.find("## 9. Errors and limits");
  REQUIRE(start != std::string::npos);
  auto end = doc.find("\n## ", start + 1);
  std::string section = doc.substr(start, end - start);
  std::set<std::string> documented;
  std::regex row(R"(\n\| `([a-z-]+)` \|)");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), row); it != std::sregex_iterator(); ++it)
    documented.insert((*it)[1]);

  std::set<std::string> known;
  for (sync::ErrorCode code : sync::kAllErrorCodes) known.insert(std::string(sync::error_code_name(code)));

  for (const auto& code : known) {
    INFO("sent by the node, missing from the table: " << code);
    CHECK(documented.count(code));
  }
  for (const auto& code : documented) {
    INFO("in the table, unknown to the node: " << code);
    CHECK(known.count(code));
  }
  CHECK(known.size() == 15);
}
