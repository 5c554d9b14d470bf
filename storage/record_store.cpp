#include "storage/record_store.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "protocol/chain.hpp"
#include "protocol/erasure.hpp"
#include "protocol/release.hpp"
#include "protocol/translation.hpp"
#include "storage/body_codec.hpp"
#include "storage/keys.hpp"

namespace agora::storage {

namespace {

constexpr uint8_t kLogFormat = 1;
constexpr size_t kLatestValueSize = 8 + 4 + 1 + 1 + 2 + 2 + 8;
constexpr uint8_t kFlagTombstone = 1, kFlagPublic = 2;

std::string_view key_bytes(const PublicKey& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }

std::string encode_log_value(const SignedRecord& r) {
  std::string out;
  out.reserve(3 + r.header_bytes.size() + 64 + (r.body ? r.body->size() : 0) / 2 + 16);
  out.push_back(static_cast<char>(kLogFormat));
  put_be<uint16_t>(out, static_cast<uint16_t>(r.header_bytes.size()));
  out += r.header_bytes;
  out.append(reinterpret_cast<const char*>(r.signature.data()), r.signature.size());
  if (r.body) {
    encode_body(*r.body, out);
  } else {
    out.push_back(static_cast<char>(BodyEncoding::absent));
  }
  return out;
}

StoredRecordView decode_log_value(uint64_t local, std::string_view v) {
  if (v.size() < 3 || static_cast<uint8_t>(v[0]) != kLogFormat)
    throw std::runtime_error("log entry " + std::to_string(local) + " has an unknown format");
  size_t header_len = get_be<uint16_t>(v, 1);
  if (v.size() < 3 + header_len + 64 + 1)
    throw std::runtime_error("log entry " + std::to_string(local) + " is truncated");
  StoredRecordView view;
  view.local = local;
  view.header_bytes = v.substr(3, header_len);
  std::memcpy(view.signature.data(), v.data() + 3 + header_len, 64);
  view.encoded_body = v.substr(3 + header_len + 64);
  return view;
}

std::string encode_latest(const LatestEntry& e) {
  std::string out;
  put_be(out, e.local);
  put_be(out, e.version);
  out.push_back(static_cast<char>(e.kind));
  out.push_back(static_cast<char>((e.tombstone ? kFlagTombstone : 0) | (e.is_public ? kFlagPublic : 0)));
  put_be(out, e.keys.themes);
  put_be(out, e.keys.year);
  put_be(out, e.body_hash_prefix);
  return out;
}

LatestEntry decode_latest(std::string_view v) {
  if (v.size() != kLatestValueSize) throw std::runtime_error("latest-version entry has a bad size");
  LatestEntry e;
  e.local = get_be<uint64_t>(v, 0);
  e.version = get_be<uint32_t>(v, 8);
  e.kind = static_cast<Kind>(v[12]);
  e.tombstone = v[13] & kFlagTombstone;
  e.is_public = v[13] & kFlagPublic;
  e.keys.themes = get_be<uint16_t>(v, 14);
  e.keys.year = get_be<uint16_t>(v, 16);
  e.body_hash_prefix = get_be<uint64_t>(v, 18);
  return e;
}

OriginHead decode_head(std::string_view v) {
  OriginHead h;
  std::memcpy(h.origin.data(), v.data(), 32);
  h.seq = get_be<uint64_t>(v, 32);
  std::memcpy(h.hash.data(), v.data() + 40, 32);
  return h;
}

std::string encode_head(const OriginHead& h) {
  std::string out(key_bytes(h.origin));
  put_be(out, h.seq);
  out.append(reinterpret_cast<const char*>(h.hash.data()), 32);
  return out;
}

std::string record_key(uint32_t origin_index, std::string_view id) {
  std::string k = be(origin_index);
  k += id;
  return k;
}

std::string version_key(uint32_t origin_index, std::string_view id, uint32_t version) {
  std::string k = record_key(origin_index, id);
  k.push_back('\0');
  put_be(k, version);
  return k;
}

// The secondary index keys of one record version. Each ends with the version's log position,
// so inserts land at the end of their prefix: pages fill densely and a transaction rewrites
// only a few tail pages instead of most of the index.
struct IndexEntries {
  std::string by_kind, by_year;
  std::vector<std::string> by_theme;
};

IndexEntries index_entries(Kind kind, const IndexKeys& keys, uint64_t local) {
  IndexEntries e;
  std::string pos = be(local);
  e.by_kind = std::string(1, static_cast<char>(kind)) + pos;
  if (keys.year) {
    e.by_year = std::string(1, static_cast<char>(kind));
    put_be(e.by_year, keys.year);
    e.by_year += pos;
  }
  for (int t = 0; t < 16; ++t)
    if (keys.themes & (1u << t)) e.by_theme.push_back(std::string{static_cast<char>(t), static_cast<char>(kind)} + pos);
  return e;
}

}  // namespace

void prepare_log_value(IncomingRecord& in) { in.log_value = encode_log_value(in.record); }

bool StoredRecordView::is_stub() const {
  return !encoded_body.empty() && static_cast<BodyEncoding>(encoded_body[0]) == BodyEncoding::absent;
}

SignedRecord StoredRecordView::load() const {
  SignedRecord r;
  r.header_bytes = std::string(header_bytes);
  r.signature = signature;
  r.body = decode_body(encoded_body);
  return r;
}

// ---- RecordStore ----

RecordStore::RecordStore(const std::filesystem::path& dir, EnvOptions options) : dir_(dir) {
  std::filesystem::create_directories(dir);
  env_ = std::make_unique<Env>(dir, options);
  meta_ = env_->open_table("meta");
  origins_ = env_->open_table("origins");
  heads_ = env_->open_table("heads");
  log_ = env_->open_table("log");
  by_origin_seq_ = env_->open_table("by_origin_seq");
  latest_ = env_->open_table("latest");
  versions_ = env_->open_table("versions");
  by_kind_ = env_->open_table("by_kind");
  by_theme_ = env_->open_table("by_theme");
  by_year_ = env_->open_table("by_year");
  peers_ = env_->open_table("peers");
  peer_state_ = env_->open_table("peer_state");
  forks_ = env_->open_table("forks");
  grants_ = env_->open_table_if_present("grants");
  withdrawn_ = env_->open_table_if_present("withdrawn");
  recovery_ = env_->open_table_if_present("recovery");
  erased_ = env_->open_table_if_present("erased");
  translations_ = env_->open_table_if_present("translations");

  {
    ReadTxn txn(*env_);
    if (auto v = txn.get(meta_, "format")) opened_.format = v->size() == 4 ? get_be<uint32_t>(*v) : 0xffffffff;
    if (auto v = txn.get(meta_, "release")) opened_.release = std::string(*v);
  }
  if (opened_.format > kStoreFormatVersion)
    throw NewerStoreFormat(
        "the store in " + dir.string() + " is in format " +
        (opened_.format == 0xffffffff ? std::string("(unreadable)") : std::to_string(opened_.format)) +
        (opened_.release.empty() ? "" : ", written by agora " + opened_.release) + "; this agora " + kRelease +
        " reads formats up to " + std::to_string(kStoreFormatVersion) + ": run agora " +
        (opened_.release.empty() ? "of that release" : opened_.release) +
        " or later (going back to this release: `agora restore` the backup taken before the upgrade)");
  if (opened_.format == 0 && !options.read_only) {
    env_->write([&](WriteTxn& txn) {
      txn.put(meta_, "format", be(kStoreFormatVersion));
      txn.put(meta_, "release", kRelease);
    });
    opened_ = {kStoreFormatVersion, kRelease};
  }
  if (!options.read_only && !pending_migration()) index_kinds_of_older_release();
}

// A release that did not know a kind held its records in the log as an unknown kind,
// outside every index (docs/data-model.md, "Evolution"). Once per new kind count, such
// records are indexed in log order as append() would have: the latest versions, and an
// erasure's effect. Without it an upgraded node would ignore moderation and erasures it
// already holds, and compute other members than its peers.
void RecordStore::index_kinds_of_older_release() {
  // A store without the mark predates it: its release knew the kinds up to `key` at least.
  uint32_t known = static_cast<uint32_t>(Kind::key);
  {
    ReadTxn txn(*env_);
    if (auto v = txn.get(meta_, "kinds"); v && v->size() == 4) known = get_be<uint32_t>(*v);
  }
  if (known >= static_cast<uint32_t>(kKindCount)) return;
  env_->write([&](WriteTxn& txn) {
    StoreReader r(*this, txn);
    uint64_t last = 0;
    {
      Cursor c(txn, log_);
      if (c.last()) last = get_be<uint64_t>(c.key());
    }
    for (uint64_t local = 1; local <= last; ++local) {
      auto view = r.at(local);
      if (!view) continue;
      // Only headers naming a kind beyond `known` are decoded.
      auto at = view->header_bytes.find("\"kind\":\"");
      if (at == std::string_view::npos) continue;
      auto name = view->header_bytes.substr(at + 8, view->header_bytes.find('"', at + 8) - (at + 8));
      auto kind = parse_kind(name);
      if (!kind || static_cast<uint32_t>(*kind) <= known || r.is_set_aside(local) || r.is_withdrawn(local)) continue;
      auto h = decode_header(view->header_bytes);
      if (!h) continue;
      auto idx = r.origin_index(h.value().origin);
      if (!idx) continue;
      if (auto latest = r.latest(h.value().origin, h.value().id); latest && latest->version >= h.value().version)
        continue;  // indexed already
      std::optional<std::string> body = view->is_stub() ? std::nullopt : view->load().body;
      if (h.value().kind == Kind::erasure && body) apply_erasure(txn, *idx, h.value(), *body, local);
      if (h.value().kind == Kind::translation && body) note_translation(txn, h.value(), *body);
      index_latest(txn, *idx, h.value(), local, body ? index_keys_for(h.value().kind, *body) : IndexKeys{});
    }
    txn.put(meta_, "kinds", be(static_cast<uint32_t>(kKindCount)));
  });
}

namespace {

std::string grant_key(const PublicKey& origin, const PublicKey& key) {
  std::string k(reinterpret_cast<const char*>(origin.data()), origin.size());
  k.append(reinterpret_cast<const char*>(key.data()), key.size());
  return k;
}

// seq (8) compromised_since (8) role (1) revoked (1) expires length (1) expires, name
std::string encode_grant(const KeyGrant& g) {
  std::string v = be(g.seq);
  put_be(v, g.compromised_since);
  v.push_back(static_cast<char>(g.role));
  v.push_back(g.revoked ? 1 : 0);
  v.push_back(static_cast<char>(g.expires.size()));
  v += g.expires;
  v += g.name;
  return v;
}

KeyGrant decode_grant(std::string_view k, std::string_view v) {
  KeyGrant g;
  std::memcpy(g.key.data(), k.data() + 32, 32);
  g.seq = get_be<uint64_t>(v);
  g.compromised_since = get_be<uint64_t>(v, 8);
  g.role = static_cast<KeyRole>(static_cast<uint8_t>(v[16]));
  g.revoked = v[17] != 0;
  size_t n = static_cast<uint8_t>(v[18]);
  g.expires = std::string(v.substr(19, n));
  g.name = std::string(v.substr(19 + n));
  return g;
}

}  // namespace

void RecordStore::withdraw(WriteTxn& txn, uint32_t origin_index, const Header& revocation, const KeyGrant& grant) {
  StoreReader r(*this, txn);
  std::set<std::string> ids;
  std::map<std::string, PublicKey> key_records;  // withdrawn delegations: id -> the key they named
  for (const auto& [local, id] : r.signed_by(revocation.origin, grant.key, grant.compromised_since, revocation.seq)) {
    txn.put(*withdrawn_, be(local), "");
    ids.insert(id);
    if (auto view = r.at(local); view && id.starts_with("key-") && !view->is_stub())
      if (auto g = read_key_grant(*view->load().body, 0)) key_records[id] = g->key;
  }
  for (const auto& id : ids) recompute_latest(txn, origin_index, id);
  // A delegation the thief signed grants nothing any more: the key's grant is what its
  // latest version not withdrawn states, or none.
  for (const auto& [id, key] : key_records) {
    std::optional<KeyGrant> now;
    if (auto latest = r.latest(revocation.origin, id))
      if (auto view = r.at(latest->local); view && !view->is_stub())
        if (auto h = decode_header(view->header_bytes)) now = read_key_grant(*view->load().body, h.value().seq);
    if (now && now->key == key)
      txn.put(*grants_, grant_key(revocation.origin, key), encode_grant(*now));
    else
      txn.del(*grants_, grant_key(revocation.origin, key));
  }
}

void RecordStore::recompute_latest(WriteTxn& txn, uint32_t idx, const std::string& id) {
  std::string rk = record_key(idx, id);
  std::optional<LatestEntry> old;
  if (auto v = txn.get(latest_, rk)) old = decode_latest(*v);
  StoreReader r(*this, txn);
  // Every version, in the versions table (a record with one version has only `latest`:
  // its entry goes there too, so that its history keeps it as evidence).
  std::vector<std::pair<uint32_t, uint64_t>> versions;
  std::string prefix = rk;
  prefix.push_back('\0');
  {
    Cursor c(txn, versions_);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
      versions.emplace_back(get_be<uint32_t>(c.key(), prefix.size()), get_be<uint64_t>(c.value()));
  }
  if (old && std::none_of(versions.begin(), versions.end(), [&](const auto& v) { return v.second == old->local; })) {
    versions.emplace_back(old->version, old->local);
    txn.put(versions_, version_key(idx, id, old->version), be(old->local));
  }
  std::optional<std::pair<uint32_t, uint64_t>> best;
  for (const auto& v : versions)
    if (!r.is_withdrawn(v.second) && (!best || v.first > best->first)) best = v;
  // An erased current version stays the latest (the record is gone, not back at an earlier
  // version) but is no current data, like a retraction.
  const bool erased = best && r.erased_by(best->second);
  if (old && best && old->local == best->second && (!erased || old->tombstone)) return;
  if (old && !old->tombstone) {
    IndexEntries e = index_entries(old->kind, old->keys, old->local);
    txn.del(by_kind_, e.by_kind);
    if (!e.by_year.empty()) txn.del(by_year_, e.by_year);
    for (const auto& t : e.by_theme) txn.del(by_theme_, t);
  }
  if (!best) {
    if (old) txn.del(latest_, rk);
    return;
  }
  auto view = r.at(best->second);
  if (!view) return;
  SignedRecord rec = view->load();
  auto h = decode_header(rec.header_bytes);
  if (!h) return;
  LatestEntry entry;
  entry.local = best->second;
  entry.version = best->first;
  entry.kind = h.value().kind;
  entry.tombstone = h.value().tombstone || erased;
  entry.is_public = is_public(h.value());
  entry.keys = entry.tombstone || !rec.body ? IndexKeys{} : index_keys_for(entry.kind, *rec.body);
  entry.body_hash_prefix =
      get_be<uint64_t>(std::string_view(reinterpret_cast<const char*>(h.value().body_sha256.data()), 8));
  txn.put(latest_, rk, encode_latest(entry));
  if (!entry.tombstone) {
    IndexEntries e = index_entries(entry.kind, entry.keys, entry.local);
    txn.put(by_kind_, e.by_kind, "");
    if (!e.by_year.empty()) txn.put(by_year_, e.by_year, "");
    for (const auto& t : e.by_theme) txn.put(by_theme_, t, "");
  }
}

void RecordStore::put_grant(WriteTxn& txn, const Header& h, std::string_view body) {
  if (auto g = read_key_grant(body, h.seq)) txn.put(*grants_, grant_key(h.origin, g->key), encode_grant(*g));
}

void RecordStore::apply_statement(WriteTxn& txn, uint32_t idx, const Header& h, std::string_view body) {
  StoreReader r(*this, txn);
  if (h.kind == Kind::city) {  // the genesis record's commitment (docs/identity.md)
    if (auto c = read_recovery_commitment(body); h.seq == 1 && c && !r.recovery_commitment(h.origin)) {
      std::string v(reinterpret_cast<const char*>(c->data()), c->size());
      put_be(v, uint64_t{0});
      txn.put(*recovery_, key_bytes(h.origin), v);
    }
    return;
  }
  auto g = read_key_grant(body, h.seq);
  if (!g) return;
  txn.put(*grants_, grant_key(h.origin, g->key), encode_grant(*g));
  if (g->revoked && g->compromised_since) withdraw(txn, idx, h, *g);
  auto commitment = r.recovery_commitment(h.origin);
  if (!h.key || !commitment || recovery_commitment(*h.key) != *commitment) return;
  // A recovery: the root key it grants is the city's only one. The genesis key and every
  // other root key are retired as of this record.
  KeyGrant genesis;
  genesis.key = h.origin;
  genesis.name = "genesis key";
  genesis.role = KeyRole::root;
  genesis.revoked = true;
  genesis.seq = h.seq;
  txn.put(*grants_, grant_key(h.origin, h.origin), encode_grant(genesis));
  for (KeyGrant other : r.grants(h.origin))
    if (other.role == KeyRole::root && other.key != g->key && other.key != h.origin && !other.revoked) {
      other.revoked = true;
      other.seq = h.seq;
      txn.put(*grants_, grant_key(h.origin, other.key), encode_grant(other));
    }
  std::string v(reinterpret_cast<const char*>(commitment->data()), commitment->size());
  put_be(v, h.seq);
  txn.put(*recovery_, key_bytes(h.origin), v);
}

uint64_t RecordStore::set_aside(WriteTxn& txn, const PublicKey& origin, uint64_t from_seq) {
  StoreReader r(*this, txn);
  auto idx = r.origin_index(origin);
  if (!idx || from_seq < 2) return 0;
  auto head_value = txn.get(heads_, be(*idx));
  if (!head_value) return 0;
  OriginHead head = decode_head(*head_value);
  if (head.seq < from_seq) return 0;
  std::set<std::string> ids;
  uint64_t count = 0;
  for (uint64_t seq = from_seq; seq <= head.seq; ++seq) {
    std::string seq_key = be(*idx);
    put_be(seq_key, seq);
    auto local = txn.get(by_origin_seq_, seq_key);
    if (!local) continue;
    std::string local_key(*local);
    if (auto view = r.at(get_be<uint64_t>(local_key)))
      if (auto h = decode_header(view->header_bytes)) ids.insert(h.value().id);
    txn.put(*withdrawn_, local_key, "s");
    txn.del(by_origin_seq_, seq_key);
    ++count;
  }
  head.seq = from_seq - 1;
  if (auto view = r.at(origin, head.seq)) head.hash = record_hash(view->header_bytes);
  txn.put(heads_, be(*idx), encode_head(head));

  // What the remaining chain states of the city's keys, read again in chain order: grants,
  // compromise withdrawals, the commitment and recoveries.
  {
    std::vector<std::string> stale;
    Cursor c(txn, *grants_);
    for (bool ok = c.seek(key_bytes(origin)); ok && c.key().starts_with(key_bytes(origin)); ok = c.next())
      stale.emplace_back(c.key());
    for (const auto& k : stale) txn.del(*grants_, k);
  }
  {
    std::vector<std::pair<std::string, std::string>> undone;  // log position, id
    Cursor c(txn, *withdrawn_);
    for (bool ok = c.first(); ok; ok = c.next()) {
      if (c.value() == "s") continue;
      if (auto view = r.at(get_be<uint64_t>(c.key())))
        if (auto h = decode_header(view->header_bytes); h && h.value().origin == origin)
          undone.emplace_back(std::string(c.key()), h.value().id);
    }
    for (const auto& [local, id] : undone) txn.del(*withdrawn_, local), ids.insert(id);
  }
  txn.del(*recovery_, key_bytes(origin));
  for (uint64_t seq = 1; seq < from_seq; ++seq) {
    auto view = r.at(origin, seq);
    if (!view) break;
    if (view->is_stub() || (view->header_bytes.find("\"kind\":\"key\"") == std::string_view::npos &&
                            view->header_bytes.find("\"kind\":\"city\"") == std::string_view::npos))
      continue;
    auto h = decode_header(view->header_bytes);
    if (h && (h.value().kind == Kind::key || h.value().kind == Kind::city))
      apply_statement(txn, *idx, h.value(), *view->load().body);
  }
  for (const auto& id : ids) recompute_latest(txn, *idx, id);
  return count;
}

uint32_t RecordStore::origin_index_for_write(WriteTxn& txn, const PublicKey& origin, uint32_t& next_index) {
  if (auto v = txn.get(origins_, key_bytes(origin))) return get_be<uint32_t>(*v);
  uint32_t index = next_index++;
  txn.put(origins_, key_bytes(origin), be(index));
  txn.put(meta_, "next_origin", be(next_index));
  return index;
}

// Makes the record at `local` the latest version of (origin, id) when it is newer, and
// indexes it by kind, year and theme; the older latest version's entries go.
void RecordStore::index_latest(WriteTxn& txn, uint32_t idx, const Header& h, uint64_t local, const IndexKeys& keys) {
  std::string local_key = be(local);
  std::string rk = record_key(idx, h.id);
  std::optional<LatestEntry> old;
  if (auto v = txn.get(latest_, rk)) old = decode_latest(*v);
  // The versions table only lists records that have more than one version: a first
  // version is found through `latest`, so bulk loads of new records never touch it.
  if (old) {
    txn.put(versions_, version_key(idx, h.id, old->version), be(old->local));
    txn.put(versions_, version_key(idx, h.id, h.version), local_key);
  } else if (withdrawn_ && StoreReader(*this, txn).max_version(h.origin, h.id) > 0) {
    // Every earlier version was withdrawn (no latest): the history keeps them and this one.
    txn.put(versions_, version_key(idx, h.id, h.version), local_key);
  }
  if (!old || h.version > old->version) {
    if (old && !old->tombstone) {
      IndexEntries e = index_entries(old->kind, old->keys, old->local);
      txn.del(by_kind_, e.by_kind);
      if (!e.by_year.empty()) txn.del(by_year_, e.by_year);
      for (const auto& t : e.by_theme) txn.del(by_theme_, t);
    }
    LatestEntry entry;
    entry.local = local;
    entry.version = h.version;
    entry.kind = h.kind;
    entry.tombstone = h.tombstone;
    entry.is_public = is_public(h);
    entry.keys = h.tombstone ? IndexKeys{} : keys;
    entry.body_hash_prefix = get_be<uint64_t>(std::string_view(reinterpret_cast<const char*>(h.body_sha256.data()), 8));
    txn.put(latest_, rk, encode_latest(entry));
    if (!h.tombstone) {
      IndexEntries e = index_entries(h.kind, entry.keys, local);
      txn.put(by_kind_, e.by_kind, "");
      if (!e.by_year.empty()) txn.put(by_year_, e.by_year, "");
      for (const auto& t : e.by_theme) txn.put(by_theme_, t, "");
    }
  }
}

void RecordStore::append(WriteTxn& txn, std::span<const IncomingRecord> records) {
  std::vector<const IncomingRecord*> refs;
  refs.reserve(records.size());
  for (const auto& r : records) refs.push_back(&r);
  append(txn, std::span<const IncomingRecord* const>(refs));
}

void RecordStore::append(WriteTxn& txn, std::span<const IncomingRecord* const> records) {
  uint64_t last_local = 0;
  {
    Cursor c(txn, log_);
    if (c.last()) last_local = get_be<uint64_t>(c.key());
  }
  uint32_t next_index = 0;
  if (auto v = txn.get(meta_, "next_origin")) next_index = get_be<uint32_t>(*v);

  // Heads change on every record but are written once per origin per batch.
  std::map<PublicKey, std::pair<uint32_t, OriginHead>> heads;
  for (const IncomingRecord* record : records) {
    const IncomingRecord& in = *record;
    const Header& h = in.header;
    auto it = heads.find(h.origin);
    if (it == heads.end()) {
      uint32_t index = origin_index_for_write(txn, h.origin, next_index);
      OriginHead stored{h.origin, 0, {}};
      if (auto v = txn.get(heads_, be(index))) stored = decode_head(*v);
      it = heads.emplace(h.origin, std::make_pair(index, stored)).first;
    }
    uint32_t idx = it->second.first;
    OriginHead& head = it->second.second;
    std::string idx_key = be(idx);
    ChainStep step =
        chain_step(h, in.record.header_bytes, in.record.body.has_value(), ChainTip{head.seq, head.hash}, nullptr);
    if (step == ChainStep::unlinked)
      throw ChainError("record " + short_node_id(h.origin) + "/" + std::to_string(h.seq) +
                       " does not link to the previous record's hash");
    if (step != ChainStep::extends)
      throw ChainError("record " + short_node_id(h.origin) + "/" + std::to_string(h.seq) +
                       " does not follow the stored head seq " + std::to_string(head.seq));

    uint64_t local = ++last_local;
    std::string local_key = be(local);
    txn.put(log_, local_key, in.log_value.empty() ? encode_log_value(in.record) : in.log_value, MDB_APPEND);
    std::string seq_key = idx_key;
    put_be(seq_key, h.seq);
    txn.put(by_origin_seq_, seq_key, local_key);

    ChainTip tip = tip_after(h, in.record.header_bytes);
    head.seq = tip.seq, head.hash = tip.hash;
    if ((h.kind == Kind::key || h.kind == Kind::city) && in.record.body)
      apply_statement(txn, idx, h, *in.record.body);  // reads the chain by seq, written above
    if (h.kind == Kind::erasure && in.record.body) apply_erasure(txn, idx, h, *in.record.body, local);
    if (h.kind == Kind::translation && in.record.body) note_translation(txn, h, *in.record.body);
    // A kind newer than this node is held in the log and relayed, but is no current data:
    // it enters neither the latest versions nor the indexes.
    if (h.kind == Kind::unknown) continue;

    index_latest(txn, idx, h, local, in.keys);
  }
  for (const auto& [origin, entry] : heads) txn.put(heads_, be(entry.first), encode_head(entry.second));
}

std::optional<std::string> RecordStore::meta(const Txn& txn, std::string_view key) const {
  if (auto v = txn.get(meta_, key)) return std::string(*v);
  return std::nullopt;
}

void RecordStore::put_meta(WriteTxn& txn, std::string_view key, std::string_view value) { txn.put(meta_, key, value); }

void RecordStore::erase_meta(WriteTxn& txn, std::string_view key) { txn.del(meta_, key); }

bool RecordStore::fill_body(WriteTxn& txn, const PublicKey& origin, uint64_t seq, const std::string& body,
                            const IndexKeys& keys) {
  StoreReader r(*this, txn);
  auto view = r.at(origin, seq);
  if (!view || !view->is_stub() || r.erased_by(view->local)) return false;  // an erased body never comes back
  SignedRecord rec;
  rec.header_bytes = std::string(view->header_bytes);
  rec.signature = view->signature;
  rec.body = body;
  uint64_t local = view->local;
  auto header = decode_header(rec.header_bytes);
  if (!header) return false;
  const Header& h = header.value();
  txn.put(log_, be(local), encode_log_value(rec));
  auto idx = r.origin_index(origin);
  if (h.kind == Kind::erasure) apply_erasure(txn, *idx, h, body, local);
  if (h.kind == Kind::translation) note_translation(txn, h, body);
  std::string rk = record_key(*idx, h.id);
  if (auto v = txn.get(latest_, rk)) {
    LatestEntry entry = decode_latest(*v);
    if (entry.local == local && !entry.tombstone) {
      IndexEntries old = index_entries(entry.kind, entry.keys, local);
      if (!old.by_year.empty()) txn.del(by_year_, old.by_year);
      for (const auto& t : old.by_theme) txn.del(by_theme_, t);
      entry.keys = keys;
      txn.put(latest_, rk, encode_latest(entry));
      IndexEntries now = index_entries(entry.kind, keys, local);
      txn.put(by_kind_, now.by_kind, "");
      if (!now.by_year.empty()) txn.put(by_year_, now.by_year, "");
      for (const auto& t : now.by_theme) txn.put(by_theme_, t, "");
    }
  }
  return true;
}

void RecordStore::apply_erasure(WriteTxn& txn, uint32_t idx, const Header& erasure, std::string_view body,
                                uint64_t erasure_local) {
  auto e = read_erasure(body);
  if (!e) return;
  StoreReader r(*this, txn);
  bool touched = false;
  for (uint64_t local : r.history(erasure.origin, e->target)) {
    auto view = r.at(local);
    if (!view || r.erased_by(local)) continue;
    auto h = decode_header(view->header_bytes);
    // Only what came before the erasure in its own chain, of a kind that can be erased.
    if (!h || h.value().seq >= erasure.seq || !is_erasable(h.value().kind) ||
        !std::binary_search(e->versions.begin(), e->versions.end(), h.value().version))
      continue;
    SignedRecord header_only;
    header_only.header_bytes = std::string(view->header_bytes);
    header_only.signature = view->signature;
    txn.put(log_, be(local), encode_log_value(header_only));  // the body's pages go to the free list
    txn.put(*erased_, be(local), be(erasure_local));
    touched = true;
  }
  if (touched) recompute_latest(txn, idx, e->target);
}

namespace {
// translations: source origin (32) + source id + '\0' + translator (32) + translation id.
std::string translation_key(const PublicKey& origin, std::string_view id) {
  std::string k(reinterpret_cast<const char*>(origin.data()), origin.size());
  k += id;
  k.push_back('\0');
  return k;
}
}  // namespace

void RecordStore::note_translation(WriteTxn& txn, const Header& h, std::string_view body) {
  auto of = read_translation_of(body);
  if (!of || !translations_ || h.id != translation_id(of->origin, of->id, of->language)) return;
  std::string k = translation_key(of->origin, of->id);
  k.append(reinterpret_cast<const char*>(h.origin.data()), h.origin.size());
  k += h.id;
  txn.put(*translations_, k, "");
}

// ---- StoreReader ----

std::vector<std::pair<PublicKey, std::string>> StoreReader::translations_of(const PublicKey& origin,
                                                                            std::string_view id) const {
  std::vector<std::pair<PublicKey, std::string>> out;
  if (!store_.translations_) return out;
  std::string prefix = translation_key(origin, id);
  Cursor c(txn_, *store_.translations_);
  for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
    std::string_view rest = c.key().substr(prefix.size());
    if (rest.size() <= 32) continue;
    PublicKey translator{};
    std::copy(rest.begin(), rest.begin() + 32, reinterpret_cast<char*>(translator.data()));
    out.emplace_back(translator, std::string(rest.substr(32)));
  }
  return out;
}

