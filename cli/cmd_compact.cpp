// agora compact: rewrites a stopped node's store and search index without their free
// space, so that erased text is gone from the disk (docs/operations.md).
#include <cstdio>

#include "cli/cli_support.hpp"
#include "node/local/compaction.hpp"
#include "node/search/search_index.hpp"

namespace agora::cli {

void register_compact(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand(
      "compact", "rewrite a stopped node's store and search index with only live data (after erasures)");
  add_data_option(verb, ctx);
  verb->callback([&ctx] {
    auto report = compact_data_dir(DataDir::resolve(ctx.data), SearchIndex::compact_files);
    auto mib = [](uint64_t b) { return static_cast<double>(b) / (1 << 20); };
    std::printf("compacted: store %.1f -> %.1f MiB", mib(report.store_before), mib(report.store_after));
    if (report.index_before)
      std::printf(", search index %.1f -> %.1f MiB", mib(report.index_before), mib(report.index_after));
    std::printf("\n");
  });
}

}  // namespace agora::cli
