#include <catch2/catch.hpp>

#include "protocol/hex.hpp"
#include "protocol/record.hpp"

using namespace agora;

namespace {
Header sample_header(const SigningKey& key) {
  Header h;
  h.origin = key.public_key();
  h.seq = 1;
  h.kind = Kind::practice;
  h.id = "citizenship-fund";
  h.version = 1;
  h.ts = 1763812345123;
  return h;
}
}  // namespace

TEST_CASE("a signed record verifies and round-trips its header", "[protocol][envelope]") {
  SigningKey key = SigningKey::generate();
  SignedRecord r = sign_record(sample_header(key), R"({"title":"Citizenship Fund"})", key);
  auto h = verify_record(r);
  REQUIRE(h);
  CHECK(h.value().id == "citizenship-fund");
  CHECK(h.value().body_size == r.body->size());
  CHECK(encode_header(h.value()) == r.header_bytes);
}

TEST_CASE("any tampered byte breaks verification", "[protocol][envelope]") {
  SigningKey key = SigningKey::generate();
  SignedRecord r = sign_record(sample_header(key), R"({"title":"Citizenship Fund"})", key);

  SECTION("a header byte") {
    auto pos = r.header_bytes.find("citizenship");
    r.header_bytes[pos] = 'k';
    auto v = verify_record(r);
    REQUIRE_FALSE(v);
    CHECK(v.error().path == "signature");
  }
  SECTION("a body byte") {
    (*r.body)[3] = 'T';
    REQUIRE_FALSE(verify_record(r));
    CHECK(verify_record(r).error().path == "body");
  }
  SECTION("a signature byte") {
    r.signature[10] ^= 1;
    REQUIRE_FALSE(verify_record(r));
  }
  SECTION("a stub without its body still verifies its header") {
    r.body.reset();
    CHECK(verify_record(r));
  }
}

TEST_CASE("a record signed by another key does not verify for the claimed origin", "[protocol][envelope]") {
  SigningKey owner = SigningKey::generate(), forger = SigningKey::generate();
  SignedRecord r = sign_record(sample_header(owner), "{}", forger);  // header names owner as origin
  auto v = verify_record(r);
  REQUIRE_FALSE(v);
  CHECK(v.error().path == "signature");
}

TEST_CASE("non-canonical or malformed headers are rejected", "[protocol][envelope]") {
  SigningKey key = SigningKey::generate();
  std::string canonical = encode_header(sample_header(key));
  CHECK(decode_header(canonical));
  std::string spaced = canonical;
  spaced.insert(1, " ");
  CHECK_FALSE(decode_header(spaced));
  CHECK(decode_header(spaced).error().message == "not in canonical form");
  std::string dup = canonical.substr(0, canonical.size() - 1) + R"(,"id":"other"})";
  CHECK_FALSE(decode_header(dup));
  CHECK_FALSE(decode_header("not json"));
  CHECK_FALSE(decode_header(std::string(2000, ' ')));
  std::string zero_seq = canonical;
  zero_seq.replace(zero_seq.find("\"seq\":1"), 7, "\"seq\":0");
  CHECK(decode_header(zero_seq).error().path == "header.seq");
}

TEST_CASE("node ids are 64 lowercase hex digits", "[protocol]") {
  SigningKey key = SigningKey::generate();
  std::string id = node_id(key.public_key());
  CHECK(id.size() == 64);
  CHECK(parse_node_id(id) == key.public_key());
  CHECK_FALSE(parse_node_id(id.substr(1)));
  CHECK_FALSE(parse_node_id(std::string(64, 'g')));
}