std::optional<uint32_t> StoreReader::origin_index(const PublicKey& origin) const {
  auto v = txn_.get(store_.origins_, key_bytes(origin));
  if (!v) return std::nullopt;
  return get_be<uint32_t>(*v);
}

std::optional<PublicKey> StoreReader::origin_key(uint32_t index) const {
  auto v = txn_.get(store_.heads_, be(index));
  if (!v) return std::nullopt;
  return decode_head(*v).origin;
}

std::optional<OriginHead> StoreReader::head(const PublicKey& origin) const {
  auto idx = origin_index(origin);
  if (!idx) return std::nullopt;
  auto v = txn_.get(store_.heads_, be(*idx));
  if (!v) return std::nullopt;
  return decode_head(*v);
}

std::vector<OriginHead> StoreReader::heads() const {
  std::vector<OriginHead> out;
  Cursor c(txn_, store_.heads_);
  for (bool ok = c.first(); ok; ok = c.next()) out.push_back(decode_head(c.value()));
  return out;
}

std::optional<LatestEntry> StoreReader::latest(const PublicKey& origin, std::string_view id) const {
  auto idx = origin_index(origin);
  if (!idx) return std::nullopt;
  auto v = txn_.get(store_.latest_, record_key(*idx, id));
  if (!v) return std::nullopt;
  return decode_latest(*v);
}

