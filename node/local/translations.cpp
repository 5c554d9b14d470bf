#include "node/local/translations.hpp"

#include <algorithm>
#include <cstdlib>

#include "protocol/languages.hpp"
#include "protocol/translation.hpp"
#include "storage/stored_record.hpp"

namespace agora {

using nlohmann::json;

std::vector<TranslationEntry> current_translations(const storage::StoreReader& reader, const PublicKey& origin,
                                                   const std::string& id, uint32_t source_version,
                                                   const std::function<bool(const Header&)>& readable) {
  std::vector<TranslationEntry> out;
  for (const auto& [translator, tid] : reader.translations_of(origin, id)) {
    auto latest = reader.latest(translator, tid);
    if (!latest || latest->tombstone || latest->kind != Kind::translation) continue;
    auto rec = storage::read_record(reader, latest->local);
    if (!rec || !rec->record.body || !readable(rec->header)) continue;
    auto of = read_translation_of(*rec->record.body);
    if (!of || of->origin != origin || of->id != id) continue;
    TranslationEntry e;
    e.translator = translator;
    e.id = tid;
    e.local = latest->local;
    e.version = latest->version;
    e.language = of->language;
    e.of_version = of->version;
    e.outdated = of->version < source_version;
    out.push_back(std::move(e));
  }
  std::stable_sort(out.begin(), out.end(), [&](const TranslationEntry& a, const TranslationEntry& b) {
    bool a_own = a.translator == origin, b_own = b.translator == origin;
    if (a_own != b_own) return a_own;
    return std::tie(a.language, a.translator) < std::tie(b.language, b.translator);
  });
  return out;
}

const TranslationEntry* pick_translation(const std::vector<TranslationEntry>& all, const PublicKey& origin,
                                         std::string_view language) {
  auto best = [&](auto&& matches) -> const TranslationEntry* {
    const TranslationEntry* found = nullptr;
    for (const auto& t : all)
      if (matches(t) && (!found || (t.translator == origin && found->translator != origin))) found = &t;
    return found;
  };
  if (auto* exact = best([&](const TranslationEntry& t) { return t.language == language; })) return exact;
  return best([&](const TranslationEntry& t) { return primary_language(t.language) == primary_language(language); });
}

json translations_json(const std::vector<TranslationEntry>& all, CityDirectory& cities) {
  json out = json::array();
  for (const auto& t : all) {
    const CityProfile* city = cities.find(t.translator);
    out.push_back({{"language", t.language},
                   {"translator", {{"node", node_id(t.translator)}, {"city", city ? city->name : ""}}},
                   {"record", t.id},
                   {"version", t.version},
                   {"of_version", t.of_version},
                   {"outdated", t.outdated}});
  }
  return out;
}

void apply_translation(json& item, const TranslationEntry& t, const json& body, CityDirectory& cities) {
  std::string original = item.value("language", "");
  for (const char* field : {"title", "summary", "body"})
    if (auto v = body.find(field); v != body.end() && v->is_string()) item[field] = *v;
  if (auto labels = body.find("outcomes"); labels != body.end() && labels->is_array() && item.contains("outcomes"))
    for (size_t i = 0; i < labels->size() && i < item["outcomes"].size(); ++i)
      if ((*labels)[i].is_string() && item["outcomes"][i].is_object()) item["outcomes"][i]["indicator"] = (*labels)[i];
  if (auto items = body.find("items"); items != body.end() && items->is_array() && item.contains("items"))
    for (const auto& translated : *items)
      for (auto& own : item["items"])
        if (own.is_object() && translated.is_object() && own.value("id", "") == translated.value("id", "~"))
          own["action"] = translated.value("action", own.value("action", ""));
  item["language"] = t.language;
  const CityProfile* city = cities.find(t.translator);
  item["translation"] = {{"language", t.language},
                         {"original_language", original},
                         {"translator", {{"node", node_id(t.translator)}, {"city", city ? city->name : ""}}},
                         {"record", t.id},
                         {"version", t.version},
                         {"of_version", t.of_version},
                         {"outdated", t.outdated}};
}

std::optional<std::string> preferred_language(std::string_view header, const std::vector<std::string>& available) {
  struct Choice {
    double q;
    size_t order;
    std::string tag;
  };
  std::vector<Choice> wanted;
  size_t start = 0, order = 0;
  while (start < header.size()) {
    size_t end = std::min(header.find(',', start), header.size());
    std::string_view part = header.substr(start, end - start);
    start = end + 1;
    double q = 1;
    if (size_t semi = part.find(';'); semi != std::string_view::npos) {
      std::string_view param = part.substr(semi + 1);
      part = part.substr(0, semi);
      while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
      if (param.starts_with("q=")) q = std::strtod(std::string(param.substr(2)).c_str(), nullptr);
    }
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (q <= 0 || part.empty() || part == "*") continue;
    if (auto tag = canonical_language_tag(part)) wanted.push_back({q, order++, *tag});
  }
  std::stable_sort(wanted.begin(), wanted.end(), [](const Choice& a, const Choice& b) { return a.q > b.q; });
  for (const auto& w : wanted) {
    for (const auto& a : available)
      if (a == w.tag) return a;
    for (const auto& a : available)
      if (primary_language(a) == primary_language(w.tag)) return a;
  }
  return std::nullopt;
}

}  // namespace agora
