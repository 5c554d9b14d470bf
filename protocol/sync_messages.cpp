#include "protocol/sync_messages.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "protocol/hex.hpp"
#include "protocol/json_text.hpp"
#include "protocol/limits.hpp"

namespace agora::sync {

using nlohmann::json;

namespace {

std::string hex_of(const auto& bytes) { return to_hex(bytes); }

bool read_key(const json& j, const char* field, PublicKey& out) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() && from_lower_hex(it->get<std::string>(), out.data(), out.size());
}
bool read_sig(const json& j, const char* field, Signature& out) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() && from_lower_hex(it->get<std::string>(), out.data(), out.size());
}
bool read_challenge(const json& j, std::string& out) {
  auto it = j.find("challenge");
  if (it == j.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  uint8_t buf[32];
  return from_lower_hex(out, buf, sizeof buf);
}
// `versions`: absent means [1]; else 1-16 integers in 1..65535.
bool read_versions(const json& j, std::vector<int>& out) {
  auto it = j.find("versions");
  if (it == j.end()) return true;
  if (!it->is_array() || it->empty() || it->size() > 16) return false;
  out.clear();
  for (const auto& v : *it) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > 65535) return false;
    out.push_back(static_cast<int>(v.get<uint64_t>()));
  }
  return true;
}
constexpr uint64_t kMaxSeq = (uint64_t{1} << 53) - 1;
// An object of node id -> seq (lowercase ids, seq 0 .. 2^53-1), every id starting with `prefix`.
bool read_head_map(const json& obj, std::string_view prefix, std::map<PublicKey, uint64_t>& out) {
  if (!obj.is_object()) return false;
  for (auto& [k, v] : obj.items()) {
    PublicKey origin;
    if (!k.starts_with(prefix) || !from_lower_hex(k, origin.data(), origin.size()) || !v.is_number_unsigned() ||
        v.get<uint64_t>() > kMaxSeq)
      return false;
    out[origin] = v.get<uint64_t>();
  }
  return true;
}
json head_map(const std::map<PublicKey, uint64_t>& heads) {
  json out = json::object();
  for (const auto& [origin, seq] : heads) out[to_hex(origin)] = seq;
  return out;
}
bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
json range_json(const RangeEntry& r) {
  json out = {{"p", r.prefix}};
  switch (r.type) {
    case RangeEntry::Type::fingerprints: {
      std::string fp;
      for (uint64_t f : r.fingerprints) {
        uint8_t bytes[8];
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(f >> (56 - 8 * i));
        fp += to_hex(bytes, 8);
      }
      out["fp"] = fp;
      break;
    }
    case RangeEntry::Type::heads:
      out["heads"] = head_map(r.heads);
      break;
    case RangeEntry::Type::answer:
      out["answer"] = head_map(r.heads);
      break;
  }
  return out;
}
Result<RangeEntry> read_range(const json& j, size_t index) {
  std::string where = "reconcile.ranges[" + std::to_string(index) + "]";
  if (!j.is_object()) return make_error(where, "not an object");
  RangeEntry r;
  auto p = j.find("p");
  if (p == j.end() || !p->is_string() || p->get_ref<const std::string&>().size() > kNodeIdHexDigits ||
      !is_lower_hex(p->get_ref<const std::string&>()))
    return make_error(where + ".p", "not 0-64 lowercase hex digits");
  r.prefix = p->get<std::string>();
  int types = int(j.contains("fp")) + int(j.contains("heads")) + int(j.contains("answer"));
  if (types != 1) return make_error(where, "needs exactly one of fp, heads, answer");
  if (auto fp = j.find("fp"); fp != j.end()) {
    r.type = RangeEntry::Type::fingerprints;
    if (r.prefix.size() >= kNodeIdHexDigits) return make_error(where + ".fp", "a full node id has no sub-ranges");
    if (!fp->is_string() || fp->get_ref<const std::string&>().size() != 16 * 16)
      return make_error(where + ".fp", "not 16 fingerprints of 16 lowercase hex digits");
    const std::string& text = fp->get_ref<const std::string&>();
    for (size_t i = 0; i < 16; ++i) {
      uint8_t bytes[8];
      if (!from_lower_hex(std::string_view(text).substr(16 * i, 16), bytes, 8))
        return make_error(where + ".fp", "not 16 fingerprints of 16 lowercase hex digits");
      uint64_t f = 0;
      for (uint8_t b : bytes) f = f << 8 | b;
      r.fingerprints[i] = f;
    }
    return r;
  }
  bool heads = j.contains("heads");
  r.type = heads ? RangeEntry::Type::heads : RangeEntry::Type::answer;
  const json& map = heads ? j["heads"] : j["answer"];
  if (!read_head_map(map, r.prefix, r.heads))
    return make_error(where + (heads ? ".heads" : ".answer"),
                      "entries must be node id (starting with the prefix) -> sequence number");
  if (r.heads.size() > kMaxRangeHeads) return make_error(where, "more than 16 origins in one range");
  return r;
}
template <class T>
void put_be(std::string& out, T v) {
  for (int i = sizeof(T) - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
template <class T>
bool get_be(std::string_view in, size_t& pos, T& v) {
  if (pos + sizeof(T) > in.size()) return false;
  v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v << 8 | static_cast<uint8_t>(in[pos + i]));
  pos += sizeof(T);
  return true;
}

}  // namespace

