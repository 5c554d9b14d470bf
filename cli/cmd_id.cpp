// agora id: the node id, one line.
#include <iostream>

#include "cli/cli_support.hpp"

namespace agora::cli {

void register_id(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand("id", "print this node's id (its Ed25519 public key, 64 hex digits)");
  add_data_option(verb, ctx);
  verb->callback([&ctx] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    std::cout << node_id(dir.id()) << "\n";
  });
}

}  // namespace agora::cli
