// agora: the command-line front end of a city node.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>

#include <cstdlib>
#include <iostream>

#include "cli/cli_support.hpp"
#include "cli/config_file.hpp"
#include "protocol/release.hpp"

namespace {

using namespace agora::cli;

// A log line's message as a JSON string (--log-format json).
class JsonMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string text = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

// sd-daemon's priority prefix ("<6>" for info): journald files each line at its level.
class JournalPriority : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    int priority = msg.level >= spdlog::level::critical ? 2
                   : msg.level == spdlog::level::err    ? 3
                   : msg.level == spdlog::level::warn   ? 4
                   : msg.level == spdlog::level::info   ? 6
                                                        : 7;
    std::string text = "<" + std::to_string(priority) + ">";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalPriority>(); }
};

// Diagnostics go to stderr through spdlog. The level: --log-level, else $AGORA_LOG, else
// `info` for serve and demo (connections, refusals, their reasons) and `warn` for every other
// verb, so that a failing verb prints exactly one `error:` line. The format: text (under
// systemd, whose journal stamps the time, a priority prefix instead of a timestamp) or json,
// one object per line.
void set_up_logging(const std::vector<std::string>& args, const std::string& verb) {
  std::string level, format = "text";
  for (size_t i = 1; i + 1 < args.size(); ++i) {
    if (args[i] == "--log-level") level = args[i + 1];
    if (args[i] == "--log-format") format = args[i + 1];
  }
  for (const auto& a : args) {
    if (a.starts_with("--log-level=")) level = a.substr(12);
    if (a.starts_with("--log-format=")) format = a.substr(13);
  }
  if (level.empty()) {
    const char* env = std::getenv("AGORA_LOG");
    level = env ? env : (verb == "serve" || verb == "demo") ? "info" : "warn";
  }
  auto logger = spdlog::stderr_logger_st("agora");
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  bool long_running = verb == "serve" || verb == "demo";
  if (format == "json")
    formatter->add_flag<JsonMessage>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":%*})");
  else if (long_running && std::getenv("JOURNAL_STREAM"))
    formatter->add_flag<JournalPriority>('?').set_pattern("%?%l: %v");
  else if (long_running)
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$: %v");
  else
    formatter->set_pattern("%^%l%$: %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace

namespace agora::cli {

void build_app(CLI::App& app, Context& ctx) {
  app.require_subcommand(1);
  app.fallthrough();  // `agora publish FILE --key K` as well as `agora --key K publish FILE`
  app.set_version_flag("--version", std::string("agora ") + kRelease);
  // Before the verb as well as after it (`agora --data DIR init` reads as `agora init --data DIR`).
  app.add_option("--data", ctx.data, "data directory (default: $AGORA_DATA, else ./agora-data)");
  app.add_option("--key", ctx.key_file,
                 "sign with this private key file, one the city delegated (`agora key add`), instead of the node's")
      ->envname("AGORA_KEY");
  app.add_option("--remote", ctx.remote,
                 "publish through the city's node: a command that runs agora there, e.g. \"ssh lyon-node agora\" "
                 "(with --key: the key stays on this machine)")
      ->envname("AGORA_REMOTE");
  app.add_option("--config", ctx.config_file,
                 "read options from this TOML file (docs/operations.md); the command line and $AGORA_DATA, "
                 "$AGORA_LOG win over it (default: $AGORA_CONFIG)");
  app.add_option("--log-level", ctx.log_level,
                 "debug, info, warn, error or off (default: $AGORA_LOG, else info for serve and demo, warn otherwise)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", ctx.log_format,
                 "text (under systemd: journal priorities, no timestamps) or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}));
  for (Registrar r : {register_init,     register_id,        register_status,  register_publish,    register_import,
                      register_list,     register_show,      register_retract, register_erase,      register_compact,
                      register_verify,   register_export,    register_serve,   register_peer,       register_network,
                      register_search,   register_plan,      register_report,  register_progress,   register_adopt,
                      register_demo,     register_key,       register_invite,  register_submission, register_block,
                      register_moderate, register_translate, register_config,  register_edit,       register_new,
                      register_backup,   register_doctor})
    r(app, ctx);
}

}  // namespace agora::cli

namespace {

// Where the verb is: the first word that is not an option or the value of a global one.
size_t verb_index(const std::vector<std::string>& args) {
  size_t at = 1;
  while (at < args.size() && args[at].starts_with("-")) {
    const std::string& option = args[at];
    bool takes_value = option == "--data" || option == "--key" || option == "--remote" || option == "--config" ||
                       option == "--log-level" || option == "--log-format";
    at += takes_value ? 2 : 1;
  }
  return at;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  size_t verb_at = verb_index(args);
  std::string verb_name = verb_at < args.size() ? args[verb_at] : "";
  // The config file's values, for what neither the command line nor the environment gives;
  // every problem of it at once (`agora config check` reports them without running anything).
  ConfigFile config;
  std::string config_file = config_path(args);
  if (!config_file.empty() && verb_name != "config") {
    CLI::App pristine;
    Context scratch;
    build_app(pristine, scratch);
    config = read_config(config_file, pristine);
    if (!config.problems.empty()) {
      for (const auto& p : config.problems) std::cerr << "error: " << p.text() << "\n";
      std::cerr << "error: " << config_file << ": " << config.problems.size() << " problem(s); `agora config check "
                << config_file << "` lists them\n";
      return kExitInvalid;
    }
    args = with_config(args, verb_at, config);
    verb_at = verb_index(args);
  }
  set_up_logging(args, verb_name);
  CLI::App app{"agora - a peer-network node for cities exchanging inclusion practices", "agora"};
  Context ctx;
  if (!config_file.empty() && verb_name != "config") ctx.config = &config;
  build_app(app, ctx);
  std::vector<char*> arg_pointers;
  for (auto& a : args) arg_pointers.push_back(a.data());
  argc = static_cast<int>(arg_pointers.size());
  argv = arg_pointers.data();

  auto find_verb = [&](const std::string& name) -> CLI::App* {
    for (CLI::App* verb : app.get_subcommands({}))
      if (verb->check_name(name)) return verb;
    return nullptr;
  };
  // A misspelt verb or sub-verb is named, with a suggestion.
  int at = static_cast<int>(verb_at);
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
