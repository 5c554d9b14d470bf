// agora show REF: one record, optionally with every version.
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/entitlements.hpp"
#include "node/local/record_view.hpp"
#include "node/local/translations.hpp"
#include "storage/stored_record.hpp"

namespace agora::cli {

nlohmann::ordered_json record_as_input(const storage::StoreReader& r, DataDir& dir, const std::string& ref) {
  auto [origin, id] = resolve_ref(r, dir.id(), ref);
  auto latest = r.latest(origin, id);
  if (!latest) throw InvalidInput("show: no record \"" + ref + "\" on this node");
  if (latest->tombstone)
    throw InvalidInput("show: " + ref + " was retracted: it has no current version to edit (`agora show " + ref +
                       " --history`)");
  auto rec = storage::read_record(r, latest->local);
  if (!rec) throw std::runtime_error("stored record " + ref + " is corrupt (run `agora verify`)");
  Kind kind = rec->header.kind;
  if (kind == Kind::key || kind == Kind::erasure || kind == Kind::moderation || kind == Kind::retraction)
    throw InvalidInput("show: " + ref + " is a " + std::string(kind_name(kind)) +
                       " record, written by its own verb, never published as input");
  auto body = rec->body_json();
  if (!body) throw InvalidInput("show: this node holds only the header of " + ref + " (its body was not shared here)");
  nlohmann::ordered_json input = {{"kind", kind_name(kind)}, {"id", id}, {"visibility", rec->header.visibility}};
  for (auto& [k, v] : body->items()) input[k] = v;
  return input;
}

void register_show(CLI::App& app, Context& ctx) {
  struct Options {
    std::string ref;
    bool history = false, as_input = false;
  };
  auto opts = std::make_shared<Options>();
  auto* verb =
      app.add_subcommand("show", "one record: REF is ID (this city's) or ORIGIN/ID (ORIGIN: node id, prefix or city)");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->add_option("REF", opts->ref, "ID or ORIGIN/ID")->required();
  verb->add_flag("--history", opts->history, "every version, oldest first");
  verb->add_flag("--as-input", opts->as_input,
                 "the current version as publishable input (kind, id, visibility and its fields): edit it and "
                 "`agora publish` it, or use `agora edit REF`");
  verb->callback([&ctx, opts] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    if (opts->as_input) {
      if (opts->history) throw InvalidInput("show: --as-input shows the current version; leave out --history");
      std::cout
          << dir.store().read([&](const storage::StoreReader& r) { return record_as_input(r, dir, opts->ref); }).dump(2)
          << "\n";
      return;
    }
    dir.store().read([&](const storage::StoreReader& r) {
      auto [origin, id] = resolve_ref(r, dir.id(), opts->ref);
      auto latest = r.latest(origin, id);
      // A record whose every version was withdrawn has no current version, only history.
      std::vector<uint64_t> positions = opts->history ? r.history(origin, id)
                                        : latest      ? std::vector<uint64_t>{latest->local}
                                                      : std::vector<uint64_t>{};
      if (positions.empty()) {
        bool evidence = !r.history(origin, id).empty();
        throw InvalidInput("show: no record \"" + opts->ref + "\" on this node" +
                           (evidence ? " (withdrawn: see --history)" : ""));
      }
      CityDirectory cities(r);
      const Entitlements entitlements = Entitlements::load(r);
      nlohmann::json versions = nlohmann::json::array();
      for (uint64_t local : positions) {
        auto rec = storage::read_record(r, local);
        if (!rec && !r.at(local)) continue;
        if (!rec)
          throw std::runtime_error("stored record at log position " + std::to_string(local) +
                                   " is corrupt: its header does not decode (run `agora verify`)");
        versions.push_back(record_item(rec->header, rec->body(), cities.find(origin), cities.signer(rec->header)));
        mark_item(r, local, versions.back());
        if (const ModerationDecision* d = entitlements.moderation().decision_for(rec->header))
          versions.back()["moderation"] = moderation_note(*d, cities);
      }
      // Its translations this node holds (any visibility: this is the city's own node).
      if (latest && !versions.empty()) {
        auto translations = current_translations(r, origin, id, latest->version, [](const Header&) { return true; });
        if (!translations.empty()) versions.back()["translations"] = translations_json(translations, cities);
      }
      if (ctx.json) {
        std::cout << (opts->history ? versions : versions.front()).dump(2) << "\n";
        return 0;
      }
      for (const auto& item : versions) {
        std::cout << item["kind"].get<std::string>() << " " << item["id"].get<std::string>() << " v"
                  << item["version"].get<uint32_t>();
        if (item.value("city", nlohmann::json()).is_string())
          std::cout << "  " << item["city"].get<std::string>() << " (" << item.value("country", "") << ")";
        std::string erased;
        if (auto e = item.find("erased"); e != item.end())
          erased = "  [ERASED on " + e->value("on", std::string("?")).substr(0, 10) + ": " +
                   e->value("reason", std::string("no reason held")) + "]";
        std::string retracted = item.value("retracted", false) ? "  [retracted]" : "";
        if (auto n = item.find("retraction"); n != item.end())
          retracted = "  [retracted: " + (*n)["reason"].get<std::string>() + "]";
        std::cout << retracted << erased
                  << (item.value("set_aside", false)   ? "  [SET ASIDE: replaced by the city's recovery]"
                      : item.value("withdrawn", false) ? "  [WITHDRAWN: signed by a compromised key]"
                                                       : "")
                  << "\n";
        if (auto m = item.find("moderation"); m != item.end()) {
          const auto& by = (*m)["by"];
          std::cout << "  [" << ((*m)["action"] == "withdraw" ? "WITHDRAWN FROM COALITION " : "DISPUTED in coalition ")
                    << (*m)["coalition"].get<std::string>() << " by "
                    << (by["city"].is_string() ? by["city"].get<std::string>()
                                               : by["node"].get<std::string>().substr(0, 12))
                    << " on " << (*m)["on"].get<std::string>().substr(0, 10) << ": "
                    << (*m)["reason"].get<std::string>() << "]\n";
        }
        std::cout << "  origin " << item["origin"].get<std::string>() << "  seq " << item["seq"].get<uint64_t>()
                  << "  published " << item["published"].get<std::string>() << "  visibility "
                  << item["visibility"].get<std::string>() << "\n";
        if (auto s = item.find("signed_by"); s != item.end())
          std::cout << "  signed by " << s->value("name", std::string("an unknown key")) << " ("
                    << s->value("role", std::string("?")) << " key " << (*s)["key"].get<std::string>().substr(0, 12)
                    << ")\n";
        nlohmann::json fields = item;
        for (const char* k :
             {"kind", "id", "origin", "city", "country", "version", "seq", "published", "visibility", "retracted",
              "retraction", "signed_by", "withdrawn", "set_aside", "erased", "moderation", "translations"})
          fields.erase(k);
        for (auto& [k, v] : fields.items())
          std::cout << "  " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
        if (auto t = item.find("translations"); t != item.end())
          for (const auto& one : *t)
            std::cout << "  translation " << one["language"].get<std::string>() << " by "
                      << one["translator"].value("city", std::string("?")) << " (" << one["record"].get<std::string>()
                      << " v" << one["version"] << ", of v" << one["of_version"]
                      << (one["outdated"] == true ? ", OUTDATED" : "") << ")\n";
        if (&item != &versions.back()) std::cout << "\n";
      }
      return 0;
    });
  });
}

}  // namespace agora::cli
