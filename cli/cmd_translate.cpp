// agora translate ORIGIN/ID --language L FILE: a signed translation of the current version
// of a practice or plan, by its own city or any other (docs/data-model.md, "Translations").
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/frameworks.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "protocol/languages.hpp"
#include "storage/stored_record.hpp"

namespace agora::cli {

namespace {
using nlohmann::json;

// What FILE may hold: the texts. Everything else comes from the record translated.
constexpr const char* kTextFields[] = {"title", "summary", "body", "outcomes", "items"};
}  // namespace

void register_translate(CLI::App& app, Context& ctx) {
  auto ref = std::make_shared<std::string>();
  auto language = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto* verb = app.add_subcommand(
      "translate",
      "publish a signed translation of the current version of a practice or plan (any city's, if public); "
      "prints translation ID vVERSION");
  add_data_option(verb, ctx);
  verb->add_option("REF", *ref, "the record: ORIGIN/ID (ORIGIN a node id, a prefix of one, or a city name), or ID")
      ->required();
  verb->add_option("--language", *language, "the translation's language tag: fr, pt-BR, zh-Hant, ...")->required();
  verb->add_option("FILE", *file,
                   "JSON with the translated texts: title, and as the record has them summary, body, outcomes "
                   "(the indicators' names, in order), items ([{\"id\", \"action\"}] of a plan); - for standard input")
      ->required();
  verb->callback([&ctx, ref, language, file] {
    std::string name = *file == "-" ? "<stdin>" : *file;
    auto tag = canonical_language_tag(*language);
    if (!tag) throw InvalidInput("translate: --language: " + unknown_language(*language));
    json texts = json::parse(read_input(*file), nullptr, false);
    if (!texts.is_object()) throw InvalidInput(name + ": expected a JSON object with the translated texts");
    for (auto it = texts.begin(); it != texts.end(); ++it)
      if (std::find(std::begin(kTextFields), std::end(kTextFields), it.key()) == std::end(kTextFields))
        throw InvalidInput(name + ": " + it.key() +
                           ": not a text of a translation (title, summary, body, outcomes, items); the record, "
                           "language and visibility come from the command");
    DataDir dir = open_to_publish(ctx);
    json input = dir.store().read([&](const storage::StoreReader& r) {
      auto [origin, id] = resolve_ref(r, dir.id(), *ref);
      std::string shown = node_id(origin).substr(0, 12) + "/" + id;
      auto latest = r.latest(origin, id);
      if (latest && latest->tombstone) throw InvalidInput("translate: " + shown + " was retracted");
      if (!latest) throw InvalidInput("translate: no current record " + shown);
      if (latest->kind != Kind::practice && latest->kind != Kind::plan)
        throw InvalidInput("translate: " + shown + " is a " + std::string(kind_name(latest->kind)) +
                           "; practices and plans are translated");
      auto rec = storage::read_record(r, latest->local);
      auto source = rec ? rec->body_json() : std::nullopt;
      if (!source) throw InvalidInput("translate: this node holds " + shown + " without its text (withheld)");
      // A translation is shown only to those who may read the source: another city's
      // translation is public, so only public records are translated by other cities.
      std::string visibility = rec->header.visibility;
      if (origin != dir.id() && !is_public(rec->header))
        throw InvalidInput("translate: " + shown + " is not public (" + visibility +
                           "); only its own city can translate it");
      std::string original = source->value("language", "");
      if (original == *tag) throw InvalidInput("translate: " + shown + " is written in " + original + " already");
      // Only texts the record has: a translation renders the record, it does not add to it.
      for (const char* field : {"summary", "body", "outcomes", "items"})
        if (texts.contains(field) && !source->contains(field))
          throw InvalidInput(name + ": " + field + ": " + shown + " has no " + field + " to translate");
      if (texts.contains("outcomes") && texts["outcomes"].is_array() &&
          texts["outcomes"].size() > source->value("outcomes", json::array()).size())
        throw InvalidInput(name + ": outcomes: " + std::to_string(texts["outcomes"].size()) + " names for the " +
                           std::to_string(source->value("outcomes", json::array()).size()) + " outcomes of " + shown);
      if (auto items = texts.find("items"); items != texts.end() && items->is_array())
        for (size_t i = 0; i < items->size(); ++i) {
          std::string item_id = (*items)[i].is_object() ? (*items)[i].value("id", "") : "";
          bool known = false;
          for (const auto& own : source->value("items", json::array()))
            known = known || (own.is_object() && own.value("id", "") == item_id);
          if (!known)
            throw InvalidInput(name + ": items[" + std::to_string(i) + "].id: " + shown + " has no item \"" + item_id +
                               "\"");
        }
      json in = texts;
      in["kind"] = "translation";
      in["of"] = node_id(origin) + "/" + id;
      in["of_version"] = latest->version;
      in["language"] = *tag;
      in["visibility"] = visibility;
      return in;
    });
    auto validated = validate_input(input, dir.identity(), {}, load_frameworks(dir.store()));
    if (!validated) throw InvalidInput(name + ": " + validated.error().to_string());
    auto result = Publisher(dir).publish({validated.value()}).front();
    std::cout << "translation " << result.id << " v" << result.version << (result.unchanged ? " (unchanged)" : "")
              << " (" << *tag << ", of " << input["of"].get<std::string>().substr(0, 12) << "/"
              << input["of"].get<std::string>().substr(65) << " v" << input["of_version"] << ")\n";
  });
}

}  // namespace agora::cli
