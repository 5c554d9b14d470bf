// agora export: every public record, streamed as NDJSON, CSV or JSON-LD.
#include <fstream>
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/exporter.hpp"

namespace agora::cli {

void register_export(CLI::App& app, Context& ctx) {
  struct Options {
    std::string format = "ndjson", out, kind;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand("export", "every public record (latest versions), streamed");
  add_data_option(verb, ctx);
  verb->add_option("--format", opts->format,
                   "ndjson (default), csv (UTF-8 with BOM, for spreadsheets) or jsonld (schema.org)")
      ->check(CLI::IsMember({"ndjson", "csv", "jsonld"}));
  verb->add_option("--out", opts->out, "write to FILE instead of standard output");
  verb->add_option("--kind", opts->kind, "only this kind");
  verb->callback([&ctx, opts] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    std::optional<Kind> kind;
    if (!opts->kind.empty() && !(kind = parse_kind(opts->kind)))
      throw InvalidInput("--kind: unknown kind \"" + opts->kind + "\"");
    ExportFormat format = parse_export_format(opts->format).value_or(ExportFormat::ndjson);
    if (opts->out.empty()) {
      export_public(dir.store(), std::cout, format, kind);
      return;
    }
    // Written beside the target and renamed, so a reader never sees half an export.
    std::string tmp = opts->out + ".partial";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp);
    uint64_t n = export_public(dir.store(), out, format, kind);
    out.close();
    if (!out) throw std::runtime_error("cannot write " + tmp);
    std::filesystem::rename(tmp, opts->out);
    std::cerr << "exported " << n << " public records to " << opts->out << "\n";
  });
}

}  // namespace agora::cli
