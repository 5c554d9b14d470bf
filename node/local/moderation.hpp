// Which coalition moderation decisions hold on this node, by the rules of docs/data-model.md
// ("moderation"), over the coalition and moderation records it holds.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "protocol/moderation.hpp"
#include "protocol/record.hpp"
#include "storage/record_store.hpp"

namespace agora {

// One moderation record's current decision, and who made it.
struct ModerationDecision {
  ModerationStatement statement;
  PublicKey by{};      // the moderation record's origin
  std::string record;  // its id
  uint32_t version = 0;
  int64_t ts = 0;  // its header time (ms)
};

struct IgnoredModeration {
  ModerationDecision decision;
  std::string why;
};

// A coalition as declared, before moderation: what Entitlements derives from the coalition
// and partnership records.
struct DeclaredCoalition {
  PublicKey lead{};
  std::set<PublicKey> members;  // the lead and every accepted member
  std::set<PublicKey> admins;   // named in the lead's coalition record and members
};

class CoalitionModeration {
 public:
  // With `explain`, decisions by cities that are no moderator are read too, to be listed
  // among the ignored ones; without, they are skipped unread.
  static CoalitionModeration evaluate(const storage::StoreReader& reader,
                                      const std::map<std::string, DeclaredCoalition>& coalitions, bool explain = false);

  // The removal in effect for `member` of `coalition`, or null.
  const ModerationDecision* removal(const std::string& coalition, const PublicKey& member) const;
  // The dispute or withdrawal in effect for this version, or null: one applies only to a
  // version whose visibility is coalition:NAME of the coalition that decided.
  const ModerationDecision* decision_for(const Header& h) const;
  bool withdrawn(const Header& h) const;
  // The admins that may moderate `coalition` now (named, members, not removed).
  const std::set<PublicKey>& admins(const std::string& coalition) const;
  // The admins the lead's coalition record names (and that are members), removed or not.
  const std::set<PublicKey>& named_admins(const std::string& coalition) const;

  // Every decision in effect, by coalition then target; and the ones that are not, with why.
  const std::vector<ModerationDecision>& in_effect() const { return in_effect_; }
  const std::vector<IgnoredModeration>& ignored() const { return ignored_; }
  // Changes whenever what moderation grants or withholds changes (for re-sending bodies).
  std::string fingerprint() const;

 private:
  std::map<std::pair<std::string, PublicKey>, ModerationDecision> removals_;
  std::map<std::pair<std::string, std::string>, ModerationDecision> on_records_;  // (coalition, ORIGIN/ID)
  std::map<std::string, std::set<PublicKey>> admins_, named_admins_;
  std::vector<ModerationDecision> in_effect_;
  std::vector<IgnoredModeration> ignored_;
};

}  // namespace agora
