// agora: the command-line front end of a city node.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "cli/cli_support.hpp"

// Diagnostics go to stderr through spdlog; AGORA_LOG=debug|info|warn|error|off (default
// warn) so that by default a failing verb prints exactly one `error:` line.
static void set_up_logging() {
  auto logger = spdlog::stderr_logger_st("agora");
  logger->set_pattern("%^%l%$: %v");
  const char* level = std::getenv("AGORA_LOG");
  logger->set_level(level ? spdlog::level::from_str(level) : spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

int main(int argc, char** argv) {
  using namespace agora::cli;
  set_up_logging();
  CLI::App app{"agora - a peer-network node for cities exchanging inclusion practices", "agora"};
  app.require_subcommand(1);
  app.fallthrough();  // `agora publish FILE --key K` as well as `agora --key K publish FILE`
  app.set_version_flag("--version", "agora 0.1.0");
  Context ctx;
  // Before the verb as well as after it (`agora --data DIR init` reads as `agora init --data DIR`).
  app.add_option("--data", ctx.data, "data directory (default: $AGORA_DATA, else ./agora-data)");
  app.add_option("--key", ctx.key_file,
                 "sign with this private key file, one the city delegated (`agora key add`), instead of the node's")
      ->envname("AGORA_KEY");
  app.add_option("--remote", ctx.remote,
                 "publish through the city's node: a command that runs agora there, e.g. \"ssh lyon-node agora\" "
                 "(with --key: the key stays on this machine)")
      ->envname("AGORA_REMOTE");
  for (Registrar r :
       {register_init,     register_id,      register_status,  register_publish, register_import, register_list,
        register_show,     register_retract, register_erase,   register_compact, register_verify, register_export,
        register_serve,    register_peer,    register_network, register_search,  register_plan,   register_report,
        register_progress, register_adopt,   register_demo,    register_key,     register_invite, register_submission,
        register_block,    register_moderate})
    r(app, ctx);

  auto is_verb = [&](const std::string& name) {
    for (const CLI::App* verb : app.get_subcommands({}))
      if (verb->check_name(name)) return true;
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !is_verb(argv[1])) {
    std::cerr << "error: unknown verb \"" << argv[1] << "\" (see `agora --help`)\n";
    return kExitUsage;
  }
  // A verb made of sub-verbs (key, peer, moderate ...) given an unknown one: say which.
  if (argc > 2 && argv[2][0] != '-')
    for (CLI::App* verb : app.get_subcommands({}))
      if (verb->check_name(argv[1]) && verb->get_require_subcommand_min() > 0) {
        std::vector<std::string> names;
        bool known = false;
        for (const CLI::App* sub : verb->get_subcommands({}))
          names.push_back(sub->get_name()), known |= sub->check_name(argv[2]);
        if (known) break;
        auto near = agora::nearest(argv[2], names);
        std::cerr << "error: unknown " << argv[1] << " action \"" << argv[2] << "\""
                  << (near ? "; did you mean \"" + *near + "\"?" : "") << " (see `agora " << argv[1] << " --help`)\n";
        return kExitUsage;
      }
  try {
    app.parse(argc, argv);
    return ctx.exit_code;
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << " (see `agora --help`)\n";
    return kExitUsage;
  } catch (const agora::InvalidInput& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitInvalid;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitFailure;
  }
}
