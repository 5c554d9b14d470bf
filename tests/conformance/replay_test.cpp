// Replays the wire transcripts of tests/conformance/ (format: tests/conformance/README.md)
// against a real `agora serve`, one fresh node per transcript.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "protocol/hex.hpp"
#include "protocol/sync_messages.hpp"
#include "sync/served_node.hpp"
#include "sync/test_peer.hpp"

using namespace agora;
using namespace agora::test;
using nlohmann::json;

namespace {

class Replay {
 public:
  Replay(const json& transcript, ServedNode& node) : t_(transcript), node_(node) {
    for (auto& [name, seed_hex] : t_["keys"].items()) {
      std::array<uint8_t, 32> seed{};
      REQUIRE(from_hex(seed_hex.get<std::string>(), seed.data(), seed.size()));
      keys_.emplace(name, SigningKey::from_seed(seed));
    }
    for (auto& [name, spec] : t_["records"].items()) build_record(name, spec);
  }

  std::string id_of(const std::string& name) { return node_id(key(name).public_key()); }

  void run() {
    size_t i = 0;
    for (const json& step : t_["steps"]) {
      INFO("step " << i++ << ": " << step.dump());
      run_step(step);
    }
  }

 private:
  const SigningKey& key(const std::string& name) {
    auto it = keys_.find(name);
    REQUIRE(it != keys_.end());
    return it->second;
  }

  // Records are signed here from their fields (Ed25519 is deterministic: every replayer
  // gets the same bytes).
  void build_record(const std::string& name, const json& spec) {
    Header h;
    const SigningKey& k = key(spec["key"]);
    h.origin = k.public_key();
    h.seq = spec["seq"];
    if (!spec["prev"].is_null()) h.prev = record_hash(records_.at(spec["prev"].get<std::string>()).header_bytes);
    std::string kind = spec["kind"];
    if (auto known = parse_kind(kind)) {
      h.kind = *known;
    } else {
      h.kind = Kind::unknown;
      h.unknown_kind = kind;
    }
    h.id = spec["id"];
    h.version = spec["version"];
    h.ts = spec["ts"];
    h.visibility = spec["visibility"];
    std::string body = spec["body"].dump();
    if (spec.contains("pad_body_to")) body.resize(spec["pad_body_to"].get<size_t>(), ' ');
    SignedRecord r = sign_record(h, body, k);
    if (spec.value("envelope", 1) != 1) {
      r.header_bytes.replace(r.header_bytes.find("\"v\":1,"), 6,
                             "\"v\":" + std::to_string(spec["envelope"].get<int>()) + ",");
      r.signature = k.sign(r.header_bytes);
    }
    if (spec.value("tamper", false)) (*r.body)[r.body->size() / 2] ^= 1;
    records_[name] = r;
  }

  // Placeholders in keys and values (README: $NODE, $KEY:X, $KEY_UPPER:X, $MY_CHALLENGE, ...).
  json substitute(const json& v) {
    if (v.is_string()) return json(text(v.get<std::string>()));
    if (v.is_array()) {
      json out = json::array();
      for (const auto& item : v) out.push_back(substitute(item));
      return out;
    }
    if (v.is_object()) {
      json out = json::object();
      for (auto& [k, item] : v.items()) out[text(k)] = substitute(item);
      return out;
    }
    return v;
  }
  std::string text(const std::string& s) {
    PublicKey node = *parse_node_id(node_.id);
    if (s == "$NODE") return node_.id;
    if (s.starts_with("$KEY:")) return node_id(key(s.substr(5)).public_key());
    if (s.starts_with("$KEY_UPPER:")) {
      std::string id = node_id(key(s.substr(11)).public_key());
      for (auto& c : id) c = static_cast<char>(std::toupper(c));
      return id;
    }
    if (s == "$MY_CHALLENGE") return my_challenge_;
    if (s == "$AUTH_PROOF")
      return to_hex(current().sign(sync::auth_transcript(hello_challenge_, current().public_key(), node)));
    if (s == "$WRONG_PROOF")
      return to_hex(current().sign(sync::auth_transcript(std::string(64, '0'), current().public_key(), node)));
    return s;
  }
  const SigningKey& current() { return key(current_key_); }

  // Subset match: every field expected is there and equal; "$ANY" matches anything.
  bool matches(const json& expected, const json& actual, std::string& why) {
    if (expected.is_string() && expected == "$ANY") return true;
    if (expected.is_string() && expected == "$WELCOME_PROOF") {
      Signature sig{};
      bool ok = actual.is_string() && from_hex(actual.get<std::string>(), sig.data(), sig.size()) &&
                verify_signature(
                    *parse_node_id(hello_key_.empty() ? node_.id : hello_key_),
                    sync::welcome_transcript(my_challenge_, *parse_node_id(node_.id), current().public_key()), sig);
      if (!ok) why = "welcome proof does not verify";
      return ok;
    }
    if (expected.is_object()) {
      if (!actual.is_object()) return why = "expected an object, got " + actual.dump(), false;
      for (auto& [k, v] : expected.items()) {
        if (!actual.contains(k)) return why = "missing field " + k + " in " + actual.dump(), false;
        if (!matches(v, actual[k], why)) return false;
      }
      return true;
    }
    if (expected.is_array()) {
      if (!actual.is_array() || actual.size() != expected.size())
        return why = "expected " + expected.dump() + ", got " + actual.dump(), false;
      for (size_t i = 0; i < expected.size(); ++i)
        if (!matches(expected[i], actual[i], why)) return false;
      return true;
    }
    if (expected != actual) return why = "expected " + expected.dump() + ", got " + actual.dump(), false;
    return true;
  }