std::string invitation_id(std::string_view secret) { return to_hex(sha256(secret)); }

std::string invitation_proof(std::string_view secret, std::string_view server_challenge, const PublicKey& client) {
  std::string message = "agora-sync/1 invitation " + std::string(server_challenge) + " " + to_hex(client);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return invitation_id(secret) + "." + to_hex(std::string_view(reinterpret_cast<const char*>(mac), len));
}

namespace {

json record_json(const SignedRecord& r) {
  return {{"header", r.header_bytes}, {"signature", hex_of(r.signature)}, {"body", r.body.value_or("")}};
}

void put_node_key(json& out, const std::optional<NodeKeyProof>& p) {
  if (!p) return;
  out["key"] = hex_of(p->key);
  out["delegation"] = record_json(p->delegation);
  if (!p->path.empty()) {
    out["path"] = json::array();
    for (const auto& r : p->path) out["path"].push_back(record_json(r));
  }
}

// A key record (or genesis record) in a node-key proof, within its size limits.
bool read_proof_record(const json& d, SignedRecord& out) {
  if (!d.is_object()) return false;
  auto header = d.find("header"), body = d.find("body");
  if (header == d.end() || !header->is_string() || header->get_ref<const std::string&>().size() > 1024) return false;
  if (body == d.end() || !body->is_string() || body->get_ref<const std::string&>().size() > 4096) return false;
  if (!read_sig(d, "signature", out.signature)) return false;
  out.header_bytes = header->get<std::string>();
  out.body = body->get<std::string>();
  return true;
}

// Absent: fine. Present: a key and its delegation record, each well formed.
bool read_node_key(const json& j, std::optional<NodeKeyProof>& out) {
  if (!j.contains("key") && !j.contains("delegation")) return true;
  NodeKeyProof p;
  if (!read_key(j, "key", p.key)) return false;
  auto d = j.find("delegation");
  if (d == j.end() || !read_proof_record(*d, p.delegation)) return false;
  if (auto path = j.find("path"); path != j.end()) {
    if (!path->is_array() || path->size() > kMaxNodeKeyPath) return false;
    for (const auto& r : *path)
      if (!read_proof_record(r, p.path.emplace_back())) return false;
  }
  out = std::move(p);
  return true;
}

}  // namespace

