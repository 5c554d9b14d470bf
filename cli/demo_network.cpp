#include "cli/demo_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "cli/demo_data.hpp"
#include "node/local/importer.hpp"
#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "protocol/utf8.hpp"

namespace agora::cli {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::vector<DemoCity>& demo_cities() {
  static const std::vector<DemoCity> cities = {
      {"hague", "The Hague", "NL", "Europe", {"nl", "en"}},
      {"copenhagen", "Copenhagen", "DK", "Europe", {"da"}},
      {"lyon", "Lyon", "FR", "Europe", {"fr"}},
      {"malmo", "Malmö", "SE", "Europe", {"sv"}},
      {"toronto", "Toronto", "CA", "North America", {"en", "fr"}},
      {"johannesburg", "Johannesburg", "ZA", "Africa", {"en", "zu", "af"}},
  };
  return cities;
}

const std::vector<std::pair<size_t, size_t>>& demo_links() {
  // The coalition's four cities all peer; The Hague-Johannesburg and Malmö-Toronto are twins.
  static const std::vector<std::pair<size_t, size_t>> links = {{0, 1}, {0, 2}, {0, 3}, {1, 2},
                                                               {1, 3}, {2, 3}, {0, 5}, {3, 4}};
  return links;
}

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// A port nobody listens on now (bound and released: the node binds it a moment later).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("demo: cannot find a free port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_in_use(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(port);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool busy = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
  ::close(fd);
  return busy;
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// "@slug" at the start of a JSON string becomes that city's node id.
std::string fill_in_ids(std::string text, const std::map<std::string, std::string>& ids) {
  for (const auto& [slug, id] : ids) {
    std::string placeholder = "\"@" + slug;
    for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + id.size())) {
      char next = at + placeholder.size() < text.size() ? text[at + placeholder.size()] : '\0';
      if (next != '"' && next != '/') continue;  // "@malmo" is not "@malmoe"
      text.replace(at + 1, placeholder.size() - 1, id);
    }
  }
  return text;
}

std::string node_log_tail(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace

DemoNetwork::DemoNetwork(DemoOptions options, std::ostream& out) : options_(std::move(options)), out_(out) {
  for (const auto& c : demo_cities()) nodes_.push_back({c, options_.root / c.slug, {}, 0, 0, -1});
}

DemoNetwork::~DemoNetwork() { stop(); }

// Data dirs (created once, reused by later runs), demo records and peers. Re-importing the
// same records writes nothing, so a second run starts where the first stopped.
void DemoNetwork::prepare() {
  if (options_.fresh && fs::exists(options_.root)) {
    for (const auto& entry : fs::directory_iterator(options_.root)) {
      std::string name = entry.path().filename().string();
      bool ours = std::any_of(nodes_.begin(), nodes_.end(), [&](const Node& n) { return n.city.slug == name; });
      if (!ours)
        throw InvalidInput("--fresh: " + options_.root.string() + " holds " + name +
                           ", which is not the demo's; remove it yourself or choose another --data");
    }
    fs::remove_all(options_.root);
  }
  fs::create_directories(options_.root);
  std::map<std::string, std::string> ids;
  auto open_or_create = [](const Node& node) {
    if (fs::exists(node.dir / "node.key")) return DataDir::open(node.dir);
    json profile = {{"kind", "city"},
                    {"name", node.city.name},
                    {"country", node.city.country},
                    {"region", node.city.region},
                    {"languages", node.city.languages}};
    auto input = validate_input(profile, PublisherIdentity{});
    if (!input) throw std::runtime_error("demo: " + input.error().to_string());
    DataDir dir = DataDir::create(node.dir, NodeRole::city, node.city.name);
    Publisher(dir).publish({input.value()});
    return dir;
  };
  for (auto& node : nodes_) {
    node.id = open_or_create(node).id();
    ids[node.city.slug] = node_id(node.id);
  }
  // The demo records (they name the other cities' ids), then the peers: each link both
  // ways, so either side may dial; a re-run updates the addresses.
  for (auto& node : nodes_) {
    fs::path file = node.dir / "demo.ndjson";
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        << fill_in_ids(std::string(demo_file(node.city.slug + ".ndjson")), ids);
    DataDir dir = DataDir::open(node.dir);
    import_ndjson(dir, file, {});
    size_t self = static_cast<size_t>(&node - nodes_.data());
    dir.store().env().write([&](storage::WriteTxn& txn) {
      for (auto [a, b] : demo_links()) {
        if (a != self && b != self) continue;
        const Node& other = nodes_[a == self ? b : a];
        std::string relation =
            other.city.region == "Europe" && node.city.region == "Europe" ? "coalition:eccar" : "twin";
        save_peer(dir.store(), txn,
                  PeerConfig{other.id, "ws://127.0.0.1:" + std::to_string(other.sync_port) + "/sync", relation,
                             now_ms(), ""});
      }
    });
  }
}

void DemoNetwork::choose_ports() {
  std::set<int> taken;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& n = nodes_[i];
    if (options_.any_ports) {
      do n.sync_port = free_port();
      while (!taken.insert(n.sync_port).second);
      do n.http_port = free_port();
      while (!taken.insert(n.http_port).second);
      continue;
    }
    n.sync_port = options_.sync_base + static_cast<int>(i);
    n.http_port = options_.http_base + static_cast<int>(i);
    for (int port : {n.sync_port, n.http_port}) {
      if (port < 1 || port > 65535 || !taken.insert(port).second)
        throw InvalidInput(
            "--sync-base/--http-base: the six sync and six HTTP ports must be distinct ports in 1-65535");
      if (port_in_use(port))
        throw std::runtime_error("port " + std::to_string(port) +
                                 " on 127.0.0.1 is in use (is a demo already running?); use --any-ports or other "
                                 "--sync-base/--http-base");
    }
  }
}

