// A spreadsheet's CSV export as input records (`agora import --format csv`): one row per
// record under a header row of field names (docs/data-model.md, "CSV input"). No I/O.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace agora {

// One row turned into an input record, with where it came from.
struct CsvRecord {
  size_t line = 0;                   // the file line its row starts on (header: line 1)
  nlohmann::json input;              // the input record: cells as fields, lists split at ';'
  std::vector<std::string> columns;  // the header's column names, in order
};

// A problem of one cell (column set) or of the file (column empty).
struct CsvProblem {
  size_t line = 0;
  std::string column;
  std::string message;
};

struct CsvInput {
  std::vector<CsvRecord> records;
  std::vector<CsvProblem> problems;  // cells (and files) that could not be read: their rows stay, without them
};

// Parses RFC 4180 CSV (quoted cells may hold separators, quotes as "" and newlines; a UTF-8
// byte order mark is skipped; the separator is ',' or, when the header has none, ';' as
// spreadsheets in many locales export). Empty cells are left out. Cells of list fields are
// split at ';' (themes, principles, partners, links, frameworks as FRAMEWORK:REF, outcomes
// as INDICATOR=VALUE [UNIT] [@YEAR]); number fields (started, ended, value, since) become
// numbers. `kind` defaults to practice.
CsvInput read_csv_input(std::string_view text);

// The column a validation error's field path points at ("themes[2]" -> "themes").
std::string csv_column_of(std::string_view path);

}  // namespace agora