std::string encode(const Hello& m) {
  json out{{"t", "hello"},
           {"v", kProtocolVersion},
           {"versions", m.versions},
           {"node", hex_of(m.node)},
           {"challenge", m.challenge}};
  put_node_key(out, m.node_key);
  return out.dump();
}
std::string encode(const Auth& m) {
  json out{{"t", "auth"},
           {"v", kProtocolVersion},
           {"versions", m.versions},
           {"node", hex_of(m.node)},
           {"challenge", m.challenge},
           {"proof", hex_of(m.proof)}};
  put_node_key(out, m.node_key);
  if (!m.invitation.empty()) out["invitation"] = m.invitation;
  return out.dump();
}
std::string encode(const Welcome& m) { return json{{"t", "welcome"}, {"proof", hex_of(m.proof)}}.dump(); }
std::string encode(const Heads& m) {
  json out{{"t", "heads"}, {"heads", head_map(m.heads)}};
  if (m.more) out["more"] = true;
  return out.dump();
}
std::vector<std::string> encode_heads(const std::map<PublicKey, uint64_t>& heads) {
  std::vector<std::string> out;
  Heads part;
  for (const auto& [origin, seq] : heads) {
    if (part.heads.size() == kHeadsPerMessage) {
      part.more = true;
      out.push_back(encode(part));
      part = Heads{};
    }
    part.heads.emplace(origin, seq);
  }
  out.push_back(encode(part));
  return out;
}
std::string encode(const Ack& m) {
  return json{{"t", "ack"},
              {"batch", m.batch},
              {"stored", m.stored},
              {"duplicate", m.duplicate},
              {"rejected", m.rejected},
              {"forks", m.forks},
              {"skipped", m.skipped}}
      .dump();
}
std::string encode(const Reconcile& m) {
  json ranges = json::array();
  for (const auto& r : m.ranges) ranges.push_back(range_json(r));
  json out{{"t", "reconcile"}, {"ranges", std::move(ranges)}};
  if (m.more) out["more"] = true;
  return out.dump();
}
std::string encode(const UnknownMessage& m) { return json{{"t", m.type}}.dump(); }
std::vector<std::string> encode_turn(const std::vector<RangeEntry>& ranges, size_t max_bytes) {
  std::vector<std::string> out;
  json part = json::array();
  size_t bytes = 0;
  auto flush = [&](bool more) {
    json m{{"t", "reconcile"}, {"ranges", std::move(part)}};
    if (more) m["more"] = true;
    out.push_back(m.dump());
    part = json::array();
    bytes = 0;
  };
  for (const auto& r : ranges) {
    json entry = range_json(r);
    size_t size = entry.dump().size() + 1;
    if (!part.empty() && bytes + size > max_bytes) flush(true);
    bytes += size;
    part.push_back(std::move(entry));
  }
  flush(false);
  return out;
}
std::string encode(const ErrorMessage& m) {
  return json{{"t", "error"}, {"code", m.code}, {"message", m.message}}.dump();
}

