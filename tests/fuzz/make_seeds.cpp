// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/TARGET/): real messages,
// signed records and input records, so fuzzing starts from what peers and coordinators send.
// Run once after a wire-format change: build/tests/fuzz/agora_fuzz_seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "protocol/authority.hpp"
#include "protocol/crypto.hpp"
#include "protocol/erasure.hpp"
#include "protocol/moderation.hpp"
#include "protocol/translation.hpp"
#include "protocol/hex.hpp"
#include "protocol/record.hpp"
#include "node/sync/reconcile.hpp"
#include "protocol/sync_messages.hpp"

using namespace agora;
namespace fs = std::filesystem;

namespace {
void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: agora_fuzz_seeds CORPUS_DIR\n";
    return 2;
  }
  fs::path root = argv[1];
  SigningKey key = SigningKey::generate(), other = SigningKey::generate();
  std::string body = R"({"title":"Jobspor","summary":"Et program.","language":"da","themes":["employment"]})";
  Header h;
  h.origin = key.public_key();
  h.seq = 1;
  h.kind = Kind::practice;
  h.id = "jobspor";
  h.version = 1;
  h.ts = 1700000000000;
  SignedRecord first = sign_record(h, body, key);
  Header h2 = h;
  h2.seq = 2;
  h2.prev = record_hash(first.header_bytes);
  h2.version = 2;
  h2.visibility = "coalition:eccar";
  SignedRecord second = sign_record(h2, body, key);
  SignedRecord stub = second;
  stub.body.reset();

  fs::path sync = root / "sync_message";
  write(sync, "hello", sync::encode(sync::Hello{key.public_key(), std::string(64, 'c'), {1}, std::nullopt}));
  write(sync, "auth", sync::encode(sync::Auth{other.public_key(), std::string(64, 'd'), {}, {1}, std::nullopt, ""}));
  write(sync, "welcome", sync::encode(sync::Welcome{}));
  write(sync, "heads", sync::encode(sync::Heads{{{key.public_key(), 2}, {other.public_key(), 7}}}));
  write(sync, "ack", sync::encode(sync::Ack{3, 10, 1, 0}));
  write(sync, "error", sync::encode(sync::ErrorMessage{"busy", "connection limit reached"}));
  write(sync, "batch", sync::encode(sync::RecordBatch{1, {first, second}}));
  write(sync, "batch-stub", sync::encode(sync::RecordBatch{2, {stub}}));
  write(sync, "heads-more", sync::encode(sync::Heads{{{key.public_key(), 2}}, true}));
  write(sync, "ack-v2", sync::encode(sync::Ack{3, 10, 1, 0, 2, 4}));
  write(sync, "unknown-type", R"({"t":"from-a-later-release","x":[1,2]})");
  // A delegated node key and a record it signed (docs/identity.md).
  SigningKey node_key = SigningKey::from_seed(std::array<uint8_t, 32>{7});
  KeyGrant grant;
  grant.key = node_key.public_key();
  grant.name = "node key";
  grant.role = KeyRole::node;
  Header kh = h;
  kh.seq = 3;
  kh.kind = Kind::key;
  kh.id = key_record_id(node_key.public_key());
  SignedRecord delegation = sign_record(kh, key_grant_body(grant), key);
  sync::NodeKeyProof proof{node_key.public_key(), delegation, {}};
  write(sync, "hello-node-key", sync::encode(sync::Hello{key.public_key(), std::string(64, 'c'), {1, 2}, proof}));
  write(sync, "auth-node-key",
        sync::encode(sync::Auth{
            key.public_key(),
            std::string(64, 'd'),
            {},
            {1, 2},
            proof,
            sync::invitation_proof("0123456789abcdef0123456789abcdef", std::string(64, 'c'), key.public_key())}));
  // A node key a recovered root delegated: the proof carries the genesis record and the
  // recovery record (docs/identity.md, "The race").
  SigningKey recovery = SigningKey::from_seed(std::array<uint8_t, 32>{8});
  SigningKey new_root = SigningKey::from_seed(std::array<uint8_t, 32>{9});
  Header gh = h;
  gh.seq = 1;
  gh.prev = Hash{};
  gh.kind = Kind::city;
  gh.id = "profile";
  SignedRecord genesis = sign_record(
      gh, R"({"country":"SE","name":"Malmö","recovery":")" + to_hex(recovery_commitment(recovery.public_key())) + "\"}",
      key);
  KeyGrant root_grant;
  root_grant.key = new_root.public_key();
  root_grant.name = "recovered root";
  root_grant.role = KeyRole::root;
  Header rh = kh;
  rh.seq = 4;
  rh.id = key_record_id(new_root.public_key());
  rh.key = recovery.public_key();
  SignedRecord recovery_record = sign_record(rh, key_grant_body(root_grant), recovery);
  Header nh = kh;
  nh.seq = 5;
  nh.key = new_root.public_key();
  SignedRecord by_new_root = sign_record(nh, key_grant_body(grant), new_root);
  sync::NodeKeyProof path_proof{node_key.public_key(), by_new_root, {genesis, recovery_record}};
  write(sync, "hello-node-key-path",
        sync::encode(sync::Hello{key.public_key(), std::string(64, 'c'), {1, 2}, path_proof}));
  {
    std::map<PublicKey, uint64_t> many;
    for (int i = 0; i < 40; ++i) many[sha256(std::to_string(i))] = uint64_t(i + 1);
    sync::Reconciler r(many, Hash{});
    write(sync, "reconcile-open-fp", sync::encode(sync::Reconcile{r.open(), false}));
    sync::RangeEntry heads{"", sync::RangeEntry::Type::heads, {}, {{key.public_key(), 2}}};
    write(sync, "reconcile-open-heads", sync::encode(sync::Reconcile{{heads}, false}));
    sync::RangeEntry answer{"a", sync::RangeEntry::Type::answer, {}, {}};
    sync::RangeEntry sub{"a3", sync::RangeEntry::Type::heads, {}, {}};
    write(sync, "reconcile-turn", sync::encode(sync::Reconcile{{answer, sub}, true}));
  }

  fs::path rec = root / "record";
  auto joined = [](const SignedRecord& r) {
    return r.header_bytes + '\x1e' + r.body.value_or("") + '\x1e' +
           std::string(reinterpret_cast<const char*>(r.signature.data()), r.signature.size());
  };
  write(rec, "first", joined(first));
  write(rec, "second", joined(second));
  write(rec, "header", first.header_bytes);
  {  // a kind and a body field newer than this node; an envelope newer than it reads
    Header later = h;
    later.kind = Kind::unknown;
    later.unknown_kind = "glossary";
    write(rec, "unknown-kind", joined(sign_record(later, R"({"of":"jobspor","language":"fr","x":{"y":[1]}})", key)));
    std::string extra = R"({"title":"J","summary":"S.","language":"zh","themes":["employment","later"],"score":7})";
    write(rec, "unknown-field", joined(sign_record(h, extra, key)));
    std::string v2 = first.header_bytes;
    v2.replace(v2.find("\"v\":1"), 5, "\"v\":3");
    write(rec, "newer-envelope", v2);
    write(rec, "key-record", joined(delegation));
    write(rec, "genesis-with-recovery", joined(genesis));
    write(rec, "recovery-record", joined(recovery_record));
    Header by_node = h;
    by_node.seq = 4;
    by_node.key = node_key.public_key();  // envelope 2
    write(rec, "envelope-2", joined(sign_record(by_node, body, node_key)));
    Header erasure = h;
    erasure.seq = 5;
    erasure.kind = Kind::erasure;
    ErasureStatement statement{"jobspor", {1, 2}, "names a person"};
    erasure.id = erasure_id(statement, 5);
    write(rec, "erasure", joined(sign_record(erasure, erasure_body(statement), key)));
    Header moderation = h;
    moderation.seq = 6;
    moderation.kind = Kind::moderation;
    ModerationStatement decision{"eccar", ModerationAction::dispute, node_id(other.public_key()) + "/cbsi",
                                 "figures not verified"};
    moderation.id = moderation_id(decision.coalition, decision.target);
    write(rec, "moderation", joined(sign_record(moderation, moderation_body(decision), key)));
    Header translation = h;
    translation.seq = 7;
    translation.kind = Kind::translation;
    translation.id = translation_id(other.public_key(), "cbsi", "zh-Hant");
    std::string translated =
        R"({"language":"zh-Hant","of":")" + node_id(other.public_key()) +
        R"(/cbsi","of_version":2,"outcomes":["就業人數"],"summary":"就業支持。","title":"移民就業"})";
    write(rec, "translation", joined(sign_record(translation, translated, key)));
  }
  write(
      rec, "plan-body",
      R"({"title":"Plan","framework":"eccar-10pt","period":{"from":"2024-01-01","to":"2026-12-31"},"items":[{"id":"a","commitment":"6","action":"x","indicators":[{"name":"n","baseline":1,"target":2,"direction":"increase"}]}]})");

  fs::path input = root / "input";
  write(
      input, "practice",
      R"({"kind":"practice","id":"citizenship-fund","title":"Citizenship Fund","summary":"Yearly fund.","language":"en","themes":["participation"],"principles":["subsidiarity"],"frameworks":[{"framework":"eccar-10pt","ref":"4"}],"started":2007,"partners":["A"],"outcomes":[{"indicator":"budget","value":1000000,"unit":"EUR"}],"links":["https://example.org/"],"visibility":"public"})");
  write(
      input, "translation",
      R"({"kind":"translation","of":")" + std::string(64, 'a') +
          R"(/jobspor","of_version":1,"language":"pt-br","title":"Emprego","summary":"Programa.","outcomes":["pessoas"],"items":[{"id":"a","action":"Ação."}]})");
  write(
      input, "plan",
      R"({"kind":"plan","id":"p","title":"Plan","framework":"coe-res281","period":{"from":"2025-01-01","to":"2027-12-31"},"items":[{"id":"d","commitment":"d","action":"Review.","start":"2025-03-01","due":"2027-06-30","status":"in-progress","themes":["employment"],"indicators":[{"name":"weeks","unit":"weeks","baseline":14,"target":6,"direction":"decrease"}]}]})");
  write(input, "report",
        R"({"kind":"report","plan":"p","item":"d","indicator":"weeks","value":9,"date":"2026-06-30","source":"CBSI"})");
  write(input, "adoption",
        R"({"kind":"adoption","practice":")" + node_id(other.public_key()) + R"(/cbsi","notes":"n","started":2009})");
  write(input, "partnership",
        R"({"kind":"partnership","with":")" + node_id(other.public_key()) +
            R"(","relation":"coalition-member","coalition":"eccar"})");
  write(
      input, "coalition",
      R"({"kind":"coalition","name":"eccar","title":"ECCAR","region":"Europe","framework":"eccar-10pt","members":[")" +
          node_id(other.public_key()) + R"("]})");
  write(
      input, "framework",
      R"({"kind":"framework","id":"charter","title":"Charter","coalition":"eccar","commitments":[{"ref":"employer","title":"The city as employer"}]})");
  write(input, "city", R"({"kind":"city","name":"Malmö","country":"SE","languages":["sv"]})");
  // Decomposed text ("o" + U+0308, raw and escaped): normalized before it is signed.
  write(input, "decomposed",
        "{\"kind\":\"practice\",\"title\":\"Malmo\xCC\x88 "
        "linkworkers\",\"summary\":\"La\\u0308nkarbetare.\",\"language\":\"sv\",\"themes\":[\"employment\"],"
        "\"partners\":[\"Fo\xCC\x88reningar\"]}");

  fs::path query = root / "http_query";
  write(query, "list", "/api/v1/practices?q=besk%C3%A6ftigelse&city=Malm%C3%B6&theme=employment&limit=20&cursor=00ff");
  write(query, "record", "/api/v1/practices/Malm%C3%B6/jobspor/history?version=2");
  write(query, "plus", "/api/v1/practices?q=housing+first&framework=eccar-10pt&ref=6");
  write(query, "decomposed", "/api/v1/practices/Go%CC%88teborg/modellen?q=Malmo%CC%88&city=Malmo%CC%88");
  std::cout << "seeds written to " << root.string() << "\n";
  return 0;
}
