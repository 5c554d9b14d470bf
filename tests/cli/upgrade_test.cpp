// Upgrades: a data dir written by agora 0.1.0 (tests/fixtures/store-format-1) opens with this
// build, which migrates it after a backup; a store of a later format is refused by name.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_files.hpp"
#include "cli/process.hpp"
#include "protocol/release.hpp"
#include "storage/keys.hpp"
#include "storage/record_store.hpp"
#include "temp_dir.hpp"

using namespace agora::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(AGORA_SOURCE_DIR) / "tests/fixtures/store-format-1";

// A copy of the fixture's data dir, as a checkout leaves it but for the key file's mode
// (git keeps 0644; agora refuses a key others can read).
std::string copy_of_release_1_data_dir(const TempDir& tmp) {
  std::string data = tmp.str("lyon");
  fs::copy(kFixture / "data", data, fs::copy_options::recursive);
  fs::permissions(fs::path(data) / "node.key", fs::perms::owner_read | fs::perms::owner_write);
  return data;
}

std::vector<fs::path> backups_in(const std::string& data) {
  std::vector<fs::path> out;
  if (fs::exists(fs::path(data) / "backups"))
    for (const auto& e : fs::directory_iterator(fs::path(data) / "backups")) out.push_back(e.path());
  return out;
}

uint32_t store_format_of(const std::string& data) {
  auto r = run_agora({"status", "--data", data, "--json"});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out)["store_format"].get<uint32_t>();
}

}  // namespace

