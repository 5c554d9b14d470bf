// agora list: latest versions of the records this node holds, filtered.
#include <iostream>

#include "protocol/unicode.hpp"
#include "cli/cli_support.hpp"
#include "node/local/entitlements.hpp"
#include "node/local/record_view.hpp"
#include "storage/stored_record.hpp"
#include "protocol/utf8.hpp"

namespace agora::cli {

void register_list(CLI::App& app, Context& ctx) {
  struct Options {
    std::string kind, city, theme, year;
    size_t limit = 0;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand("list", "latest versions of the records this node holds");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->add_option("--kind", opts->kind, "only this kind (practice, plan, city, ...)");
  verb->add_option("--city", opts->city, "only this city: its name, node id or id prefix");
  verb->add_option("--theme", opts->theme, "only records with this theme");
  verb->add_option("--year", opts->year,
                   "only records of this year (practice: started; plan: period start), or a range FROM-TO");
  verb->add_option("--limit", opts->limit, "at most this many records");
  verb->callback([&ctx, opts] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    storage::ListQuery q;
    if (!opts->kind.empty()) {
      q.kind = parse_kind(opts->kind);
      if (!q.kind) {
        auto near = nearest(opts->kind, kind_names());
        throw InvalidInput("--kind: unknown kind \"" + opts->kind + "\"" +
                           (near ? "; did you mean \"" + *near + "\"?" : ""));
      }
    }
    if (!opts->theme.empty()) {
      int t = vocabulary_index(themes(), opts->theme);
      if (t < 0) {
        auto near = nearest(opts->theme, themes());
        throw InvalidInput("--theme: unknown theme \"" + opts->theme + "\"" +
                           (near ? "; did you mean \"" + *near + "\"?" : ""));
      }
      q.theme = t;
    }
    if (!opts->year.empty()) {
      auto [from, to] = parse_year_range(opts->year);
      q.year_from = static_cast<uint16_t>(from), q.year_to = static_cast<uint16_t>(to);
    }
    nlohmann::json items = nlohmann::json::array();
    size_t shown = 0;
    dir.store().read([&](const storage::StoreReader& r) {
      if (!opts->city.empty()) {
        q.origin = resolve_city(r, opts->city);
        if (!q.origin) throw InvalidInput("--city: no city \"" + opts->city + "\" is known to this node");
      }
      CityDirectory cities(r);
      const Entitlements entitlements = Entitlements::load(r);
      const CoalitionModeration& moderation = entitlements.moderation();
      // The table's rows, printed once the ID column's width is known (ids of partnerships
      // run to 73 characters; most are short).
      struct Row {
        std::string kind, city, id;
        uint32_t version;
        std::string title;
      };
      std::vector<Row> rows;
      r.list(q, [&](const PublicKey& origin, std::string_view, const storage::LatestEntry& e) {
        auto rec = storage::read_record(r, e.local);
        if (!rec) return true;
        // Withdrawn from its coalition's scope by the coalition's moderators: left out here
        // (`show` still says who decided what), except on its own city's node.
        const ModerationDecision* moderated = moderation.decision_for(rec->header);
        if (moderated && moderated->statement.action == ModerationAction::withdraw && origin != dir.id()) return true;
        nlohmann::json item = record_item(rec->header, rec->body(), cities.find(origin), cities.signer(rec->header));
        if (moderated) item["moderation"] = moderation_note(*moderated, cities);
        if (ctx.json) {
          items.push_back(std::move(item));
        } else {
          std::string title = item.value("title", item.value("name", item.value("indicator", "")));
          // A report: what was measured, its value and date, and whether a correction replaced it.
          if (rec->header.kind == Kind::report && item.contains("value")) {
            char value[32];
            std::snprintf(value, sizeof value, "%.10g", item["value"].is_number() ? item["value"].get<double>() : 0.0);
            title = item.value("indicator", "") + " = " + value + " on " + item.value("date", "") +
                    (item.contains("corrects") ? " (corrected)" : "");
          }
          if (rec->header.kind == Kind::erasure)
            if (auto e = item.find("target"); e != item.end() && e->is_string())
              title = "erases " + e->get<std::string>() + " " + item.value("versions", nlohmann::json()).dump();
          if (rec->is_stub()) title = "(withheld: this node holds the header only)";
          if (rec->header.kind == Kind::retraction && item.contains("target"))
            title = "retracts " + item.value("target", "") + " v" +
                    std::to_string(item.value("tombstone_version", 0u)) + ": " + item.value("reason", "");
          if (rec->header.kind == Kind::partnership && item.contains("with") && item["with"].is_string()) {
            auto with = parse_node_id(item["with"].get<std::string>());
            const CityProfile* other = with ? cities.find(*with) : nullptr;
            title = item.value("relation", "") + " with " +
                    (other ? other->name : item["with"].get<std::string>().substr(0, 12));
          }
          if (rec->header.kind == Kind::moderation && item.contains("action"))
            title = item.value("coalition", "") + ": " + item.value("action", "") + " " + item.value("target", "");
          if (moderated)
            title =
                (moderated->statement.action == ModerationAction::withdraw ? "[withdrawn] " : "[disputed] ") + title;
          title = truncate_to_width(title, 60);
          std::string city = item.value("city", nlohmann::json()).is_string() ? item["city"].get<std::string>()
                             : rec->header.kind == Kind::city                 ? item.value("name", "")
                                                                              : short_node_id(origin);
          rows.push_back({std::string(kind_name(rec->header.kind)), city, rec->header.id, rec->header.version, title});
        }
        return !(opts->limit && ++shown >= opts->limit);
      });
      if (!ctx.json) {
        size_t id_width = 2;
        for (const auto& row : rows) id_width = std::max(id_width, display_width(row.id));
        // printf pads bytes; pad names by terminal columns so accented and wide ones line up.
        std::printf("%-12s %-18s %s %4s  %s\n", "KIND", "CITY", pad_to_width("ID", id_width).c_str(), "V", "TITLE");
        for (const auto& row : rows)
          std::printf("%-12s %s %s %4u  %s\n", row.kind.c_str(),
                      pad_to_width(truncate_to_width(row.city, 18), 18).c_str(), pad_to_width(row.id, id_width).c_str(),
                      row.version, row.title.c_str());
      }
      return 0;
    });
    if (ctx.json) std::cout << items.dump() << "\n";
  });
}

}  // namespace agora::cli
