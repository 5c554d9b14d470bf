// agora demo: the six cities of the 2007 Copenhagen workshop as a network on this machine.
#include <iostream>

#include "cli/cli_support.hpp"
#include "cli/demo_network.hpp"

namespace agora::cli {

void register_demo(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<DemoOptions>();
  auto* verb = app.add_subcommand(
      "demo", "six city nodes (The Hague, Copenhagen, Lyon, Malmö, Toronto, Johannesburg) syncing on this machine");
  verb->add_option("--data", ctx.data, "directory holding the six nodes' data dirs (default ./agora-demo)");
  verb->add_option("--sync-base", opts->sync_base, "first of six sync ports (default 7401)")
      ->check(whole_number_in(1, 65530));
  verb->add_option("--http-base", opts->http_base, "first of six HTTP ports (default 8081)")
      ->check(whole_number_in(1, 65530));
  verb->add_flag("--any-ports", opts->any_ports, "use any free ports instead");
  verb->add_flag("--fresh", opts->fresh, "start over: new keys and data (the default reuses the last run's)");
  verb->callback([&ctx, opts] {
    opts->root = ctx.data.empty() ? std::filesystem::path("agora-demo") : std::filesystem::path(ctx.data);
    DemoNetwork network(*opts, std::cout);
    ctx.exit_code = network.run();
  });
}

}  // namespace agora::cli
