// Action plans and monitoring: agora plan publish, agora report, agora progress, agora adopt.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "protocol/unicode.hpp"
#include "cli/cli_support.hpp"
#include "node/monitoring/progress.hpp"
#include "node/local/frameworks.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "storage/stored_record.hpp"

namespace agora::cli {

using nlohmann::json;

namespace {

PublishResult publish_one(DataDir& dir, const json& input, const std::string& what) {
  auto valid = validate_input(input, dir.identity(), input.dump());
  if (!valid) throw InvalidInput(what + ": " + valid.error().to_string());
  return Publisher(dir).publish({valid.value()}).front();
}

void print_result(const PublishResult& r) {
  std::cout << kind_name(r.kind) << " " << r.id << " v" << r.version << (r.unchanged ? " (unchanged)" : "") << "\n";
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// Rows of cells printed as columns two spaces apart, each as wide as its widest cell in
// terminal columns (names carry accents; Chinese or Korean ones are twice as wide).
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += i + 1 < row.size() ? pad_to_width(row[i], widths[i] + 2) : row[i];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

void print_progress(const PlanProgress& p) {
  std::cout << p.title << " [" << p.id << "] — " << p.framework << ", " << p.period_from << " to " << p.period_to
            << "\n";
  std::cout << p.items.size() << " items, " << p.indicators << " indicators, " << p.reported << " reported, "
            << p.targets_met << " targets met, " << p.overdue << " overdue\n\n";
  std::vector<std::vector<std::string>> rows{
      {"ITEM", "COMMIT", "STATUS", "DUE", "INDICATOR", "LATEST / TARGET", "DONE", "TREND"}};
  for (const auto& item : p.items) {
    std::vector<std::string> head{item.id, item.commitment, item.status + (item.overdue ? " (overdue)" : ""),
                                  item.due.empty() ? "-" : item.due};
    if (item.indicators.empty()) {
      head.insert(head.end(), {"(no indicators)", "", "", ""});
      rows.push_back(head);
    }
    bool first = true;
    for (const auto& ind : item.indicators) {
      std::string latest = ind.latest ? number_text(*ind.latest) : "-";
      std::string unit = ind.unit.empty() ? "" : " " + ind.unit;
      std::string done = ind.achieved ? std::to_string(static_cast<int>(std::lround(*ind.achieved * 100))) + "%" : "-";
      std::vector<std::string> row = first ? head : std::vector<std::string>(4, "");
      row.insert(row.end(), {ind.name, latest + " / " + number_text(ind.target) + unit, done,
                             (ind.trend.empty() ? (ind.latest ? "(one report)" : "(no reports)") : ind.trend) +
                                 (ind.target_met ? ", target met" : "")});
      rows.push_back(row);
      first = false;
    }
  }
  print_table(rows);
}

}  // namespace

void register_plan(CLI::App& app, Context& ctx) {
  auto* plan = app.add_subcommand("plan", "action plans: publish one (see `agora progress` to follow it)");
  plan->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto renames = std::make_shared<std::vector<std::string>>();
  auto drops = std::make_shared<std::vector<std::string>>();
  auto* pub = plan->add_subcommand("publish", "validate, sign and store a plan (JSON with \"kind\": \"plan\")");
  add_data_option(pub, ctx);
  pub->add_option("FILE", *file, "the plan as a JSON file, or - for standard input")->required();
  pub->add_option("--rename-indicator", *renames,
                  "OLD=NEW: an indicator renamed in this version; its reports move to the new name (repeatable)");
  pub->add_option("--drop-indicator", *drops,
                  "NAME: an indicator with reports that this version drops on purpose (repeatable)");
  pub->callback([&ctx, file, renames, drops] {
    DataDir dir = open_to_publish(ctx);
    std::string name = *file == "-" ? "<stdin>" : *file;
    const std::string text = read_input(*file);
    const FrameworkCatalog frameworks = load_frameworks(dir.store());
    auto input = parse_and_validate_input(text, dir.identity(), frameworks);
    if (!input) refuse_input(name, text, dir.identity(), frameworks);
    if (input.value().kind != Kind::plan)
      throw InvalidInput(name + ": kind: expected \"plan\", got \"" + std::string(kind_name(input.value().kind)) +
                         "\" (use `agora publish` for other records)");
    // An update may not cut reports off their indicator by accident (renamed or dropped).
    IndicatorChanges changes;
    for (const auto& r : *renames) {
      auto eq = r.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == r.size())
        throw InvalidInput("--rename-indicator: expected OLD=NEW, got \"" + r + "\"");
      if (!changes.renames.emplace(r.substr(0, eq), r.substr(eq + 1)).second)
        throw InvalidInput("--rename-indicator: \"" + r.substr(0, eq) + "\" is renamed twice");
    }
    changes.drops.insert(drops->begin(), drops->end());
    const ValidatedInput& plan_input = input.value();
    std::string id = plan_input.id ? *plan_input.id : generated_id(plan_input);
    std::vector<json> carried = dir.store().read([&](const storage::StoreReader& r) {
      return reports_to_carry(r, dir.id(), id, json::parse(plan_input.body), changes);
    });
    std::vector<ValidatedInput> batch = {plan_input};
    for (const auto& report : carried) {
      auto valid = validate_input(report, dir.identity(), report.dump());
      if (!valid) throw InvalidInput("report " + report.value("id", "") + ": " + valid.error().to_string());
      batch.push_back(valid.value());
    }
    // The plan and its carried reports, all or nothing.
    auto results = Publisher(dir).allow_dropped_indicators(changes.drops).publish(batch);
    print_result(results.front());
    if (results.size() > 1)
      std::cout << results.size() - 1 << " report" << (results.size() == 2 ? "" : "s")
                << " carried over to the renamed indicator" << (changes.renames.size() == 1 ? "" : "s") << "\n";
  });
}

void register_report(CLI::App& app, Context& ctx) {
  struct Options {
    std::string plan, item, indicator, value, date, source, note, visibility, corrects;
  };
  auto o = std::make_shared<Options>();
  auto* verb = app.add_subcommand("report", "record one measurement of a plan's indicator (a signed report)");
  add_data_option(verb, ctx);
  verb->add_option("PLAN", o->plan, "id of one of this city's plans")->required();
  verb->add_option("ITEM", o->item, "id of an item of the plan")->required();
  verb->add_option("--indicator", o->indicator, "name of one of the item's indicators")->required();
  verb->add_option("--value", o->value, "the measured value (a number; 35.5 or 35,5)")->required();
  verb->add_option("--date", o->date, "date of the measurement, YYYY-MM-DD (default: today)");
  verb->add_option("--source", o->source, "where the figure comes from");
  verb->add_option("--note", o->note, "a remark on the figure");
  verb->add_option("--visibility", o->visibility, "public (default), partners, coalition:NAME or private");
  verb->add_option("--corrects", o->corrects,
                   "REPORTID: this value replaces a wrong one (the report's next version; its history keeps the old)");
  verb->callback([&ctx, o] {
    DataDir dir = open_to_publish(ctx);
    std::string corrected_date;
    uint32_t corrected_version = 0;
    if (!o->corrects.empty()) {
      // A correction is the report's next version: progress takes it, history keeps the first.
      auto body = dir.store().read([&](const storage::StoreReader& r) -> std::optional<json> {
        auto latest = r.latest(dir.id(), o->corrects);
        if (!latest || latest->tombstone || latest->kind != Kind::report) return std::nullopt;
        auto rec = storage::read_record(r, latest->local);
        auto out = rec ? rec->body_json() : std::nullopt;
        if (out) {  // the header's, for what the correction carries over below
          (*out)["visibility"] = rec->header.visibility;
          (*out)["version"] = latest->version;
        }
        return out;
      });
      if (!body) throw InvalidInput("--corrects: this city has no report \"" + o->corrects + "\"");
      if (body->value("plan", "") != o->plan)
        throw InvalidInput("--corrects: report \"" + o->corrects + "\" is of plan \"" + body->value("plan", "") +
                           "\", not \"" + o->plan + "\"; a correction stays within its plan");
      if (body->value("item", "") != o->item || body->value("indicator", "") != o->indicator)
        throw InvalidInput("--corrects: report \"" + o->corrects + "\" measures \"" + body->value("indicator", "") +
                           "\" of item \"" + body->value("item", "") +
                           "\"; a correction fixes its value or date, not what it measures");
      corrected_date = body->value("date", "");
      // What the correction does not restate stays as the report said it.
      if (o->source.empty()) o->source = body->value("source", "");
      if (o->note.empty()) o->note = body->value("note", "");
      if (o->visibility.empty()) o->visibility = body->value("visibility", "");  // restricted stays restricted
      corrected_version = body->value("version", uint32_t{0});
    }
    char* end = nullptr;
    // "35,5" as many locales write it (a CSV cell reads the same); no grouping commas.
    std::string text = o->value;
    if (text.find('.') == std::string::npos && std::count(text.begin(), text.end(), ',') == 1)
      text[text.find(',')] = '.';
    double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(value))
      throw InvalidInput("--value: expected a number, got \"" + o->value + "\"");
    std::string date = !o->date.empty() ? o->date : !corrected_date.empty() ? corrected_date : today_utc();
    json input = {{"kind", "report"},
                  {"plan", o->plan},
                  {"item", o->item},
                  {"indicator", o->indicator},
                  {"value", value},
                  {"date", date},
                  {"visibility", o->visibility.empty() ? "public" : o->visibility}};
    if (!o->corrects.empty()) input["id"] = o->corrects, input["corrects"] = corrected_version;
    if (!o->source.empty()) input["source"] = o->source;
    if (!o->note.empty()) input["note"] = o->note;
    print_result(publish_one(dir, input, "report"));
  });
}

