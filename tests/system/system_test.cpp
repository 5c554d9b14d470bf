// System tests (label `system`): networks of real `agora serve` processes under faults —
// partitions, slow links, kill -9 — each asserting that every record acknowledged as
// published ends up present, verified and unduplicated on every node. Each scenario
// appends its figures to build/system-results.ndjson; scripts/reliability.sh turns them
// into docs/reliability.md. AGORA_SOAK=N runs N times the records and rounds.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

#include "sync/served_node.hpp"
#include "system/fault_proxy.hpp"

using namespace agora::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

int soak() {
  const char* s = std::getenv("AGORA_SOAK");
  return s ? std::max(1, std::atoi(s)) : 1;
}

uint16_t port_of(const std::string& url) {  // ws://127.0.0.1:PORT/sync
  auto colon = url.rfind(':');
  return static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
}

// N city nodes; links go through fault proxies, one per direction.
struct Network {
  std::vector<std::unique_ptr<ServedNode>> nodes;
  std::map<std::pair<size_t, size_t>, std::unique_ptr<FaultProxy>> links;  // (dialler, dialled)
  std::map<std::string, uint64_t> published;  // origin -> records acknowledged (its head)

  explicit Network(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      nodes.push_back(std::make_unique<ServedNode>("City " + std::to_string(i), "NL"));
      published[nodes.back()->id] = 1;  // the city profile
    }
    for (auto& node : nodes) node->serve();
  }
  void link(size_t a, size_t b) {
    for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
      auto proxy = std::make_unique<FaultProxy>(port_of(nodes[to]->sync_url));
      std::string url = "ws://127.0.0.1:" + std::to_string(proxy->port()) + "/sync";
      auto r = nodes[from]->agora({"peer", "add", url, "--key", nodes[to]->id});
      if (r.exit_code != 0) throw std::runtime_error("peer add: " + r.err);
      links[{from, to}] = std::move(proxy);
    }
  }
  // Publishes n practices on node i with `agora import`; counts them only if it succeeds.
  void publish(size_t i, const std::string& prefix, int n) {
    std::string file = nodes[i]->tmp.str(prefix + ".ndjson");
    std::ofstream(file) << practices_ndjson(prefix, n);
    auto r = nodes[i]->agora({"import", file});
    if (r.exit_code != 0) throw std::runtime_error("import: " + r.err);
    published[nodes[i]->id] += n;
  }
  void restart(size_t i) {
    nodes[i]->serve();
    for (auto& [ends, proxy] : links)
      if (ends.second == i) proxy->retarget(port_of(nodes[i]->sync_url));
  }
  // Every node holds every origin up to what that origin published.
  bool converged(const std::vector<size_t>& among, const std::vector<size_t>& origins) const {
    for (size_t n : among) {
      json s = nodes[n]->status();
      std::map<std::string, uint64_t> heads;
      for (const auto& o : s["origins"]) heads[o["origin"]] = o["seq"].get<uint64_t>();
      for (size_t o : origins)
        if (heads[nodes[o]->id] != published.at(nodes[o]->id)) return false;
    }
    return true;
  }
  std::vector<size_t> all() const {
    std::vector<size_t> v(nodes.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
  }
};

struct Outcome {
  uint64_t published = 0, lost = 0, duplicated = 0;
  bool verified = true;
};

// What each node holds against what was acknowledged: missing records, extra copies, and
// whether every signature and chain verifies.
Outcome audit(Network& net) {
  Outcome out;
  uint64_t practices = 0;
  for (const auto& [origin, n] : net.published) practices += n - 1;
  out.published = practices;
  for (auto& node : net.nodes) {
    json s = node->status();
    uint64_t held = s["records"].value("practice", uint64_t{0});
    uint64_t log = s.value("log_length", uint64_t{0});
    uint64_t expected_log = 0;
    for (const auto& [origin, n] : net.published) expected_log += n;
    if (held < practices) out.lost += practices - held;
    if (log > expected_log) out.duplicated += log - expected_log;
    if (node->agora({"verify"}).exit_code != 0) out.verified = false;
  }
  return out;
}