Result<Control> decode_control(std::string_view text) {
  if (text.size() > kMaxControlBytes) return make_error("message", "control message over 256 KiB");
  UniqueKeysParse parsed = parse_unique_keys(text);
  if (parsed.duplicate_key) return make_error("message", "an object has the same key twice");
  json& j = parsed.value;
  if (j.is_discarded() || !j.is_object()) return make_error("message", "not a JSON object");
  auto t = j.find("t");
  if (t == j.end() || !t->is_string()) return make_error("message.t", "missing message type");
  const std::string type = t->get<std::string>();
  auto version_ok = [&] {
    auto v = j.find("v");
    return v != j.end() && v->is_number_unsigned() && v->get<uint64_t>() == kProtocolVersion;
  };
  if (type == "hello") {
    Hello m;
    if (!version_ok()) return make_error("hello.v", "unsupported protocol version");
    if (!read_versions(j, m.versions)) return make_error("hello.versions", "not a list of 1-16 version numbers");
    if (!read_key(j, "node", m.node)) return make_error("hello.node", "not a node id");
    if (!read_challenge(j, m.challenge)) return make_error("hello.challenge", "not 32 bytes of hex");
    if (!read_node_key(j, m.node_key)) return make_error("hello.delegation", "not a key with its delegation record");
    return Control{m};
  }
  if (type == "auth") {
    Auth m;
    if (!version_ok()) return make_error("auth.v", "unsupported protocol version");
    if (!read_versions(j, m.versions)) return make_error("auth.versions", "not a list of 1-16 version numbers");
    if (!read_key(j, "node", m.node)) return make_error("auth.node", "not a node id");
    if (!read_challenge(j, m.challenge)) return make_error("auth.challenge", "not 32 bytes of hex");
    if (!read_sig(j, "proof", m.proof)) return make_error("auth.proof", "not a signature");
    if (!read_node_key(j, m.node_key)) return make_error("auth.delegation", "not a key with its delegation record");
    if (auto inv = j.find("invitation"); inv != j.end()) {
      const bool ok = inv->is_string() && inv->get_ref<const std::string&>().size() == 129 &&
                      (*inv).get_ref<const std::string&>()[64] == '.' &&
                      inv->get_ref<const std::string&>().find_first_not_of("0123456789abcdef.") == std::string::npos;
      if (!ok) return make_error("auth.invitation", "not ID.MAC (64 and 64 lowercase hex digits)");
      m.invitation = inv->get<std::string>();
    }
    return Control{m};
  }
  if (type == "welcome") {
    Welcome m;
    if (!read_sig(j, "proof", m.proof)) return make_error("welcome.proof", "not a signature");
    return Control{m};
  }
  if (type == "heads") {
    Heads m;
    auto h = j.find("heads");
    if (h == j.end() || !h->is_object()) return make_error("heads.heads", "not an object");
    if (h->size() > kMaxHeadsEntries) return make_error("heads.heads", "too many origins");
    if (!read_head_map(*h, "", m.heads))
      return make_error("heads.heads", "entries must be node id -> sequence number (0 to 2^53-1)");
    if (auto more = j.find("more"); more != j.end()) {
      if (!more->is_boolean()) return make_error("heads.more", "not a boolean");
      m.more = more->get<bool>();
    }
    return Control{m};
  }
  if (type == "ack") {
    Ack m;
    auto num = [&](const char* f, auto& out) {
      auto it = j.find(f);
      if (it == j.end() || !it->is_number_unsigned()) return false;
      out = static_cast<std::decay_t<decltype(out)>>(it->get<uint64_t>());
      return true;
    };
    if (!num("batch", m.batch) || !num("stored", m.stored) || !num("duplicate", m.duplicate) ||
        !num("rejected", m.rejected))
      return make_error("ack", "fields must be non-negative integers");
    // forks and skipped came later: optional, for senders of the first releases.
    if ((j.contains("forks") && !num("forks", m.forks)) || (j.contains("skipped") && !num("skipped", m.skipped)))
      return make_error("ack", "fields must be non-negative integers");
    return Control{m};
  }
  if (type == "error") {
    ErrorMessage m;
    m.code = j.value("code", "");
    m.message = j.value("message", "");
    return Control{m};
  }
  if (type == "reconcile") {
    Reconcile m;
    auto ranges = j.find("ranges");
    if (ranges == j.end() || !ranges->is_array()) return make_error("reconcile.ranges", "not an array");
    for (size_t i = 0; i < ranges->size(); ++i) {
      auto r = read_range((*ranges)[i], i);
      if (!r) return r.error();
      m.ranges.push_back(std::move(r).value());
    }
    if (auto more = j.find("more"); more != j.end()) {
      if (!more->is_boolean()) return make_error("reconcile.more", "not a boolean");
      m.more = more->get<bool>();
    }
    return Control{m};
  }
  return Control{UnknownMessage{type}};
}

