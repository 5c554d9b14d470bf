#include "node/local/moderation.hpp"

#include <algorithm>
#include <tuple>

#include "protocol/hex.hpp"
#include "storage/stored_record.hpp"

namespace agora {

namespace {
// Between two moderators' decisions on one target the lead's holds; between admins, the
// later one (header time, then the smaller node id), so that every node picks the same.
bool outranks(const ModerationDecision& a, const ModerationDecision& b, const PublicKey& lead) {
  if ((a.by == lead) != (b.by == lead)) return a.by == lead;
  return std::tie(a.ts, b.by) > std::tie(b.ts, a.by);
}
}  // namespace

CoalitionModeration CoalitionModeration::evaluate(const storage::StoreReader& r,
                                                  const std::map<std::string, DeclaredCoalition>& coalitions,
                                                  bool explain) {
  CoalitionModeration m;
  // Only leads' and named admins' records can count: anyone else's are read only to explain
  // why they do not (`agora moderate list`), so that no city can make every store change
  // cost this node more by publishing moderation records.
  std::set<PublicKey> moderators;
  for (const auto& [name, c] : coalitions) {
    moderators.insert(c.lead);
    moderators.insert(c.admins.begin(), c.admins.end());
  }
  std::vector<ModerationDecision> all;
  storage::ListQuery q;
  q.kind = Kind::moderation;
  r.list(q, [&](const PublicKey& origin, std::string_view id, const storage::LatestEntry& e) {
    if (e.tombstone) return true;  // a retraction lifts the decision
    if (!explain && !moderators.count(origin)) return true;
    auto rec = storage::read_record(r, e.local);
    if (!rec || rec->is_stub()) return true;
    auto statement = read_moderation(*rec->body());
    if (!statement) return true;
    all.push_back({std::move(*statement), origin, std::string(id), rec->header.version, rec->header.ts});
    return true;
  });
  for (const auto& [name, c] : coalitions) m.admins_[name] = m.named_admins_[name] = c.admins;

  auto ignore = [&](const ModerationDecision& d, std::string why) { m.ignored_.push_back({d, std::move(why)}); };
  // Only the coalition's moderators count: its lead, and admins it names who are members.
  std::vector<const ModerationDecision*> removals, on_records;
  for (const auto& d : all) {
    auto c = coalitions.find(d.statement.coalition);
    if (c == coalitions.end()) {
      ignore(d, "no coalition \"" + d.statement.coalition + "\" is declared on this node");
      continue;
    }
    if (d.by != c->second.lead && !c->second.admins.count(d.by)) {
      ignore(d, "its city is neither the lead of \"" + d.statement.coalition + "\" nor an admin the lead names");
      continue;
    }
    (d.statement.action == ModerationAction::remove_member ? removals : on_records).push_back(&d);
  }
  // Removals: the lead's first, since they may take an admin's powers away; then the admins',
  // which cannot remove the lead or another admin.
  std::stable_partition(removals.begin(), removals.end(), [&](const ModerationDecision* d) {
    return d->by == coalitions.at(d->statement.coalition).lead;
  });
  std::vector<const ModerationDecision*> by_removed_admins;
  for (const ModerationDecision* d : removals) {
    const DeclaredCoalition& c = coalitions.at(d->statement.coalition);
    const std::string& name = d->statement.coalition;
    auto target = parse_node_id(d->statement.target).value();
    if (target == c.lead) {
      ignore(*d, "the lead of a coalition cannot be removed");
      continue;
    }
    const bool by_lead = d->by == c.lead;
    if (!by_lead && !m.admins_[name].count(d->by)) {
      ignore(*d, "its city was removed from \"" + name + "\" by the lead");
      continue;
    }
    if (!by_lead && c.admins.count(target)) {
      ignore(*d, "only the lead removes an admin");
      continue;
    }
    auto [it, fresh] = m.removals_.try_emplace({name, target}, *d);
    if (!fresh && outranks(*d, it->second, c.lead)) it->second = *d;
    if (by_lead) m.admins_[name].erase(target);
  }
  // Decisions on records, by the moderators that remain.
  for (const ModerationDecision* d : on_records) {
    const DeclaredCoalition& c = coalitions.at(d->statement.coalition);
    if (d->by != c.lead && !m.admins_[d->statement.coalition].count(d->by)) {
      ignore(*d, "its city was removed from \"" + d->statement.coalition + "\" by the lead");
      continue;
    }
    auto [it, fresh] = m.on_records_.try_emplace({d->statement.coalition, d->statement.target}, *d);
    if (!fresh && outranks(*d, it->second, c.lead)) it->second = *d;
  }
  std::set<std::pair<PublicKey, std::string>> accounted;  // (by, record) in effect or ignored
  for (const auto& [key, d] : m.removals_) m.in_effect_.push_back(d), accounted.insert({d.by, d.record});
  for (const auto& [key, d] : m.on_records_) m.in_effect_.push_back(d), accounted.insert({d.by, d.record});
  for (const auto& i : m.ignored_) accounted.insert({i.decision.by, i.decision.record});
  // A decision outranked by another on the same target is not in effect either.
  for (const ModerationDecision* d : removals)
    if (!accounted.count({d->by, d->record}))
      ignore(*d, "another moderator's decision on the same member holds (the lead's, else the latest)");
  for (const ModerationDecision* d : on_records)
    if (!accounted.count({d->by, d->record}))
      ignore(*d, "another moderator's decision on the same record holds (the lead's, else the latest)");
  return m;
}

const ModerationDecision* CoalitionModeration::removal(const std::string& coalition, const PublicKey& member) const {
  auto it = removals_.find({coalition, member});
  return it == removals_.end() ? nullptr : &it->second;
}

const ModerationDecision* CoalitionModeration::decision_for(const Header& h) const {
  if (!h.visibility.starts_with("coalition:") || on_records_.empty()) return nullptr;
  auto it = on_records_.find({h.visibility.substr(10), node_id(h.origin) + "/" + h.id});
  return it == on_records_.end() ? nullptr : &it->second;
}

bool CoalitionModeration::withdrawn(const Header& h) const {
  const ModerationDecision* d = decision_for(h);
  return d && d->statement.action == ModerationAction::withdraw;
}

const std::set<PublicKey>& CoalitionModeration::admins(const std::string& coalition) const {
  static const std::set<PublicKey> kNone;
  auto it = admins_.find(coalition);
  return it == admins_.end() ? kNone : it->second;
}

const std::set<PublicKey>& CoalitionModeration::named_admins(const std::string& coalition) const {
  static const std::set<PublicKey> kNone;
  auto it = named_admins_.find(coalition);
  return it == named_admins_.end() ? kNone : it->second;
}

std::string CoalitionModeration::fingerprint() const {
  std::string f;
  for (const auto& [key, d] : on_records_)
    if (d.statement.action == ModerationAction::withdraw) f += key.first + " " + key.second + "\n";
  return f;
}

}  // namespace agora
