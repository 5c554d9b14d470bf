#include "node/local/reference_check.hpp"
#include "storage/stored_record.hpp"

#include "node/local/entitlements.hpp"
#include "node/local/frameworks.hpp"
#include "node/local/record_view.hpp"

namespace agora {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& field, const std::string& message) {
  throw InvalidInput(field + ": " + message);
}

std::string q(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::set<std::pair<std::string, std::string>> plan_indicators(const json& plan) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& it : plan.value("items", json::array()))
    if (it.is_object())
      for (const auto& ind : it.value("indicators", json::array()))
        if (ind.is_object()) out.insert({it.value("id", ""), ind.value("name", "")});
  return out;
}

ReferenceChecker::ReferenceChecker(storage::RecordStore& store, const PublicKey& self) : store_(store), self_(self) {}

const ReferenceChecker::HeldNetwork& ReferenceChecker::held() {
  if (!held_)
    held_ = store_.read([&](const storage::StoreReader& r) {
      Entitlements entitlements = Entitlements::load(r);
      return HeldNetwork{entitlements.coalition_leads(), load_frameworks(r, entitlements)};
    });
  return *held_;
}

void ReferenceChecker::check_framework(const ValidatedInput& input) {
  json body = json::parse(input.body, nullptr, false);
  std::string coalition = body.value("coalition", "");
  auto lead = held().leads.find(coalition);
  bool is_lead = lead != held().leads.end() ? lead->second == self_ : coalitions_declared_.count(coalition) > 0;
  if (!is_lead)
    fail("coalition",
         "this city does not lead a coalition " + q(coalition) +
             "; a framework is published by the lead city (the one whose coalition record its members accept)");
  const FrameworkDef* existing = held().frameworks.find(*input.id);
  if (existing && existing->origin != node_id(self_))
    fail("id", "framework " + q(*input.id) + " is already published by " + existing->origin.substr(0, 12) + "…");
}

const json* ReferenceChecker::plan(const std::string& id) {
  if (auto it = plans_.find(id); it != plans_.end()) return &it->second;
  std::optional<json> body = store_.read([&](const storage::StoreReader& r) -> std::optional<json> {
    auto latest = r.latest(self_, id);
    if (!latest || latest->tombstone || latest->kind != Kind::plan) return std::nullopt;
    auto rec = storage::read_record(r, latest->local);
    return rec ? rec->body_json() : std::nullopt;
  });
  if (!body) return nullptr;
  return &plans_.emplace(id, std::move(*body)).first->second;
}

void ReferenceChecker::note_cut_off_reports(const std::string& plan_id, const json& new_plan) {
  const auto kept = plan_indicators(new_plan);
  std::erase_if(cut_off_, [&](const auto& entry) { return entry.second.first == plan_id; });
  store_.read([&](const storage::StoreReader& r) {
    storage::ListQuery q;
    q.kind = Kind::report;
    q.origin = self_;
    r.list(q, [&](const PublicKey&, std::string_view id, const storage::LatestEntry& e) {
      auto rec = storage::read_record(r, e.local);
      auto body = rec ? rec->body_json() : std::nullopt;
      if (!body || body->value("plan", "") != plan_id) return true;
      std::string item = body->value("item", ""), indicator = body->value("indicator", "");
      if (kept.count({item, indicator}) || dropped_.count(indicator)) return true;
      cut_off_.emplace(
          std::string(id),
          std::make_pair(plan_id, "indicator " + ::agora::q(indicator) + " of item " + ::agora::q(item) +
                                      " has reports and is not in this version of " + plan_id +
                                      ": keep it, carry its reports with `agora plan publish FILE "
                                      "--rename-indicator \"" +
                                      indicator + "=NEW NAME\"`, or leave them behind with --drop-indicator \"" +
                                      indicator + "\""));
      return true;
    });
    return 0;
  });
}

void ReferenceChecker::finish() {
  if (!cut_off_.empty()) throw InvalidInput(cut_off_.begin()->second.second);
}

void ReferenceChecker::check(const ValidatedInput& input) {
  if (input.kind == Kind::plan && input.id) {
    json body = json::parse(input.body, nullptr, false);
    if (!body.is_object()) return;
    if (plan(*input.id)) note_cut_off_reports(*input.id, body);  // an update of a held plan
    plans_[*input.id] = std::move(body);
    return;
  }
  if (input.kind == Kind::report && input.id) cut_off_.erase(*input.id);  // carried in this batch
  if (input.kind == Kind::coalition) {  // this city leads a coalition it declares first
    json body = json::parse(input.body, nullptr, false);
    std::string name = body.value("name", "");
    if (!held().leads.count(name)) coalitions_declared_.insert(name);
    return;
  }
  if (input.kind == Kind::framework) return check_framework(input);
  if (input.kind == Kind::report) {
    json r = json::parse(input.body, nullptr, false);
    std::string plan_id = r.value("plan", ""), item_id = r.value("item", ""), name = r.value("indicator", "");
    const json* p = plan(plan_id);
    if (!p) fail("plan", q(plan_id) + " is not one of this city's plans");
    const json* item = nullptr;
    std::string items;
    static const json kNone = json::array();
    auto found = p->find("items");
    const json& plan_items =
        found != p->end() && found->is_array() ? *found : kNone;  // not a copy: `item` points into it
    for (const auto& it : plan_items) {
      if (it.value("id", "") == item_id) item = &it;
      items += (items.empty() ? "" : ", ") + it.value("id", "");
    }
    if (!item) fail("item", "plan " + q(plan_id) + " has no item " + q(item_id) + " (items: " + items + ")");
    bool known = false;
    std::string names;
    for (const auto& ind : item->value("indicators", json::array())) {
      if (ind.value("name", "") == name) known = true;
      names += (names.empty() ? "" : ", ") + q(ind.value("name", ""));
    }
    if (!known)
      fail("indicator", "item " + q(item_id) + " of plan " + q(plan_id) + " has no indicator " + q(name) +
                            (names.empty() ? " (it has none)" : " (indicators: " + names + ")"));
    std::string date = r.value("date", "");
    auto period = p->value("period", json::object());
    std::string from = period.value("from", ""), to = period.value("to", "");
    if ((!from.empty() && date < from) || (!to.empty() && date > to))
      fail("date", date + " is outside the plan's period " + from + " to " + to);
    return;
  }
  if (input.kind == Kind::adoption) {
    json a = json::parse(input.body, nullptr, false);
    std::string ref = a.value("practice", "");
    auto slash = ref.find('/');
    auto origin = parse_node_id(ref.substr(0, slash));
    std::string id = slash == std::string::npos ? "" : ref.substr(slash + 1);
    if (!origin) fail("practice", "expected ORIGIN/ID");
    if (*origin == self_) fail("practice", "a city adopts another city's practice, not its own");
    bool held = store_.read([&](const storage::StoreReader& r) {
      auto latest = r.latest(*origin, id);
      return latest && !latest->tombstone && latest->kind == Kind::practice;
    });
    if (!held) fail("practice", q(ref) + " is not a practice this node holds (sync with its city first)");
  }
}

}  // namespace agora
