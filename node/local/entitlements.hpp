// Who may read which record: visibility rules over the partnership, coalition and
// moderation records this node holds (docs/protocol.md, "Visibility").
#pragma once

#include <map>
#include <set>
#include <string>

#include "node/local/moderation.hpp"
#include "protocol/record.hpp"
#include "storage/record_store.hpp"

namespace agora {

class Entitlements {
 public:
  // With explain_moderation, moderation().ignored() also lists decisions by cities that are
  // no moderator (`agora moderate list`); the node itself skips them unread.
  static Entitlements load(const storage::StoreReader& reader, bool explain_moderation = false);

  // True when `reader` may receive the body of a record with this header.
  bool may_read(const Header& h, const PublicKey& reader) const;
  bool twins(const PublicKey& a, const PublicKey& b) const;
  bool member(const std::string& coalition, const PublicKey& node) const;

  // The network as records declare it, for `agora network` and the HTTP API.
  const std::set<std::pair<PublicKey, PublicKey>>& twin_pairs() const { return twins_; }
  const std::map<std::string, std::set<PublicKey>>& coalitions() const { return members_; }
  const std::map<std::string, PublicKey>& coalition_leads() const { return leads_; }
  // The coalitions' moderation decisions in effect (members above are after removals).
  const CoalitionModeration& moderation() const { return moderation_; }

 private:
  std::set<std::pair<PublicKey, PublicKey>> twins_;     // (a, b) with a < b, both declared
  std::map<std::string, std::set<PublicKey>> members_;  // coalition -> lead + accepted members
  std::map<std::string, PublicKey> leads_;
  CoalitionModeration moderation_;
};

}  // namespace agora
