#include "cli/cli_support.hpp"

#include <fstream>
#include <iostream>
#include <sstream>

#include "protocol/limits.hpp"

namespace agora::cli {

void add_data_option(CLI::App* verb, Context& ctx) {
  verb->add_option("--data", ctx.data, "data directory (default: $AGORA_DATA, else ./agora-data)");
}

void add_json_option(CLI::App* verb, Context& ctx) {
  verb->add_flag("--json", ctx.json, "print machine-readable JSON on stdout");
}

std::string read_input(const std::string& file) {
  std::ostringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw InvalidInput(file + ": cannot open for reading");
    ss << in.rdbuf();
  }
  std::string text = ss.str();
  if (text.size() > limits::kMaxInputLineBytes)
    throw InvalidInput((file == "-" ? std::string("<stdin>") : file) + ": larger than the 512 KiB input limit");
  return text;
}

std::string short_id(const PublicKey& key) { return node_id(key).substr(0, 12); }

}  // namespace agora::cli
