#include "node/local/record_view.hpp"

#include <algorithm>
#include <ctime>

#include "protocol/erasure.hpp"
#include "protocol/retraction.hpp"
#include "protocol/hex.hpp"
#include "protocol/json_text.hpp"
#include "protocol/utf8.hpp"
#include "storage/stored_record.hpp"

namespace agora {

using nlohmann::json;

const CityProfile* CityDirectory::find(const PublicKey& origin) {
  auto it = cache_.find(origin);
  if (it == cache_.end()) it = cache_.emplace(origin, city_profile(reader_, origin)).first;
  return it->second ? &*it->second : nullptr;
}

const KeyGrant* CityDirectory::signer(const Header& h) {
  if (!h.key) return nullptr;
  auto it = keys_.find({h.origin, *h.key});
  if (it == keys_.end()) it = keys_.emplace(std::pair{h.origin, *h.key}, reader_.grant(h.origin, *h.key)).first;
  return it->second ? &*it->second : nullptr;
}

namespace {

nlohmann::json signed_by(const Header& h, const KeyGrant* signer) {
  nlohmann::json s = {{"key", node_id(*h.key)}};
  if (signer) s["name"] = signer->name, s["role"] = key_role_name(signer->role);
  return s;
}

}  // namespace

std::string iso8601_utc(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

json record_item(const Header& h, const std::optional<std::string>& body, const CityProfile* city,
                 const KeyGrant* signer) {
  json item = json::object();
  if (body && !body->empty()) {
    item = json::parse(*body, nullptr, false);
    if (!item.is_object()) item = json::object();
  }
  item["kind"] = kind_name(h.kind);
  item["id"] = h.id;
  item["origin"] = node_id(h.origin);
  if (h.kind != Kind::city) {
    item["city"] = city ? json(city->name) : json(nullptr);
    item["country"] = city ? json(city->country) : json(nullptr);
  }
  item["version"] = h.version;
  item["seq"] = h.seq;
  item["published"] = iso8601_utc(h.ts);
  item["visibility"] = h.visibility;
  if (h.key) item["signed_by"] = signed_by(h, signer);
  if (h.tombstone) item["retracted"] = true;
  if (!body) item["withheld"] = true;
  return item;
}

json moderation_note(const ModerationDecision& d, CityDirectory& cities) {
  const CityProfile* by = cities.find(d.by);
  return {{"coalition", d.statement.coalition},
          {"action", moderation_action_name(d.statement.action)},
          {"by", {{"node", node_id(d.by)}, {"city", by ? json(by->name) : json()}}},
          {"on", iso8601_utc(d.ts)},
          {"reason", d.statement.reason},
          {"record", d.record}};
}

std::optional<json> erasure_note(const storage::StoreReader& r, uint64_t local) {
  auto by = r.erased_by(local);
  if (!by) return std::nullopt;
  json note = {{"erasure", nullptr}, {"on", nullptr}, {"reason", nullptr}, {"seq", nullptr}};
  if (auto view = r.at(*by)) {
    SignedRecord rec = view->load();
    if (auto h = decode_header(rec.header_bytes)) {
      note["erasure"] = h.value().id;
      note["on"] = iso8601_utc(h.value().ts);
      note["seq"] = h.value().seq;
    }
    if (rec.body)
      if (auto e = read_erasure(*rec.body)) note["reason"] = e->reason;
  }
  return note;
}

std::optional<json> retraction_note(const storage::StoreReader& r, const PublicKey& origin, const std::string& id,
                                    uint32_t version, std::string_view visibility) {
  auto latest = r.latest(origin, retraction_id(id, version));
  if (!latest || latest->tombstone || latest->kind != Kind::retraction) return std::nullopt;
  auto rec = storage::read_record(r, latest->local);
  if (!rec || !rec->body()) return std::nullopt;
  auto note = read_retraction(*rec->body());
  // Only a note shared as the tombstone is: a public tombstone never shows a restricted reason.
  if (!note || note->target != id || note->version != version || rec->header.visibility != visibility)
    return std::nullopt;
  return json{{"reason", note->reason}, {"record", rec->header.id}};
}

void mark_item(const storage::StoreReader& r, uint64_t local, json& item) {
  if (item.value("retracted", false) && item["origin"].is_string() && item["id"].is_string())
    if (auto origin = parse_node_id(item["origin"].get<std::string>()))
      if (auto note = retraction_note(r, *origin, item["id"].get<std::string>(), item.value("version", 0u),
                                      item.value("visibility", std::string())))
        item["retraction"] = std::move(*note);
  if (auto note = erasure_note(r, local)) {
    item.erase("withheld");
    item["erased"] = std::move(*note);
  }
  if (r.is_withdrawn(local)) item["withdrawn"] = true;  // evidence, not current
  if (r.is_set_aside(local)) item["set_aside"] = true;  // a recovery replaced its branch
}

std::string record_item_text(const Header& h, const std::optional<std::string>& body, const CityProfile* city,
                             const KeyGrant* signer) {
  std::optional<std::vector<RawMember>> members;
  if (body && !body->empty()) {
    members = raw_members(*body);
    // A key spelled with escapes might name a field the node sets: the parsing path decides.
    if (!members || std::any_of(members->begin(), members->end(), [](const RawMember& m) { return m.key_has_escape; }))
      return record_item(h, body, city, signer).dump();
  }
  auto text = [](std::string_view s) { return json(s).dump(); };
  std::string out;
  out.reserve((body ? body->size() : 0) + 400);
  out += "{\"kind\":" + text(kind_name(h.kind));
  out += ",\"id\":" + text(h.id);
  out += ",\"origin\":\"" + node_id(h.origin) + '"';
  bool sets_city = h.kind != Kind::city;
  if (sets_city) {
    out += ",\"city\":" + (city ? text(city->name) : std::string("null"));
    out += ",\"country\":" + (city ? text(city->country) : std::string("null"));
  }
  out += ",\"version\":" + std::to_string(h.version);
  out += ",\"seq\":" + std::to_string(h.seq);
  out += ",\"published\":\"" + iso8601_utc(h.ts) + '"';
  out += ",\"visibility\":" + text(h.visibility);
  if (h.key) out += ",\"signed_by\":" + signed_by(h, signer).dump();
  if (h.tombstone) out += ",\"retracted\":true";
  if (!body) out += ",\"withheld\":true";
  if (members) {
    // The fields set above override the body's (record_item's rule).
    static constexpr std::string_view kSet[] = {"kind", "id", "origin", "version", "seq", "published", "visibility"};
    for (const RawMember& m : *members) {
      bool set = std::find(std::begin(kSet), std::end(kSet), m.key) != std::end(kSet) ||
                 (h.key && m.key == "signed_by") || (sets_city && (m.key == "city" || m.key == "country")) ||
                 (h.tombstone && m.key == "retracted");
      if (set) continue;
      out += ",\"";
      out += m.key;
      out += "\":";
      out += m.value;
    }
  }
  out += '}';
  return out;
}

ChangesPage read_changes(const storage::StoreReader& r, uint64_t since, size_t limit, std::optional<Kind> kind) {
  ChangesPage page;
  // A `since` beyond this node's log is answered with the log's end, so a client that goes
  // on from `last_seq` cannot skip the records still to come.
  page.last = std::min(since, r.last_local());
  CityDirectory cities(r);
  size_t scanned = 0;
  r.scan_log(since + 1, [&](const storage::StoredRecordView& view) {
    if (page.results.size() >= limit || ++scanned > 100 * limit) {
      page.more = true;
      return false;
    }
    page.last = view.local;
    auto h = decode_header(view.header_bytes);
    if (!h || !is_public(h.value()) || h.value().kind == Kind::unknown) return true;
    if (kind && h.value().kind != *kind) return true;
    const Header& hd = h.value();
    const CityProfile* city = cities.find(hd.origin);
    page.results.push_back({{"seq", view.local},
                            {"origin", node_id(hd.origin)},
                            {"city", city ? json(city->name) : json()},
                            {"kind", kind_name(hd.kind)},
                            {"id", hd.id},
                            {"version", hd.version},
                            {"retracted", hd.tombstone},
                            {"published", iso8601_utc(hd.ts)}});
    // Withdrawn since (a compromised key's, or set aside by a recovery): not current.
    if (r.is_withdrawn(view.local)) page.results.back()["withdrawn"] = true;
    // Erased since: its body is gone here and from copies a pipeline keeps (the erasure
    // comes later in this feed, naming what it erases).
    if (r.erased_by(view.local)) page.results.back()["erased"] = true;
    if (hd.kind == Kind::erasure && !view.is_stub())
      if (auto e = read_erasure(*view.load().body))
        page.results.back()["erases"] = {{"id", e->target}, {"versions", e->versions}};
    return true;
  });
  return page;
}

std::optional<PublicKey> resolve_city(const storage::StoreReader& reader, std::string_view city) {
  if (auto key = parse_node_id(city)) return key;
  // fold_for_match normalizes both sides to NFC: "Malmo\u0308" (as typed, or as an older
  // node signed its profile) and "Malmö" are one name.
  std::string folded = fold_for_match(city);
  std::optional<PublicKey> match;
  int matches = 0;
  for (const auto& head : reader.heads()) {
    std::string id = node_id(head.origin);
    bool hit = city.size() >= 8 && id.starts_with(folded);
    if (!hit)
      if (auto p = city_profile(reader, head.origin)) hit = fold_for_match(p->name) == folded;
    if (hit) match = head.origin, ++matches;
  }
  if (matches > 1) throw InvalidInput("\"" + std::string(city) + "\" matches more than one node; use the node id");
  return match;
}

std::pair<PublicKey, std::string> resolve_ref(const storage::StoreReader& reader, const PublicKey& self,
                                              std::string_view ref) {
  auto slash = ref.rfind('/');
  if (slash == std::string_view::npos) return {self, std::string(ref)};
  std::string_view origin = ref.substr(0, slash), id = ref.substr(slash + 1);
  auto key = resolve_city(reader, origin);
  if (!key) throw InvalidInput("no node \"" + std::string(origin) + "\" is known here");
  return {*key, std::string(id)};
}

}  // namespace agora