std::optional<StoredRecordView> StoreReader::at(uint64_t local) const {
  auto v = txn_.get(store_.log_, be(local));
  if (!v) return std::nullopt;
  return decode_log_value(local, *v);
}

std::optional<StoredRecordView> StoreReader::at(const PublicKey& origin, uint64_t seq) const {
  auto idx = origin_index(origin);
  if (!idx) return std::nullopt;
  std::string key = be(*idx);
  put_be(key, seq);
  auto v = txn_.get(store_.by_origin_seq_, key);
  if (!v) return std::nullopt;
  return at(get_be<uint64_t>(*v));
}

std::optional<uint64_t> StoreReader::erased_by(uint64_t local) const {
  if (!store_.erased_) return std::nullopt;
  auto v = txn_.get(*store_.erased_, be(local));
  if (!v) return std::nullopt;
  return get_be<uint64_t>(*v);
}

std::vector<uint64_t> StoreReader::history(const PublicKey& origin, std::string_view id) const {
  std::vector<uint64_t> out;
  auto idx = origin_index(origin);
  if (!idx) return out;
  std::string prefix = record_key(*idx, id);
  prefix.push_back('\0');
  Cursor c(txn_, store_.versions_);
  for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
    out.push_back(get_be<uint64_t>(c.value()));
  if (out.empty())
    if (auto v = txn_.get(store_.latest_, record_key(*idx, id))) out.push_back(decode_latest(*v).local);
  return out;
}

