// agora verify: re-check every signature and hash chain in the store.
#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/verifier.hpp"

namespace agora::cli {

void register_verify(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand("verify", "re-check every signature and chain; exit 0 only when all hold");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->callback([&ctx] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    auto start = std::chrono::steady_clock::now();
    VerifyReport report = verify_store(dir.store());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!report.ok()) ctx.exit_code = kExitFailure;
    if (ctx.json) {
      nlohmann::json j = {{"ok", report.ok()},
                          {"records", report.records},
                          {"origins", report.origins},
                          {"stubs", report.stubs},
                          {"problems", report.problems},
                          {"problem_count", report.problem_count},
                          {"set_aside", report.set_aside},
                          {"seconds", secs}};
      std::cout << j.dump() << "\n";
      return;
    }
    for (const auto& p : report.problems) std::cerr << "error: " << p << "\n";
    if (report.ok())
      std::printf("verified %llu records from %llu origins: every signature and chain holds (%.1f s, %.0f records/s)\n",
                  (unsigned long long)report.records, (unsigned long long)report.origins, secs,
                  secs > 0 ? report.records / secs : 0.0);
    if (report.ok() && report.set_aside)
      std::printf("%llu of them set aside by a recovery: kept as evidence, outside the chains\n",
                  (unsigned long long)report.set_aside);
    if (!report.ok())
      std::printf("verify found %llu problems in %llu records\n", (unsigned long long)report.problem_count,
                  (unsigned long long)report.records);
  });
}

}  // namespace agora::cli
