// The config file, logging options and `serve --help`: the real agora binary as a process.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "cli/cli_files.hpp"
#include "cli/process.hpp"
#include "temp_dir.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

// The "sync URL" and "http URL" lines a node prints once it listens (empty after 10 s).
std::string wait_for_http(const std::string& out_file) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(out_file);
    std::string sync, http;
    if (std::getline(in, sync) && std::getline(in, http) && http.starts_with("http ")) return http.substr(5);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

const std::string kPeer = std::string(64, 'a');

}  // namespace

TEST_CASE("the packaged config file checks clean and names every serve option", "[cli][config]") {
  std::string packaged = std::string(AGORA_SOURCE_DIR) + "/packaging/agora.toml";
  auto r = run_agora({"config", "check", packaged});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains(": ok"));
  // Every option of `serve --help` is in the file, set or commented out with its default.
  auto help = run_agora({"serve", "--help"});
  REQUIRE(help.exit_code == 0);
  std::string text = read_file(packaged);
  std::regex option(R"(--([a-z][a-z0-9-]+))");
  size_t options = 0;
  for (std::sregex_iterator it(help.out.begin(), help.out.end(), option), end; it != end; ++it) {
    std::string name = (*it)[1];
    if (name == "help" || name == "data" || name == "config" || name.starts_with("log-") || name == "key" ||
        name == "remote")
      continue;
    ++options;
    INFO(name);
    CHECK(std::regex_search(text, std::regex("(^|\\n)(# )?" + name + " = ")));
  }
  CHECK(options >= 20);
  // And `serve --help` shows each default: the addresses among them.
  CHECK_THAT(help.out, Catch::Contains("0.0.0.0:7400") || Catch::Contains("7400"));
  CHECK_THAT(help.out, Catch::Contains("127.0.0.1:8080"));
  CHECK_THAT(help.out, Catch::Contains("50000"));
}

TEST_CASE("config check names every problem of a file at once, with its line, and the fix", "[cli][config]") {
  TempDir tmp;
  std::string file = tmp.str("agora.toml");
  write_file(file,
             "data = \"" + tmp.str("node") +
                 "\"\n"                         // 1
                 "listen = \"0.0.0.0:7400\"\n"  // 2: belongs in [serve]
                 "[log]\n"                      // 3
                 "level = \"loud\"\n"           // 4
                 "[serve]\n"                    // 5
                 "lisen = \"0.0.0.0:7400\"\n"   // 6
                 "http = \"localhost\"\n"       // 7
                 "max-connections = 0\n"        // 8
                 "no-index = \"yes\"\n"         // 9
                 "idle-timeout = 30\n"          // 10: good
                 "[[peers]]\n"                  // 11
                 "url = \"http://lyon.example:7400\"\n"
                 "key = \"" +
                 kPeer +
                 "\"\n"
                 "[[peers]]\n"  // 14
                 "key = \"" +
                 kPeer + "\"\n");
  auto r = run_agora({"config", "check", file});
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains(file + ":2: \"listen\" is an option of serve: put it under [serve]"));
  CHECK_THAT(r.err, Catch::Contains(file + ":4: log.level = loud") && Catch::Contains("info"));
  CHECK_THAT(r.err, Catch::Contains(file + ":6: unknown key \"serve.lisen\"; did you mean \"serve.listen\"?"));
  CHECK_THAT(r.err, Catch::Contains(file + ":7: serve.http = localhost") && Catch::Contains("HOST:PORT"));
  CHECK_THAT(r.err, Catch::Contains(file + ":8: serve.max-connections = 0") &&
                        Catch::Contains("expected a whole number from 1 to"));
  CHECK_THAT(r.err, Catch::Contains(file + ":9: serve.no-index: expected true or false"));
  CHECK_THAT(r.err, Catch::Contains(file + ":12: peers.url: URL: expected ws://"));
  CHECK_THAT(r.err, Catch::Contains(file + ":14: [[peers]]: needs url"));
  CHECK_THAT(r.err, !Catch::Contains(":10:"));
  CHECK_THAT(r.err, Catch::Contains("8 problem(s)"));

  // A broken file stops every verb that reads it, before anything runs: nothing is created.
  auto init = run_agora({"--config", file, "init", "--city", "Lyon", "--country", "FR"});
  CHECK(init.exit_code == 3);
  CHECK_THAT(init.err, Catch::Contains("`agora config check " + file + "` lists them"));
  CHECK_FALSE(std::filesystem::exists(tmp.str("node")));
  // TOML that does not parse: the parser's message, at its line.
  write_file(file, "[serve]\nlisten = \n");
  auto syntax = run_agora({"config", "check", file});
  CHECK(syntax.exit_code == 3);
  CHECK_THAT(syntax.err, Catch::Contains(file + ":2: "));
  CHECK(run_agora({"config", "check", tmp.str("missing.toml")}).exit_code == 3);
}

