// Benchmark probe (not part of the node): times how long records take to be durably stored
// on another node's data dir, which it reads as a second LMDB process while that node serves.
//
//   agora_sync_probe wait --data B --origin NODEID --seq N [--timeout S] -- COMMAND...
//       runs COMMAND, then prints the milliseconds from its start until B holds seq N of
//       origin (the time of a full or incremental sync triggered by COMMAND).
//   agora_sync_probe live --data A --watch B --count N [--gap-ms G]
//       publishes N practices on A, one at a time as `agora publish` does (sign, fsynced
//       commit, change notice), and prints each one's latency until B has stored it.
//   agora_sync_probe seed-origins --data A --count N
//       stores N origins with one public practice each in A (as if received from peers).
//   agora_sync_probe merge --into A --from DIR...
//       copies every record of each DIR's store into A, as if synced from it (the DIRs hold
//       disjoint origins, e.g. one city each): builds a many-city network without a sync.
//   agora_sync_probe wait-origins --data B --count N [--timeout S] -- COMMAND...
//       runs COMMAND, then prints the milliseconds until B holds at least N origins.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "node/local/data_dir.hpp"
#include "node/local/publisher.hpp"
#include "node/local/worker_pool.hpp"
#include "protocol/hex.hpp"

using namespace agora;
using Clock = std::chrono::steady_clock;

