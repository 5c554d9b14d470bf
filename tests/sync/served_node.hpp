// A city node running `agora serve` as a real process on loopback, for sync tests.
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "cli/process.hpp"
#include "temp_dir.hpp"

namespace agora::test {

inline bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto close_paren = line.rfind(')');
  return !line.empty() && close_paren + 2 < line.size() && line[close_paren + 2] != 'Z';
}

inline bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

class ServedNode {
 public:
  explicit ServedNode(const std::string& city, const std::string& country = "NL")
      : ServedNode(std::vector<std::string>{"--city", city, "--country", country}) {}
  // An observer node (a research institute): no city, receives public records.
  static std::unique_ptr<ServedNode> observer(const std::string& name) {
    return std::unique_ptr<ServedNode>(new ServedNode(std::vector<std::string>{"--observer", "--name", name}));
  }
  ~ServedNode() {
    if (pid > 0) kill9();
  }

  // Starts `agora serve` on free ports and waits for its two address lines.
  void serve(const std::vector<std::string>& extra_args = {}) {
    out_file = tmp.str("serve-" + std::to_string(++starts) + ".out");
    err_file = tmp.str("serve-" + std::to_string(starts) + ".err");
    setenv("AGORA_LOG", "info", 0);
    std::vector<std::string> args = {"serve", "--data", data, "--listen", listen, "--http", "127.0.0.1:0"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid = start_agora(args, err_file, out_file, launcher).pid;
    bool up = wait_until(
        [&] {
          std::ifstream in(out_file);
          std::string sync_line, http_line;
          if (!std::getline(in, sync_line) || !std::getline(in, http_line)) return false;
          sync_url = sync_line.substr(5);
          http_url = http_line.substr(5);
          return true;
        },
        std::chrono::seconds(10));
    if (!up) throw std::runtime_error("agora serve did not start: " + log());
  }
  // SIGKILL; returns how the process ended (128 + SIGKILL unless it had already died).
  int kill9() {
    ::kill(pid, SIGKILL);
    int code = wait_exit(pid);
    pid = -1;
    return code;
  }
  // Running and not a zombie (kill(pid, 0) also succeeds for a child that died unreaped).
  bool alive() const { return pid > 0 && process_alive(pid); }
  int stop() {  // SIGTERM: graceful
    ::kill(pid, SIGTERM);
    int code = wait_exit(pid);
    pid = -1;
    return code;
  }
  std::string log() const {
    std::ifstream in(err_file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  ProcessResult agora(std::vector<std::string> args, const std::string& input = "") const {
    args.push_back("--data");
    args.push_back(data);
    return run_agora(args, input);
  }
  // `agora publish -` of one input record; throws with the CLI's error when it fails.
  void publish(const nlohmann::json& input) const {
    auto r = agora({"publish", "-"}, input.dump());
    if (r.exit_code != 0) throw std::runtime_error("publish failed: " + r.err);
  }
  nlohmann::json status() const { return nlohmann::json::parse(agora({"status", "--json"}).out); }
  uint64_t head_of(const std::string& origin) const {
    nlohmann::json s = status();  // keep it alive: the loop below iterates inside it
    for (const auto& o : s["origins"])
      if (o["origin"] == origin) return o["seq"].get<uint64_t>();
    return 0;
  }

  explicit ServedNode(const std::vector<std::string>& init_args) {
    data = tmp.str("node");
    std::vector<std::string> args = {"init", "--data", data};
    args.insert(args.end(), init_args.begin(), init_args.end());
    auto r = run_agora(args);
    if (r.exit_code != 0) throw std::runtime_error("init failed: " + r.err);
    id = r.out.substr(0, 64);
  }

  TempDir tmp;
  std::string data, id, sync_url, http_url, out_file, err_file;
  std::string listen = "127.0.0.1:0";  // the sync address `serve` binds
  std::vector<std::string> launcher;   // runs `serve` under it, e.g. ip netns exec NS
  pid_t pid = -1;
  int starts = 0;
};

// Both nodes allow and dial each other.
inline void peer_both(const ServedNode& a, const ServedNode& b) {
  // Each allows the other first, then dials it: a node that dialled before the other had
  // added it would be refused, and count the refusal in its errors.
  for (bool dial : {false, true})
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      auto r = from->agora({"peer", "add", dial ? to->sync_url : "-", "--key", to->id});
      if (r.exit_code != 0) throw std::runtime_error("peer add failed: " + r.err);
    }
}

// What `agora init` writes to a new city's chain: the genesis record and the delegation of
// the node's key (docs/identity.md).
inline constexpr uint64_t kInitRecords = 2;

inline std::string practice_json(const std::string& id, const std::string& visibility = "public") {
  return nlohmann::json{{"kind", "practice"},      {"id", id},         {"title", "Practice " + id},
                        {"summary", "Summary."},   {"language", "en"}, {"themes", {"employment"}},
                        {"visibility", visibility}}
      .dump();
}

// A coalition NAME led by `lead`, listing `members` (and `admins`), each of which accepts it.
inline void form_coalition(const ServedNode& lead, const std::string& name,
                           const std::vector<const ServedNode*>& members,
                           const std::vector<const ServedNode*>& admins = {}) {
  nlohmann::json ids = nlohmann::json::array(), admin_ids = nlohmann::json::array();
  for (const auto* m : members) ids.push_back(m->id);
  for (const auto* a : admins) admin_ids.push_back(a->id);
  nlohmann::json coalition = {{"kind", "coalition"}, {"name", name},   {"title", "Coalition " + name},
                              {"region", "Europe"},  {"members", ids}, {"framework", "eccar-10pt"}};
  if (!admins.empty()) coalition["admins"] = admin_ids;
  lead.publish(coalition);
  for (const auto* m : members)
    m->publish({{"kind", "partnership"}, {"with", lead.id}, {"relation", "coalition-member"}, {"coalition", name}});
}

inline std::string practices_ndjson(const std::string& prefix, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += practice_json(prefix + std::to_string(i)) + "\n";
  return text;
}

}  // namespace agora::test