TEST_CASE("serve reads its config file (data, options, log format, peers) and the command line wins", "[cli][config]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  std::string file = tmp.str("agora.toml");
  write_file(file, "data = \"" + data +
                       "\"\n"
                       "[log]\nformat = \"json\"\nlevel = \"info\"\n"
                       "[serve]\nlisten = \"127.0.0.1:0\"\nhttp = \"127.0.0.1:1\"\nhttp-max-page = 5\n"
                       "[[peers]]\nurl = \"-\"\nkey = \"" +
                       kPeer + "\"\nrelation = \"twin\"\n");
  REQUIRE(run_agora({"config", "check", file}).exit_code == 0);
  // --http on the command line wins over the file's (port 1 would fail); the rest is the file's.
  std::string out = tmp.str("serve.out"), err = tmp.str("serve.err");
  auto serving = start_agora({"serve", "--config", file, "--http", "127.0.0.1:0"}, err, out);
  REQUIRE(serving.pid > 0);
  std::string url = wait_for_http(out);
  REQUIRE_FALSE(url.empty());
  std::string cut = url.substr(url.find("//") + 2);
  auto port = cut.substr(cut.find(':') + 1);
  port = port.substr(0, port.find('/'));
  CHECK(port != "1");
  ::kill(serving.pid, SIGTERM);
  CHECK(wait_exit(serving.pid) == 0);
  // Every log line is one JSON object with a time, a level and a message.
  std::istringstream lines(read_file(err));
  std::string line;
  size_t logged = 0;
  while (std::getline(lines, line)) {
    INFO(line);
    json entry = json::parse(line);
    CHECK(entry["time"].get<std::string>().ends_with("Z"));
    CHECK(entry.contains("level"));
    CHECK(entry["message"].is_string());
    ++logged;
  }
  CHECK(logged >= 1);  // at least the peer added from the file
  CHECK_THAT(read_file(err), Catch::Contains("added from " + file));
  // The peer from the file is the node's now, with its relation; AGORA_CONFIG finds the data.
  setenv("AGORA_CONFIG", file.c_str(), 1);
  auto list = run_agora({"peer", "list", "--json"});
  unsetenv("AGORA_CONFIG");
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  json peers = json::parse(list.out)["peers"];
  REQUIRE(peers.size() == 1);
  CHECK(peers[0]["node"] == kPeer);
  CHECK(peers[0]["relation"] == "twin");
  // --log-level on the command line: nothing at warn from a clean start and stop.
  std::string quiet_out = tmp.str("quiet.out"), quiet_err = tmp.str("quiet.err");
  auto quiet =
      start_agora({"serve", "--config", file, "--http", "127.0.0.1:0", "--log-level", "warn"}, quiet_err, quiet_out);
  REQUIRE(quiet.pid > 0);
  REQUIRE_FALSE(wait_for_http(quiet_out).empty());
  ::kill(quiet.pid, SIGTERM);
  CHECK(wait_exit(quiet.pid) == 0);
  CHECK(read_file(quiet_err).empty());
}