std::string auth_transcript(std::string_view server_challenge, const PublicKey& client, const PublicKey& server) {
  return "agora-sync/1 auth " + std::string(server_challenge) + " " + hex_of(client) + " " + hex_of(server);
}
std::string welcome_transcript(std::string_view client_challenge, const PublicKey& server, const PublicKey& client) {
  return "agora-sync/1 welcome " + std::string(client_challenge) + " " + hex_of(server) + " " + hex_of(client);
}

std::string batch_frame_prefix(uint64_t batch, uint32_t count) {
  std::string out = "R";
  put_be(out, batch);
  put_be(out, count);
  return out;
}

void append_record(std::string& out, const SignedRecord& r) {
  put_be<uint16_t>(out, static_cast<uint16_t>(r.header_bytes.size()));
  out += r.header_bytes;
  out.append(reinterpret_cast<const char*>(r.signature.data()), r.signature.size());
  out.push_back(r.body ? 1 : 0);
  if (r.body) {
    put_be<uint32_t>(out, static_cast<uint32_t>(r.body->size()));
    out += *r.body;
  }
}

std::string encode(const RecordBatch& b) {
  std::string out = batch_frame_prefix(b.batch, static_cast<uint32_t>(b.records.size()));
  for (const auto& r : b.records) append_record(out, r);
  return out;
}

Result<RecordBatch> decode_batch(std::string_view in) {
  if (in.size() > kMaxFrameBytes) return make_error("batch", "frame over 8 MiB");
  if (in.empty() || in[0] != 'R') return make_error("batch", "not a record batch");
  size_t pos = 1;
  RecordBatch b;
  uint32_t count = 0;
  if (!get_be(in, pos, b.batch) || !get_be(in, pos, count)) return make_error("batch", "truncated batch header");
  if (count > kMaxBatchRecords) return make_error("batch", "more than 1024 records");
  b.records.reserve(count);
  b.oversized.assign(count, std::string());
  for (uint32_t i = 0; i < count; ++i) {
    SignedRecord r;
    uint16_t hlen = 0;
    if (!get_be(in, pos, hlen) || pos + hlen + 64 + 1 > in.size())
      return make_error("batch.records[" + std::to_string(i) + "]", "truncated header");
    if (hlen > limits::kMaxHeaderBytes) b.oversized[i] = "header over 1 KiB";
    r.header_bytes = std::string(in.substr(pos, hlen));
    pos += hlen;
    std::memcpy(r.signature.data(), in.data() + pos, 64);
    pos += 64;
    uint8_t has_body = static_cast<uint8_t>(in[pos++]);
    if (has_body > 1) return make_error("batch.records[" + std::to_string(i) + "]", "bad body flag");
    if (has_body) {
      uint32_t blen = 0;
      if (!get_be(in, pos, blen) || pos + blen > in.size())
        return make_error("batch.records[" + std::to_string(i) + "]", "truncated body");
      if (blen > limits::kMaxBodyBytes) b.oversized[i] = "body over 256 KiB";
      r.body = std::string(in.substr(pos, blen));
      pos += blen;
    }
    b.records.push_back(std::move(r));
  }
  if (pos != in.size()) return make_error("batch", "trailing bytes after the last record");
  return b;
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::wrong_key:
      return "wrong-key";
    case ErrorCode::unknown_key:
      return "unknown-key";
    case ErrorCode::bad_proof:
      return "bad-proof";
    case ErrorCode::backoff:
      return "backoff";
    case ErrorCode::handshake_timeout:
      return "handshake-timeout";
    case ErrorCode::protocol:
      return "protocol";
    case ErrorCode::bad_message:
      return "bad-message";
    case ErrorCode::bad_frame:
      return "bad-frame";
    case ErrorCode::flow_control:
      return "flow-control";
    case ErrorCode::invalid_records:
      return "invalid-records";
    case ErrorCode::duplicate:
      return "duplicate";
    case ErrorCode::removed:
      return "removed";
    case ErrorCode::busy:
      return "busy";
    case ErrorCode::shutdown:
      return "shutdown";
    case ErrorCode::local_error:
      return "local-error";
  }
  return "?";
}

}  // namespace agora::sync