void StoreReader::scan_log(uint64_t from, const std::function<bool(const StoredRecordView&)>& visit) const {
  Cursor c(txn_, store_.log_);
  for (bool ok = c.seek(be(from)); ok; ok = c.next())
    if (!visit(decode_log_value(get_be<uint64_t>(c.key()), c.value()))) return;
}

uint64_t StoreReader::last_local() const {
  Cursor c(txn_, store_.log_);
  return c.last() ? get_be<uint64_t>(c.key()) : 0;
}

void StoreReader::list(const ListQuery& q,
                       const std::function<bool(const PublicKey&, std::string_view, const LatestEntry&)>& visit) const {
  std::optional<uint32_t> origin_idx;
  if (q.origin) {
    origin_idx = origin_index(*q.origin);
    if (!origin_idx) return;
  }
  auto year_ok = [&](const LatestEntry& e) {
    if (!q.year_from && !q.year_to) return true;
    return e.keys.year != 0 && (!q.year_from || e.keys.year >= *q.year_from) &&
           (!q.year_to || e.keys.year <= *q.year_to);
  };
  // Index keys end with the log position of a latest version: visit it if it still matches.
  // Returns false when the visitor asked to stop.
  auto visit_indexed = [&](std::string_view index_key) {
    auto view = at(get_be<uint64_t>(index_key, index_key.size() - 8));
    if (!view) return true;
    auto header = decode_header(view->header_bytes);
    if (!header) return true;
    const Header& h = header.value();
    auto entry = latest(h.origin, h.id);
    if (!entry || entry->tombstone || entry->local != view->local || (q.kind && entry->kind != *q.kind) ||
        !year_ok(*entry))
      return true;
    return visit(h.origin, h.id, *entry);
  };
  if ((q.year_from || q.year_to) && !q.theme && !origin_idx) {
    // By year: kind, year, log position; one range scan per kind.
    for (int k = 1; k <= kKindCount; ++k) {
      if (q.kind && static_cast<int>(*q.kind) != k) continue;
      std::string from(1, static_cast<char>(k)), to(1, static_cast<char>(k));
      put_be<uint16_t>(from, q.year_from.value_or(1));
      put_be<uint16_t>(to, q.year_to.value_or(0xffff));
      Cursor c(txn_, store_.by_year_);
      for (bool ok = c.seek(from); ok && c.key().substr(0, 3) <= std::string_view(to); ok = c.next())
        if (!visit_indexed(c.key())) return;
    }
    return;
  }
  if (origin_idx || (!q.theme && !q.kind)) {
    // By origin (or everything): the latest table, keyed origin index + id.
    std::string prefix = origin_idx ? be(*origin_idx) : std::string();
    std::optional<uint32_t> cached_idx;
    PublicKey cached_key{};
    Cursor c(txn_, store_.latest_);
    for (bool ok = prefix.empty() ? c.first() : c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
      LatestEntry entry = decode_latest(c.value());
      if (entry.tombstone || (q.kind && entry.kind != *q.kind) ||
          (q.theme && !(entry.keys.themes & (1u << *q.theme))) || !year_ok(entry))
        continue;
      uint32_t idx = get_be<uint32_t>(c.key());
      if (cached_idx != idx) {
        auto key = origin_key(idx);
        if (!key) continue;
        cached_idx = idx, cached_key = *key;
      }
      if (!visit(cached_key, c.key().substr(4), entry)) return;
    }
    return;
  }
  // By theme or kind: an index whose keys end with the log position of the latest version.
  MDB_dbi table = q.theme ? store_.by_theme_ : store_.by_kind_;
  std::string prefix = q.theme ? std::string(1, static_cast<char>(*q.theme)) : std::string();
  if (q.kind) prefix.push_back(static_cast<char>(*q.kind));
  std::string from = prefix;
  if (q.after_local && q.kind && !q.theme) put_be<uint64_t>(from, q.after_local + 1);
  Cursor c(txn_, table);
  for (bool ok = c.seek(from); ok && c.key().starts_with(prefix); ok = c.next())
    if (!visit_indexed(c.key())) return;
}

