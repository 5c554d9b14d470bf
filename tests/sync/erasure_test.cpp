// Erasure through real nodes (docs/data-model.md, "Erasure"): the bodies of erased versions
// leave every node that holds them, now or when it next syncs; the signed headers stay;
// nobody can bring the bodies back; compaction leaves no copy of the text on disk.
#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>
#include <nlohmann/json.hpp>
#include <zstd.h>

#include "protocol/erasure.hpp"
#include "sync/http_json.hpp"
#include "sync/served_node.hpp"
#include "sync/test_peer.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

namespace {

// Whether any file under `dir` holds `text`, as it is or inside a zstd frame (the store
// keeps bodies compressed when that saves space): what someone reading the disk would find.
bool data_files_hold(const std::string& dir, const std::string& text) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    if (bytes.find(text) != std::string::npos) return true;
    const std::string magic = "\x28\xB5\x2F\xFD";
    for (size_t at = bytes.find(magic); at != std::string::npos; at = bytes.find(magic, at + 1)) {
      size_t frame = ZSTD_findFrameCompressedSize(bytes.data() + at, bytes.size() - at);
      unsigned long long size = ZSTD_getFrameContentSize(bytes.data() + at, bytes.size() - at);
      if (ZSTD_isError(frame) || size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1 << 20))
        continue;
      std::string plain(size, '\0');
      size_t n = ZSTD_decompress(plain.data(), plain.size(), bytes.data() + at, frame);
      if (!ZSTD_isError(n) && plain.find(text) != std::string::npos) return true;
    }
  }
  return false;
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string canary_practice(const std::string& canary, int version) {
  return json{{"kind", "practice"},
              {"id", "mentoring"},
              {"title", "Mentoring for newcomers"},
              {"summary", "Version " + std::to_string(version) + ": ask " + canary + " at the town hall."},
              {"language", "en"},
              {"themes", {"employment"}}}
      .dump();
}

}  // namespace

TEST_CASE("an erasure reaches every node of a 10-node line, and one stopped meanwhile applies it on its first sync",
          "[sync][erasure]") {
  const std::string canary = "Zq7Canary" + std::to_string(::getpid());
  std::vector<std::unique_ptr<ServedNode>> nodes;
  for (int i = 0; i < 10; ++i) nodes.push_back(std::make_unique<ServedNode>("City" + std::to_string(i), "FR"));
  for (auto& n : nodes) {
    n->serve();
    n->listen = n->sync_url.substr(5, n->sync_url.rfind('/') - 5);  // a restart keeps the address
  }
  for (size_t i = 0; i + 1 < nodes.size(); ++i) peer_both(*nodes[i], *nodes[i + 1]);
  ServedNode& city = *nodes[0];
  ServedNode& away = *nodes[9];
  for (int v = 1; v <= 2; ++v) REQUIRE(city.agora({"publish", "-"}, canary_practice(canary, v)).exit_code == 0);
  const uint64_t published = city.head_of(city.id);
  for (auto& n : nodes) REQUIRE(wait_until([&] { return n->head_of(city.id) == published; }));
  const std::string path = "/api/v1/practices/" + city.id + "/mentoring";
  CHECK_THAT(get_json(away, path)["summary"].get<std::string>(), Catch::Contains(canary));
  CHECK(data_files_hold(away.data, canary));             // the checks below can fail
  CHECK(data_files_hold(away.data, lowercase(canary)));  // a search index term

  away.stop();
  auto erased = city.agora({"erase", "mentoring", "--all-versions", "--reason", "names a person who asked not to be"});
  INFO(erased.err);
  REQUIRE(erased.exit_code == 0);
  CHECK_THAT(erased.out, Catch::Contains("v1, v2 erased"));
  const uint64_t erasure = city.head_of(city.id);
  auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < 9; ++i) REQUIRE(wait_until([&] { return nodes[i]->head_of(city.id) == erasure; }));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN("erasure on all 9 running nodes of the line in " << seconds << " s");
  for (size_t i = 0; i < 9; ++i) {
    INFO("node " << i);
    auto gone = get_json(*nodes[i], path, 410);
    CHECK(gone["erased"]["reason"] == "names a person who asked not to be");
    for (int v = 1; v <= 2; ++v) get_json(*nodes[i], path + "?version=" + std::to_string(v), 410);
    auto history = get_json(*nodes[i], path + "/history")["items"];
    REQUIRE(history.size() == 2);
    for (const auto& item : history) {
      CHECK(item.contains("erased"));
      CHECK_FALSE(item.contains("summary"));
    }
    CHECK(get_json(*nodes[i], "/api/v1/practices?city=City0")["items"].empty());
  }

  // Back after the erasure: it serves the body until its first sync, then never again.
  away.serve();
  REQUIRE(wait_until([&] { return away.head_of(city.id) == erasure; }));
  get_json(away, path, 410);
  CHECK_THAT(away.agora({"show", city.id + "/mentoring", "--history"}).out, Catch::Contains("[ERASED on"));

  for (auto& n : nodes) {
    INFO(n->data);
    CHECK(n->agora({"verify"}).exit_code == 0);
    n->stop();
    auto compacted = n->agora({"compact"});
    INFO(compacted.err);
    CHECK(compacted.exit_code == 0);
    CHECK_FALSE(data_files_hold(n->data, canary));
    CHECK_FALSE(data_files_hold(n->data, lowercase(canary)));
    CHECK(n->agora({"verify"}).exit_code == 0);
  }
}