TEST_CASE("private keys round-trip through PEM", "[protocol]") {
  SigningKey key = SigningKey::generate();
  auto again = SigningKey::from_pem(key.to_pem());
  REQUIRE(again);
  CHECK(again->public_key() == key.public_key());
  CHECK_FALSE(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
}

TEST_CASE("the direct reader of canonical headers and the JSON parser agree", "[protocol][envelope]") {
  SigningKey key = SigningKey::generate();
  std::vector<std::string> valid;
  SigningKey staff = SigningKey::generate();
  for (int variant = 0; variant < 8; ++variant) {
    Header h = sample_header(key);
    h.seq = variant == 1 ? (uint64_t{1} << 53) - 1 : 1 + variant;
    if (variant == 2) {
      h.kind = Kind::city;
      h.id = "profile";
    }
    if (variant == 3) {
      h.tombstone = true;
      h.body_sha256 = sha256("");
    }
    if (variant == 4) h.visibility = "coalition:eccar";
    if (variant == 5) {
      h.kind = Kind::unknown;
      h.unknown_kind = "future-kind";
      h.body_size = 262144;
    }
    if (variant >= 6) h.key = staff.public_key();  // envelope 2
    if (variant == 7) {
      h.tombstone = true;
      h.body_sha256 = sha256("");
    }
    valid.push_back(encode_header(h));
  }
  // Every header above, and each with one byte changed, dropped or doubled: the two readers
  // accept the same ones and read the same header from them.
  const char replacements[] = {'0', '9', 'a', 'f', 'A', '"', '\\', ' ', ',', ':', '}', '-', 'x', '\x01'};
  size_t accepted = 0, compared = 0;
  for (const auto& text : valid) {
    std::vector<std::string> inputs{text};
    for (size_t i = 0; i < text.size(); ++i) {
      for (char c : replacements) {
        std::string changed = text;
        changed[i] = c;
        inputs.push_back(changed);
      }
      inputs.push_back(text.substr(0, i) + text.substr(i + 1));
      inputs.push_back(text.substr(0, i) + text[i] + text.substr(i));
    }
    for (const auto& in : inputs) {
      auto fast = decode_header(in);
      auto parsed = decode_header_parsed(in);
      INFO(in);
      REQUIRE(bool(fast) == bool(parsed));
      if (fast) {
        ++accepted;
        CHECK(encode_header(fast.value()) == encode_header(parsed.value()));
        CHECK(encode_header(fast.value()) == in);
      } else {
        CHECK(fast.error().path == parsed.error().path);
      }
      ++compared;
    }
  }
  CHECK(compared > 10000);
  CHECK(accepted > valid.size());  // some changes keep a valid header (a digit of a hash)
}

TEST_CASE("envelope 2 names the key that signed it, and only a key other than the origin", "[protocol][envelope]") {
  SigningKey root = SigningKey::generate(), staff = SigningKey::generate();
  Header h = sample_header(root);
  h.key = staff.public_key();
  SignedRecord r = sign_record(h, R"({"title":"Citizenship Fund"})", staff);
  CHECK(r.header_bytes.find("\"key\":\"" + to_hex(staff.public_key()) + "\",\"kind\"") != std::string::npos);
  CHECK(r.header_bytes.find("\"v\":2") != std::string::npos);
  auto ok = verify_record(r);
  REQUIRE(ok);
  CHECK(signer(ok.value()) == staff.public_key());
  CHECK(ok.value().origin == root.public_key());

  // Signed by the origin's key while naming another: the signature is checked against `key`.
  SignedRecord wrong = sign_record(h, "{}", root);
  REQUIRE_FALSE(verify_record(wrong));
  CHECK(verify_record(wrong).error().path == "signature");

  std::string v1 = encode_header(sample_header(root));
  std::string key_field = "\"key\":\"" + to_hex(staff.public_key()) + "\",";
  std::string with_key = v1;
  with_key.insert(with_key.find("\"kind\""), key_field);
  auto refused = decode_header(with_key);  // a key in envelope 1
  REQUIRE_FALSE(refused);
  CHECK(refused.error().path == "header.key");
  std::string v2_without_key = v1;
  v2_without_key.replace(v2_without_key.find("\"v\":1"), 5, "\"v\":2");
  REQUIRE_FALSE(decode_header(v2_without_key));
  CHECK(decode_header(v2_without_key).error().path == "header.key");
  Header self = sample_header(root);
  std::string own = encode_header(self);
  own.insert(own.find("\"kind\""), "\"key\":\"" + to_hex(root.public_key()) + "\",");
  own.replace(own.find("\"v\":1"), 5, "\"v\":2");
  REQUIRE_FALSE(decode_header(own));  // the origin's own key is never named
  CHECK(decode_header(own).error().path == "header.key");
  std::string v3 = encode_header(h);
  v3.replace(v3.find("\"v\":2"), 5, "\"v\":3");
  REQUIRE_FALSE(decode_header(v3));
  CHECK(decode_header(v3).error().newer_format);
}

TEST_CASE("a key record is always public and never a tombstone", "[protocol][envelope]") {
  SigningKey root = SigningKey::generate();
  Header h = sample_header(root);
  h.kind = Kind::key;
  h.id = "key-0123456789abcdef";
  CHECK(decode_header(encode_header(h)));
  h.visibility = "partners";
  CHECK_FALSE(decode_header(encode_header(h)));
  h.visibility = "public";
  h.tombstone = true;
  h.body_sha256 = sha256("");
  CHECK_FALSE(decode_header(encode_header(h)));
}