std::optional<KeyGrant> StoreReader::grant(const PublicKey& origin, const PublicKey& key) const {
  std::string k = grant_key(origin, key);
  if (!store_.grants_) return std::nullopt;
  // The key the genesis record commits to recovers the city, whatever a key record says.
  if (key != origin)
    if (auto c = recovery_commitment(origin); c && *c == agora::recovery_commitment(key)) return recovery_grant(key);
  if (auto v = txn_.get(*store_.grants_, k)) return decode_grant(k, *v);
  return std::nullopt;
}

std::optional<Hash> StoreReader::recovery_commitment(const PublicKey& origin) const {
  if (!store_.recovery_) return std::nullopt;
  auto v = txn_.get(*store_.recovery_, key_bytes(origin));
  if (!v || v->size() < 40) return std::nullopt;
  Hash h{};
  std::memcpy(h.data(), v->data(), 32);
  return h;
}

uint64_t StoreReader::recovered_at(const PublicKey& origin) const {
  if (!store_.recovery_) return 0;
  auto v = txn_.get(*store_.recovery_, key_bytes(origin));
  return v && v->size() >= 40 ? get_be<uint64_t>(*v, 32) : 0;
}

std::vector<std::pair<PublicKey, uint64_t>> StoreReader::recoveries() const {
  std::vector<std::pair<PublicKey, uint64_t>> out;
  if (!store_.recovery_) return out;
  Cursor c(txn_, *store_.recovery_);
  for (bool ok = c.first(); ok; ok = c.next()) {
    if (c.value().size() < 40 || get_be<uint64_t>(c.value(), 32) == 0) continue;
    PublicKey origin{};
    std::memcpy(origin.data(), c.key().data(), 32);
    out.emplace_back(origin, get_be<uint64_t>(c.value(), 32));
  }
  return out;
}