TEST_CASE(
    "a data dir of agora 0.1.0 is read as it is, migrated by the node after a backup, and serves the same records",
    "[cli][upgrade]") {
  TempDir tmp;
  std::string data = copy_of_release_1_data_dir(tmp);

  // Reading commands read format 1 as it is and write nothing.
  auto listed = run_agora({"list", "--data", data});
  REQUIRE(listed.exit_code == 0);
  // The same rows as 0.1.0 listed (kind, city, id, version; the table's layout may differ).
  auto rows_of = [](const std::string& table) {
    std::vector<std::string> rows;
    std::istringstream in(table);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream cells(line);
      std::string kind, city, id, version;
      cells >> kind >> city >> id >> version;
      rows.push_back(kind + " " + city + " " + id + " " + version);
    }
    return rows;
  };
  CHECK(rows_of(listed.out) == rows_of(read_file((kFixture / "list.txt").string())));
  CHECK(listed.err.find("migrating") == std::string::npos);
  CHECK(store_format_of(data) == 1);
  CHECK(run_agora({"status", "--data", data}).out.find("migrates it to format 2") != std::string::npos);
  CHECK(backups_in(data).empty());

  // The node (as the service starts it after the package's upgrade) migrates it.
  Background node = start_agora({"serve", "--data", data, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"},
                                tmp.str("serve.err"), tmp.str("serve.out"));
  for (int i = 0; i < 200; ++i) {  // up once it printed its two addresses
    std::string out = read_file(tmp.str("serve.out"));
    if (std::count(out.begin(), out.end(), '\n') >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(node.pid, SIGTERM);
  CHECK(wait_exit(node.pid) == 0);
  std::string log = read_file(tmp.str("serve.err"));
  INFO(log);
  CHECK(log.find("migrating the store in " + data + " from format 1 to format " +
                 std::to_string(agora::storage::kStoreFormatVersion)) != std::string::npos);
  CHECK(store_format_of(data) == agora::storage::kStoreFormatVersion);

  // The backup came first, holds the store as 0.1.0 left it, and is named in the log.
  auto backups = backups_in(data);
  REQUIRE(backups.size() == 1);
  CHECK(backups[0].filename().string().starts_with("before-format-2-"));
  CHECK(log.find(backups[0].string()) != std::string::npos);

  // Every record, signature and chain as before; the export byte for byte.
  auto verified = run_agora({"verify", "--data", data});
  CHECK(verified.exit_code == 0);
  CHECK(verified.out.find("15 records from 2 origins") != std::string::npos);
  CHECK(run_agora({"export", "--format", "ndjson", "--data", data}).out ==
        read_file((kFixture / "export.ndjson").string()));
  auto peers = json::parse(run_agora({"peer", "list", "--json", "--data", data}).out)["peers"];
  REQUIRE(peers.size() == 1);
  CHECK(peers[0]["city"] == "Malmö");
  CHECK(peers[0]["url"] == "ws://127.0.0.1:7999/sync");

  // The key the city delegated still signs (its grant came through the migration), and
  // publishing goes on from the chain 0.1.0 left, without migrating or backing up again.
  write_file(tmp.str("p.json"), R"({"kind":"practice","id":"after-upgrade","title":"After the upgrade",
    "summary":"Published by the new release.","language":"en","themes":["employment"]})");
  auto published = run_agora({"publish", tmp.str("p.json"), "--data", data});
  CHECK(published.exit_code == 0);
  CHECK(published.err.find("migrating") == std::string::npos);
  CHECK(backups_in(data).size() == 1);
  CHECK(run_agora({"verify", "--data", data}).exit_code == 0);

  // The backup restores the data dir as 0.1.0 had it (a way back to that release), and
  // reading it leaves it so.
  auto restored = run_agora({"restore", backups[0].string(), "--data", tmp.str("back")});
  CHECK(restored.exit_code == 0);
  CHECK(read_file(tmp.str("back/node.json")) == read_file((kFixture / "data/node.json").string()));
  CHECK(run_agora({"verify", "--data", tmp.str("back")}).exit_code == 0);
  CHECK(store_format_of(tmp.str("back")) == 1);
}

TEST_CASE("a data dir another agora process has open is not migrated under it", "[cli][upgrade]") {
  TempDir tmp;
  std::string data = copy_of_release_1_data_dir(tmp);
  // What a running node of the old release holds: the data dir's lock, shared.
  int fd = ::open((fs::path(data) / "agora.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_SH) == 0);
  write_file(tmp.str("p.json"), R"({"kind":"practice","id":"during","title":"During the upgrade",
    "summary":"Published while the old node runs.","language":"en","themes":["employment"]})");
  std::string before = store_state(data);
  auto r = run_agora({"publish", tmp.str("p.json"), "--data", data});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("is in format 1") != std::string::npos);
  CHECK(r.err.find("stop the node running on it") != std::string::npos);
  CHECK(backups_in(data).empty());
  CHECK(store_state(data) == before);
  CHECK(store_format_of(data) == 1);
  ::close(fd);
  CHECK(run_agora({"publish", tmp.str("p.json"), "--data", data}).exit_code == 0);
  CHECK(store_format_of(data) == agora::storage::kStoreFormatVersion);
}

TEST_CASE("a store written by a later release is refused, naming both formats and releases", "[cli][upgrade]") {
  TempDir tmp;
  std::string data = tmp.str("node");
  REQUIRE(run_agora({"init", "--data", data, "--city", "Lyon", "--country", "FR"}).exit_code == 0);
  {
    agora::storage::RecordStore store(fs::path(data) / "store");
    MDB_dbi meta = store.env().open_table("meta");
    store.env().write([&](agora::storage::WriteTxn& t) {
      t.put(meta, "format", agora::storage::be<uint32_t>(agora::storage::kStoreFormatVersion + 1));
      t.put(meta, "release", "9.9.0");
    });
  }
  for (std::vector<std::string> verb : {std::vector<std::string>{"list"}, {"serve", "--listen", "127.0.0.1:0"}}) {
    verb.insert(verb.end(), {"--data", data});
    auto r = run_agora(verb);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("is in format " + std::to_string(agora::storage::kStoreFormatVersion + 1) +
                     ", written by agora 9.9.0; this agora " + agora::kRelease + " reads formats up to " +
                     std::to_string(agora::storage::kStoreFormatVersion)) != std::string::npos);
  }
  CHECK(backups_in(data).empty());
}
