#include "cli/config_file.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <set>

#include <toml++/toml.h>

#include "cli/cli_support.hpp"
#include "node/local/peer_registry.hpp"
#include "protocol/vocabulary.hpp"

namespace agora::cli {

namespace {

// The long names a verb's options answer to in a config file: "--listen" as "listen".
std::vector<std::string> option_keys(const CLI::App& verb) {
  std::vector<std::string> out;
  for (const CLI::Option* opt : verb.get_options())
    for (const auto& name : opt->get_lnames())
      if (name != "help" && name != "data") out.push_back(name);
  return out;
}

bool is_flag(const CLI::Option& opt) { return opt.get_expected_min() == 0; }

std::string as_argument(const toml::node& value) {
  if (auto s = value.as_string()) return s->get();
  if (auto i = value.as_integer()) return std::to_string(i->get());
  if (auto f = value.as_floating_point()) {
    char buf[64];  // the shortest text that reads back as the same double: 32.7, not 32.700000000000003
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f->get());
    return std::string(buf, ec == std::errc() ? end : buf);
  }
  if (auto b = value.as_boolean()) return b->get() ? "true" : "false";
  return {};
}

class Reader {
 public:
  Reader(std::string path, CLI::App& app) : app_(app) { out_.path = std::move(path); }

  ConfigFile read() {
    toml::table root;
    try {
      root = toml::parse_file(out_.path);
    } catch (const toml::parse_error& e) {
      problem(e.source().begin.line, std::string(e.description()));
      return std::move(out_);
    }
    const std::vector<std::string> top{"data", "log", "serve", "peers"};
    for (CLI::App* verb : app_.get_subcommands({}))
      if (verb->get_name() == "serve") serve_ = verb;
    CLI::App* serve = serve_;
    for (auto&& [key, value] : root) {
      std::string name(key.str());
      long line = key.source().begin.line;
      if (name == "data") {
        option(app_, "--data", value, line, name, out_.global);
      } else if (name == "log") {
        table(value, line, name, {"level", "format"}, [&](const std::string& k, const toml::node& v, long at) {
          option(app_, "--log-" + k, v, at, "log." + k, out_.global);
        });
      } else if (name == "serve" && serve) {
        std::map<std::string, long> lines;  // "--option" -> its line
        table(value, line, name, option_keys(*serve), [&](const std::string& k, const toml::node& v, long at) {
          lines["--" + k] = at;
          option(*serve, "--" + k, v, at, "serve." + k, out_.serve);
        });
        // What one option needs another for (tls-cert and tls-key), as serve would refuse it.
        for (const auto& [flag, at] : lines) {
          const CLI::Option* opt = serve->get_option_no_throw(flag);
          if (!opt) continue;
          for (const CLI::Option* needed : opt->get_needs())
            if (!lines.count(needed->get_name()))
              problem(at, "serve." + flag.substr(2) + " needs serve." + needed->get_name().substr(2) + " too");
        }
      } else if (name == "peers") {
        peers(value, line);
      } else if (serve && serve->get_option_no_throw("--" + name)) {
        problem(line, "\"" + name + "\" is an option of serve: put it under [serve]");
      } else {
        unknown(line, name, top, "");
      }
    }
    // In the file's order, whichever check found them.
    std::stable_sort(out_.problems.begin(), out_.problems.end(),
                     [](const auto& a, const auto& b) { return a.line < b.line; });
    return std::move(out_);
  }

 private:
  void problem(long line, std::string message) { out_.problems.push_back({out_.path, line, std::move(message)}); }

  void unknown(long line, const std::string& name, const std::vector<std::string>& known, const std::string& section) {
    auto near = nearest(name, known);
    std::string where;  // a key of another place, the usual slip
    bool serve_key = serve_ && serve_->get_option_no_throw("--" + name);
    if (name == "data" && !section.empty())
      where = "data belongs at the top level, above every [section]";
    else if ((name == "log-level" || name == "log-format") && section != "log.")
      where = "log settings go under [log] as " + name.substr(4);
    else if ((name == "logging" || name == "logs") && section.empty())
      near = "log";
    else if (section == "peers." && serve_key)
      where = name +
              " is a [serve] key: every key after a [[peers]] line belongs to that peer, so put [serve] "
              "above the first [[peers]]";
    problem(line, "unknown key \"" + section + name + "\"" +
                      (near ? "; did you mean \"" + section + *near + "\"?" : "") +
                      (where.empty() ? "" : "; " + where) +
                      " (every key: the packaged /etc/agora/agora.toml, docs/operations.md \"The config file\")");
  }

  template <typename Each>
  void table(const toml::node& value, long line, const std::string& name, const std::vector<std::string>& keys,
             Each&& each) {
    const toml::table* t = value.as_table();
    if (!t) {
      problem(line, "\"" + name + "\" must be a table ([" + name + "])");
      return;
    }
    for (auto&& [key, v] : *t) {
      std::string k(key.str());
      long at = key.source().begin.line;
      if (std::find(keys.begin(), keys.end(), k) == keys.end())
        unknown(at, k, keys, name + ".");
      else
        each(k, v, at);
    }
  }

