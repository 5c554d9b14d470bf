#include "protocol/record.hpp"

#include <nlohmann/json.hpp>

#include "protocol/hex.hpp"
#include "protocol/limits.hpp"

namespace agora {

using nlohmann::json;

bool is_valid_record_id(std::string_view id) {
  if (id.empty() || id.size() > limits::kMaxIdLength) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(id[0])) return false;
  for (char c : id)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

bool is_valid_coalition_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return name[0] != '-';
}

bool is_valid_visibility(std::string_view v) {
  if (v == "public" || v == "partners" || v == "private") return true;
  constexpr std::string_view prefix = "coalition:";
  return v.starts_with(prefix) && is_valid_coalition_name(v.substr(prefix.size()));
}

std::string node_id(const PublicKey& key) { return to_hex(key); }

std::optional<PublicKey> parse_node_id(std::string_view text) {
  PublicKey key;
  if (!from_hex(text, key.data(), key.size())) return std::nullopt;
  return key;
}

std::string_view header_kind_name(const Header& h) {
  return h.kind == Kind::unknown ? std::string_view(h.unknown_kind) : kind_name(h.kind);
}

std::string encode_header(const Header& h) {
  // Keys in byte order; every value is an ASCII integer or a string needing no escapes
  // (ids, kinds, visibility and hex are restricted to safe characters).
  std::string s;
  s.reserve(420);
  s += "{\"body_sha256\":\"" + to_hex(h.body_sha256) + "\"";
  s += ",\"body_size\":" + std::to_string(h.body_size);
  s += ",\"id\":\"" + h.id + "\"";
  if (h.key) s += ",\"key\":\"" + to_hex(*h.key) + "\"";
  s += ",\"kind\":\"" + std::string(header_kind_name(h)) + "\"";
  s += ",\"origin\":\"" + to_hex(h.origin) + "\"";
  s += ",\"prev\":\"" + to_hex(h.prev) + "\"";
  s += ",\"seq\":" + std::to_string(h.seq);
  if (h.tombstone) s += ",\"tombstone\":true";
  s += ",\"ts\":" + std::to_string(h.ts);
  s += h.key ? ",\"v\":2" : ",\"v\":1";
  s += ",\"version\":" + std::to_string(h.version);
  s += ",\"visibility\":\"" + h.visibility + "\"}";
  return s;
}

namespace {

// Reads header bytes laid out exactly as encode_header writes them, without a JSON parser:
// every header a node stores or receives from an honest peer. nullopt at the first doubt —
// another layout, an escape, a value out of range, a rule broken — and decode_header then
// parses the bytes and names what is wrong. A header returned here passed the same rules,
// and encode_header gives back exactly its bytes.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view bytes) : rest_(bytes) {}
  bool literal(std::string_view l) {
    if (!rest_.starts_with(l)) return false;
    rest_.remove_prefix(l.size());
    return true;
  }
  bool hex(uint8_t* out, size_t n) {  // "…" of 2n lowercase hex digits
    if (rest_.size() < 2 * n + 2 || rest_[0] != '"' || rest_[2 * n + 1] != '"') return false;
    std::string_view digits = rest_.substr(1, 2 * n);
    for (char c : digits)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    if (!from_hex(digits, out, n)) return false;
    rest_.remove_prefix(2 * n + 2);
    return true;
  }
  bool uint(uint64_t max, uint64_t& out) {  // digits, no leading zero, at most max
    size_t n = 0;
    while (n < rest_.size() && rest_[n] >= '0' && rest_[n] <= '9') ++n;
    if (n == 0 || n > 16 || (n > 1 && rest_[0] == '0')) return false;
    out = 0;
    for (size_t i = 0; i < n; ++i) out = out * 10 + static_cast<uint64_t>(rest_[i] - '0');
    rest_.remove_prefix(n);
    return out <= max;
  }
  bool plain_string(std::string& out) {  // "…" of printable ASCII without quotes or escapes
    if (rest_.empty() || rest_[0] != '"') return false;
    size_t end = 1;
    while (end < rest_.size() && rest_[end] != '"') {
      char c = rest_[end];
      if (c == '\\' || c < 0x20 || c > 0x7e) return false;
      ++end;
    }
    if (end == rest_.size()) return false;
    out.assign(rest_.substr(1, end - 1));
    rest_.remove_prefix(end + 1);
    return true;
  }
  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::optional<Header> read_canonical_header(std::string_view bytes) {
  constexpr uint64_t kMaxSafe = (uint64_t{1} << 53) - 1;
  CanonicalReader in(bytes);
  Header h;
  uint64_t u = 0;
  std::string kind;
  if (!in.literal("{\"body_sha256\":") || !in.hex(h.body_sha256.data(), h.body_sha256.size())) return std::nullopt;
  if (!in.literal(",\"body_size\":") || !in.uint(limits::kMaxBodyBytes, u)) return std::nullopt;
  h.body_size = static_cast<uint32_t>(u);
  if (!in.literal(",\"id\":") || !in.plain_string(h.id) || !is_valid_record_id(h.id)) return std::nullopt;
  if (in.literal(",\"key\":")) {
    h.key.emplace();
    if (!in.hex(h.key->data(), h.key->size())) return std::nullopt;
  }
  if (!in.literal(",\"kind\":") || !in.plain_string(kind)) return std::nullopt;
  if (auto known = parse_kind(kind)) {
    h.kind = *known;
  } else {
    if (!is_valid_kind_name(kind)) return std::nullopt;
    h.kind = Kind::unknown;
    h.unknown_kind = kind;
  }
  if (!in.literal(",\"origin\":") || !in.hex(h.origin.data(), h.origin.size())) return std::nullopt;
  if (!in.literal(",\"prev\":") || !in.hex(h.prev.data(), h.prev.size())) return std::nullopt;
  if (!in.literal(",\"seq\":") || !in.uint(kMaxSafe, h.seq) || h.seq == 0) return std::nullopt;
  h.tombstone = in.literal(",\"tombstone\":true");
  if (!in.literal(",\"ts\":") || !in.uint(kMaxSafe, u)) return std::nullopt;
  h.ts = static_cast<int64_t>(u);
  if (!in.literal(",\"v\":") || !in.uint(0xffffffff, u) || u != (h.key ? 2u : 1u)) return std::nullopt;
  if (h.key && *h.key == h.origin) return std::nullopt;
  if (!in.literal(",\"version\":") || !in.uint(0x7fffffff, u) || u == 0) return std::nullopt;
  h.version = static_cast<uint32_t>(u);
  if (!in.literal(",\"visibility\":") || !in.plain_string(h.visibility) || !is_valid_visibility(h.visibility))
    return std::nullopt;
  if (!in.literal("}") || !in.at_end()) return std::nullopt;
  if (h.kind == Kind::city && (h.id != "profile" || h.visibility != kPublicVisibility)) return std::nullopt;
  if (h.kind == Kind::key && (h.visibility != kPublicVisibility || h.tombstone)) return std::nullopt;
  if (h.tombstone) {
    static const Hash kNoBytes = sha256("");
    if (h.body_size != 0 || h.body_sha256 != kNoBytes) return std::nullopt;
  }
  if (encode_header(h) != bytes) return std::nullopt;  // the last word on canonical form
  return h;
}

}  // namespace