void register_progress(CLI::App& app, Context& ctx) {
  struct Options {
    std::string plan, city, today;
  };
  auto o = std::make_shared<Options>();
  auto* verb = app.add_subcommand("progress", "a plan's items: status, latest value against target, trend, overdue");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->add_option("PLAN", o->plan, "plan id (default: every plan of the city)");
  verb->add_option("--city", o->city, "another city's plans, as this node holds them (name or node id)");
  verb->add_option("--today", o->today, "count items as overdue relative to this date, YYYY-MM-DD");
  verb->callback([&ctx, o] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    std::string today = o->today.empty() ? today_utc() : o->today;
    std::vector<PlanProgress> plans = dir.store().read([&](const storage::StoreReader& r) {
      PublicKey origin = dir.id();
      if (!o->city.empty()) {
        auto found = resolve_city(r, o->city);
        if (!found) throw InvalidInput("--city: no city \"" + o->city + "\" is known to this node");
        origin = *found;
      }
      std::vector<std::string> ids = o->plan.empty() ? plan_ids(r, origin) : std::vector<std::string>{o->plan};
      std::vector<PlanProgress> out;
      for (const auto& id : ids) {
        auto p = load_progress(r, origin, id, today);
        if (!p) throw InvalidInput("no plan \"" + id + "\"" + (o->city.empty() ? " of this city" : " of " + o->city));
        out.push_back(std::move(*p));
      }
      return out;
    });
    if (ctx.json) {
      json all = json::array();
      for (const auto& p : plans) all.push_back(to_json(p));
      std::cout << (o->plan.empty() ? all : all[0]).dump(2) << "\n";
      return;
    }
    if (plans.empty()) std::cout << "no plans yet (publish one with `agora plan publish FILE`)\n";
    for (size_t i = 0; i < plans.size(); ++i) {
      if (i) std::cout << "\n";
      print_progress(plans[i]);
    }
  });
}

