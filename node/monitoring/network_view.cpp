#include "node/monitoring/network_view.hpp"
#include "storage/stored_record.hpp"

#include <sstream>

#include "node/local/record_view.hpp"

namespace agora {

using nlohmann::json;

namespace {

struct Declared {
  PublicKey origin;
  std::string id;
  json body;
};

std::vector<Declared> latest_bodies(const storage::StoreReader& r, Kind kind) {
  std::vector<Declared> out;
  storage::ListQuery q;
  q.kind = kind;
  r.list(q, [&](const PublicKey& origin, std::string_view id, const storage::LatestEntry& entry) {
    if (entry.tombstone) return true;
    auto rec = storage::read_record(r, entry.local);
    auto body = rec ? rec->body_json() : std::nullopt;  // none for a stub: this node may not read it
    if (body) out.push_back({origin, std::string(id), std::move(*body)});
    return true;
  });
  return out;
}

json topics_of(const json& body) {
  auto t = body.find("topics");
  return t != body.end() && t->is_array() ? *t : json::array();
}

}  // namespace

json network_view(const NetworkViewInput& in) {
  const storage::StoreReader& r = in.reader;
  CityDirectory cities(r);
  auto city_ref = [&](const PublicKey& k) {
    const CityProfile* p = cities.find(k);
    return json{{"node", node_id(k)}, {"city", p ? json(p->name) : json()}};
  };

  json city_list = json::array();
  for (const auto& h : r.heads()) {
    const CityProfile* p = cities.find(h.origin);
    city_list.push_back({{"node", node_id(h.origin)},
                         {"city", p ? json(p->name) : json()},
                         {"country", p ? json(p->country) : json()},
                         {"region", p && !p->region.empty() ? json(p->region) : json()},
                         {"records", h.seq}});
  }

  std::vector<Declared> partnerships = latest_bodies(r, Kind::partnership);
  std::vector<Declared> coalition_records = latest_bodies(r, Kind::coalition);
  json pending = json::array();

  json coalitions = json::array();
  for (const auto& [name, lead] : in.entitlements.coalition_leads()) {
    const Declared* decl = nullptr;
    json contested = json::array();
    for (const auto& c : coalition_records) {
      if (c.body.value("name", "") != name) continue;
      if (c.origin == lead && !decl)
        decl = &c;
      else if (c.origin != lead)
        contested.push_back(city_ref(c.origin));
    }
    json members = json::array();
    const auto& accepted = in.entitlements.coalitions().at(name);
    const CoalitionModeration& moderation = in.entitlements.moderation();
    for (const auto& k : accepted) {
      json m = city_ref(k);
      m["lead"] = k == lead;
      if (moderation.admins(name).count(k)) m["admin"] = true;
      members.push_back(m);
    }
    // Members the coalition's moderators removed: who decided, when and why (public records).
    json removed = json::array();
    for (const auto& d : moderation.in_effect())
      if (d.statement.coalition == name && d.statement.action == ModerationAction::remove_member) {
        json m = city_ref(parse_node_id(d.statement.target).value());
        m["by"] = city_ref(d.by);
        m["on"] = iso8601_utc(d.ts);
        m["reason"] = d.statement.reason;
        m["record"] = d.record;
        removed.push_back(std::move(m));
      }
    json c = {{"name", name}, {"lead", city_ref(lead)}, {"members", members}};
    if (!removed.empty()) c["removed"] = std::move(removed);
    if (decl) {
      c["title"] = decl->body.value("title", "");
      c["region"] = decl->body.value("region", "");
      c["framework"] = decl->body.value("framework", "");
      if (auto listed = decl->body.find("members"); listed != decl->body.end() && listed->is_array())
        for (const auto& id : *listed)
          if (auto k = parse_node_id(id.is_string() ? id.get<std::string>() : "");
              k && !accepted.count(*k) && !moderation.removal(name, *k))
            pending.push_back({{"type", "coalition-invitation"},
                               {"coalition", name},
                               {"from", city_ref(lead)},
                               {"to", city_ref(*k)},
                               {"missing", "a partnership record from the invited city accepting membership"}});
    }
    if (!contested.empty()) c["also_declared_by"] = contested;
    coalitions.push_back(std::move(c));
  }

  // Twins: both cities declared the partnership; topics are what either of them named.
  std::map<std::pair<PublicKey, PublicKey>, const Declared*> twin_claims;
  for (const auto& p : partnerships) {
    if (p.body.value("relation", "") != "twin") continue;
    if (auto with = parse_node_id(p.body.value("with", ""))) twin_claims[{p.origin, *with}] = &p;
  }
  json twins = json::array();
  for (const auto& [a, b] : in.entitlements.twin_pairs()) {
    std::set<std::string> topics;  // sorted, each once
    for (const Declared* d : {twin_claims[{a, b}], twin_claims[{b, a}]})
      if (d)
        for (const auto& t : topics_of(d->body))
          if (t.is_string()) topics.insert(t.get<std::string>());
    json since = twin_claims[{a, b}] ? twin_claims[{a, b}]->body.value("since", json()) : json();
    json pair = {city_ref(a), city_ref(b)};
    if (pair[1]["city"].is_string() && (!pair[0]["city"].is_string() || pair[1]["city"] < pair[0]["city"]))
      std::swap(pair[0], pair[1]);  // alphabetical by city, for readers
    twins.push_back({{"cities", pair}, {"topics", topics}, {"since", since}});
  }
  for (const auto& [pair, d] : twin_claims)
    if (!in.entitlements.twins(pair.first, pair.second))
      pending.push_back({{"type", "twin-declaration"},
                         {"from", city_ref(pair.first)},
                         {"to", city_ref(pair.second)},
                         {"missing", "the matching partnership record from the other city"}});
  for (const auto& p : partnerships) {
    if (p.body.value("relation", "") != "coalition-member") continue;
    std::string name = p.body.value("coalition", "");
    if (in.entitlements.member(name, p.origin) || in.entitlements.moderation().removal(name, p.origin))
      continue;  // a member, or one the coalition removed (listed under "removed")
    auto lead = in.entitlements.coalition_leads().find(name);
    auto with = parse_node_id(p.body.value("with", ""));
    pending.push_back({{"type", "coalition-acceptance"},
                       {"coalition", name},
                       {"from", city_ref(p.origin)},
                       {"missing", lead == in.entitlements.coalition_leads().end() ? "a coalition record of this name"
                                   : with != lead->second
                                       ? "a partnership naming the lead city (\"with\": its node id), not another city"
                                       : "the lead city's coalition record listing this city"}});
  }

  json peers = json::array();
  for (const auto& peer : in.peers) {
    json p = city_ref(peer.key);
    p["relation"] = peer.relation.empty() ? json() : json(peer.relation);
    p["url"] = peer.url.empty() ? json() : json(peer.url);
    auto st = in.peer_states.find(peer.key);
    p["state"] = st != in.peer_states.end() ? st->second.state : "never connected";
    peers.push_back(std::move(p));
  }

  // Two signed records for one (origin, seq): the origin forked its chain (or its key is
  // in two places). The held record stays; the other is kept here as evidence.
  json forks = json::array();
  for (const auto& f : in.forks) {
    json fork = city_ref(f.origin);
    fork["seq"] = f.seq;
    fork["reported_by"] = city_ref(f.reported_by);
    fork["seen"] = iso8601_utc(f.seen_ms);
    fork["conflicting_header"] = f.header_bytes;
    if (auto held = r.at(f.origin, f.seq)) fork["held_header"] = std::string(held->header_bytes);
    forks.push_back(std::move(fork));
  }

  return {{"self", city_ref(in.self)},
          {"cities", city_list},
          {"coalitions", coalitions},
          {"twins", twins},
          {"pending", pending},
          {"peers", peers},
          {"forks", forks}};
}

std::string network_text(const json& v) {
  auto name = [](const json& ref) {
    return ref["city"].is_string() ? ref["city"].get<std::string>() : ref["node"].get<std::string>().substr(0, 12);
  };
  std::ostringstream out;
  out << "network as seen by " << name(v["self"]) << " (" << v["self"]["node"].get<std::string>().substr(0, 12)
      << "): " << v["cities"].size() << " nodes, " << v["coalitions"].size() << " coalitions, " << v["twins"].size()
      << " twin partnerships\n";
  for (const auto& c : v["coalitions"]) {
    out << "\ncoalition " << c["name"].get<std::string>();
    if (c.contains("title") && !c["title"].get<std::string>().empty()) out << "  " << c["title"].get<std::string>();
    if (c.contains("region") && !c["region"].get<std::string>().empty())
      out << " (" << c["region"].get<std::string>() << ")";
    out << "\n  lead       " << name(c["lead"]) << "\n";
    if (c.contains("framework") && !c["framework"].get<std::string>().empty())
      out << "  framework  " << c["framework"].get<std::string>() << "\n";
    out << "  members    ";
    for (size_t i = 0; i < c["members"].size(); ++i)
      out << (i ? ", " : "") << name(c["members"][i]) << (c["members"][i].value("admin", false) ? " (admin)" : "");
    out << "\n";
    if (c.contains("removed"))
      for (const auto& m : c["removed"])
        out << "  removed    " << name(m) << " by " << name(m["by"]) << " on "
            << m["on"].get<std::string>().substr(0, 10) << ": " << m["reason"].get<std::string>() << "\n";
    if (c.contains("also_declared_by")) {
      out << "  also declared by (not leading): ";
      for (size_t i = 0; i < c["also_declared_by"].size(); ++i)
        out << (i ? ", " : "") << name(c["also_declared_by"][i]);
      out << "\n";
    }
  }
  if (!v["twins"].empty()) out << "\ntwin cities\n";
  for (const auto& t : v["twins"]) {
    out << "  " << name(t["cities"][0]) << " - " << name(t["cities"][1]);
    if (!t["topics"].empty()) {
      out << "  topics: ";
      for (size_t i = 0; i < t["topics"].size(); ++i) out << (i ? ", " : "") << t["topics"][i].get<std::string>();
    }
    out << "\n";
  }
  if (!v["pending"].empty()) out << "\nnot yet in force\n";
  for (const auto& p : v["pending"]) {
    out << "  " << p["type"].get<std::string>() << ": " << name(p["from"]);
    if (p.contains("to")) out << " -> " << name(p["to"]);
    if (p.contains("coalition")) out << " (" << p["coalition"].get<std::string>() << ")";
    out << "; missing " << p["missing"].get<std::string>() << "\n";
  }
  if (!v["forks"].empty()) out << "\nFORKS (two signed records for one position: evidence kept)\n";
  for (const auto& f : v["forks"])
    out << "  " << name(f) << " seq " << f["seq"].get<uint64_t>() << ", reported by " << name(f["reported_by"])
        << " on " << f["seen"].get<std::string>() << "\n";
  out << "\npeers of this node\n";
  if (v["peers"].empty()) out << "  none (add one with `agora peer add URL --key NODEID`)\n";
  for (const auto& p : v["peers"]) {
    out << "  " << name(p) << "  " << p["node"].get<std::string>().substr(0, 12) << "  "
        << (p["relation"].is_string() ? p["relation"].get<std::string>() : "-") << "  " << p["state"].get<std::string>()
        << "\n";
  }
  return out.str();
}

}  // namespace agora
