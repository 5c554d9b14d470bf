#include "node/monitoring/progress.hpp"
#include "node/local/reference_check.hpp"
#include "storage/stored_record.hpp"

#include "protocol/utf8.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>

namespace agora {

using nlohmann::json;

namespace {

double as_number(const json& v) { return v.is_number() ? v.get<double>() : 0.0; }

void measure(IndicatorProgress& ind) {
  std::stable_sort(ind.history.begin(), ind.history.end(),
                   [](const Measurement& a, const Measurement& b) { return a.date < b.date; });
  // One value per date: the last report given for it.
  std::vector<Measurement> unique;
  for (auto& m : ind.history) {
    if (!unique.empty() && unique.back().date == m.date)
      unique.back() = m;
    else
      unique.push_back(m);
  }
  ind.history = std::move(unique);
  if (ind.history.empty()) return;
  bool up = ind.direction != "decrease";
  double latest = ind.history.back().value;
  ind.latest = latest;
  double span = ind.target - ind.baseline;
  if (span != 0)
    ind.achieved = (latest - ind.baseline) / span;
  else
    ind.achieved = (up ? latest >= ind.target : latest <= ind.target) ? 1.0 : 0.0;
  ind.target_met = up ? latest >= ind.target : latest <= ind.target;
  if (ind.history.size() >= 2) {
    double before = ind.history[ind.history.size() - 2].value;
    double change = latest - before;
    if (std::fabs(change) < 1e-9)
      ind.trend = "steady";
    else
      ind.trend = (change > 0) == up ? "improving" : "worsening";
  }
}

}  // namespace

PlanProgress compute_progress(const json& plan, const std::vector<json>& reports, const std::string& today) {
  PlanProgress out;
  out.title = plan.value("title", "");
  out.framework = plan.value("framework", "");
  if (auto p = plan.find("period"); p != plan.end() && p->is_object()) {
    out.period_from = p->value("from", "");
    out.period_to = p->value("to", "");
  }
  std::map<std::pair<std::string, std::string>, IndicatorProgress*> by_name;
  for (const auto& it : plan.value("items", json::array())) {
    if (!it.is_object()) continue;
    ItemProgress item;
    item.id = it.value("id", "");
    item.commitment = it.value("commitment", "");
    item.action = it.value("action", "");
    item.department = it.value("department", "");
    item.start = it.value("start", "");
    item.due = it.value("due", "");
    item.status = it.value("status", "planned");
    item.overdue = !item.due.empty() && item.due < today && item.status != "done" && item.status != "dropped";
    for (const auto& ind : it.value("indicators", json::array())) {
      if (!ind.is_object()) continue;
      IndicatorProgress p;
      p.name = ind.value("name", "");
      p.unit = ind.value("unit", "");
      p.direction = ind.value("direction", "increase");
      p.baseline = as_number(ind.value("baseline", json()));
      p.target = as_number(ind.value("target", json()));
      item.indicators.push_back(std::move(p));
    }
    out.items.push_back(std::move(item));
  }
  for (auto& item : out.items)
    for (auto& ind : item.indicators) by_name[{item.id, ind.name}] = &ind;
  for (const auto& r : reports) {
    auto it = by_name.find({r.value("item", ""), r.value("indicator", "")});
    if (it == by_name.end() || !r.contains("value") || !r["value"].is_number()) continue;
    it->second->history.push_back({r.value("date", ""), r["value"].get<double>(), r.value("source", ""),
                                   r.value("note", ""), r.value("id", ""), r.contains("corrects")});
  }
  for (auto& item : out.items) {
    if (item.overdue) ++out.overdue;
    for (auto& ind : item.indicators) {
      measure(ind);
      ++out.indicators;
      if (ind.latest) ++out.reported;
      if (ind.target_met) ++out.targets_met;
    }
  }
  return out;
}

json to_json(const PlanProgress& p) {
  json items = json::array();
  for (const auto& item : p.items) {
    json inds = json::array();
    for (const auto& ind : item.indicators) {
      json history = json::array();
      for (const auto& m : ind.history) {
        json h = {{"date", m.date}, {"value", m.value}};
        if (!m.source.empty()) h["source"] = m.source;
        if (!m.note.empty()) h["note"] = m.note;
        if (!m.report.empty()) h["report"] = m.report;
        if (m.corrected) h["corrected"] = true;
        history.push_back(std::move(h));
      }
      inds.push_back({{"name", ind.name},
                      {"unit", ind.unit},
                      {"direction", ind.direction},
                      {"baseline", ind.baseline},
                      {"target", ind.target},
                      {"latest", ind.latest ? json(*ind.latest) : json()},
                      {"achieved", ind.achieved ? json(*ind.achieved) : json()},
                      {"target_met", ind.target_met},
                      {"trend", ind.trend.empty() ? json() : json(ind.trend)},
                      {"history", history}});
    }
    items.push_back({{"id", item.id},
                     {"commitment", item.commitment},
                     {"action", item.action},
                     {"department", item.department},
                     {"start", item.start},
                     {"due", item.due},
                     {"status", item.status},
                     {"overdue", item.overdue},
                     {"indicators", inds}});
  }
  return {{"origin", p.origin},
          {"id", p.id},
          {"title", p.title},
          {"framework", p.framework},
          {"period", {{"from", p.period_from}, {"to", p.period_to}}},
          {"summary",
           {{"items", p.items.size()},
            {"indicators", p.indicators},
            {"reported", p.reported},
            {"targets_met", p.targets_met},
            {"overdue", p.overdue}}},
          {"items", items}};
}

namespace {

std::optional<json> body_of(const storage::StoreReader& r, uint64_t local) {
  auto rec = storage::read_record(r, local);
  return rec ? rec->body_json() : std::nullopt;
}

}  // namespace

std::optional<PlanProgress> load_progress(const storage::StoreReader& r, const PublicKey& origin,
                                          const std::string& plan_id, const std::string& today, bool public_only) {
  auto latest = r.latest(origin, plan_id);
  if (!latest || latest->tombstone || latest->kind != Kind::plan) return std::nullopt;
  auto plan = body_of(r, latest->local);
  if (!plan) return std::nullopt;
  std::vector<json> reports;
  storage::ListQuery q;
  q.kind = Kind::report;
  q.origin = origin;
  r.list(q, [&](const PublicKey&, std::string_view, const storage::LatestEntry& e) {
    if (public_only && !e.is_public) return true;
    if (auto body = body_of(r, e.local); body && body->value("plan", "") == plan_id) {
      if (auto view = r.at(e.local))
        if (auto h = decode_header(view->header_bytes)) (*body)["id"] = h.value().id;
      reports.push_back(std::move(*body));
    }
    return true;
  });
  PlanProgress p = compute_progress(*plan, reports, today);
  p.origin = node_id(origin);
  p.id = plan_id;
  return p;
}

std::vector<json> reports_to_carry(const storage::StoreReader& r, const PublicKey& origin, const std::string& plan_id,
                                   const json& new_plan, const IndicatorChanges& changes) {
  const auto kept = plan_indicators(new_plan);  // (item, indicator) in the new version
  // (item, indicator) of the version held now: a rename may not merge into one of them.
  std::set<std::pair<std::string, std::string>> held;
  if (auto latest = r.latest(origin, plan_id); latest && !latest->tombstone)
    if (auto rec = storage::read_record(r, latest->local))
      if (auto old = rec->body_json()) held = plan_indicators(*old);
  std::vector<json> carried;
  std::set<std::string> renamed_used, dropped_used;
  std::map<std::pair<std::string, std::string>, size_t> cut_off;  // (item, indicator) -> reports
  storage::ListQuery q;
  q.kind = Kind::report;
  q.origin = origin;
  r.list(q, [&](const PublicKey&, std::string_view id, const storage::LatestEntry& e) {
    auto rec = storage::read_record(r, e.local);
    auto body = rec ? rec->body_json() : std::nullopt;
    if (!body || body->value("plan", "") != plan_id) return true;
    std::string item = body->value("item", ""), indicator = body->value("indicator", "");
    if (kept.count({item, indicator})) return true;
    if (auto to = changes.renames.find(indicator); to != changes.renames.end()) {
      if (!kept.count({item, to->second}))
        throw InvalidInput("--rename-indicator: item \"" + item + "\" has no indicator \"" + to->second +
                           "\" in the new version of " + plan_id);
      if (held.count({item, to->second}))
        throw InvalidInput("--rename-indicator: \"" + to->second + "\" is already an indicator of item \"" + item +
                           "\"; a rename may not merge two indicators' reports");
      renamed_used.insert(indicator);
      json input = *body;
      input["kind"] = "report";
      input["id"] = std::string(id);
      input["indicator"] = to->second;
      input["visibility"] = rec->header.visibility;
      carried.push_back(std::move(input));
    } else if (changes.drops.count(indicator)) {
      dropped_used.insert(indicator);
    } else {
      ++cut_off[{item, indicator}];
    }
    return true;
  });
  if (!cut_off.empty()) {
    const auto& [which, n] = *cut_off.begin();
    throw InvalidInput(
        "indicator \"" + which.second + "\" of item \"" + which.first + "\" has " + std::to_string(n) + " report" +
        (n == 1 ? "" : "s") + " and is not in this version of " + plan_id +
        ": keep it, carry its reports with --rename-indicator \"" + which.second +
        "=NEW NAME\", or leave them behind with --drop-indicator \"" + which.second + "\"" +
        (cut_off.size() > 1 ? " (" + std::to_string(cut_off.size() - 1) + " more such indicators)" : ""));
  }
  for (const auto& [from, to] : changes.renames)
    if (!renamed_used.count(from))
      throw InvalidInput("--rename-indicator: no report of " + plan_id + " that this version cuts off names \"" + from +
                         "\"");
  for (const auto& name : changes.drops)
    if (!dropped_used.count(name))
      throw InvalidInput("--drop-indicator: no report of " + plan_id + " that this version cuts off names \"" + name +
                         "\"");
  return carried;
}

std::vector<std::string> plan_ids(const storage::StoreReader& r, const PublicKey& origin) {
  std::vector<std::string> out;
  storage::ListQuery q;
  q.kind = Kind::plan;
  q.origin = origin;
  r.list(q, [&](const PublicKey&, std::string_view id, const storage::LatestEntry&) {
    out.emplace_back(id);
    return true;
  });
  return out;
}

namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Days since 1970-01-01 for a YYYY-MM-DD date (civil calendar).
long days_of(const std::string& date) {
  if (date.size() < 10) return 0;
  int y = std::atoi(date.substr(0, 4).c_str()), m = std::atoi(date.substr(5, 2).c_str()),
      d = std::atoi(date.substr(8, 2).c_str());
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The chart's own words in the browsing page's languages (node/http/web/app.js).
struct ChartWords {
  std::string_view language, date_axis, baseline, target, no_reports;
};
constexpr ChartWords kChartWords[] = {
    {"en", "report date", "baseline", "target", "no reports yet"},
    {"fr", "date du rapport", "référence", "cible", "aucun rapport pour l’instant"},
    {"es", "fecha del informe", "línea de base", "meta", "aún no hay informes"},
    {"de", "Berichtsdatum", "Ausgangswert", "Ziel", "noch keine Berichte"},
    {"nl", "rapportagedatum", "nulmeting", "doel", "nog geen rapportages"},
    {"da", "rapportdato", "udgangspunkt", "mål", "ingen rapporter endnu"},
    {"sv", "rapportdatum", "utgångsläge", "mål", "inga rapporter ännu"},
    {"pt", "data do relatório", "linha de base", "meta", "ainda sem relatórios"},
    {"ar", "تاريخ التقرير", "خط الأساس", "الهدف", "لا توجد تقارير بعد"},
    {"zh", "报告日期", "基线", "目标", "尚无报告"},
};

const ChartWords& chart_words(std::string_view language) {
  std::string_view primary = language.substr(0, language.find('-'));
  for (const auto& w : kChartWords)
    if (w.language == primary) return w;
  return kChartWords[0];
}

}  // namespace

std::string indicator_svg(const IndicatorProgress& ind, const std::string& title, std::string_view language) {
  const ChartWords& words = chart_words(language);
  const double W = 640, H = 320, left = 60, right = 20, top = 40, bottom = 50;
  double lo = std::min(ind.baseline, ind.target), hi = std::max(ind.baseline, ind.target);
  for (const auto& m : ind.history) lo = std::min(lo, m.value), hi = std::max(hi, m.value);
  if (hi == lo) hi = lo + 1;
  double pad = (hi - lo) * 0.1;
  lo -= pad, hi += pad;
  long d0 = ind.history.empty() ? 0 : days_of(ind.history.front().date);
  long d1 = ind.history.empty() ? 1 : days_of(ind.history.back().date);
  if (d1 == d0) d1 = d0 + 1, d0 -= 1;
  auto x = [&](const std::string& date) {
    return left + (W - left - right) * double(days_of(date) - d0) / double(d1 - d0);
  };
  auto y = [&](double v) { return top + (H - top - bottom) * (hi - v) / (hi - lo); };
  std::string unit = ind.unit.empty() ? "" : " " + escape_markup(ind.unit);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt(W) + "\" height=\"" + fmt(H) +
                    "\" viewBox=\"0 0 " + fmt(W) + " " + fmt(H) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<title>" + escape_markup(title) + "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  out += "<text x=\"" + fmt(left) + "\" y=\"22\" font-size=\"15\" font-weight=\"bold\">" + escape_markup(title) +
         "</text>\n";
  out += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(H - bottom) + "\" x2=\"" + fmt(W - right) + "\" y2=\"" +
         fmt(H - bottom) + "\" stroke=\"#888\"/>\n<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(top) + "\" x2=\"" +
         fmt(left) + "\" y2=\"" + fmt(H - bottom) + "\" stroke=\"#888\"/>\n";
  // Axes with their scales and units: ticks on the value axis, what each axis measures.
  for (int i = 0; i <= 4; ++i) {
    double v = lo + (hi - lo) * i / 4;
    out += "<line x1=\"" + fmt(left - 4) + "\" y1=\"" + fmt(y(v)) + "\" x2=\"" + fmt(left) + "\" y2=\"" + fmt(y(v)) +
           "\" stroke=\"#888\"/>\n<text class=\"tick\" x=\"" + fmt(left - 6) + "\" y=\"" + fmt(y(v) + 4) +
           "\" text-anchor=\"end\" fill=\"#555\" font-size=\"10\">" + fmt(std::round(v * 100) / 100) + "</text>\n";
  }
  out += "<text class=\"axis-y\" transform=\"translate(14 " + fmt(top + (H - top - bottom) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" fill=\"#555\">" +
         escape_markup(ind.unit.empty() ? ind.name : ind.name + " (" + ind.unit + ")") + "</text>\n";
  out += "<text class=\"axis-x\" x=\"" + fmt(left + (W - left - right) / 2) + "\" y=\"" + fmt(H - 8) +
         "\" text-anchor=\"middle\" fill=\"#555\">" + std::string(words.date_axis) + "</text>\n";
  auto reference = [&](double v, const char* name, std::string_view label, const char* colour) {
    out += "<line class=\"" + std::string(name) + "\" x1=\"" + fmt(left) + "\" y1=\"" + fmt(y(v)) + "\" x2=\"" +
           fmt(W - right) + "\" y2=\"" + fmt(y(v)) + "\" stroke=\"" + colour +
           "\" stroke-dasharray=\"6 4\"/>\n<text x=\"" + fmt(W - right) + "\" y=\"" + fmt(y(v) - 4) +
           "\" text-anchor=\"end\" fill=\"" + colour + "\">" + std::string(label) + " " + fmt(v) + unit + "</text>\n";
  };
  reference(ind.baseline, "baseline", words.baseline, "#888");
  reference(ind.target, "target", words.target, "#1a7f37");
  if (ind.history.empty()) {
    out += "<text x=\"" + fmt(W / 2) + "\" y=\"" + fmt(H / 2) + "\" text-anchor=\"middle\" fill=\"#666\">" +
           std::string(words.no_reports) + "</text>\n";
  } else {
    std::string points;
    for (const auto& m : ind.history) points += fmt(x(m.date)) + "," + fmt(y(m.value)) + " ";
    out +=
        "<polyline class=\"values\" fill=\"none\" stroke=\"#20416b\" stroke-width=\"2\" points=\"" + points + "\"/>\n";
    for (const auto& m : ind.history)
      out += "<circle cx=\"" + fmt(x(m.date)) + "\" cy=\"" + fmt(y(m.value)) + "\" r=\"4\" fill=\"#20416b\"><title>" +
             escape_markup(m.date) + ": " + fmt(m.value) + unit + "</title></circle>\n";
    out += "<text x=\"" + fmt(left) + "\" y=\"" + fmt(H - bottom + 18) + "\">" +
           escape_markup(ind.history.front().date) + "</text>\n<text x=\"" + fmt(W - right) + "\" y=\"" +
           fmt(H - bottom + 18) + "\" text-anchor=\"end\">" + escape_markup(ind.history.back().date) + "</text>\n";
  }
  out += "</svg>\n";
  return out;
}

std::string today_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace agora
