#include "node/local/frameworks.hpp"
#include "storage/stored_record.hpp"

#include <nlohmann/json.hpp>

namespace agora {

using nlohmann::json;

FrameworkCatalog load_frameworks(const storage::StoreReader& r, const Entitlements& entitlements, bool public_only) {
  struct Candidate {
    int64_t ts;
    FrameworkDef def;
  };
  std::vector<Candidate> found;
  storage::ListQuery q;
  q.kind = Kind::framework;
  r.list(q, [&](const PublicKey& origin, std::string_view id, const storage::LatestEntry& entry) {
    if (entry.tombstone || (public_only && !entry.is_public)) return true;
    auto rec = storage::read_record(r, entry.local);
    auto parsed = rec ? rec->body_json() : std::nullopt;
    if (!parsed) return true;
    const json& body = *parsed;
    std::string coalition = body.value("coalition", "");
    auto lead = entitlements.coalition_leads().find(coalition);
    if (lead == entitlements.coalition_leads().end() || lead->second != origin) return true;
    FrameworkDef def{std::string(id), body.value("title", ""), {}, node_id(origin), coalition};
    if (auto c = body.find("commitments"); c != body.end() && c->is_array())
      for (const auto& item : *c)
        if (item.is_object()) def.commitments.push_back({item.value("ref", ""), item.value("title", "")});
    found.push_back({rec->header.ts, std::move(def)});
    return true;
  });
  // Two leads may publish the same id: the earlier one holds it, on every node alike.
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.ts, a.def.origin) < std::tie(b.ts, b.def.origin);
  });
  FrameworkCatalog catalog;
  for (auto& c : found) catalog.add(std::move(c.def));
  return catalog;
}

FrameworkCatalog load_frameworks(storage::RecordStore& store, bool public_only) {
  return store.read(
      [&](const storage::StoreReader& r) { return load_frameworks(r, Entitlements::load(r), public_only); });
}

}  // namespace agora