  // The next control message; binary frames that come first are kept for later steps.
  json next_control() {
    for (;;) {
      auto m = peer_->next();
      REQUIRE(m);
      if (m->second) {
        frames_.push_back(std::move(m->first));
        continue;
      }
      json j = json::parse(m->first, nullptr, false);
      REQUIRE(j.is_object());
      if (j.value("t", "") == "hello") {
        hello_challenge_ = j.value("challenge", "");
        hello_key_ = j.value("key", "");  // a city's node proves itself with its node key
      }
      return j;
    }
  }
  std::string next_frame() {
    if (!frames_.empty()) {
      std::string f = std::move(frames_.front());
      frames_.pop_front();
      return f;
    }
    for (;;) {
      auto m = peer_->next();
      REQUIRE(m);
      if (m->second) return std::move(m->first);
    }
  }

  void connect(const std::string& name) {
    peer_ = std::make_unique<TestPeer>();
    frames_.clear();
    current_key_ = name;
    REQUIRE(peer_->connect(node_.sync_url));
  }

  void run_step(const json& step) {
    if (step.contains("connect")) return connect(step["connect"]);
    if (step.contains("handshake")) {
      connect(step["handshake"]);
      json hello = next_control();
      REQUIRE(hello["t"] == "hello");
      json auth = {{"t", "auth"},
                   {"v", 1},
                   {"node", "$KEY:" + current_key_},
                   {"challenge", "$MY_CHALLENGE"},
                   {"proof", "$AUTH_PROOF"}};
      if (step.contains("versions")) auth["versions"] = step["versions"];
      peer_->send(substitute(auth).dump());
      std::string why;
      bool ok = matches(json{{"t", "welcome"}, {"proof", "$WELCOME_PROOF"}}, next_control(), why);
      INFO(why);
      REQUIRE(ok);
      return;
    }
    if (step.contains("send")) return peer_->send(substitute(step["send"]).dump());
    if (step.contains("send_text")) return peer_->send(step["send_text"].get<std::string>());
    if (step.contains("send_hex")) {
      std::string hex = step["send_hex"], bytes(hex.size() / 2, '\0');
      REQUIRE(from_hex(hex, reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
      return peer_->send(bytes, true);
    }
    if (step.contains("send_batch")) {
      sync::RecordBatch b;
      b.batch = step["send_batch"]["batch"];
      for (const auto& name : step["send_batch"]["records"]) b.records.push_back(records_.at(name.get<std::string>()));
      return peer_->send(sync::encode(b), true);
    }
    if (step.contains("expect")) {
      json expected = substitute(step["expect"]), got = next_control();
      std::string why;
      bool ok = matches(expected, got, why);
      INFO(why);
      REQUIRE(ok);
      return;
    }
    if (step.contains("expect_error")) {
      json got = next_control();
      CHECK(got["t"] == "error");
      CHECK(got["code"] == step["expect_error"]);
      CHECK(peer_->closed());
      return;
    }
    if (step.contains("expect_binary")) {
      auto batch = sync::decode_batch(next_frame());
      REQUIRE(batch);
      return;
    }
    if (step.contains("expect_records")) {
      std::map<std::pair<std::string, uint64_t>, bool> wanted, got;  // (origin, seq) -> has body
      for (const auto& r : step["expect_records"])
        wanted[{text(r["origin"]), r["seq"].get<uint64_t>()}] = r["body"].get<bool>();
      auto all_there = [&] {
        for (const auto& [at, body] : wanted)
          if (!got.count(at)) return false;
        return true;
      };
      while (!all_there()) {
        auto batch = sync::decode_batch(next_frame());
        REQUIRE(batch);
        for (const auto& r : batch.value().records) {
          auto h = decode_header(r.header_bytes);
          REQUIRE(h);
          REQUIRE(verify_signature(h.value().origin, r.header_bytes, r.signature));
          got[{node_id(h.value().origin), h.value().seq}] = r.body.has_value();
        }
        peer_->send(sync::encode(sync::Ack{batch.value().batch, uint32_t(batch.value().records.size()), 0, 0}));
      }
      for (const auto& [at, body] : wanted) {
        INFO("record " << at.first << "/" << at.second);
        CHECK(got[at] == body);
      }
      return;
    }
    FAIL("unknown step " << step.dump());
  }

  const json& t_;
  ServedNode& node_;
  std::map<std::string, SigningKey> keys_;
  std::map<std::string, SignedRecord> records_;
  std::unique_ptr<TestPeer> peer_;
  std::deque<std::string> frames_;
  std::string current_key_, hello_challenge_, hello_key_, my_challenge_ = std::string(64, 'c');
};

}  // namespace

TEST_CASE("the conformance transcripts replay against a real node", "[sync][conformance]") {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(AGORA_SOURCE_DIR "/tests/conformance"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 5);
  for (const auto& file : files) {
    DYNAMIC_SECTION(file.filename().string()) {
      std::ifstream in(file);
      json t = json::parse(in);
      ServedNode node("Lyon", "FR");
      Replay replay(t, node);
      for (const auto& name : t["listed"])
        REQUIRE(node.agora({"peer", "add", "-", "--key", replay.id_of(name)}).exit_code == 0);
      node.serve();
      replay.run();
    }
  }
}
