#include "node/local/exporter.hpp"

#include <algorithm>

#include "node/local/record_view.hpp"
#include "storage/stored_record.hpp"

namespace agora {

using nlohmann::json;

namespace {

const char* const kCsvColumns[] = {"origin",     "city",    "country",  "kind",     "id",     "version",
                                   "published",  "title",   "summary",  "language", "themes", "principles",
                                   "frameworks", "started", "partners", "links",    "fields"};

// RFC 4180 quoting; cells that a spreadsheet would run as a formula are prefixed with '.
std::string csv_cell(std::string s) {
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
    s.insert(0, "'");
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string cell_text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) {
      if (!s.empty()) s += "; ";
      if (x.is_object() && x.contains("framework"))
        s += x.value("framework", "") + ":" + x.value("ref", "");
      else
        s += x.is_string() ? x.get<std::string>() : x.dump();
    }
    return s;
  }
  return v.dump();
}

void append_csv_row(std::string& out, json item) {
  if (!item.contains("title") && item.contains("name")) item["title"] = item["name"];
  bool first = true;
  for (const char* col : kCsvColumns) {
    if (!first) out += ',';
    first = false;
    if (std::string_view(col) == "fields") {
      json rest = json::object();
      for (auto& [key, v] : item.items()) {
        const std::string& k = key;  // clang 14 cannot capture a structured binding
        if (std::find_if(std::begin(kCsvColumns), std::end(kCsvColumns), [&](const char* c) { return k == c; }) ==
                std::end(kCsvColumns) &&
            k != "name" && k != "seq" && k != "visibility")
          rest[k] = v;
      }
      out += csv_cell(rest.empty() ? "" : rest.dump());
    } else {
      out += csv_cell(cell_text(item.value(col, json())));
    }
  }
  out += "\r\n";
}

// schema.org terms for an item (docs/api.md, "Export"). Every record keeps its own
// fields under agora: names, so nothing is lost in the mapping.
json jsonld_node(const json& item) {
  std::string kind = item.value("kind", "");
  std::string ref = item.value("origin", "") + "/" + item.value("id", "");
  json node = json::object();
  node["@id"] = "urn:agora:" + ref;
  static const std::pair<const char*, const char*> kTypes[] = {
      {"city", "City"},       {"practice", "CreativeWork"},    {"plan", "CreativeWork"},     {"report", "Observation"},
      {"adoption", "Action"}, {"partnership", "Organization"}, {"coalition", "Organization"}};
  node["@type"] = "Thing";
  for (const auto& [k, t] : kTypes)
    if (kind == k) node["@type"] = t;
  node["additionalType"] = "agora:" + kind;
  auto copy = [&](const char* from, const char* to) {
    if (auto it = item.find(from); it != item.end() && !it->is_null()) node[to] = *it;
  };
  copy("title", "name");
  copy("name", "name");
  copy("summary", "description");
  copy("language", "inLanguage");
  copy("published", "dateModified");
  copy("version", "version");
  copy("links", "sameAs");
  if (item.contains("themes")) node["keywords"] = item["themes"];
  if (auto s = item.find("started"); s != item.end() && s->is_number_integer())
    node["temporalCoverage"] = std::to_string(s->get<int>()) + "/..";
  if (kind == "city") {
    node["address"] = {{"@type", "PostalAddress"}, {"addressCountry", item.value("country", "")}};
    if (item.contains("region")) node["containedInPlace"] = {{"@type", "Place"}, {"name", item["region"]}};
  } else if (item.contains("city") && !item["city"].is_null()) {
    node["publisher"] = {{"@type", "GovernmentOrganization"},
                         {"@id", "urn:agora:" + item.value("origin", "") + "/city"},
                         {"name", item["city"]},
                         {"areaServed",
                          {{"@type", "City"},
                           {"name", item["city"]},
                           {"address", {{"@type", "PostalAddress"}, {"addressCountry", item.value("country", "")}}}}}};
  }
  if (kind == "adoption" && item.contains("practice"))
    node["object"] = {{"@id", "urn:agora:" + item.value("practice", "")}};
  if (item.contains("frameworks")) {
    json about = json::array();
    for (const auto& f : item["frameworks"])
      if (f.is_object())
        about.push_back({{"@type", "DefinedTerm"},
                         {"inDefinedTermSet", "agora:framework/" + f.value("framework", "")},
                         {"termCode", f.value("ref", "")}});
    node["about"] = about;
  }
  json rest = json::object();
  for (auto& [k, v] : item.items())
    if (k != "kind" && k != "id" && k != "origin" && k != "visibility") rest[k] = v;
  node["agora:record"] = rest;
  return node;
}

}  // namespace

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  if (name == "ndjson") return ExportFormat::ndjson;
  if (name == "csv") return ExportFormat::csv;
  if (name == "jsonld") return ExportFormat::jsonld;
  return std::nullopt;
}

