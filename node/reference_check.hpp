// Checks what an input refers to against the records this node holds: a report must name
// one of this city's plans, an item of it and an indicator of that item, with a date inside
// the plan's period; an adoption must name another city's practice that this node holds; a
// framework may come only from the lead city of the coalition it names.
#pragma once

#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "node/data_dir.hpp"
#include "protocol/input_schema.hpp"

namespace agora {

class ReferenceChecker {
 public:
  ReferenceChecker(storage::RecordStore& store, const PublicKey& self);
  // Throws InvalidInput naming the field ("item", "indicator", "date", "practice"). Plans
  // checked before (in the same batch or import) count as held.
  void check(const ValidatedInput& input);
  // The frameworks inputs are validated against (built-in and held).
  const FrameworkCatalog& frameworks() const { return frameworks_; }

 private:
  const nlohmann::json* plan(const std::string& id);
  storage::RecordStore& store_;
  PublicKey self_;
  void check_framework(const ValidatedInput& input);
  std::map<std::string, nlohmann::json> plans_;  // by id: bodies seen or loaded
  std::set<std::string> coalitions_led_;         // by this city, held or in this batch
  FrameworkCatalog frameworks_;
};

}  // namespace agora
