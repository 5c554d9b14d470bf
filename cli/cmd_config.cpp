// agora config check [FILE]: a config file's every problem, without running anything.
#include <iostream>

#include "cli/cli_support.hpp"
#include "cli/config_file.hpp"

namespace agora::cli {

void register_config(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand("config", "the node's TOML config file: check");
  verb->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto* check = verb->add_subcommand(
      "check",
      "check a config file: every unknown key (with the nearest known one), every value an option refuses (with "
      "what it accepts), every bad [[peers]] entry; exit 0 when none, 3 otherwise");
  check->add_option("FILE", *file, "the config file (default: --config, else $AGORA_CONFIG)");
  check->callback([&ctx, file] {
    std::string path = !file->empty() ? *file : ctx.config_file;
    if (path.empty())
      if (const char* env = std::getenv("AGORA_CONFIG")) path = env;
    if (path.empty()) throw CLI::ValidationError("FILE", "name the config file (FILE, --config or $AGORA_CONFIG)");
    CLI::App pristine;
    Context scratch;
    build_app(pristine, scratch);
    ConfigFile config = read_config(path, pristine);
    for (const auto& p : config.problems) std::cerr << "error: " << p.text() << "\n";
    if (!config.problems.empty()) {
      std::cerr << "error: " << path << ": " << config.problems.size() << " problem(s)\n";
      ctx.exit_code = kExitInvalid;
      return;
    }
    std::cout << path << ": ok (" << config.global.size() << " top-level and [log] settings, " << config.serve.size()
              << " [serve] settings, " << config.peers.size() << " peers)\n";
  });
}

}  // namespace agora::cli
