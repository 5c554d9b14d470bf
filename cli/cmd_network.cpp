// agora network: coalitions, twin cities and peers as the records held here declare them.
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/monitoring/network_view.hpp"

namespace agora::cli {

void register_network(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand(
      "network",
      "the network as this node's records declare it: coalitions (lead, framework, members), twin cities, peers");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->callback([&ctx] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    storage::ReadTxn txn(dir.store().env());
    storage::StoreReader r(dir.store(), txn);
    Entitlements entitlements = Entitlements::load(r);
    auto peers = load_peers(dir.store(), txn);
    auto states = load_peer_states(dir.store(), txn);
    auto forks = load_forks(dir.store(), txn);
    nlohmann::json view = network_view({r, entitlements, dir.id(), peers, states, forks});
    if (ctx.json)
      std::cout << view.dump(2) << "\n";
    else
      std::cout << network_text(view);
  });
}

}  // namespace agora::cli
