// agora import FILE: many input records, one JSON object per line, or a spreadsheet's CSV.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "cli/cli_support.hpp"
#include "node/local/frameworks.hpp"
#include "node/local/importer.hpp"
#include "protocol/csv_input.hpp"
#include "protocol/input_schema.hpp"

namespace agora::cli {

namespace {

// A CSV file: every row turned into input and checked (each problem named by line and
// column), then imported as NDJSON would be, all or nothing.
ImportSummary import_csv(DataDir& dir, const std::string& file, const ImportOptions& options) {
  CsvInput csv = read_csv_input(read_input(file));
  const FrameworkCatalog frameworks = load_frameworks(dir.store());
  constexpr size_t kMaxReported = 50;
  std::vector<CsvProblem> found = csv.problems;
  std::string ndjson;
  for (const auto& rec : csv.records) {
    std::string line = rec.input.dump();
    for (const auto& e : input_errors(line, dir.identity(), frameworks)) {
      // "column title: required field is missing", "column themes: themes[1]: unknown theme ..."
      std::string column = csv_column_of(e.path);
      found.push_back({rec.line, column, column == e.path ? e.message : e.to_string()});
    }
    ndjson += line + "\n";
  }
  if (!found.empty()) {
    std::stable_sort(found.begin(), found.end(),
                     [](const CsvProblem& a, const CsvProblem& b) { return a.line < b.line; });
    std::set<size_t> bad_rows;
    std::string message;
    for (size_t i = 0; i < found.size(); ++i) {
      bad_rows.insert(found[i].line);
      if (i >= kMaxReported) continue;
      message += (message.empty() ? "" : "\nerror: ") + file + ":" + std::to_string(found[i].line) +
                 (found[i].column.empty() ? "" : ", column " + found[i].column) + ": " + found[i].message;
    }
    if (found.size() > 1)
      message += "\nerror: " + file + ": " + std::to_string(found.size()) + " problems" +
                 (found.size() > kMaxReported ? " (the first " + std::to_string(kMaxReported) + " above)" : "") +
                 " on " + std::to_string(bad_rows.size()) + (bad_rows.size() == 1 ? " row" : " rows") +
                 "; nothing was imported";
    throw InvalidInput(message);
  }
  // What NDJSON import checks across records (ids twice, plans and reports) names the CSV
  // file's lines, not the spool's.
  std::filesystem::path spool = dir.path() / "tmp" / ("import-" + std::to_string(::getpid()) + ".ndjson");
  std::filesystem::create_directories(spool.parent_path());
  std::ofstream(spool, std::ios::binary) << ndjson;
  struct Remove {
    std::filesystem::path path;
    ~Remove() { std::filesystem::remove(path); }
  } remove{spool};
  try {
    return import_ndjson(dir, spool, options);
  } catch (const InvalidInput& e) {
    std::string message = e.what();
    for (size_t i = csv.records.size(); i >= 1; --i) {  // longest numbers first: "12:" before "1:"
      std::string from = spool.string() + ":" + std::to_string(i) + ":";
      for (size_t pos; (pos = message.find(from)) != std::string::npos;)
        message.replace(pos, from.size(), file + ":" + std::to_string(csv.records[i - 1].line) + ":");
    }
    for (size_t pos; (pos = message.find(spool.string())) != std::string::npos;)
      message.replace(pos, spool.string().size(), file);
    throw InvalidInput(message);
  }
}

}  // namespace

void register_import(CLI::App& app, Context& ctx) {
  struct Options {
    std::string file, format;
    size_t batch = 1536;
    bool revive = false;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand(
      "import",
      "validate every line of an NDJSON file (or every row of a spreadsheet's CSV: --format csv), then sign and store "
      "them in large transactions; nothing is written unless all are valid");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->add_option("FILE", opts->file, "NDJSON file: one input record per line (or CSV: --format csv)")->required();
  verb->add_option("--format", opts->format,
                   "ndjson, or csv: a spreadsheet's export, a header row of field names, lists separated by ; "
                   "(docs/data-model.md, \"CSV input\"; default: csv for a FILE ending in .csv, else ndjson)")
      ->check(CLI::IsMember({"ndjson", "csv"}));
  verb->add_option("--batch", opts->batch, "records per transaction (default 1536)")->check(whole_number_in(1, 100000));
  verb->add_flag("--revive", opts->revive, "bring back records that were retracted or erased (else refused)");
  verb->callback([&ctx, opts] {
    DataDir dir = open_to_publish(ctx);
    auto start = std::chrono::steady_clock::now();
    bool tty = isatty(STDERR_FILENO);
    ImportOptions options;
    options.batch_size = opts->batch;
    options.revive = opts->revive;
    options.on_committed = [&](size_t done, size_t total) {
      // Each line is printed after its transaction committed: what it reports is durable.
      if (tty)
        std::fprintf(stderr, "\rimport: %zu / %zu records stored", done, total);
      else
        std::fprintf(stderr, "import: %zu / %zu records stored\n", done, total);
    };
    bool csv = opts->format == "csv" || (opts->format.empty() && opts->file.ends_with(".csv"));
    ImportSummary s = csv ? import_csv(dir, opts->file, options) : import_ndjson(dir, opts->file, options);
    if (tty) std::fprintf(stderr, "\n");
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (ctx.json) {
      nlohmann::json j = {{"records", s.records},     {"created", s.created},      {"updated", s.updated},
                          {"unchanged", s.unchanged}, {"transactions", s.batches}, {"seconds", secs},
                          {"by_kind", s.by_kind}};
      std::cout << j.dump() << "\n";
      return;
    }
    std::printf(
        "imported %zu records from %s: %zu new, %zu updated, %zu unchanged (%zu transactions, %.1f s, %.0f "
        "records/s)\n",
        s.records, opts->file.c_str(), s.created, s.updated, s.unchanged, s.batches, secs,
        secs > 0 ? s.records / secs : 0.0);
  });
}

}  // namespace agora::cli
