#include "node/exporter.hpp"

#include "node/record_view.hpp"

namespace agora {

using nlohmann::json;

namespace {

const char* const kCsvColumns[] = {"origin", "city",     "country",    "kind",    "id",       "version",
                                   "published", "title", "summary",    "language", "themes", "principles",
                                   "frameworks", "started", "partners", "links",    "fields"};

// RFC 4180 quoting; cells that a spreadsheet would run as a formula are prefixed with '.
std::string csv_cell(std::string s) {
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s.insert(0, "'");
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

void write_csv_row(std::ostream& out, json item) {
  if (!item.contains("title") && item.contains("name")) item["title"] = item["name"];
  bool first = true;
  for (const char* col : kCsvColumns) {
    if (!first) out << ',';
    first = false;
    if (std::string_view(col) == "fields") {
      json rest = json::object();
      for (auto& [k, v] : item.items())
        if (std::find_if(std::begin(kCsvColumns), std::end(kCsvColumns), [&](const char* c) { return k == c; }) ==
                std::end(kCsvColumns) &&
            k != "name" && k != "seq" && k != "visibility")
          rest[k] = v;
      out << csv_cell(rest.empty() ? "" : rest.dump());
    } else {
      out << csv_cell(cell_text(item.value(col, json())));
    }
  }
  out << "\r\n";
}

}  // namespace

uint64_t export_public(storage::RecordStore& store, std::ostream& out, ExportFormat format, std::optional<Kind> kind) {
  uint64_t n = 0;
  if (format == ExportFormat::csv) {
    bool first = true;
    for (const char* col : kCsvColumns) out << (first ? "" : ",") << col, first = false;
    out << "\r\n";
  }
  store.read([&](const storage::StoreReader& r) {
    CityDirectory cities(r);
    storage::ListQuery q;
    q.kind = kind;
    r.list(q, [&](const PublicKey& origin, std::string_view, const storage::LatestEntry& e) {
      if (!e.is_public) return true;
      auto view = r.at(e.local);
      if (!view) return true;
      SignedRecord rec = view->load();
      auto h = decode_header(rec.header_bytes);
      if (!h) return true;
      json item = record_item(h.value(), rec.body, cities.find(origin));
      if (format == ExportFormat::ndjson)
        out << item.dump() << '\n';
      else
        write_csv_row(out, std::move(item));
      ++n;
      return true;
    });
    return 0;
  });
  out.flush();
  return n;
}

}  // namespace agora