void DemoNetwork::start(Node& node) {
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string data = node.dir.string(), listen = "127.0.0.1:" + std::to_string(node.sync_port),
              http = "127.0.0.1:" + std::to_string(node.http_port), log = (node.dir / "serve.log").string();
  std::vector<std::string> args = {exe, "serve", "--data", data, "--listen", listen, "--http", http};
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("demo: fork failed: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // A node never outlives the demo, even one killed with SIGKILL.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) ::dup2(fd, STDOUT_FILENO), ::dup2(fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  node.pid = pid;
}

void DemoNetwork::check_children() {
  for (auto& n : nodes_) {
    if (n.pid <= 0) continue;
    int status = 0;
    if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
      n.pid = -1;
      std::string tail = node_log_tail(n.dir / "serve.log");
      throw std::runtime_error(n.city.name + "'s node exited" + (tail.empty() ? "" : " (" + tail + ")") + "; see " +
                               (n.dir / "serve.log").string());
    }
  }
}

bool DemoNetwork::wait_for(const std::function<bool()>& done, double limit_s) {
  auto start = Clock::now();
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  for (;;) {
    check_children();
    if (done()) return true;
    if (seconds_since(start) > limit_s) return false;
    timespec pause{0, 100'000'000};
    if (::sigtimedwait(&stops, nullptr, &pause) > 0) {
      stop_requested_ = true;
      return false;
    }
  }
}

// Every node holds every city's log up to that city's own head (withheld records as stubs).
bool DemoNetwork::converged() {
  std::vector<std::map<PublicKey, uint64_t>> heads;
  for (auto& n : nodes_) {
    DataDir dir = DataDir::open(n.dir, /*read_only=*/true);
    std::map<PublicKey, uint64_t> h;
    for (const auto& head : dir.store().read([](const storage::StoreReader& r) { return r.heads(); }))
      h[head.origin] = head.seq;
    heads.push_back(std::move(h));
  }
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (size_t j = 0; j < nodes_.size(); ++j) {
      auto own = heads[j].find(nodes_[j].id);
      auto held = heads[i].find(nodes_[j].id);
      if (own == heads[j].end() || held == heads[i].end() || held->second != own->second) return false;
    }
  return true;
}

