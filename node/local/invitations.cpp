#include "node/local/invitations.hpp"

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include "node/local/record_view.hpp"
#include "protocol/hex.hpp"
#include "protocol/record.hpp"

namespace agora {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "agora-invite:";
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = acc << 8 | c;
    bits += 8;
    while (bits >= 6) out += kAlphabet[(acc >> (bits -= 6)) & 63];
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> from_base64url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    auto v = kAlphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) out += static_cast<char>((acc >> (bits -= 8)) & 0xff);
  }
  return out;
}

std::string checksum(const json& fields) { return to_hex(sha256(fields.dump())).substr(0, 8); }

std::string storage_key_of_id(std::string_view id) { return "invitation/" + std::string(id); }
std::string storage_key(std::string_view secret) { return storage_key_of_id(to_hex(sha256(secret))); }

}  // namespace

std::string encode_invitation(const Invitation& inv) {
  json fields = {{"v", 1}, {"url", inv.url}, {"city", node_id(inv.city)}, {"secret", inv.secret}};
  if (!inv.relation.empty()) fields["relation"] = inv.relation;
  if (inv.expires_ms) fields["expires_ms"] = inv.expires_ms;
  fields["check"] = checksum(fields);
  return std::string(kPrefix) + base64url(fields.dump());
}

Result<Invitation> decode_invitation(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (!text.starts_with(kPrefix))
    return make_error("invitation", "not an invitation: an invitation starts with agora-invite:");
  auto bytes = from_base64url(text.substr(kPrefix.size()));
  json fields = bytes ? json::parse(*bytes, nullptr, false) : json();
  if (!fields.is_object() || !fields.contains("check") || !fields["check"].is_string())
    return make_error("invitation", "damaged: copy the whole string again");
  std::string check = fields["check"].get<std::string>();
  fields.erase("check");
  if (check != checksum(fields)) return make_error("invitation", "damaged or altered (its checksum does not match)");
  if (fields.value("v", 0) != 1) return make_error("invitation", "made by a newer agora: upgrade to use it");
  Invitation inv;
  inv.url = fields.value("url", "");
  auto city = parse_node_id(fields.value("city", ""));
  inv.secret = fields.value("secret", "");
  inv.relation = fields.value("relation", "");
  inv.expires_ms = fields.value("expires_ms", int64_t{0});
  if (!city || inv.url.empty() || inv.secret.size() != 32 ||
      inv.secret.find_first_not_of("0123456789abcdef") != std::string::npos)
    return make_error("invitation", "damaged: a field is missing or malformed");
  inv.city = *city;
  return inv;
}

std::string new_invitation_secret() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no randomness for an invitation secret");
  return to_hex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

void save_invitation(storage::RecordStore& store, storage::WriteTxn& txn, std::string_view secret,
                     const InvitationRecord& r) {
  json j = {{"created_ms", r.created_ms}, {"expires_ms", r.expires_ms},    {"relation", r.relation},
            {"used_by", r.used_by},       {"secret", std::string(secret)}, {"used_ms", r.used_ms}};
  store.put_meta(txn, storage_key(secret), j.dump());
}

std::optional<InvitationRecord> find_invitation(storage::RecordStore& store, const storage::Txn& txn,
                                                std::string_view secret) {
  return find_invitation_by_id(store, txn, to_hex(sha256(secret)));
}

std::optional<InvitationRecord> find_invitation_by_id(storage::RecordStore& store, const storage::Txn& txn,
                                                      std::string_view id) {
  auto v = store.meta(txn, storage_key_of_id(id));
  if (!v) return std::nullopt;
  json j = json::parse(*v, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  InvitationRecord r;
  r.created_ms = j.value("created_ms", int64_t{0});
  r.expires_ms = j.value("expires_ms", int64_t{0});
  r.relation = j.value("relation", "");
  r.used_by = j.value("used_by", "");
  r.used_ms = j.value("used_ms", int64_t{0});
  r.secret = j.value("secret", "");
  return r;
}

std::optional<std::string> invitation_problem(const std::optional<InvitationRecord>& r, int64_t now_ms) {
  if (!r) return std::string("this node made no such invitation");
  if (!r->used_by.empty()) return "already used on " + iso8601_utc(r->used_ms) + " by node " + r->used_by.substr(0, 12);
  if (now_ms >= r->expires_ms) return "expired on " + iso8601_utc(r->expires_ms);
  return std::nullopt;
}

}  // namespace agora
