// The node's TOML config file (docs/operations.md, "The config file"): read, checked against
// the verbs' own command-line options, and turned into the arguments a command line lacks.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace agora::cli {

// One problem of a config file, at its line: "FILE:LINE: MESSAGE".
struct ConfigProblem {
  std::string file;
  long line = 0;
  std::string message;
  std::string text() const { return file + (line ? ":" + std::to_string(line) : std::string()) + ": " + message; }
};

// A [[peers]] entry: what `agora peer add URL --key KEY [--relation R]` takes.
struct ConfigPeer {
  std::string url, key, relation;
  long line = 0;
};

struct ConfigFile {
  std::string path;
  // "--option" and its value, in file order: the top level's (data, [log]) and [serve]'s.
  // A flag set to true has no value; one set to false is left out.
  std::vector<std::pair<std::string, std::string>> global, serve;
  std::vector<ConfigPeer> peers;
  std::vector<ConfigProblem> problems;  // every one found; empty: the file is good

  // The [serve] value of "--option", or `fallback` when the file does not set it.
  std::string serve_value(const std::string& flag, const std::string& fallback = "") const {
    for (const auto& [f, value] : serve)
      if (f == flag) return value;
    return fallback;
  }
};

// Reads FILE and checks every key and value against `app` (a freshly registered `agora`
// app, whose options are only tried, never run): unknown keys with the nearest known one,
// values the option refuses with its own message (ranges, choices), wrong TOML types.
ConfigFile read_config(const std::string& path, CLI::App& app);

// The command line `args` (args[0] the program) with the config's values added: only
// options that neither the command line nor the environment ($AGORA_DATA, $AGORA_LOG)
// gives; the top level's as global options, [serve]'s after the verb at args[verb_at] when
// it is `serve`.
std::vector<std::string> with_config(const std::vector<std::string>& args, size_t verb_at, const ConfigFile& config);

// The config file named by --config FILE / --config=FILE in `args`, else $AGORA_CONFIG;
// empty when neither.
std::string config_path(const std::vector<std::string>& args);

}  // namespace agora::cli
