#include "protocol/csv_input.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <set>

#include "protocol/input_schema.hpp"
#include "protocol/vocabulary.hpp"

namespace agora {

using nlohmann::json;

namespace {

struct Row {
  size_t line = 0;
  std::vector<std::string> cells;
};

// RFC 4180 rows; `bad` names the first line of a quote that never closes.
std::vector<Row> parse_rows(std::string_view text, char separator, size_t& unclosed_quote_line) {
  std::vector<Row> rows;
  Row row;
  std::string cell;
  size_t line = 1;
  row.line = 1;
  bool quoted = false, any = false;
  size_t quote_line = 0;
  auto end_cell = [&] {
    row.cells.push_back(std::move(cell));
    cell.clear();
  };
  auto end_row = [&] {
    end_cell();
    bool blank = row.cells.size() == 1 && row.cells[0].empty();
    if (!blank) rows.push_back(std::move(row));
    row = Row{};
    row.line = line;
    any = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
      continue;
    }
    if (c == '"' && cell.empty()) {
      quoted = true;
      quote_line = line;
      any = true;
    } else if (c == separator) {
      end_cell();
      any = true;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;
    } else if (c == '\n' || c == '\r') {
      ++line;
      end_row();
    } else {
      cell += c;
      any = true;
    }
  }
  if (quoted) unclosed_quote_line = quote_line;
  if (any || !cell.empty()) end_row();
  return rows;
}

std::string trimmed(std::string s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// A no-break space (either width) where a unit starts, as a plain space.
std::string without_nbsp_edges(std::string s) {
  for (std::string_view space : {"\xC2\xA0", "\xE2\x80\xAF"})
    while (s.compare(0, space.size(), space) == 0) s = " " + s.substr(space.size());
  return s;
}

std::vector<std::string> split_list(const std::string& cell) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= cell.size()) {
    size_t at = cell.find(';', from);
    std::string item = trimmed(cell.substr(from, at == std::string::npos ? std::string::npos : at - from));
    if (!item.empty()) out.push_back(item);
    if (at == std::string::npos) break;
    from = at + 1;
  }
  return out;
}

// Spaces that group digits: " ", no-break space, narrow no-break space (French Excel's).
std::string without_digit_spaces(std::string text) {
  for (std::string_view space : {"\xC2\xA0", "\xE2\x80\xAF", " "})
    for (size_t at; (at = text.find(space)) != std::string::npos;) text.erase(at, space.size());
  return text;
}

// A number cell as a JSON number: an integer when it is one ("2019", "1 250"), else a
// decimal ("12.5", "12,5" as many locales write it); nullopt when it is not a number.
std::optional<json> number_of(std::string text) {
  text = without_digit_spaces(trimmed(text));
  if (text.empty()) return std::nullopt;
  std::replace(text.begin(), text.end(), ',', '.');
  errno = 0;
  char* end = nullptr;
  long long i = std::strtoll(text.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0') return json(i);
  errno = 0;
  double d = std::strtod(text.c_str(), &end);
  if (errno == 0 && end && *end == '\0') return json(d);
  return std::nullopt;
}

const std::vector<std::string> kListColumns = {"themes",    "principles", "partners", "links",
                                               "languages", "topics",     "members",  "admins"};
const std::vector<std::string> kNumberColumns = {"started", "ended", "value", "since", "year", "corrects"};

}  // namespace

std::string csv_column_of(std::string_view path) { return std::string(path.substr(0, path.find_first_of(".["))); }