  // One option's value, tried on the option itself: its own checks name what it accepts.
  void option(CLI::App& verb, const std::string& flag, const toml::node& value, long line, const std::string& key,
              std::vector<std::pair<std::string, std::string>>& into) {
    CLI::Option* opt = verb.get_option_no_throw(flag);
    if (!opt) return;
    if (is_flag(*opt)) {
      if (!value.is_boolean()) {
        problem(line, key + ": expected true or false");
        return;
      }
      if (value.as_boolean()->get()) into.emplace_back(flag, "");
      return;
    }
    if (!value.is_value() || value.is_boolean()) {
      problem(line, key + ": expected " + (value.is_boolean() ? "a value, not true or false" : "a single value"));
      return;
    }
    std::string text = as_argument(value);
    try {
      opt->add_result(text);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      problem(line, key + " = " + text + ": " + e.what());
      return;
    }
    into.emplace_back(flag, text);
  }

  void peers(const toml::node& value, long line) {
    const toml::array* list = value.as_array();
    if (!list || !list->is_array_of_tables()) {
      problem(line, "\"peers\" must be an array of tables ([[peers]] with url, key and relation)");
      return;
    }
    std::set<std::string> seen;
    const std::string any_key(64, 'a');  // stands in for the other fields while one is checked
    for (const toml::node& entry : *list) {
      const toml::table& t = *entry.as_table();
      long at = t.source().begin.line;
      ConfigPeer peer{{}, {}, {}, at};
      bool good = true;
      for (auto&& [key, v] : t) {
        std::string k(key.str());
        long kat = key.source().begin.line;
        std::string* field = k == "url"        ? &peer.url
                             : k == "key"      ? &peer.key
                             : k == "relation" ? &peer.relation
                                               : nullptr;
        if (!field) {
          unknown(kat, k, {"url", "key", "relation"}, "peers.");
          good = false;
          continue;
        }
        if (!v.is_string()) {
          problem(kat, "peers." + k + ": expected a string");
          good = false;
          continue;
        }
        *field = v.as_string()->get();
        // Each field checked alone, at its own line, as `agora peer add` checks its argument.
        try {
          peer_to_add(k == "url" ? *field : "-", k == "key" ? *field : any_key, k == "relation" ? *field : "");
        } catch (const std::exception& e) {
          problem(kat, "peers." + k + ": " + e.what());
          good = false;
        }
      }
      for (std::string needed : {"url", "key"})
        if (!t.contains(needed)) {
          problem(at, "[[peers]]: needs " + needed + " (url \"-\": accept the peer, never dial it)");
          good = false;
        }
      if (!good) continue;
      if (!seen.insert(peer.key).second) {
        problem(at, "[[peers]]: key " + peer.key + " is listed twice");
        continue;
      }
      out_.peers.push_back(peer);
    }
  }

  CLI::App& app_;
  CLI::App* serve_ = nullptr;  // the serve verb, whose options [serve] holds
  ConfigFile out_;
};

bool gives(const std::vector<std::string>& args, const std::string& flag) {
  for (const auto& a : args)
    if (a == flag || a.starts_with(flag + "=")) return true;
  return false;
}

}  // namespace

ConfigFile read_config(const std::string& path, CLI::App& app) {
  if (FILE* f = std::fopen(path.c_str(), "r"))
    std::fclose(f);
  else
    return ConfigFile{
        path, {}, {}, {}, {{path, 0, std::string("cannot read the config file: ") + std::strerror(errno)}}};
  return Reader(path, app).read();
}

std::vector<std::string> with_config(const std::vector<std::string>& args, size_t verb_at, const ConfigFile& config) {
  // The environment comes before the file as well: $AGORA_DATA, $AGORA_LOG.
  auto from_environment = [](const std::string& flag) {
    return (flag == "--data" && std::getenv("AGORA_DATA")) || (flag == "--log-level" && std::getenv("AGORA_LOG"));
  };
  auto missing = [&](const std::vector<std::pair<std::string, std::string>>& options) {
    std::vector<std::string> out;
    for (const auto& [flag, value] : options) {
      if (gives(args, flag) || from_environment(flag)) continue;  // the command line wins
      out.push_back(flag);
      if (!value.empty()) out.push_back(value);
    }
    return out;
  };
  // The top level's before the verb (global options), [serve]'s after `serve`.
  std::vector<std::string> out{args.empty() ? std::string("agora") : args.front()};
  for (auto& a : missing(config.global)) out.push_back(std::move(a));
  for (size_t i = 1; i < args.size(); ++i) {
    out.push_back(args[i]);
    if (i == verb_at && args[i] == "serve")
      for (auto& a : missing(config.serve)) out.push_back(std::move(a));
  }
  return out;
}

std::string config_path(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) return args[i + 1];
    if (args[i].starts_with("--config=")) return args[i].substr(9);
  }
  const char* env = std::getenv("AGORA_CONFIG");
  return env ? env : "";
}

}  // namespace agora::cli
