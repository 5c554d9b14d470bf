#include "node/local/publisher.hpp"

#include "node/local/reference_check.hpp"

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <optional>

#include "node/local/entitlements.hpp"
#include "node/local/record_view.hpp"
#include "node/local/worker_pool.hpp"
#include "storage/stored_record.hpp"
#include "protocol/erasure.hpp"
#include "protocol/hex.hpp"
#include "protocol/key_state.hpp"
#include "protocol/retraction.hpp"
#include "protocol/utf8.hpp"

namespace agora {

namespace {

struct HeadMoved {};  // another writer extended our chain between prepare and commit

// Refuses, before it is signed, what the key in use may not sign at this place in the
// chain — the rule every receiving node applies (docs/identity.md).
void check_signer(const storage::StoreReader& r, const Header& h,
                  const std::optional<std::string>& body = std::nullopt) {
  KeyState keys([&](const PublicKey& o, const PublicKey& k) { return r.grant(o, k); },
                [&](const PublicKey& o) { return r.recovery_commitment(o); });
  if (auto why = keys.problem(h, body)) throw InvalidInput("refused: " + *why);
}

// Signs h with `key` and appends it to the log, in the caller's transaction.
PublishResult append_signed(storage::RecordStore& store, storage::WriteTxn& txn, const Header& h, std::string body,
                            const SigningKey& key) {
  storage::IncomingRecord rec;
  rec.record = sign_record(h, std::move(body), key);
  rec.header = decode_header(rec.record.header_bytes).value();
  store.append(txn, std::span(&rec, 1));
  return PublishResult{h.kind, h.id, h.version, h.seq, false};
}

uint64_t hash_prefix(const Hash& h) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | h[i];
  return v;
}

struct Known {
  uint32_t version;
  uint64_t body_prefix;
  std::string visibility;
  bool tombstone;
};

struct Prepared {
  std::vector<storage::IncomingRecord> records;
  std::vector<PublishResult> results;
  storage::OriginHead head_before;
  storage::OriginHead head_after;
  std::map<std::string, Known> written;  // ids this batch writes, as the next batch must see them
};

// A batch prepared but not yet committed: the next batch chains onto it.
struct Pending {
  storage::OriginHead head;
  const std::map<std::string, Known>* known;
};

struct Draft {
  Header header;
  const std::string* body;
  IndexKeys keys;
};

// True when the body stored at `local` and `body` hold the same fields and values, the
// header's own (kind, id, visibility) and the publisher's claims (origin, city, country;
// not a profile's) aside, whatever their bytes.
bool same_fields(const storage::StoreReader& r, uint64_t local, Kind kind, const std::string& body) {
  auto stored = storage::read_record(r, local);
  auto old_fields = stored ? stored->body_json() : std::nullopt;
  auto new_fields = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!old_fields || !old_fields->is_object() || !new_fields.is_object()) return false;
  for (auto* fields : {&*old_fields, &new_fields}) {
    for (const char* key : {"kind", "id", "visibility"}) fields->erase(key);
    if (kind != Kind::city)  // a profile's country is its own field
      for (const char* key : {"origin", "city", "country"}) fields->erase(key);
  }
  return *old_fields == new_fields;
}