CsvInput read_csv_input(std::string_view text) {
  CsvInput out;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // Excel's byte order mark
  std::string_view first_line = text.substr(0, text.find('\n'));
  char separator =
      first_line.find(',') == std::string_view::npos && first_line.find(';') != std::string_view::npos ? ';' : ',';
  size_t unclosed = 0;
  std::vector<Row> rows = parse_rows(text, separator, unclosed);
  if (unclosed) {
    out.problems.push_back({unclosed, "", "a quoted cell starts here and never closes (a \" missing)"});
    return out;
  }
  if (rows.empty()) {
    out.problems.push_back(
        {1, "", "no header row: the first row names the columns (title, summary, language, themes…)"});
    return out;
  }
  std::vector<std::string> columns;
  const std::vector<std::string> known = input_field_names();
  std::set<std::string> unknown;  // named once, at the header; their cells are not read
  for (auto& name : rows.front().cells) {
    std::string c = trimmed(name);
    std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (c.empty()) {
      out.problems.push_back(
          {rows.front().line, "", "column " + std::to_string(columns.size() + 1) + " of the header has no name"});
    } else if (std::find(columns.begin(), columns.end(), c) != columns.end()) {
      out.problems.push_back({rows.front().line, c, "this column appears twice in the header"});
    } else if (!std::binary_search(known.begin(), known.end(), c)) {
      auto near = nearest(c, known);
      out.problems.push_back({rows.front().line, c,
                              "not a field of any record" +
                                  (near ? "; did you mean \"" + *near + "\"?" : std::string()) +
                                  " (docs/data-model.md, \"CSV input\")"});
      unknown.insert(c);
    }
    columns.push_back(c);
  }
  if (out.problems.size() > unknown.size()) return out;  // a header that cannot be read
  for (size_t r = 1; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (row.cells.size() > columns.size()) {
      out.problems.push_back(
          {row.line, "",
           std::to_string(row.cells.size()) + " cells, the header has " + std::to_string(columns.size()) + " columns"});
      continue;
    }
    CsvRecord rec{row.line, json::object(), columns};
    for (size_t c = 0; c < row.cells.size(); ++c) {
      const std::string& column = columns[c];
      std::string cell = row.cells[c];
      if (trimmed(cell).empty() || unknown.count(column)) continue;
      if (std::find(kListColumns.begin(), kListColumns.end(), column) != kListColumns.end()) {
        rec.input[column] = split_list(cell);
      } else if (std::find(kNumberColumns.begin(), kNumberColumns.end(), column) != kNumberColumns.end()) {
        auto n = number_of(cell);
        if (!n) {
          out.problems.push_back({row.line, column, "expected a number, got \"" + trimmed(cell) + "\""});
          continue;
        }
        rec.input[column] = *n;
      } else if (column == "frameworks") {
        json refs = json::array();
        for (const auto& item : split_list(cell)) {
          auto colon = item.rfind(':');
          if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
            out.problems.push_back(
                {row.line, column, "expected FRAMEWORK:REF (e.g. eccar-10pt:6), got \"" + item + "\""});
            continue;
          }
          refs.push_back({{"framework", trimmed(item.substr(0, colon))}, {"ref", trimmed(item.substr(colon + 1))}});
        }
        rec.input[column] = refs;
      } else if (column == "outcomes") {
        json outcomes = json::array();
        for (const auto& item : split_list(cell)) {
          // INDICATOR=VALUE [UNIT] [@YEAR]: "people in work=120 people @2023"
          auto eq = item.rfind('=');
          if (eq == std::string::npos || eq == 0) {
            out.problems.push_back({row.line, column,
                                    "expected INDICATOR=VALUE [UNIT] [@YEAR] (e.g. people in work=120 people @2023), "
                                    "got \"" +
                                        item + "\""});
            continue;
          }
          json o = {{"indicator", trimmed(item.substr(0, eq))}};
          std::string rest = trimmed(item.substr(eq + 1));
          if (auto at = rest.rfind('@'); at != std::string::npos) {
            auto year = number_of(rest.substr(at + 1));
            if (year && year->is_number_integer()) o["year"] = *year;
            rest = trimmed(rest.substr(0, at));
          }
          // The value: its digits may be grouped by spaces ("1 250"); the unit is what follows.
          auto space_at = [&](size_t i) -> size_t {  // the bytes of a space at i, or 0
            if (rest.compare(i, 1, " ") == 0) return 1;
            if (rest.compare(i, 2, "\xC2\xA0") == 0) return 2;
            if (rest.compare(i, 3, "\xE2\x80\xAF") == 0) return 3;
            return 0;
          };
          auto digits_from = [&](size_t i) {
            size_t d = i;
            while (d < rest.size() && std::isdigit(static_cast<unsigned char>(rest[d]))) ++d;
            return d - i;
          };
          size_t end = 0;
          while (end < rest.size() && !space_at(end)) ++end;
          // Then " 250", " 000,5"...: a space and three digits (and a decimal part) continue it.
          for (size_t space; (space = space_at(end)) && digits_from(end + space) == 3;) {
            end += space + 3;
            while (end < rest.size() &&
                   (rest[end] == ',' || rest[end] == '.' || std::isdigit(static_cast<unsigned char>(rest[end]))))
              ++end;
          }
          std::string value_text = rest.substr(0, end);
          auto value = number_of(value_text);
          if (!value) {
            out.problems.push_back({row.line, column, "\"" + item + "\": the value after = is not a number"});
            continue;
          }
          o["value"] = *value;
          if (std::string unit = trimmed(without_nbsp_edges(rest.substr(end))); !unit.empty()) o["unit"] = unit;
          outcomes.push_back(o);
        }
        rec.input[column] = outcomes;
      } else {
        // Text as it is (a summary may hold newlines); field names the schema does not know
        // are left for validation to name, with its suggestion.
        rec.input[column] = column == "summary" || column == "body" ? cell : trimmed(cell);
      }
    }
    if (!rec.input.contains("kind")) rec.input["kind"] = "practice";
    // A row with unreadable cells is kept without them: the rest of it is checked too.
    out.records.push_back(std::move(rec));
  }
  if (out.records.empty() && out.problems.empty()) out.problems.push_back({1, "", "no records: only a header row"});
  return out;
}

}  // namespace agora
