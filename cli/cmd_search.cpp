// agora search: ranked full-text search over the public practices and plans this node holds.
#include <unistd.h>

#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/record_view.hpp"
#include "node/search/search_index.hpp"
#include "protocol/languages.hpp"
#include "protocol/theme_names.hpp"

namespace agora::cli {

namespace {
// Snippets are HTML (for the API): matches in bold on a terminal, in [brackets] otherwise.
std::string for_terminal(const std::string& html, bool tty) {
  static const std::pair<const char*, const char*> kReplace[] = {
      {"<mark>", nullptr}, {"</mark>", nullptr}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}};
  std::string out;
  for (size_t i = 0; i < html.size();) {
    bool replaced = false;
    for (const auto& [from, to] : kReplace) {
      std::string_view f(from);
      if (html.compare(i, f.size(), f) != 0) continue;
      if (f == "<mark>")
        out += tty ? "\033[1m" : "[";
      else if (f == "</mark>")
        out += tty ? "\033[0m" : "]";
      else
        out += to;
      i += f.size();
      replaced = true;
      break;
    }
    if (!replaced) out += html[i++];
  }
  return out;
}
}  // namespace

void register_search(CLI::App& app, Context& ctx) {
  struct Options {
    std::string text, kind, city, country, theme, language, framework, ref, year;
    size_t limit = 20;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand(
      "search", "full-text search (stemmed per language, accents ignored) over public practices and plans");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->add_option("QUERY", opts->text, "words to find; empty lists everything that matches the filters");
  verb->add_option("--kind", opts->kind, "practice or plan");
  verb->add_option("--city", opts->city, "only this city: its name, node id or id prefix");
  verb->add_option("--country", opts->country, "only cities of this country (ISO code)");
  verb->add_option("--theme", opts->theme, "only records with this theme");
  verb->add_option("--language", opts->language,
                   "only records in this language: an ISO 639-1 code (every tag of it) or a tag such as pt-BR");
  verb->add_option("--framework", opts->framework, "only records committing to this framework");
  verb->add_option("--ref", opts->ref, "with --framework: only this commitment");
  verb->add_option("--year", opts->year, "YYYY or YYYY-YYYY (practice: started; plan: period start)");
  verb->add_option("--limit", opts->limit, "at most this many results")->check(whole_number_in(1, 1000));
  verb->callback([&ctx, opts] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    SearchQuery q;
    q.text = opts->text;
    q.limit = opts->limit;
    if (!opts->kind.empty()) {
      q.filter.kind = parse_kind(opts->kind);
      if (q.filter.kind != Kind::practice && q.filter.kind != Kind::plan)
        throw InvalidInput("--kind: search covers practice and plan, got \"" + opts->kind + "\"");
    }
    if (!opts->theme.empty() && vocabulary_index(themes(), opts->theme) < 0) {
      std::optional<std::string> near;
      if (const ThemeName* n = theme_named(opts->theme)) near = std::string(n->theme);  // its name in a page language
      if (!near) near = nearest(opts->theme, themes());
      throw InvalidInput("--theme: unknown theme \"" + opts->theme + "\"" +
                         (near ? "; did you mean \"" + *near + "\"?" : ""));
    }
    std::string language;
    if (!opts->language.empty()) {  // as the API's language= (docs/api.md)
      auto tag = canonical_language_tag(opts->language);
      if (!tag) throw InvalidInput("--language: " + unknown_language(opts->language));
      language = *tag;
    }
    if (!opts->ref.empty() && opts->framework.empty()) throw InvalidInput("--ref: needs --framework");
    q.filter.country = opts->country, q.filter.theme = opts->theme, q.filter.language = language;
    q.filter.framework = opts->framework, q.filter.ref = opts->ref;
    if (!opts->year.empty()) std::tie(q.filter.year_from, q.filter.year_to) = parse_year_range(opts->year);
    if (!opts->city.empty()) {
      auto origin = dir.store().read([&](const storage::StoreReader& r) { return resolve_city(r, opts->city); });
      if (!origin) throw InvalidInput("--city: no city \"" + opts->city + "\" is known to this node");
      q.filter.origins.push_back(node_id(*origin));
    }
    // A running node keeps the index current; otherwise bring it up to date here.
    std::unique_ptr<SearchIndex> index;
    try {
      index = SearchIndex::open_writable(dir);
      index->catch_up();
    } catch (const std::runtime_error&) {
      index = SearchIndex::open_readonly(dir);
      if (!index) throw;
    }
    SearchResult result = index->search(q);
    nlohmann::json items =
        dir.store().read([&](const storage::StoreReader& r) { return result_items(r, result, !result.terms.empty()); });
    nlohmann::json interpreted = nlohmann::json::array();
    for (const auto& m : result.interpreted)
      interpreted.push_back({{"word", m.word}, {"theme", m.theme}, {"language", m.language}});
    if (ctx.json) {
      nlohmann::json out{{"total", result.total}, {"items", items}};
      if (!interpreted.empty()) out["interpreted"] = interpreted;
      std::cout << out.dump(2) << "\n";
      return;
    }
    for (const auto& m : result.interpreted)
      std::cout << "(\"" << m.word << "\" also finds the theme " << m.theme << ", its " << m.language << " name)\n";
    bool tty = isatty(STDOUT_FILENO);
    for (const auto& item : items) {
      std::cout << item.value("kind", "") << "  " << item.value("city", "") << "  " << item.value("id", "") << "  "
                << item.value("title", "") << "\n";
      if (!result.terms.empty()) std::cout << "    " << for_terminal(item["snippet"].get<std::string>(), tty) << "\n";
    }
    std::cout << result.hits.size() << " of " << result.total << " results\n";
  });
}

}  // namespace agora::cli
