// agora moderate: a coalition lead's (or admin's) signed decisions on members and on
// records shared with the coalition, and the list of decisions this node applies.
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/entitlements.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"

namespace agora::cli {

namespace {

// A member to remove: a city name, node id or id prefix (docs/data-model.md, "moderation").
std::string member_target(const storage::StoreReader& r, const std::string& city) {
  auto key = resolve_city(r, city);
  if (!key) throw InvalidInput("moderate: no city \"" + city + "\" is known to this node");
  return node_id(*key);
}

// A record to dispute or withdraw: ORIGIN/ID (ORIGIN a city name, node id or prefix), or ID
// for this city's own; it must be held here.
std::string record_target(const storage::StoreReader& r, const PublicKey& self, const std::string& ref) {
  try {
    auto [origin, id] = resolve_ref(r, self, ref);
    if (!r.latest(origin, id))
      throw InvalidInput("no record \"" + ref + "\" is held on this node (a record is ORIGIN/ID, or ID for " +
                         "this city's own)");
    return node_id(origin) + "/" + id;
  } catch (const InvalidInput& e) {
    throw InvalidInput(std::string("moderate: ") + e.what());
  }
}

void print_decisions(const storage::StoreReader& r, const CoalitionModeration& m, const std::string& only, bool json) {
  CityDirectory cities(r);
  auto city = [&](const PublicKey& key) {
    const CityProfile* p = cities.find(key);
    return p ? p->name : short_node_id(key);
  };
  auto wanted = [&](const ModerationDecision& d) { return only.empty() || d.statement.coalition == only; };
  if (json) {
    nlohmann::json in_effect = nlohmann::json::array(), ignored = nlohmann::json::array();
    for (const auto& d : m.in_effect())
      if (wanted(d)) {
        in_effect.push_back(moderation_note(d, cities));
        in_effect.back()["target"] = d.statement.target;
      }
    for (const auto& i : m.ignored())
      if (wanted(i.decision)) {
        ignored.push_back(moderation_note(i.decision, cities));
        ignored.back()["target"] = i.decision.statement.target;
        ignored.back()["ignored"] = i.why;
      }
    std::cout << nlohmann::json{{"in_effect", in_effect}, {"ignored", ignored}}.dump(2) << "\n";
    return;
  }
  auto line = [&](const ModerationDecision& d) {
    const ModerationStatement& s = d.statement;
    std::string target = city(*parse_node_id(s.target.substr(0, 64)));
    if (s.action != ModerationAction::remove_member) target += "/" + s.target.substr(65);
    std::cout << s.coalition << "  " << moderation_action_name(s.action) << " " << target << "  by " << city(d.by)
              << " on " << iso8601_utc(d.ts).substr(0, 10) << ": " << s.reason << "\n";
  };
  size_t shown = 0;
  for (const auto& d : m.in_effect())
    if (wanted(d)) line(d), ++shown;
  if (!shown) std::cout << "no moderation decision in effect\n";
  bool header = false;
  for (const auto& i : m.ignored())
    if (wanted(i.decision)) {
      std::cout << (header ? "" : "\nnot applied:\n") << "  ";
      header = true;
      line(i.decision);
      std::cout << "    (" << i.why << ")\n";
    }
}

}  // namespace

void register_moderate(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand(
      "moderate",
      "a coalition lead's or admin's signed decisions: remove a member, dispute or withdraw a record "
      "shared with the coalition, lift a decision; list those in effect");
  verb->require_subcommand(1);
  struct Options {
    std::string coalition, target, reason;
  };
  auto opts = std::make_shared<Options>();
  auto decide = [&ctx, opts](ModerationAction action) {
    DataDir dir = open_to_publish(ctx);
    ModerationStatement m;
    m.coalition = opts->coalition;
    m.action = action;
    m.reason = opts->reason;
    m.target = dir.store().read([&](const storage::StoreReader& r) {
      return action == ModerationAction::remove_member ? member_target(r, opts->target)
                                                       : record_target(r, dir.id(), opts->target);
    });
    PublishResult res = Publisher(dir).moderate(m);
    std::cout << opts->coalition << ": " << moderation_action_name(action) << " " << opts->target
              << (res.unchanged ? " (unchanged)" : "") << " (" << res.id << " v" << res.version
              << (res.unchanged ? "" : ", seq " + std::to_string(res.seq)) << ")\n";
  };
  struct Action {
    const char* name;
    ModerationAction action;
    const char* help;
    const char* target_help;
  };
  for (const Action& a : {Action{"remove-member", ModerationAction::remove_member,
                                 "remove a member: it no longer receives what members share with the coalition",
                                 "the member: city name, node id or id prefix"},
                          Action{"dispute", ModerationAction::dispute,
                                 "mark a record shared with the coalition as disputed, with the reason",
                                 "ORIGIN/ID of a record whose visibility is coalition:NAME"},
                          Action{"withdraw", ModerationAction::withdraw,
                                 "withdraw a record from the coalition's scope: members stop listing and passing it on",
                                 "ORIGIN/ID of a record whose visibility is coalition:NAME"}}) {
    auto* sub = verb->add_subcommand(a.name, a.help);
    add_data_option(sub, ctx);
    sub->add_option("COALITION", opts->coalition, "the coalition's name")->required();
    sub->add_option("TARGET", opts->target, a.target_help)->required();
    sub->add_option("--reason", opts->reason, "why (public: every node shows it with the decision)")->required();
    ModerationAction action = a.action;
    sub->callback([decide, action] { decide(action); });
  }
  auto* lift = verb->add_subcommand("lift", "lift this city's decision on a member or record (a signed retraction)");
  add_data_option(lift, ctx);
  lift->add_option("COALITION", opts->coalition, "the coalition's name")->required();
  lift->add_option("TARGET", opts->target, "the member (city) or record (ORIGIN/ID) the decision is about")->required();
  lift->callback([&ctx, opts] {
    DataDir dir = open_to_publish(ctx);
    std::string id = dir.store().read([&](const storage::StoreReader& r) -> std::string {
      if (!Entitlements::load(r).coalition_leads().count(opts->coalition))
        throw InvalidInput("moderate lift: no coalition \"" + opts->coalition + "\" is declared on this node");
      // A record ref has a slash; a city name does not.
      std::string target = opts->target.find('/') != std::string::npos ? record_target(r, dir.id(), opts->target)
                                                                       : member_target(r, opts->target);
      std::string id = moderation_id(opts->coalition, target);
      auto latest = r.latest(dir.id(), id);
      if (!latest || latest->tombstone)
        throw InvalidInput("moderate lift: this city has no decision on " + opts->target + " in \"" + opts->coalition +
                           "\" to lift");
      return id;
    });
    PublishResult res = Publisher(dir).retract(id);
    std::cout << opts->coalition << ": decision on " << opts->target << " lifted (" << res.id << " v" << res.version
              << ", seq " << res.seq << ")\n";
  });
  auto* list = verb->add_subcommand("list", "the decisions this node applies, and the ones it does not, with why");
  add_data_option(list, ctx);
  add_json_option(list, ctx);
  list->add_option("COALITION", opts->coalition, "only this coalition");
  list->callback([&ctx, opts] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    dir.store().read([&](const storage::StoreReader& r) {
      Entitlements ent = Entitlements::load(r, /*explain_moderation=*/true);
      if (!opts->coalition.empty() && !ent.coalition_leads().count(opts->coalition))
        throw InvalidInput("moderate list: no coalition \"" + opts->coalition + "\" is declared on this node");
      print_decisions(r, ent.moderation(), opts->coalition, ctx.json);
      return 0;
    });
  });
}

}  // namespace agora::cli
