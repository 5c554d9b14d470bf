// agora backup and agora restore: hot copies of a serving node, encrypted or not, and a
// backup killed midway. The real binary as a process, real LMDB in temp dirs.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/cli_files.hpp"
#include "cli/process.hpp"
#include "temp_dir.hpp"

using namespace agora::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string backed_up_practice(const std::string& id, const std::string& visibility) {
  return json{{"kind", "practice"},          {"id", id},         {"title", "Backed up " + id},
              {"summary", "What was done."}, {"language", "en"}, {"themes", {"employment"}},
              {"visibility", visibility}}
      .dump();
}

struct ServingForBackup {
  Background process;
  // `prefix`: where its output goes (PREFIX.out, PREFIX.err), one per node started.
  explicit ServingForBackup(const std::string& data, const std::string& prefix) {
    std::string out = prefix + ".out";
    process = start_agora({"serve", "--data", data, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"},
                          prefix + ".err", out);
    for (int i = 0; i < 200; ++i) {
      std::ifstream in(out);
      std::string a, b;
      if (std::getline(in, a) && std::getline(in, b)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("agora serve did not start: " << read_file(prefix + ".err"));
  }
  ~ServingForBackup() {
    ::kill(process.pid, SIGTERM);
    wait_exit(process.pid);
  }
};

}  // namespace

TEST_CASE("a backup taken while the node serves restores every record, private ones and peers too", "[cli][backup]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  std::string lines = backed_up_practice("open", "public") + "\n" + backed_up_practice("twins", "partners") + "\n" +
                      backed_up_practice("mine", "private") + "\n";
  std::ofstream(tmp.str("p.ndjson")) << lines;
  REQUIRE(run_agora({"import", tmp.str("p.ndjson"), "--data", data}).exit_code == 0);
  const std::string peer = "ab12cd34" + std::string(56, '0');
  REQUIRE(run_agora({"peer", "add", "-", "--key", peer, "--data", data}).exit_code == 0);
  ServingForBackup node(data, tmp.str("serve-lyon"));
  const std::string before = store_state(data);

  std::string out = tmp.str("lyon.agb");
  auto b = run_agora({"backup", out, "--data", data});
  INFO(b.err);
  REQUIRE(b.exit_code == 0);
  CHECK_THAT(b.err, Catch::Contains("private keys unencrypted"));
  struct stat st {};
  REQUIRE(::stat(out.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  for (const auto& e : fs::directory_iterator(tmp.str(""))) CHECK_FALSE(e.path().string().ends_with(".partial"));
  CHECK(run_agora({"backup", out, "--data", data}).exit_code == 3);  // never over a backup

  std::string restored = tmp.str("restored");
  auto r = run_agora({"restore", out, "--data", restored});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto verify = run_agora({"verify", "--data", restored});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(store_state(restored) == before);
  CHECK(json::parse(run_agora({"show", "mine", "--json", "--data", restored}).out)["visibility"] == "private");
  CHECK(json::parse(run_agora({"show", "twins", "--json", "--data", restored}).out)["title"] == "Backed up twins");
  auto peers = json::parse(run_agora({"peer", "list", "--json", "--data", restored}).out)["peers"];
  REQUIRE(peers.size() == 1);
  CHECK(peers[0]["node"] == peer);
  CHECK(run_agora({"id", "--data", restored}).out == run_agora({"id", "--data", data}).out);
  // It has peers: it signs nothing until one has sent back what was published after the
  // backup (the original may have gone on publishing), as a node re-created from its key.
  CHECK_THAT(r.out, Catch::Contains("publishes nothing until a peer has sent back"));
  auto early = run_agora({"publish", "-", "--data", restored}, backed_up_practice("too-early", "public"));
  CHECK(early.exit_code == 3);
  CHECK_THAT(early.err, Catch::Contains("restoring"));
  struct stat key {};
  REQUIRE(::stat((restored + "/node.key").c_str(), &key) == 0);
  CHECK((key.st_mode & 0777) == 0600);
  // Never into a data dir that holds something.
  auto again = run_agora({"restore", out, "--data", restored});
  CHECK(again.exit_code == 3);
  CHECK_THAT(again.err, Catch::Contains("not empty"));
  // The restored node runs.
  ServingForBackup back(restored, tmp.str("serve-restored"));
}

TEST_CASE("an encrypted backup opens only with its passphrase, and a damaged one restores nothing", "[cli][backup]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  REQUIRE(run_agora({"publish", "-", "--data", data}, backed_up_practice("secret-title", "private")).exit_code == 0);
  std::ofstream(tmp.str("pass")) << "correct horse battery staple\n";
  std::ofstream(tmp.str("wrong")) << "incorrect horse\n";
  std::string out = tmp.str("lyon.agb");
  CHECK(run_agora({"backup", out, "--encrypt", "--data", data}).exit_code == 3);  // no passphrase given
  auto b = run_agora({"backup", out, "--encrypt", "--passphrase-file", tmp.str("pass"), "--data", data});
  INFO(b.err);
  REQUIRE(b.exit_code == 0);
  CHECK_THAT(b.out, Catch::Contains("encrypted"));
  std::string bytes = read_file(out);
  CHECK(bytes.find("secret-title") == std::string::npos);
  CHECK(bytes.find("node.key") == std::string::npos);

  auto no_pass = run_agora({"restore", out, "--data", tmp.str("a")});
  CHECK(no_pass.exit_code == 3);
  CHECK_THAT(no_pass.err, Catch::Contains("is encrypted"));
  auto wrong = run_agora({"restore", out, "--passphrase-file", tmp.str("wrong"), "--data", tmp.str("b")});
  CHECK(wrong.exit_code == 3);
  CHECK_THAT(wrong.err, Catch::Contains("wrong passphrase"));
  CHECK_FALSE(fs::exists(tmp.str("b")));
  // Cut short, or one byte changed: refused, nothing left behind.
  std::ofstream(tmp.str("cut.agb"), std::ios::binary) << bytes.substr(0, bytes.size() - 20);
  auto cut = run_agora({"restore", tmp.str("cut.agb"), "--passphrase-file", tmp.str("pass"), "--data", tmp.str("c")});
  CHECK(cut.exit_code == 3);
  CHECK_FALSE(fs::exists(tmp.str("c")));
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 1;
  std::ofstream(tmp.str("flip.agb"), std::ios::binary) << flipped;
  auto flip = run_agora({"restore", tmp.str("flip.agb"), "--passphrase-file", tmp.str("pass"), "--data", tmp.str("d")});
  CHECK(flip.exit_code == 3);
  CHECK_FALSE(fs::exists(tmp.str("d")));
  // With the passphrase (here from the environment): whole, and it verifies.
  setenv("AGORA_BACKUP_PASSPHRASE", "correct horse battery staple", 1);
  auto ok = run_agora({"restore", out, "--data", tmp.str("e")});
  unsetenv("AGORA_BACKUP_PASSPHRASE");
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK(run_agora({"verify", "--data", tmp.str("e")}).exit_code == 0);
  CHECK(store_state(tmp.str("e")) == store_state(data));
  // A plain backup cut short is refused as well.
  std::string plain = tmp.str("plain.agb");
  REQUIRE(run_agora({"backup", plain, "--data", data}).exit_code == 0);
  std::string plain_bytes = read_file(plain);
  std::ofstream(tmp.str("plain-cut.agb"), std::ios::binary) << plain_bytes.substr(0, plain_bytes.size() / 2);
  CHECK(run_agora({"restore", tmp.str("plain-cut.agb"), "--data", tmp.str("f")}).exit_code == 3);
  CHECK_FALSE(fs::exists(tmp.str("f")));
}

TEST_CASE("kill -9 during a backup leaves the node, and every finished backup, intact", "[cli][backup]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  {
    std::ofstream lines(tmp.str("p.ndjson"));
    for (int i = 0; i < 3000; ++i)
      lines << backed_up_practice("p" + std::to_string(i), i % 3 ? "public" : "private") << "\n";
  }
  REQUIRE(run_agora({"import", tmp.str("p.ndjson"), "--data", data}).exit_code == 0);
  ServingForBackup node(data, tmp.str("serve-lyon"));
  std::string finished = tmp.str("finished.agb");
  REQUIRE(run_agora({"backup", finished, "--data", data}).exit_code == 0);
  const std::string finished_bytes = read_file(finished);
  const std::string state = store_state(data);
  setenv("AGORA_BACKUP_PASSPHRASE", "p", 1);  // for the backups and restores below
  for (int round = 0; round < 6; ++round) {
    std::string out = tmp.str("killed-" + std::to_string(round) + ".agb");
    auto b = start_agora({"backup", out, "--encrypt", "--data", data}, tmp.str("backup.err"));
    REQUIRE(b.pid > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(15 * round));
    ::kill(b.pid, SIGKILL);
    wait_exit(b.pid);
    // Either no backup, or a whole one.
    if (fs::exists(out)) {
      INFO("round " << round << ": the backup had finished");
      auto r = run_agora({"restore", out, "--data", tmp.str("r" + std::to_string(round))});
      CHECK(r.exit_code == 0);
    }
  }
  unsetenv("AGORA_BACKUP_PASSPHRASE");
  CHECK(read_file(finished) == finished_bytes);
  CHECK(store_state(data) == state);
  CHECK(run_agora({"verify", "--data", data}).exit_code == 0);
  auto r = run_agora({"restore", finished, "--data", tmp.str("from-finished")});
  REQUIRE(r.exit_code == 0);
  CHECK(run_agora({"verify", "--data", tmp.str("from-finished")}).exit_code == 0);
  // The next backup clears what the killed ones left in the data dir.
  REQUIRE(run_agora({"backup", tmp.str("after.agb"), "--data", data}).exit_code == 0);
  size_t leftovers = 0;
  if (fs::exists(data + "/tmp"))
    for (const auto& e : fs::directory_iterator(data + "/tmp"))
      leftovers += e.path().filename().string().starts_with("backup-");
  for (const auto& e : fs::directory_iterator(tmp.str(""))) leftovers += e.path().string().ends_with(".partial");
  CHECK(leftovers == 0);
}

TEST_CASE("agora doctor names each problem with the command that fixes it, and exits 1 on problems", "[cli][doctor]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  // A fresh node: the root and recovery keys still here (warnings), no peers (a warning).
  auto fresh = run_agora({"doctor", "--data", data});
  INFO(fresh.out << fresh.err);
  CHECK(fresh.exit_code == 0);
  CHECK_THAT(fresh.out,
             Catch::Contains("root.key is still on this machine") && Catch::Contains("fix: move it offline"));
  CHECK_THAT(fresh.out, Catch::Contains("no peers"));
  CHECK_THAT(fresh.out, Catch::Contains("ok       the store opens"));
  // A key file others can read, and a peer nothing answers for: problems, exit 1.
  REQUIRE(
      run_agora({"peer", "add", "ws://127.0.0.1:1/sync", "--key", "ab12cd34" + std::string(56, '0'), "--data", data})
          .exit_code == 0);
  ::chmod((data + "/node.key").c_str(), 0644);
  auto sick = run_agora({"doctor", "--data", data});
  INFO(sick.out);
  CHECK(sick.exit_code == 1);
  CHECK_THAT(sick.out, Catch::Contains("PROBLEM  " + data + "/node.key is readable by others") &&
                           Catch::Contains("fix: chmod 600 " + data + "/node.key"));
  ::chmod((data + "/node.key").c_str(), 0600);
  auto unreachable = run_agora({"doctor", "--json", "--data", data});
  INFO(unreachable.out);
  CHECK(unreachable.exit_code == 1);
  json report = json::parse(unreachable.out);
  CHECK(report["problems"] == 1);
  CHECK_THAT(unreachable.out, Catch::Contains("ws://127.0.0.1:1/sync is not reachable"));
  // Offline: the peer's address is not tried.
  auto offline = run_agora({"doctor", "--offline", "--data", data});
  CHECK(offline.exit_code == 0);
  CHECK(offline.out.find("not reachable") == std::string::npos);
  // No node at all.
  auto none = run_agora({"doctor", "--data", tmp.str("nothing")});
  CHECK(none.exit_code == 1);
  CHECK_THAT(none.out, Catch::Contains("fix: agora init"));
}