// Records that refer to other cities' records (adoptions, the coalition's framework): a
// node checks those references against what it holds, so they come after the first sync.
void DemoNetwork::import_later() {
  std::map<std::string, std::string> ids;
  for (const auto& n : nodes_) ids[n.city.slug] = node_id(n.id);
  for (auto& n : nodes_) {
    std::string_view later = demo_file(n.city.slug + ".later.ndjson");
    if (later.empty()) continue;
    fs::path file = n.dir / "demo.later.ndjson";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << fill_in_ids(std::string(later), ids);
    DataDir dir = DataDir::open(n.dir);
    import_ndjson(dir, file, {});
    dir.notify_change();
  }
}

void DemoNetwork::stop() {
  bool any = false;
  for (auto& n : nodes_)
    if (n.pid > 0) ::kill(n.pid, SIGTERM), any = true;
  if (!any) return;
  auto start = Clock::now();
  for (auto& n : nodes_) {
    while (n.pid > 0) {
      int status = 0;
      pid_t r = ::waitpid(n.pid, &status, WNOHANG);
      if (r == n.pid || r < 0) {
        n.pid = -1;
      } else if (seconds_since(start) > 10) {
        ::kill(n.pid, SIGKILL);  // a node that does not stop in 10 s
        ::waitpid(n.pid, &status, 0);
        n.pid = -1;
      } else {
        ::usleep(20'000);
      }
    }
  }
}

int DemoNetwork::run() {
  // Ctrl-C and SIGTERM are taken in wait_for, so the nodes are stopped on the way out.
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &stops, nullptr);

  auto begin = Clock::now();
  choose_ports();
  prepare();
  for (auto& n : nodes_) start(n);
  bool up = wait_for(
      [&] {
        return std::all_of(nodes_.begin(), nodes_.end(),
                           [](const Node& n) { return accepts_connections(n.http_port); });
      },
      30);
  if (!up && !stop_requested_)
    throw std::runtime_error("demo: the nodes did not start within 30 s; see their serve.log");
  if (stop_requested_) return 0;

  out_ << "agora demo: six city nodes on this machine, data in " << options_.root.string() << "\n\n";
  for (const auto& n : nodes_)
    out_ << "  " << n.city.name << std::string(14 - utf8_length(n.city.name), ' ') << "http://127.0.0.1:" << n.http_port
         << "/"
         << "   sync ws://127.0.0.1:" << n.sync_port << "/sync   node " << short_node_id(n.id) << "\n";
  out_ << "\n" << std::flush;

  double limit = options_.converge_limit_s;
  if (!wait_for([&] { return converged(); }, limit)) {
    if (stop_requested_) return 0;
    throw std::runtime_error("demo: the nodes did not converge within " + std::to_string(int(limit)) + " s");
  }
  import_later();
  if (!wait_for([&] { return converged(); }, limit)) {
    if (stop_requested_) return 0;
    throw std::runtime_error("demo: the nodes did not converge within " + std::to_string(int(limit)) + " s");
  }
  size_t records = 0;
  {
    DataDir dir = DataDir::open(nodes_.front().dir, true);
    for (const auto& h : dir.store().read([](const storage::StoreReader& r) { return r.heads(); })) records += h.seq;
  }
  out_ << "converged in " << std::fixed << std::setprecision(1) << seconds_since(begin) << " s: every node holds all "
       << records << " records of the six cities (withheld ones as signed stubs)\n"
       << "try: http://127.0.0.1:" << nodes_[3].http_port << "/#/coverage   "
       << "curl http://127.0.0.1:" << nodes_[3].http_port << "/api/v1/commitments/eccar-10pt/6\n"
       << "Ctrl-C stops every node.\n"
       << std::flush;
  wait_for([] { return false; }, 1e12);
  out_ << "stopping the six nodes...\n" << std::flush;
  stop();
  out_ << "stopped.\n" << std::flush;
  return 0;
}

}  // namespace agora::cli