// Assigns ids, versions and chain positions against the store as r sees it; signs in parallel.
// `sign`: false for a draft another machine signs (the records carry no signature).
// `revive`: a record whose current version is a retraction or an erasure may be published
// again; otherwise that is refused (nothing comes back by accident).
Prepared prepare(DataDir& dir, const storage::StoreReader& r, const std::vector<ValidatedInput>& inputs,
                 std::vector<Hash>& body_hashes, const Pending* pending = nullptr, bool sign = true,
                 bool revive = false) {
  Prepared p;
  p.head_before.origin = dir.id();
  std::vector<Draft> drafts;
  if (pending)
    p.head_before = pending->head;
  else if (auto h = r.head(dir.id()))
    p.head_before = *h;
  std::map<std::string, Known>& in_batch = p.written;
  uint64_t seq = p.head_before.seq;
  int64_t ts = now_ms();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ValidatedInput& in = inputs[i];
    PublishResult res;
    res.kind = in.kind;
    res.id = in.id ? *in.id : generated_id(in);
    std::optional<Known> known;
    std::optional<uint64_t> stored_at;  // where the latest version is, when known comes from the store
    if (auto it = in_batch.find(res.id); it != in_batch.end()) {
      known = it->second;
    } else if (auto pit = pending ? pending->known->find(res.id) : decltype(pending->known->end()){};
               pending && pit != pending->known->end()) {
      known = pit->second;
    } else if (auto latest = r.latest(dir.id(), res.id)) {
      std::string visibility = "public";
      if (auto view = r.at(latest->local))
        if (auto h = decode_header(view->header_bytes)) visibility = h.value().visibility;
      // Past a version a compromised key's revocation withdrew, numbering goes on above it.
      known = Known{std::max(latest->version, r.max_version(dir.id(), res.id)), latest->body_hash_prefix, visibility,
                    latest->tombstone};
      stored_at = latest->local;
      if (latest->kind != in.kind)
        throw InvalidInput("id: \"" + res.id + "\" is already a " + std::string(kind_name(latest->kind)) +
                           " of this city, not a " + std::string(kind_name(in.kind)));
      if (latest->tombstone && !revive)
        throw InvalidInput("id: \"" + res.id + "\" was " + (r.erased_by(latest->local) ? "erased" : "retracted") +
                           "; publishing it again needs --revive");
    }
    if (!known)  // every version withdrawn (a compromised key's): numbering goes on above them
      if (uint32_t withdrawn = r.max_version(dir.id(), res.id); withdrawn > 0) known = Known{withdrawn, 0, "", true};
    uint64_t prefix = hash_prefix(body_hashes[i]);
    bool same_body = known && known->body_prefix == prefix;
    // Other bytes may say the same: a one-line input is signed as written (with its kind and
    // id), `show --as-input` gives the fields alone, over several lines.
    if (known && !known->tombstone && !same_body && known->visibility == in.visibility && stored_at)
      same_body = same_fields(r, *stored_at, in.kind, in.body);
    if (known && !known->tombstone && same_body && known->visibility == in.visibility) {
      res.version = known->version;
      res.unchanged = true;
      p.results.push_back(res);
      continue;
    }
    res.version = known ? known->version + 1 : 1;
    res.seq = ++seq;
    in_batch[res.id] = Known{res.version, prefix, in.visibility, false};
    Header h;
    h.origin = dir.id();
    h.seq = res.seq;
    h.kind = in.kind;
    h.id = res.id;
    h.key = dir.delegated_key();
    h.version = res.version;
    h.ts = ts;
    h.visibility = in.visibility;
    h.body_sha256 = body_hashes[i];
    h.body_size = static_cast<uint32_t>(in.body.size());
    check_signer(r, h);
    drafts.push_back({std::move(h), &in.body, in.keys});
    p.results.push_back(res);
  }
  // The chain is sequential but cheap (SHA-256 of ~400 bytes); signing is the costly part.
  Hash prev = p.head_before.hash;
  p.records.resize(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    drafts[i].header.prev = prev;
    p.records[i].header = drafts[i].header;
    p.records[i].keys = drafts[i].keys;
    p.records[i].record.header_bytes = encode_header(drafts[i].header);
    prev = record_hash(p.records[i].record.header_bytes);
  }
  p.head_after = p.head_before;
  if (!drafts.empty()) p.head_after.seq = drafts.back().header.seq, p.head_after.hash = prev;
  parallel_for(drafts.size(), [&](size_t i) {
    auto& rec = p.records[i].record;
    rec.body = *drafts[i].body;
    if (!sign) return;
    rec.signature = dir.signing_key().sign(rec.header_bytes);
    storage::prepare_log_value(p.records[i]);
  });
  return p;
}