Result<Header> decode_header(std::string_view bytes) {
  if (bytes.size() > limits::kMaxHeaderBytes) return make_error("header", "larger than 1024 bytes");
  if (auto h = read_canonical_header(bytes)) return *h;
  return decode_header_parsed(bytes);
}

Result<Header> decode_header_parsed(std::string_view bytes) {
  if (bytes.size() > limits::kMaxHeaderBytes) return make_error("header", "larger than 1024 bytes");
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error("header", "not a JSON object");
  auto field = [&](const char* name) -> const json* {
    auto it = j.find(name);
    return it == j.end() ? nullptr : &*it;
  };
  auto get_uint = [&](const char* name, uint64_t max, uint64_t& out) -> bool {
    const json* f = field(name);
    if (!f || !f->is_number_unsigned()) return false;
    out = f->get<uint64_t>();
    return out <= max;
  };
  auto get_string = [&](const char* name, std::string& out) -> bool {
    const json* f = field(name);
    if (!f || !f->is_string()) return false;
    out = f->get<std::string>();
    return true;
  };
  Header h;
  uint64_t u = 0;
  std::string s;
  if (!get_uint("v", 0xffffffff, u)) return make_error("header.v", "missing or not an integer");
  if (u > kEnvelopeVersion) {
    Error newer = make_error("header.v", "envelope version " + std::to_string(u) + " is newer than this node reads (" +
                                             std::to_string(kEnvelopeVersion) + ")");
    newer.newer_format = true;
    return newer;
  }
  if (u == 0) return make_error("header.v", "unsupported envelope version 0");
  const uint64_t envelope = u;
  static constexpr std::string_view kKnown[] = {"body_sha256", "body_size", "id", "key", "kind",    "origin",    "prev",
                                                "seq",         "tombstone", "ts", "v",   "version", "visibility"};
  for (auto& [key, value] : j.items())
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown))
      return make_error("header." + key, "unknown header field");
  if (!get_string("origin", s) || !from_hex(s, h.origin.data(), h.origin.size()) || to_hex(h.origin) != s)
    return make_error("header.origin", "not a node id (64 lowercase hex digits)");
  constexpr uint64_t kMaxSafe = (uint64_t{1} << 53) - 1;
  if (!get_uint("seq", kMaxSafe, h.seq) || h.seq == 0) return make_error("header.seq", "not a positive integer");
  if (!get_string("prev", s) || !from_hex(s, h.prev.data(), h.prev.size()))
    return make_error("header.prev", "not a SHA-256 hex digest");
  if (!get_string("kind", s)) return make_error("header.kind", "missing");
  if (auto kind = parse_kind(s)) {
    h.kind = *kind;
  } else {
    if (!is_valid_kind_name(s)) return make_error("header.kind", "not a kind name (1-32 of a-z, 0-9, '-')");
    h.kind = Kind::unknown;  // newer than this node: kept and relayed, not interpreted
    h.unknown_kind = s;
  }
  if (!get_string("id", h.id) || !is_valid_record_id(h.id)) return make_error("header.id", "not a valid record id");
  if (field("key")) {
    h.key.emplace();
    if (!get_string("key", s) || !from_hex(s, h.key->data(), h.key->size()) || to_hex(*h.key) != s)
      return make_error("header.key", "not a key (64 lowercase hex digits)");
    if (*h.key == h.origin) return make_error("header.key", "the origin's own key is not named (envelope 1)");
    if (envelope != 2) return make_error("header.key", "present only in envelope 2");
  } else if (envelope != 1) {
    return make_error("header.key", "missing: envelope 2 names the key that signed it");
  }
  if (!get_uint("version", 0x7fffffff, u) || u == 0) return make_error("header.version", "not a positive integer");
  h.version = static_cast<uint32_t>(u);
  if (!get_uint("ts", kMaxSafe, u)) return make_error("header.ts", "not a non-negative integer");
  h.ts = static_cast<int64_t>(u);
  if (!get_string("visibility", h.visibility) || !is_valid_visibility(h.visibility))
    return make_error("header.visibility", "not a valid visibility");
  if (!get_string("body_sha256", s) || !from_hex(s, h.body_sha256.data(), h.body_sha256.size()))
    return make_error("header.body_sha256", "not a SHA-256 hex digest");
  if (!get_uint("body_size", limits::kMaxBodyBytes, u))
    return make_error("header.body_size", "missing or over the 256 KiB body limit");
  h.body_size = static_cast<uint32_t>(u);
  if (h.kind == Kind::city && (h.id != "profile" || h.visibility != kPublicVisibility))
    return make_error("header", "a city record is always public with id \"profile\"");
  if (h.kind == Kind::key && (h.visibility != kPublicVisibility || field("tombstone")))
    return make_error("header", "a key record is always public and never retracted (it is revoked)");
  if (const json* t = field("tombstone")) {
    if (!t->is_boolean() || !t->get<bool>()) return make_error("header.tombstone", "present only as true");
    h.tombstone = true;
    // A retraction's body is empty: its header says so, stub or not.
    static const Hash kNoBytes = sha256("");
    if (h.body_size != 0 || h.body_sha256 != kNoBytes)
      return make_error("header.tombstone", "a retraction's body_size is 0 and body_sha256 that of no bytes");
  }
  // One byte string per header: anything else (spaces, key order, duplicate keys, escapes)
  // could be read differently by another parser.
  if (encode_header(h) != bytes) return make_error("header", "not in canonical form");
  return h;
}

