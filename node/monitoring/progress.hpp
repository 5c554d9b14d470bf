// Monitoring of action plans: each indicator's latest report against its baseline and
// target, the trend between the last two reports, and items past their due date.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/local/data_dir.hpp"

namespace agora {

struct Measurement {
  std::string date;  // YYYY-MM-DD
  double value = 0;
  std::string source, note;
  std::string report;      // the report's id (when known)
  bool corrected = false;  // this value is a correction of what the report first said
};

struct IndicatorProgress {
  std::string name, unit, direction;  // direction: "increase" or "decrease"
  double baseline = 0, target = 0;
  std::vector<Measurement> history;  // by date, oldest first
  std::optional<double> latest;
  // Share of the way from baseline to target reached by the latest value (1 = target met;
  // below 0 = worse than the baseline); nullopt without reports.
  std::optional<double> achieved;
  bool target_met = false;
  std::string trend;  // "improving", "worsening", "steady", or "" with fewer than two reports
};

struct ItemProgress {
  std::string id, commitment, action, department, start, due, status;
  bool overdue = false;  // due before today and not done or dropped
  std::vector<IndicatorProgress> indicators;
};

struct PlanProgress {
  std::string origin, id, title, framework, period_from, period_to;
  std::vector<ItemProgress> items;
  size_t indicators = 0, reported = 0, targets_met = 0, overdue = 0;
};

// reports: bodies of the plan's report records (plan, item, indicator, value, date, ...),
// with "id" set from their headers; one with "corrects" is a correction.
// Reports naming an item or indicator the plan does not have are ignored; two reports for
// one indicator on one date: the later in the list wins.
PlanProgress compute_progress(const nlohmann::json& plan_body, const std::vector<nlohmann::json>& reports,
                              const std::string& today);

nlohmann::json to_json(const PlanProgress& progress);

// A plan of `origin` and its reports as this node holds them (public or not: the caller
// decides who may see it); nullopt when there is no such live plan.
// public_only: only public reports count (what anonymous HTTP clients may see).
std::optional<PlanProgress> load_progress(const storage::StoreReader& reader, const PublicKey& origin,
                                          const std::string& plan_id, const std::string& today,
                                          bool public_only = false);
// What a plan update says of indicators that have reports: `--rename-indicator OLD=NEW`
// (the reports move to NEW) and `--drop-indicator NAME` (they are left behind, on purpose).
struct IndicatorChanges {
  std::map<std::string, std::string> renames;
  std::set<std::string> drops;
};
// The reports of `plan_id` that a new version `new_plan` (its body or input) would cut off:
// each one naming an (item, indicator) the new version lacks. Returns the inputs that carry
// renamed ones over (new versions of those reports, naming the new indicator); throws
// InvalidInput naming the indicator when one is neither kept, renamed nor dropped, or when
// a rename or drop names nothing reported.
std::vector<nlohmann::json> reports_to_carry(const storage::StoreReader& reader, const PublicKey& origin,
                                             const std::string& plan_id, const nlohmann::json& new_plan,
                                             const IndicatorChanges& changes);

// Ids of the live plans of `origin`.
std::vector<std::string> plan_ids(const storage::StoreReader& reader, const PublicKey& origin);

// An indicator's history as a self-contained SVG line chart (values by date, with the
// baseline and target as reference lines), for the browsing page and for reports. Its few
// words (the date axis, "baseline", "target", "no reports yet") are in `language` when it
// is one of the browsing page's (primary subtag), else in English.
std::string indicator_svg(const IndicatorProgress& indicator, const std::string& title,
                          std::string_view language = "en");

// Today's date in UTC as YYYY-MM-DD.
std::string today_utc();

}  // namespace agora
