// What every verb shares: the data-dir option, input reading, output helpers, exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "node/local/data_dir.hpp"

namespace agora {
struct PeerConfig;
struct PublisherIdentity;
class FrameworkCatalog;
namespace storage {
class StoreReader;
}
}  // namespace agora

namespace agora::cli {

struct ConfigFile;

// Exit codes of the contract.
inline constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2, kExitInvalid = 3;

// Options every verb takes; a verb's callback sets the exit code it wants.
struct Context {
  std::string data;
  std::string key_file;  // --key FILE / $AGORA_KEY: sign with a key the city delegated
  std::string remote;    // --remote CMD / $AGORA_REMOTE: a command that runs agora on the city's node
  bool json = false;
  int exit_code = kExitOk;
  std::string config_file, log_level, log_format;  // read before the verb runs (main.cpp)
  const ConfigFile* config = nullptr;              // --config FILE / $AGORA_CONFIG, when given
};

void add_data_option(CLI::App* verb, Context& ctx);
// Opens the data dir for a verb that signs records: with the key of --key / $AGORA_KEY
// when one is given (a key the city delegated), else the node's own.
DataDir open_to_publish(const Context& ctx);
// Creates FILE (never overwriting one) readable by its owner only, holding the private key.
void write_new_key_file(const std::filesystem::path& file, const SigningKey& key);
void add_json_option(CLI::App* verb, Context& ctx);

// Reads FILE, or standard input for "-"; throws InvalidInput naming the file.
std::string read_input(const std::string& file);

// --year: "YYYY" or "YYYY-YYYY" as an inclusive range; throws InvalidInput otherwise.
std::pair<int, int> parse_year_range(const std::string& text);

// `publish` through the city's node (--remote): drafted there, signed here with --key,
// stored there; returns the exit code.
int publish_remotely(const Context& ctx, const std::string& input_text, bool revive = false);

// A peer as `peer add URL --key KEY --relation R` (and a config file's [[peers]]) gives
// it; throws InvalidInput naming the bad argument.
PeerConfig peer_to_add(const std::string& url, const std::string& key, const std::string& relation);

// The current version of REF as publishable input: kind, id, visibility and its body's
// fields (`show --as-input`, `edit`); throws InvalidInput when it has none to give.
nlohmann::ordered_json record_as_input(const storage::StoreReader& reader, DataDir& dir, const std::string& ref);

// Throws InvalidInput naming every problem of an input that does not validate (up to a
// limit; protocol/input_schema.hpp, input_errors), one per line, for publish and plan publish.
[[noreturn]] void refuse_input(const std::string& name, std::string_view text, const PublisherIdentity& self,
                               const FrameworkCatalog& frameworks);

// A size for people: "212.4 MiB".
std::string mib_text(uint64_t bytes);

// Option checks that say what they accept: "expected a whole number from 2 to 86400, got
// 30.5" (CLI::Range calls 30.5 out of range, and prints its bounds as 2.000000).
CLI::Validator whole_number_in(long long lo, long long hi);
CLI::Validator number_in(double lo, double hi);

// The whole command line interface into `app`: the global options, then every verb.
void build_app(CLI::App& app, Context& ctx);

using Registrar = void (*)(CLI::App& app, Context& ctx);
void register_config(CLI::App&, Context&);
void register_edit(CLI::App&, Context&);
void register_new(CLI::App&, Context&);
void register_backup(CLI::App&, Context&);  // backup and restore
void register_doctor(CLI::App&, Context&);
void register_submission(CLI::App&, Context&);
void register_init(CLI::App&, Context&);
void register_id(CLI::App&, Context&);
void register_status(CLI::App&, Context&);
void register_publish(CLI::App&, Context&);
void register_import(CLI::App&, Context&);
void register_list(CLI::App&, Context&);
void register_show(CLI::App&, Context&);
void register_retract(CLI::App&, Context&);
void register_translate(CLI::App&, Context&);
void register_erase(CLI::App&, Context&);
void register_compact(CLI::App&, Context&);
void register_block(CLI::App&, Context&);  // block and unblock
void register_moderate(CLI::App&, Context&);
void register_verify(CLI::App&, Context&);
void register_export(CLI::App&, Context&);
void register_serve(CLI::App&, Context&);
void register_peer(CLI::App&, Context&);
void register_network(CLI::App&, Context&);
void register_search(CLI::App&, Context&);
void register_plan(CLI::App&, Context&);
void register_report(CLI::App&, Context&);
void register_progress(CLI::App&, Context&);
void register_adopt(CLI::App&, Context&);
void register_demo(CLI::App&, Context&);
void register_key(CLI::App&, Context&);
void register_invite(CLI::App&, Context&);  // invite and join

}  // namespace agora::cli