SignedRecord sign_record(Header header, std::string body, const SigningKey& key) {
  header.body_sha256 = sha256(body);
  header.body_size = static_cast<uint32_t>(body.size());
  SignedRecord r;
  r.header_bytes = encode_header(header);
  r.signature = key.sign(r.header_bytes);
  r.body = std::move(body);
  return r;
}

Result<Header> verify_record(const SignedRecord& record) {
  auto header = decode_header(record.header_bytes);
  if (!header) return header.error();
  const Header& h = header.value();
  if (record.body) {
    if (record.body->size() != h.body_size) return make_error("body", "size differs from the signed header");
    if (sha256(*record.body) != h.body_sha256) return make_error("body", "hash differs from the signed header");
  }
  if (!verify_signature(signer(h), record.header_bytes, record.signature))
    return make_error("signature", h.key ? "does not verify against the key the header names"
                                         : "does not verify against the origin's key");
  return header;
}

bool header_is_public(std::string_view header_bytes) { return header_bytes.ends_with(",\"visibility\":\"public\"}"); }

}  // namespace agora

namespace agora {

std::optional<std::pair<PublicKey, uint64_t>> claimed_position(std::string_view header_bytes) {
  // Canonical headers have one "origin" and one "seq" key (no other key contains these
  // names as a whole quoted key, and string values cannot contain quotes).
  constexpr std::string_view kOrigin = "\"origin\":\"", kSeq = "\"seq\":";
  auto o = header_bytes.find(kOrigin);
  auto s = header_bytes.find(kSeq);
  if (o == std::string_view::npos || s == std::string_view::npos) return std::nullopt;
  auto key = parse_node_id(header_bytes.substr(o + kOrigin.size(), 64));
  if (!key) return std::nullopt;
  uint64_t seq = 0;
  size_t i = s + kSeq.size(), digits = 0;
  for (; i < header_bytes.size() && header_bytes[i] >= '0' && header_bytes[i] <= '9' && digits < 16; ++i, ++digits)
    seq = seq * 10 + uint64_t(header_bytes[i] - '0');
  if (digits == 0) return std::nullopt;
  return std::pair{*key, seq};
}

}  // namespace agora