void register_adopt(CLI::App& app, Context& ctx) {
  struct Options {
    std::string ref, notes, id;
    int started = 0;
  };
  auto o = std::make_shared<Options>();
  auto* verb = app.add_subcommand("adopt", "record that this city adapted another city's practice (an adoption)");
  add_data_option(verb, ctx);
  verb->add_option("REF", o->ref, "the practice: ORIGIN/ID (ORIGIN a node id, prefix or city name)")->required();
  verb->add_option("--notes", o->notes, "what was adapted, and how");
  verb->add_option("--started", o->started, "year the adapted practice started")->check(whole_number_in(1900, 2100));
  verb->add_option("--id", o->id, "id of the adoption record (default: generated)");
  verb->callback([&ctx, o] {
    DataDir dir = open_to_publish(ctx);
    auto [origin, id] =
        dir.store().read([&](const storage::StoreReader& r) { return resolve_ref(r, dir.id(), o->ref); });
    json input = {{"kind", "adoption"}, {"practice", node_id(origin) + "/" + id}};
    if (!o->notes.empty()) input["notes"] = o->notes;
    if (o->started) input["started"] = o->started;
    if (!o->id.empty()) input["id"] = o->id;
    print_result(publish_one(dir, input, "adopt"));
  });
}

}  // namespace agora::cli