std::set<uint64_t> StoreReader::set_aside_positions() const {
  std::set<uint64_t> out;
  if (!store_.withdrawn_) return out;
  Cursor c(txn_, *store_.withdrawn_);
  for (bool ok = c.first(); ok; ok = c.next())
    if (c.value() == "s") out.insert(get_be<uint64_t>(c.key()));
  return out;
}

bool StoreReader::is_set_aside(uint64_t local) const {
  if (!store_.withdrawn_) return false;
  auto v = txn_.get(*store_.withdrawn_, be(local));
  return v && *v == "s";
}

bool StoreReader::is_withdrawn(uint64_t local) const {
  return store_.withdrawn_ && txn_.get(*store_.withdrawn_, be(local)).has_value();
}

std::vector<std::pair<uint64_t, std::string>> StoreReader::signed_by(const PublicKey& origin, const PublicKey& key,
                                                                     uint64_t after, uint64_t before) const {
  std::vector<std::pair<uint64_t, std::string>> out;
  for (uint64_t seq = after + 1; seq < before; ++seq) {
    auto view = at(origin, seq);
    if (!view) break;
    auto h = decode_header(view->header_bytes);
    if (h && h.value().key == key) out.emplace_back(view->local, h.value().id);
  }
  return out;
}

uint32_t StoreReader::max_version(const PublicKey& origin, std::string_view id) const {
  uint32_t v = 0;
  auto idx = origin_index(origin);
  if (!idx) return 0;
  if (auto l = txn_.get(store_.latest_, record_key(*idx, id))) v = decode_latest(*l).version;
  std::string prefix = record_key(*idx, id);
  prefix.push_back('\0');
  Cursor c(txn_, store_.versions_);
  for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
    v = std::max(v, get_be<uint32_t>(c.key(), prefix.size()));
  return v;
}

std::vector<KeyGrant> StoreReader::grants(const PublicKey& origin) const {
  std::vector<KeyGrant> out;
  std::string prefix(reinterpret_cast<const char*>(origin.data()), origin.size());
  if (!store_.grants_) return out;
  Cursor c(txn_, *store_.grants_);
  for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
    out.push_back(decode_grant(c.key(), c.value()));
  return out;
}

uint64_t StoreReader::count_latest(Kind kind) const {
  uint64_t n = 0;
  std::string prefix(1, static_cast<char>(kind));
  Cursor c(txn_, store_.by_kind_);
  for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) ++n;
  return n;
}

}  // namespace agora::storage
