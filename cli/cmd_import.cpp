// agora import FILE: many input records, one JSON object per line.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/importer.hpp"

namespace agora::cli {

void register_import(CLI::App& app, Context& ctx) {
  struct Options {
    std::string file;
    size_t batch = 1536;
    bool revive = false;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand(
      "import", "validate every line of an NDJSON file, then sign and store them in large transactions");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->add_option("FILE", opts->file, "NDJSON file: one input record per line")->required();
  verb->add_option("--batch", opts->batch, "records per transaction (default 1536)")->check(CLI::Range(1, 100000));
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
    ImportSummary s = import_ndjson(dir, opts->file, options);
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