std::string_view export_content_type(ExportFormat format) {
  switch (format) {
    case ExportFormat::csv:
      return "text/csv; charset=utf-8; header=present";
    case ExportFormat::jsonld:
      return "application/ld+json";
    default:
      return "application/x-ndjson";
  }
}

ExportStream::ExportStream(storage::RecordStore& store, ExportFormat format, std::optional<Kind> kind)
    : store_(store), format_(format) {
  if (kind)
    kinds_.push_back(*kind);
  else
    for (int k = 1; k <= kKindCount; ++k) kinds_.push_back(static_cast<Kind>(k));
}

std::string ExportStream::next(size_t max_bytes) {
  std::string out;
  if (finished_) return out;
  if (!started_) {
    started_ = true;
    // The byte-order mark makes spreadsheets read the file as UTF-8.
    if (format_ == ExportFormat::csv) {
      out += "\xEF\xBB\xBF";
      bool first = true;
      for (const char* col : kCsvColumns) out += (first ? "" : ","), out += col, first = false;
      out += "\r\n";
    } else if (format_ == ExportFormat::jsonld) {
      out += R"({"@context":{"@vocab":"https://schema.org/","agora":"urn:agora:vocab:"},"@graph":[)";
    }
  }
  store_.read([&](const storage::StoreReader& r) {
    CityDirectory cities(r);
    while (kind_index_ < kinds_.size() && out.size() < max_bytes) {
      storage::ListQuery q;
      q.kind = kinds_[kind_index_];
      q.after_local = after_;
      bool more = false;
      r.list(q, [&](const PublicKey& origin, std::string_view, const storage::LatestEntry& e) {
        if (out.size() >= max_bytes) {
          more = true;
          return false;
        }
        after_ = e.local;
        if (!e.is_public) return true;
        auto rec = storage::read_record(r, e.local);
        if (!rec || rec->is_stub()) return true;
        json item = record_item(rec->header, rec->body(), cities.find(origin), cities.signer(rec->header));
        switch (format_) {
          case ExportFormat::ndjson:
            out += item.dump();
            out += '\n';
            break;
          case ExportFormat::csv:
            append_csv_row(out, std::move(item));
            break;
          case ExportFormat::jsonld:
            if (records_) out += ",\n";
            out += jsonld_node(item).dump();
            break;
        }
        ++records_;
        return true;
      });
      if (!more) ++kind_index_, after_ = 0;
    }
    return 0;
  });
  if (kind_index_ == kinds_.size()) {
    finished_ = true;
    if (format_ == ExportFormat::jsonld) out += "]}\n";
  }
  return out;
}

uint64_t export_public(storage::RecordStore& store, std::ostream& out, ExportFormat format, std::optional<Kind> kind) {
  ExportStream stream(store, format, kind);
  while (!stream.done()) {
    std::string piece = stream.next();
    out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
  }
  out.flush();
  return stream.records();
}

}  // namespace agora