TEST_CASE_METHOD(ListedPeerConnected, "a peer that sends an erased body again is refused, and the body stays gone",
                 "[sync][erasure][hostile]") {
  // The peer is a city of its own: its practice, then its erasure of that practice.
  auto [r1, r2] = send_first_two(p, key);
  ErasureStatement e{"first", {1}, "a name that must go"};
  Header h;
  h.origin = key.public_key();
  h.seq = 3;
  h.prev = record_hash(r2.header_bytes);
  h.kind = Kind::erasure;
  h.id = erasure_id(e, 3);
  h.version = 1;
  h.ts = 2;
  SignedRecord erasure = sign_record(h, erasure_body(e), key);
  p.send(sync::encode(sync::RecordBatch{3, {erasure}}), true);
  CHECK(p.next_ack().stored == 1);
  const std::string path = "/api/v1/practices/" + node_id(key.public_key()) + "/first";
  get_json(a, path, 410);

  p.send(sync::encode(sync::RecordBatch{4, {r1}}), true);  // the erased record, body and all
  auto ack = p.next_ack();
  CHECK(ack.stored == 0);
  CHECK(ack.skipped == 1);
  get_json(a, path, 410);
  get_json(a, path + "?version=1", 410);
  CHECK(a.agora({"verify"}).exit_code == 0);
}

TEST_CASE("a blocked city's records are neither stored nor relayed, and a blocked peer is refused", "[sync][block]") {
  ServedNode lyon("Lyon", "FR"), cph("Copenhagen", "DK"), toronto("Toronto", "CA");
  for (auto* n : {&lyon, &cph, &toronto}) n->serve();
  peer_both(lyon, cph);
  peer_both(cph, toronto);  // Toronto hears of Lyon only through Copenhagen
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == kInitRecords; }));

  auto own = cph.agora({"block", cph.id});
  CHECK(own.exit_code == 3);
  CHECK_THAT(own.err, Catch::Contains("this node's own city"));
  auto blocked = cph.agora({"block", "Lyon", "--reason", "spam"});
  INFO(blocked.err);
  REQUIRE(blocked.exit_code == 0);
  CHECK_THAT(cph.agora({"block", "--list"}).out, Catch::Contains(lyon.id + "  since"));
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("while-blocked")).exit_code == 0);
  REQUIRE(wait_until([&] {
    auto peers = json::parse(lyon.agora({"peer", "list", "--json"}).out)["peers"];
    return !peers.empty() && peers[0].value("last_error", "").find("blocks your key") != std::string::npos;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(cph.head_of(lyon.id) == kInitRecords);
  CHECK(toronto.head_of(lyon.id) == kInitRecords);

  REQUIRE(cph.agora({"unblock", "Lyon"}).exit_code == 0);
  REQUIRE(wait_until([&] { return toronto.head_of(lyon.id) == kInitRecords + 1; }));

  // An origin blocked further along: relayed by a peer that is not blocked, still refused.
  REQUIRE(toronto.agora({"block", lyon.id}).exit_code == 0);
  REQUIRE(lyon.agora({"publish", "-"}, practice_json("after-toronto-blocked")).exit_code == 0);
  REQUIRE(wait_until([&] { return cph.head_of(lyon.id) == kInitRecords + 2; }));
  REQUIRE(cph.agora({"publish", "-"}, practice_json("from-copenhagen")).exit_code == 0);
  const uint64_t cph_head = cph.head_of(cph.id);
  REQUIRE(wait_until([&] { return toronto.head_of(cph.id) == cph_head; }));  // the link still works
  CHECK(toronto.head_of(lyon.id) == kInitRecords + 1);
  CHECK(toronto.agora({"verify"}).exit_code == 0);
}
