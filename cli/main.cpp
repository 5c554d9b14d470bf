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
       {register_init,     register_id,       register_status,   register_publish, register_import, register_list,
        register_show,     register_retract,  register_erase,    register_compact, register_verify, register_export,
        register_serve,    register_peer,     register_network,  register_search,  register_plan,   register_report,
        register_progress, register_adopt,    register_demo,     register_key,     register_invite, register_submission,
        register_block,    register_moderate, register_translate})
    r(app, ctx);

  auto find_verb = [&](const std::string& name) -> CLI::App* {
    for (CLI::App* verb : app.get_subcommands({}))
      if (verb->check_name(name)) return verb;
    return nullptr;
  };
  // The verb is the first word that is not an option or the value of a global one
  // (`agora --data DIR VERB ...`); a misspelt verb or sub-verb is named, with a suggestion.
  int at = 1;
  while (at < argc && argv[at][0] == '-') {
    std::string option = argv[at];
    at += (option == "--data" || option == "--key" || option == "--remote") ? 2 : 1;
  }
  auto unknown = [&](const std::string& what, const std::string& word, const std::vector<std::string>& names,
                     const std::string& help) {
    auto near = agora::nearest(word, names);
    std::cerr << "error: unknown " << what << " \"" << word << "\"" << (near ? "; did you mean \"" + *near + "\"?" : "")
              << " (see `" << help << " --help`)\n";
    return kExitUsage;
  };
  if (at < argc) {
    std::vector<std::string> verbs;
    for (const CLI::App* verb : app.get_subcommands({})) verbs.push_back(verb->get_name());
    CLI::App* verb = find_verb(argv[at]);
    if (!verb) return unknown("verb", argv[at], verbs, "agora");
    // A verb made of sub-verbs (key, peer, moderate ...): its first word must name one.
    if (verb->get_require_subcommand_min() > 0 && at + 1 < argc && argv[at + 1][0] != '-') {
      std::vector<std::string> names;
      bool known = false;
      for (const CLI::App* sub : verb->get_subcommands({}))
        names.push_back(sub->get_name()), known |= sub->check_name(argv[at + 1]);
      if (!known)
        return unknown(std::string(argv[at]) + " action", argv[at + 1], names, "agora " + std::string(argv[at]));
    }
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