namespace {

uint64_t head_seq(DataDir& dir, const PublicKey& origin) {
  return dir.store().read([&](const storage::StoreReader& r) {
    auto h = r.head(origin);
    return h ? h->seq : uint64_t{0};
  });
}

// Polls until `dir` holds seq of origin; false on timeout.
bool wait_for(DataDir& dir, const PublicKey& origin, uint64_t seq, Clock::time_point deadline) {
  while (head_seq(dir, origin) < seq) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string arg(std::vector<std::string>& args, const std::string& name, const std::string& fallback = "") {
  auto it = std::find(args.begin(), args.end(), name);
  if (it == args.end() || it + 1 == args.end()) {
    if (fallback.empty()) throw std::runtime_error("missing " + name);
    return fallback;
  }
  return *(it + 1);
}

// Takes `-- COMMAND...` off the end of args.
std::vector<std::string> take_command(std::vector<std::string>& args) {
  auto dash = std::find(args.begin(), args.end(), "--");
  if (dash == args.end()) throw std::runtime_error("missing -- COMMAND");
  std::vector<std::string> command(dash + 1, args.end());
  args.erase(dash, args.end());
  return command;
}

// Runs the command to its end (its stdout discarded: only the measurement goes there).
void run_command(std::vector<std::string> command) {
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    std::vector<char*> argv;
    for (auto& a : command) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("command failed");
}

int run_wait(std::vector<std::string> args) {
  std::vector<std::string> command = take_command(args);
  DataDir dir = DataDir::open(arg(args, "--data"), /*read_only=*/true);
  auto origin = parse_node_id(arg(args, "--origin"));
  if (!origin) throw std::runtime_error("bad --origin");
  uint64_t seq = std::stoull(arg(args, "--seq"));
  auto timeout = std::chrono::seconds(std::stoi(arg(args, "--timeout", "600")));
  auto t0 = Clock::now();
  run_command(std::move(command));
  if (!wait_for(dir, *origin, seq, t0 + timeout)) throw std::runtime_error("timed out");
  std::printf("%.3f\n", ms_since(t0));
  return 0;
}

size_t origin_count(DataDir& dir) {
  return dir.store().read([](const storage::StoreReader& r) { return r.heads().size(); });
}

int run_seed_origins(std::vector<std::string> args) {
  DataDir a = DataDir::open(arg(args, "--data"));
  size_t n = std::stoull(arg(args, "--count"));
  const size_t kChunk = 5000;
  for (size_t done = 0; done < n; done += kChunk) {
    size_t m = std::min(kChunk, n - done);
    std::vector<storage::IncomingRecord> records(m);
    parallel_for(m, [&](size_t i) {
      SigningKey key = SigningKey::generate();
      Header h;
      h.origin = key.public_key();
      h.seq = 1;
      h.kind = Kind::practice;
      h.id = "only";
      h.version = 1;
      h.ts = 1700000000000;
      std::string body = R"({"title":"One of many origins","summary":"A city with one record.","language":"en",)"
                         R"("themes":["employment"]})";
      records[i].record = sign_record(h, body, key);
      records[i].header = h;
      records[i].header.body_sha256 = sha256(body);
      records[i].header.body_size = static_cast<uint32_t>(body.size());
      records[i].keys = validate_received_body(records[i].header, body).value();
    });
    a.store().env().write([&](storage::WriteTxn& txn) { a.store().append(txn, records); });
  }
  std::printf("%zu\n", origin_count(a));
  return 0;
}

int run_merge(std::vector<std::string> args) {
  DataDir into = DataDir::open(arg(args, "--into"));
  auto from = std::find(args.begin(), args.end(), "--from");
  if (from == args.end()) throw std::runtime_error("merge needs --from DIR...");
  size_t copied = 0;
  for (auto it = from + 1; it != args.end(); ++it) {
    DataDir source = DataDir::open(*it, /*read_only=*/true);
    std::vector<storage::IncomingRecord> records;
    auto flush = [&] {
      into.store().env().write([&](storage::WriteTxn& txn) { into.store().append(txn, records); });
      copied += records.size();
      records.clear();
    };
    source.store().read([&](const storage::StoreReader& r) {
      r.scan_log(1, [&](const storage::StoredRecordView& view) {
        storage::IncomingRecord in;
        in.record = view.load();
        auto h = decode_header(in.record.header_bytes);
        if (!h) throw std::runtime_error(*it + ": an undecodable header in the log");
        in.header = h.value();
        if (in.record.body) in.keys = validate_received_body(in.header, *in.record.body).value();
        records.push_back(std::move(in));
        if (records.size() == 5000) flush();
        return true;
      });
      return 0;
    });
    if (!records.empty()) flush();
  }
  std::printf("%zu\n", copied);
  return 0;
}

int run_wait_origins(std::vector<std::string> args) {
  std::vector<std::string> command = take_command(args);
  DataDir dir = DataDir::open(arg(args, "--data"), /*read_only=*/true);
  size_t n = std::stoull(arg(args, "--count"));
  auto deadline = Clock::now() + std::chrono::seconds(std::stoi(arg(args, "--timeout", "1200")));
  auto t0 = Clock::now();
  run_command(std::move(command));
  while (origin_count(dir) < n) {
    if (Clock::now() > deadline) throw std::runtime_error("timed out at " + std::to_string(origin_count(dir)));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("%.3f\n", ms_since(t0));
  return 0;
}

int run_live(std::vector<std::string> args) {
  DataDir a = DataDir::open(arg(args, "--data"));
  DataDir b = DataDir::open(arg(args, "--watch"), /*read_only=*/true);
  int count = std::stoi(arg(args, "--count", "200"));
  int gap_ms = std::stoi(arg(args, "--gap-ms", "20"));
  Publisher publisher(a);
  PublisherIdentity self = a.identity();
  std::vector<double> latencies, publish_only;
  for (int i = 0; i < count; ++i) {
    std::string input =
        R"({"kind":"practice","id":"live-)" + std::to_string(i) + "-" + std::to_string(getpid()) +
        R"(","title":"Live push probe )" + std::to_string(i) +
        R"(","summary":"One practice published to time its arrival at a peer.","language":"en","themes":["employment"]})";
    auto validated = parse_and_validate_input(input, self);
    if (!validated) throw std::runtime_error(validated.error().to_string());
    auto t0 = Clock::now();
    auto result = publisher.publish({validated.value()});
    publish_only.push_back(ms_since(t0));
    if (!wait_for(b, a.id(), result.at(0).seq, t0 + std::chrono::seconds(10)))
      throw std::runtime_error("record " + std::to_string(i) + " did not arrive within 10 s");
    latencies.push_back(ms_since(t0));
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
  }
  auto pct = [](std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
  };
  std::printf(
      "live.count %d\nlive.latency_ms_median %.3f\nlive.latency_ms_p90 %.3f\nlive.latency_ms_p99 %.3f\n"
      "live.publish_ms_median %.3f\n",
      count, pct(latencies, 0.5), pct(latencies, 0.9), pct(latencies, 0.99), pct(publish_only, 0.5));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) throw std::runtime_error("usage: agora_sync_probe wait|live ...");
    std::string verb = args.front();
    args.erase(args.begin());
    if (verb == "wait") return run_wait(args);
    if (verb == "live") return run_live(args);
    if (verb == "seed-origins") return run_seed_origins(args);
    if (verb == "wait-origins") return run_wait_origins(args);
    if (verb == "merge") return run_merge(args);
    throw std::runtime_error("unknown verb " + verb);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