void record_result(const std::string& scenario, int runs, const Outcome& o, double converge_s, const std::string& mode) {
  std::string path = std::getenv("AGORA_SYSTEM_RESULTS") ? std::getenv("AGORA_SYSTEM_RESULTS")
                                                         : std::string(AGORA_BUILD_DIR) + "/system-results.ndjson";
  std::ofstream(path, std::ios::app) << json{{"scenario", scenario},   {"runs", runs},       {"published", o.published},
                                             {"lost", o.lost},         {"duplicated", o.duplicated},
                                             {"verified", o.verified}, {"converge_s", converge_s},
                                             {"mode", mode},           {"soak", soak()}}
                                            .dump()
                                     << "\n";
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST_CASE("a partitioned 5-node network keeps publishing on both sides and converges when healed", "[system]") {
  Network net(5);
  for (size_t a = 0; a < 5; ++a)
    for (size_t b = a + 1; b < 5; ++b) net.link(a, b);
  REQUIRE(wait_until([&] { return net.converged(net.all(), net.all()); }, std::chrono::seconds(60)));

  // Cut {0, 1} from {2, 3, 4}; both sides go on publishing.
  auto crosses = [](size_t a, size_t b) { return (a < 2) != (b < 2); };
  for (auto& [ends, proxy] : net.links)
    if (crosses(ends.first, ends.second)) proxy->set_partitioned(true);
  int n = 200 * soak();
  net.publish(0, "west-", n);
  net.publish(3, "east-", n);
  net.publish(4, "east-b-", n / 2);
  REQUIRE(wait_until([&] { return net.converged({0, 1}, {0, 1}) && net.converged({2, 3, 4}, {2, 3, 4}); },
                     std::chrono::seconds(60)));
  CHECK(net.nodes[2]->head_of(net.nodes[0]->id) == 1);  // the partition held: nothing crossed
  CHECK(net.nodes[0]->head_of(net.nodes[3]->id) == 1);

  auto healed = Clock::now();
  for (auto& [ends, proxy] : net.links) proxy->set_partitioned(false);
  REQUIRE(wait_until([&] { return net.converged(net.all(), net.all()); }, std::chrono::seconds(120)));
  double converge_s = seconds_since(healed);
  Outcome o = audit(net);
  CHECK(o.lost == 0);
  CHECK(o.duplicated == 0);
  CHECK(o.verified);
  record_result("partition 5 nodes into 2+3, publish on both sides, heal", 1, o, converge_s, "proxy");
}

TEST_CASE("every link 200 ms slower: a 10,000-record sync completes, nothing lost", "[system]") {
  Network net(3);
  net.link(0, 1);
  net.link(1, 2);
  for (auto& [ends, proxy] : net.links) proxy->set_delay(std::chrono::milliseconds(200));
  auto start = Clock::now();
  net.publish(0, "slow-", 10000 * soak());
  REQUIRE(wait_until([&] { return net.converged(net.all(), net.all()); }, std::chrono::seconds(300)));
  double converge_s = seconds_since(start);
  Outcome o = audit(net);
  CHECK(o.lost == 0);
  CHECK(o.duplicated == 0);
  CHECK(o.verified);
  record_result("10,000-record sync over a 2-hop line, 200 ms added per chunk on every link", 1, o, converge_s, "proxy");
}

TEST_CASE("kill -9 of a random node during sync, round after round: nothing acknowledged is lost", "[system]") {
  Network net(3);
  net.link(0, 1);
  net.link(1, 2);
  net.link(0, 2);
  std::mt19937 rng(std::random_device{}());
  int rounds = 50 * soak();
  auto start = Clock::now();
  for (int round = 0; round < rounds; ++round) {
    size_t victim = rng() % 3;
    size_t publisher = (victim + 1 + rng() % 2) % 3;
    net.publish(publisher, "r" + std::to_string(round) + "-", 40);  // acknowledged before the kill
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    net.nodes[victim]->kill9();
    net.restart(victim);
  }
  auto last = Clock::now();
  REQUIRE(wait_until([&] { return net.converged(net.all(), net.all()); }, std::chrono::seconds(120)));
  double converge_s = seconds_since(last);
  Outcome o = audit(net);
  CHECK(o.lost == 0);
  CHECK(o.duplicated == 0);
  CHECK(o.verified);
  INFO("total " << seconds_since(start) << " s");
  record_result("kill -9 of a random node of 3 during sync (publish 40, kill, restart)", rounds, o, converge_s, "proxy");
}
