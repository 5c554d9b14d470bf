// Checks what an input refers to against the records this node holds: a report must name
// one of this city's plans, an item of it and an indicator of that item, with a date inside
// the plan's period; an adoption must name another city's practice that this node holds; a
// framework may come only from the lead city of the coalition it names.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "node/local/data_dir.hpp"
#include "protocol/input_schema.hpp"

namespace agora {

// The (item id, indicator name) pairs a plan body declares.
std::set<std::pair<std::string, std::string>> plan_indicators(const nlohmann::json& plan);

class ReferenceChecker {
 public:
  ReferenceChecker(storage::RecordStore& store, const PublicKey& self);
  // Throws InvalidInput naming the field ("item", "indicator", "date", "practice"). Plans
  // checked before (in the same batch or import) count as held.
  void check(const ValidatedInput& input);
  // A plan update may not leave this city's reports naming an (item, indicator) it no
  // longer has: they must come again in the same batch (carried to a renamed indicator)
  // or their indicator be named here (`--drop-indicator`). finish() throws InvalidInput
  // for the first report left behind; call it after the batch's last check().
  void allow_dropped_indicators(std::set<std::string> names) { dropped_ = std::move(names); }
  void finish();
  // The frameworks inputs are validated against (built-in and held).
  const FrameworkCatalog& frameworks() { return held().frameworks; }

 private:
  const nlohmann::json* plan(const std::string& id);
  storage::RecordStore& store_;
  PublicKey self_;
  void check_framework(const ValidatedInput& input);
  // Coalition leads and frameworks as the store holds them, read on first use: most
  // inputs (practices, reports) need neither.
  struct HeldNetwork {
    std::map<std::string, PublicKey> leads;  // coalition -> lead city
    FrameworkCatalog frameworks;
  };
  const HeldNetwork& held();
  std::optional<HeldNetwork> held_;
  std::map<std::string, nlohmann::json> plans_;  // by id: bodies seen or loaded
  std::set<std::string> coalitions_declared_;    // by this city in this batch, led by no other
  std::set<std::string> dropped_;
  // report id -> (plan, why), until the batch carries it; a later version of the plan redoes it
  std::map<std::string, std::pair<std::string, std::string>> cut_off_;
  void note_cut_off_reports(const std::string& plan_id, const nlohmann::json& new_plan);
};

}  // namespace agora