// The same against a snapshot taken now: the chain may move before the commit (HeadMoved).
Prepared prepare(DataDir& dir, const std::vector<ValidatedInput>& inputs, std::vector<Hash>& body_hashes, bool revive,
                 const Pending* pending = nullptr) {
  return dir.store().read(
      [&](const storage::StoreReader& r) { return prepare(dir, r, inputs, body_hashes, pending, true, revive); });
}

}  // namespace

void Publisher::ensure_may_publish() {
  if (dir_.role() != NodeRole::city) throw InvalidInput("an observer node holds no city and publishes no records");
  if (dir_.restoring())
    throw InvalidInput(
        "this node is restoring (from a backup, or init --restore): it publishes once `agora serve` has heard from "
        "a peer which of its city's records came after (a peer that holds none newer ends it at once), so that it "
        "never signs a sequence number they already hold; `agora status` shows progress");
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string generated_id(const ValidatedInput& input) {
  std::string slug = slugify(input.title, 48);
  std::string hash = to_hex(sha256(input.body)).substr(0, 8);
  return (slug.empty() ? std::string(kind_name(input.kind)) : slug) + "-" + hash;
}

namespace {
// Writes a prepared batch if the chain is still where it was prepared against.
void commit(DataDir& dir, const Prepared& p) {
  // Large batches read much of the index tables; drop those mapped pages so a bulk
  // import's RSS does not grow with the store.
  if (p.records.size() > 256) dir.store().env().release_resident_pages();
  dir.store().env().write([&](storage::WriteTxn& txn) {
    storage::StoreReader r(dir.store(), txn);
    auto head = r.head(dir.id());
    if ((head ? head->seq : 0) != p.head_before.seq) throw HeadMoved{};
    if (dir.delegated_key())  // a revocation may have landed since the records were signed
      for (const auto& rec : p.records) check_signer(r, rec.header);
    dir.store().append(txn, p.records);
  });
  dir.notify_change();
  if (p.records.size() > 256) dir.store().env().release_resident_pages();
}
}  // namespace

void Publisher::publish_stream(const std::function<bool(std::vector<ValidatedInput>&)>& next_batch,
                               const std::function<void(const std::vector<PublishResult>&)>& on_committed) {
  ensure_may_publish();
  // One batch is written by a second thread while the next is signed: the single LMDB
  // writer and the signing cores work at the same time.
  std::vector<ValidatedInput> inputs, inflight_inputs;
  std::optional<Prepared> inflight;
  std::future<void> writing;
  bool sequential = false;  // another process wrote to our chain: stop pipelining
  auto finish_inflight = [&]() {
    if (!inflight) return;
    try {
      writing.get();
      on_committed(inflight->results);
    } catch (const HeadMoved&) {
      sequential = true;
      on_committed(publish(inflight_inputs));
    }
    inflight.reset();
  };
  while (next_batch(inputs)) {
    if (sequential) {
      on_committed(publish(inputs));
      continue;
    }
    std::vector<Hash> body_hashes(inputs.size());
    parallel_for(inputs.size(), [&](size_t i) { body_hashes[i] = sha256(inputs[i].body); });
    std::optional<Pending> pending;
    if (inflight) pending = Pending{inflight->head_after, &inflight->written};
    Prepared next = prepare(dir_, inputs, body_hashes, revive_, pending ? &*pending : nullptr);
    finish_inflight();
    if (sequential) {  // the batch just prepared chained onto one that was re-done
      on_committed(publish(inputs));
      continue;
    }
    inflight = std::move(next);
    inflight_inputs.swap(inputs);
    writing = std::async(std::launch::async, [this, &inflight] { commit(dir_, *inflight); });
  }
  finish_inflight();
}

std::vector<PublishResult> Publisher::publish(const std::vector<ValidatedInput>& inputs) {
  ensure_may_publish();
  ReferenceChecker references(dir_.store(), dir_.id());
  references.allow_dropped_indicators(dropped_indicators_);
  for (const auto& in : inputs) references.check(in);
  references.finish();
  std::vector<Hash> body_hashes(inputs.size());
  parallel_for(inputs.size(), [&](size_t i) { body_hashes[i] = sha256(inputs[i].body); });
  // Signing outside the write lock lets other writers (a running node, another import) go
  // on meanwhile; when they keep moving our chain, sign under the lock so this publish
  // cannot starve.
  for (int attempt = 0; attempt < 2; ++attempt) {
    Prepared p = prepare(dir_, inputs, body_hashes, revive_);
    if (p.records.empty()) return p.results;
    try {
      commit(dir_, p);
      return p.results;
    } catch (const HeadMoved&) {
    }
  }
  std::vector<PublishResult> results;
  size_t written = 0;
  dir_.store().env().write([&](storage::WriteTxn& txn) {
    Prepared p = prepare(dir_, storage::StoreReader(dir_.store(), txn), inputs, body_hashes, nullptr, true, revive_);
    dir_.store().append(txn, p.records);
    results = std::move(p.results);
    written = p.records.size();
  });
  if (written > 0) dir_.notify_change();
  return results;
}

PublishResult Publisher::retract(std::string_view id, std::string_view reason) {
  ensure_may_publish();
  // One signature: cheap enough to make under the write lock, so no other writer can move
  // the chain between reading the head and appending the tombstone.
  PublishResult res;
  dir_.store().env().write([&](storage::WriteTxn& txn) {
    storage::StoreReader r(dir_.store(), txn);
    auto latest = r.latest(dir_.id(), id);
    if (!latest) throw InvalidInput("retract: this city has no record \"" + std::string(id) + "\"");
    if (latest->tombstone)
      throw InvalidInput("retract: \"" + std::string(id) + "\" is already " +
                         (r.erased_by(latest->local) ? "erased" : "retracted"));
    if (latest->kind == Kind::city) throw InvalidInput("retract: the city profile cannot be retracted");
    auto head = r.head(dir_.id());
    Header h;
    h.origin = dir_.id();
    h.seq = head->seq + 1;
    h.prev = head->hash;
    h.kind = latest->kind;
    h.id = std::string(id);
    h.version = latest->version + 1;
    h.ts = now_ms();
    h.tombstone = true;
    h.key = dir_.delegated_key();
    if (latest->kind == Kind::key)
      throw InvalidInput("retract: \"" + std::string(id) + "\" is a key record; revoke it with `agora key revoke`");
    // The tombstone travels to everyone who could read the record.
    if (auto view = r.at(latest->local))
      if (auto old = decode_header(view->header_bytes)) h.visibility = old.value().visibility;
    check_signer(r, h);
    std::vector<storage::IncomingRecord> recs(1);
    recs[0].record = sign_record(h, "", dir_.signing_key());
    recs[0].header = decode_header(recs[0].record.header_bytes).value();
    res = PublishResult{h.kind, h.id, h.version, h.seq, false};
    if (!reason.empty()) {
      // The reason travels as a note right after the tombstone, with its visibility: a
      // tombstone's body stays empty (docs/data-model.md, "Retraction").
      RetractionNote note{std::string(id), h.version, std::string(reason)};
      Header n;
      n.origin = h.origin;
      n.seq = h.seq + 1;
      n.prev = record_hash(recs[0].record.header_bytes);
      n.kind = Kind::retraction;
      n.id = retraction_id(note.target, note.version);
      n.version = 1;
      n.ts = h.ts;
      n.visibility = h.visibility;
      n.key = h.key;
      std::string body = retraction_body(note);
      n.body_sha256 = sha256(body);
      n.body_size = static_cast<uint32_t>(body.size());
      if (auto valid = validate_received_body(n, body); !valid)
        throw InvalidInput("retract: --reason: " + valid.error().message);
      if (auto signer = n.key ? r.grant(n.origin, *n.key) : std::nullopt;
          signer && !role_may_sign(signer->role, Kind::retraction))
        throw InvalidInput("retract: --reason: this key (" + signer->name +
                           ") may not sign a retraction note; retract without --reason");
      recs.emplace_back();
      recs[1].record = sign_record(n, std::move(body), dir_.signing_key());
      recs[1].header = decode_header(recs[1].record.header_bytes).value();
    }
    dir_.store().append(txn, recs);
  });
  dir_.notify_change();
  return res;
}

ErasureResult Publisher::erase(const ErasureRequest& request) {
  ensure_may_publish();
  const std::string& id = request.id;
  if (request.reason.empty()) throw InvalidInput("erase: --reason: say why (it is shown with the erased versions)");
  ErasureResult res;
  dir_.store().env().write([&](storage::WriteTxn& txn) {
    storage::StoreReader r(dir_.store(), txn);
    // Every version this node holds, in order, and whether its body can still go.
    std::vector<std::pair<Header, bool>> versions;  // header, body held
    for (uint64_t local : r.history(dir_.id(), id)) {
      auto view = r.at(local);
      if (!view || r.is_set_aside(local)) continue;
      if (auto h = decode_header(view->header_bytes))
        versions.emplace_back(h.value(), !view->is_stub() && !h.value().tombstone && !r.erased_by(local));
    }
    if (versions.empty()) throw InvalidInput("erase: this city has no record \"" + id + "\"");
    res.target_kind = versions.back().first.kind;
    if (!is_erasable(res.target_kind))
      throw InvalidInput("erase: \"" + id + "\" is a" + (res.target_kind == Kind::erasure ? "n " : " ") +
                         std::string(kind_name(res.target_kind)) +
                         "; only practices, plans, reports and adoptions can be erased" +
                         (res.target_kind == Kind::key       ? " (revoke a key with `agora key revoke`)"
                          : res.target_kind == Kind::city    ? " (publish a new version of the profile instead)"
                          : res.target_kind == Kind::erasure ? ""
                                                             : " (publish a new version, or retract it)"));
    ErasureStatement e;
    e.target = id;
    e.reason = request.reason;
    auto has_text = [&](uint32_t v) {
      return std::any_of(versions.begin(), versions.end(),
                         [&](const auto& x) { return x.first.version == v && x.second; });
    };
    if (request.version) {
      if (std::none_of(versions.begin(), versions.end(),
                       [&](const auto& x) { return x.first.version == *request.version; }))
        throw InvalidInput("erase: --version: \"" + id + "\" has no version " + std::to_string(*request.version) +
                           " (it has 1 to " + std::to_string(versions.back().first.version) + ")");
      if (!has_text(*request.version))
        throw InvalidInput("erase: --version: version " + std::to_string(*request.version) + " of \"" + id +
                           "\" holds no text (already erased, or a retraction)");
      e.versions = {*request.version};
    } else if (request.all_versions) {
      for (const auto& [h, text] : versions)
        if (text) e.versions.push_back(h.version);
      if (e.versions.empty()) throw InvalidInput("erase: every version of \"" + id + "\" is already erased");
    } else {
      const auto& [current, text] = versions.back();
      if (current.tombstone)
        throw InvalidInput("erase: \"" + id +
                           "\" was retracted: name the versions to erase (--version N or "
                           "--all-versions)");
      if (!text) throw InvalidInput("erase: the current version of \"" + id + "\" is already erased");
      e.versions = {current.version};
    }
    for (const auto& [h, text] : versions)
      if (text && !std::binary_search(e.versions.begin(), e.versions.end(), h.version)) res.kept.push_back(h.version);
    res.erased = e.versions;

    auto head = r.head(dir_.id());
    Header h;
    h.origin = dir_.id();
    h.seq = head->seq + 1;
    h.prev = head->hash;
    h.kind = Kind::erasure;
    h.id = erasure_id(e, h.seq);
    h.version = 1;
    h.ts = now_ms();
    h.key = dir_.delegated_key();
    std::string body = erasure_body(e);
    if (auto valid = validate_received_body(h, body); !valid) throw InvalidInput("erase: " + valid.error().to_string());
    check_signer(r, h);
    if (auto signer = h.key ? r.grant(h.origin, *h.key) : std::nullopt;
        signer && !role_may_sign(signer->role, res.target_kind))
      throw InvalidInput("erase: refused: this key (" + signer->name + ") may not sign a " +
                         std::string(kind_name(res.target_kind)));
    res.record = append_signed(dir_.store(), txn, h, std::move(body), dir_.signing_key());
  });
  dir_.notify_change();
  return res;
}

PublishResult Publisher::moderate(const ModerationStatement& m) {
  ensure_may_publish();
  const std::string& name = m.coalition;
  if (m.reason.empty()) throw InvalidInput("moderate: --reason: say why (members see it with the decision)");
  PublishResult res;
  dir_.store().env().write([&](storage::WriteTxn& txn) {
    storage::StoreReader r(dir_.store(), txn);
    Entitlements ent = Entitlements::load(r);
    auto lead = ent.coalition_leads().find(name);
    if (lead == ent.coalition_leads().end())
      throw InvalidInput("moderate: no coalition \"" + name + "\" is declared on this node");
    CityDirectory cities(r);
    auto city_name = [&](const PublicKey& key) {
      const CityProfile* p = cities.find(key);
      return p ? p->name : short_node_id(key);
    };
    const PublicKey self = dir_.id();
    const auto& admins = ent.moderation().admins(name);
    const auto& named = ent.moderation().named_admins(name);
    if (self != lead->second && named.count(self) && !admins.count(self))
      throw InvalidInput("moderate: refused: the lead of \"" + name + "\" (" + city_name(lead->second) +
                         ") removed this city from the coalition, so it moderates no more");
    if (self != lead->second && !admins.count(self))
      throw InvalidInput("moderate: refused: only the lead of \"" + name + "\" (" + city_name(lead->second) +
                         ") or an admin it names in its coalition record may moderate it");
    if (!is_valid_moderation_target(m.action, m.target))
      throw InvalidInput(
          std::string("moderate: ") +
          (m.action == ModerationAction::remove_member ? "expected a member's node id" : "expected ORIGIN/ID") +
          ", got \"" + m.target + "\"");
    if (m.action == ModerationAction::remove_member) {
      PublicKey target = parse_node_id(m.target).value();
      if (target == lead->second)
        throw InvalidInput("moderate: the lead of \"" + name + "\" (" + city_name(target) + ") cannot be removed");
      if (self != lead->second && named.count(target))
        throw InvalidInput("moderate: " + city_name(target) + " is an admin of \"" + name +
                           "\"; only the lead removes an admin");
      if (!ent.member(name, target) && !ent.moderation().removal(name, target))
        throw InvalidInput("moderate: " + city_name(target) + " is not a member of \"" + name + "\"");
    } else {
      auto origin = parse_node_id(m.target.substr(0, 64)).value();
      std::string id = m.target.substr(65);
      std::optional<Header> header;
      if (auto held = r.latest(origin, id))
        if (auto view = r.at(held->local))
          if (auto decoded = decode_header(view->header_bytes)) header = decoded.value();
      if (!header) throw InvalidInput("moderate: no record " + m.target + " is held on this node");
      if (header->visibility != "coalition:" + name)
        throw InvalidInput("moderate: " + city_name(origin) + "/" + id + " is " + header->visibility +
                           ", not shared with coalition \"" + name + "\" (visibility coalition:" + name +
                           "): moderation never hides a city's records outside the coalition's scope");
    }
    std::string id = moderation_id(name, m.target);
    auto latest = r.latest(self, id);
    std::string body = moderation_body(m);
    if (latest && !latest->tombstone)
      if (auto rec = storage::read_record(r, latest->local); rec && rec->body() && *rec->body() == body) {
        res = PublishResult{Kind::moderation, id, latest->version, 0, true};
        return;
      }
    auto head = r.head(self);
    Header h;
    h.origin = self;
    h.seq = head->seq + 1;
    h.prev = head->hash;
    h.kind = Kind::moderation;
    h.id = id;
    h.version = std::max(latest ? latest->version : 0, r.max_version(self, id)) + 1;
    h.ts = now_ms();
    h.key = dir_.delegated_key();
    h.body_sha256 = sha256(body);
    h.body_size = static_cast<uint32_t>(body.size());
    if (auto valid = validate_received_body(h, body); !valid)
      throw InvalidInput("moderate: " + valid.error().to_string());
    check_signer(r, h, body);
    res = append_signed(dir_.store(), txn, h, std::move(body), dir_.signing_key());
  });
  if (!res.unchanged) dir_.notify_change();
  return res;
}

PublishResult Publisher::publish_key(const KeyGrant& grant) {
  ensure_may_publish();
  PublishResult res;
  dir_.store().env().write([&](storage::WriteTxn& txn) {
    storage::StoreReader r(dir_.store(), txn);
    std::string id = key_record_id(grant.key);
    auto latest = r.latest(dir_.id(), id);
    auto head = r.head(dir_.id());
    Header h;
    h.origin = dir_.id();
    h.seq = (head ? head->seq : 0) + 1;
    if (head) h.prev = head->hash;
    h.kind = Kind::key;
    h.id = id;
    h.key = dir_.delegated_key();
    h.version = std::max(latest ? latest->version : 0, r.max_version(dir_.id(), id)) + 1;
    h.ts = now_ms();
    std::string body = key_grant_body(grant);
    h.body_sha256 = sha256(body);
    h.body_size = static_cast<uint32_t>(body.size());
    if (auto valid = validate_received_body(h, body); !valid) throw InvalidInput(valid.error().to_string());
    check_signer(r, h, body);
    res = append_signed(dir_.store(), txn, h, std::move(body), dir_.signing_key());
  });
  dir_.notify_change();
  return res;
}

RecoveryResult Publisher::recover(const SigningKey& recovery_key, const KeyGrant& new_root, uint64_t after_seq) {
  ensure_may_publish();
  RecoveryResult res;
  dir_.store().env().write([&](storage::WriteTxn& txn) {
    storage::StoreReader r(dir_.store(), txn);
    auto head = r.head(dir_.id());
    if (!head || after_seq == 0 || after_seq > head->seq)
      throw InvalidInput("the recovery point must be a seq of this city's chain, 1 to " +
                         std::to_string(head ? head->seq : 0));
    auto commitment = r.recovery_commitment(dir_.id());
    if (!commitment)
      throw InvalidInput("this city's chain commits to no recovery key (its genesis record has no \"recovery\")");
    if (*commitment != recovery_commitment(recovery_key.public_key()))
      throw InvalidInput("that is not the recovery key this city's genesis record commits to");
    res.set_aside = dir_.store().set_aside(txn, dir_.id(), after_seq + 1);
    storage::StoreReader fresh(dir_.store(), txn);
    auto tip = fresh.head(dir_.id());
    std::string id = key_record_id(new_root.key);
    Header h;
    h.origin = dir_.id();
    h.seq = tip->seq + 1;
    h.prev = tip->hash;
    h.kind = Kind::key;
    h.id = id;
    h.key = recovery_key.public_key();
    auto latest = fresh.latest(dir_.id(), id);
    h.version = std::max(latest ? latest->version : 0, fresh.max_version(dir_.id(), id)) + 1;
    h.ts = now_ms();
    std::string body = key_grant_body(new_root);
    h.body_sha256 = sha256(body);
    h.body_size = static_cast<uint32_t>(body.size());
    if (auto valid = validate_received_body(h, body); !valid) throw InvalidInput(valid.error().to_string());
    check_signer(fresh, h, body);
    storage::IncomingRecord rec;
    rec.record = sign_record(h, std::move(body), recovery_key);
    rec.header = decode_header(rec.record.header_bytes).value();
    res.record = PublishResult{h.kind, h.id, h.version, h.seq, false};
    dir_.store().append(txn, std::span(&rec, 1));
  });
  dir_.notify_change();
  return res;
}

SubmissionDraft Publisher::draft(const ValidatedInput& input, const PublicKey& signer) {
  ensure_may_publish();
  {
    ReferenceChecker references(dir_.store(), dir_.id());
    references.check(input);
    references.finish();
  }
  auto grant = dir_.store().read([&](const storage::StoreReader& r) { return r.grant(dir_.id(), signer); });
  if (grant && grant->revoked)
    throw InvalidInput("refused: key " + short_node_id(signer) + " (" + grant->name + ") was revoked");
  if (!grant || grant->role == KeyRole::recovery)
    throw InvalidInput("refused: key " + short_node_id(signer) + " is not a key this city delegated (agora key list)");
  if (!role_may_sign(grant->role, input.kind))  // also when the record would be unchanged
    throw InvalidInput("refused: key " + short_node_id(signer) + " (" + grant->name + ") is a " +
                       std::string(key_role_name(grant->role)) + " key, which may not sign a " +
                       std::string(kind_name(input.kind)));
  dir_.sign_elsewhere(signer);
  std::vector<Hash> body_hashes = {sha256(input.body)};
  Prepared p = dir_.store().read([&](const storage::StoreReader& r) {
    return prepare(dir_, r, {input}, body_hashes, nullptr, /*sign=*/false, revive_);
  });
  SubmissionDraft d;
  d.result = p.results.front();
  if (!p.records.empty()) d.header_bytes = p.records.front().record.header_bytes, d.body = input.body;
  return d;
}

PublishResult Publisher::submit(const SignedRecord& record) {
  ensure_may_publish();
  auto verified = verify_record(record);
  if (!verified) throw InvalidInput("submission: " + verified.error().to_string());
  const Header& h = verified.value();
  if (h.origin != dir_.id()) throw InvalidInput("submission: the record is not of this city");
  if (!h.key) throw InvalidInput("submission: the record must be signed by a key the city delegated");
  if (!record.body) throw InvalidInput("submission: the record carries no body");
  auto keys = validate_received_body(h, *record.body);
  if (!keys) throw InvalidInput("submission: " + keys.error().to_string());
  storage::IncomingRecord in;
  in.record = record;
  in.header = h;
  in.keys = keys.value();
  storage::prepare_log_value(in);
  dir_.store().env().write([&](storage::WriteTxn& txn) {
    storage::StoreReader r(dir_.store(), txn);
    auto head = r.head(dir_.id());
    if (h.seq != (head ? head->seq : 0) + 1 || h.prev != (head ? head->hash : Hash{}))
      throw SubmissionMoved("the city's chain moved since the draft (now at seq " +
                            std::to_string(head ? head->seq : 0) + ")");
    check_signer(r, h, record.body);
    // As every receiving node: a delegated key replaces only a record of a kind it may sign,
    // and an id keeps its kind.
    if (auto latest = r.latest(dir_.id(), h.id)) {
      auto signer = r.grant(dir_.id(), *h.key);
      if (latest->kind != h.kind || !signer || !role_may_sign(signer->role, latest->kind))
        throw InvalidInput("refused: " + h.id + " is a " + std::string(kind_name(latest->kind)) +
                           " of this city, which this key may not replace by a " + std::string(kind_name(h.kind)));
    }
    dir_.store().append(txn, std::span(&in, 1));
  });
  dir_.notify_change();
  return PublishResult{h.kind, h.id, h.version, h.seq, false};
}

}  // namespace agora
