#include "node/local/entitlements.hpp"
#include "storage/stored_record.hpp"

#include <nlohmann/json.hpp>

#include <tuple>

namespace agora {

using nlohmann::json;

namespace {
std::optional<json> body_of(const storage::StoreReader& r, const storage::LatestEntry& e) {
  auto rec = storage::read_record(r, e.local);
  return rec ? rec->body_json() : std::nullopt;
}
}  // namespace

Entitlements Entitlements::load(const storage::StoreReader& r, bool explain_moderation) {
  Entitlements e;
  // Partnerships: (declarer, other, relation, coalition).
  std::set<std::pair<PublicKey, PublicKey>> twin_claims;
  std::map<std::string, std::set<std::pair<PublicKey, PublicKey>>> accepted;  // name -> (member, its lead)
  storage::ListQuery q;
  q.kind = Kind::partnership;
  r.list(q, [&](const PublicKey& origin, std::string_view, const storage::LatestEntry& entry) {
    auto body = body_of(r, entry);
    if (!body) return true;
    auto with = parse_node_id(body->value("with", ""));
    std::string relation = body->value("relation", "");
    if (relation == "twin" && with) twin_claims.insert({origin, *with});
    // Only a public acceptance counts: every node must hold its body to compute the same members.
    if (relation == "coalition-member" && with && entry.is_public)
      accepted[body->value("coalition", "")].insert({origin, *with});
    return true;
  });
  for (const auto& [a, b] : twin_claims)
    if (a < b && twin_claims.count({b, a})) e.twins_.insert({a, b});
  // Two cities may declare a coalition of the same name. The one more listed members accept
  // (their partnership names it) leads it; then the earlier declaration (the header time of
  // its version 1, so that the lead's edits keep its place), then the smaller node id: every
  // node computes the same members, and a city declaring a name it does not lead, however
  // early it dates its record, wins no member and takes no coalition from its lead.
  struct Declaration {
    size_t accepted = 0;
    int64_t ts;
    PublicKey origin;
    json body;
  };
  auto accepted_members = [&](const std::string& name, const PublicKey& lead, const json& body) {
    size_t n = 0;
    if (auto m = body.find("members"); m != body.end() && m->is_array())
      for (const auto& id : *m)
        if (id.is_string())
          if (auto key = parse_node_id(id.get<std::string>());
              key && *key != lead && accepted[name].count({*key, lead}))  // not the declarer itself
            ++n;
    return n;
  };
  std::map<std::string, Declaration> first;
  q.kind = Kind::coalition;
  r.list(q, [&](const PublicKey& origin, std::string_view id, const storage::LatestEntry& entry) {
    auto rec = storage::read_record(r, entry.local);
    auto body = rec ? rec->body_json() : std::nullopt;
    if (!body) return true;
    std::string name = body->value("name", "");
    if (name.empty()) return true;
    int64_t declared = rec->header.ts;
    if (entry.version > 1)
      if (auto positions = r.history(origin, std::string(id)); !positions.empty())
        if (auto first_version = r.at(positions.front()))
          if (auto h = decode_header(first_version->header_bytes)) declared = h.value().ts;
    Declaration d{accepted_members(name, origin, *body), declared, origin, std::move(*body)};
    auto it = first.find(name);
    auto rank = [](const Declaration& x) { return std::make_tuple(-static_cast<int64_t>(x.accepted), x.ts, x.origin); };
    if (it == first.end())
      first.emplace(name, std::move(d));
    else if (rank(d) < rank(it->second))
      it->second = std::move(d);
    return true;
  });
  std::map<std::string, DeclaredCoalition> declared;
  for (const auto& [name, d] : first) {
    e.leads_[name] = d.origin;
    DeclaredCoalition& c = declared[name];
    c.lead = d.origin;
    c.members.insert(d.origin);
    if (auto m = d.body.find("members"); m != d.body.end() && m->is_array())
      for (const auto& id : *m)
        if (id.is_string())
          // A member accepts this lead's coalition: its partnership names the lead.
          if (auto key = parse_node_id(id.get<std::string>()); key && accepted[name].count({*key, d.origin}))
            c.members.insert(*key);
    if (auto a = d.body.find("admins"); a != d.body.end() && a->is_array())
      for (const auto& id : *a)
        if (id.is_string())
          if (auto key = parse_node_id(id.get<std::string>()); key && c.members.count(*key) && *key != c.lead)
            c.admins.insert(*key);
  }
  e.moderation_ = CoalitionModeration::evaluate(r, declared, explain_moderation);
  for (auto& [name, c] : declared) {
    auto& members = e.members_[name];
    for (const auto& m : c.members)
      if (!e.moderation_.removal(name, m)) members.insert(m);
  }
  return e;
}

bool Entitlements::twins(const PublicKey& a, const PublicKey& b) const {
  return twins_.count(a < b ? std::make_pair(a, b) : std::make_pair(b, a)) > 0;
}

bool Entitlements::member(const std::string& coalition, const PublicKey& node) const {
  auto it = members_.find(coalition);
  return it != members_.end() && it->second.count(node) > 0;
}

bool Entitlements::may_read(const Header& h, const PublicKey& reader) const {
  if (is_public(h)) return true;
  if (reader == h.origin) return true;
  if (h.visibility == "partners") return twins(h.origin, reader);
  if (h.visibility.starts_with("coalition:")) {
    std::string name = h.visibility.substr(10);
    // Withdrawn from the coalition's scope by its moderators: only its origin reads it.
    return member(name, reader) && !moderation_.withdrawn(h);
  }
  return false;  // private
}

}  // namespace agora
