// agora block ID / unblock ID / block --list: ids (cities, peers) this node refuses: their
// records are neither stored nor relayed, their connections refused and never dialled.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"

namespace agora::cli {

namespace {

// A node id, a unique prefix of one, or a city name this node knows.
PublicKey resolve_id(DataDir& dir, const std::string& text) {
  auto key = dir.store().read([&](const storage::StoreReader& r) { return resolve_city(r, text); });
  if (!key) throw InvalidInput("\"" + text + "\" is not a node id (64 hex digits) nor a city this node knows");
  return *key;
}

}  // namespace

void register_block(CLI::App& app, Context& ctx) {
  struct Options {
    std::string id, reason;
    bool list = false;
  };
  auto o = std::make_shared<Options>();
  auto* verb = app.add_subcommand(
      "block", "refuse a city or peer: its records are neither stored nor relayed, its connections refused");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  auto* id = verb->add_option("ID", o->id, "node id (or a unique prefix, or a city name this node knows)");
  verb->add_option("--reason", o->reason, "why (shown by block --list)");
  verb->add_flag("--list", o->list, "the ids this node blocks")->excludes(id);
  verb->callback([&ctx, o] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    if (o->list || o->id.empty()) {
      std::vector<Block> blocks;
      {
        storage::ReadTxn txn(dir.store().env());
        blocks = load_blocks(dir.store(), txn);
      }
      if (ctx.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& b : blocks)
          out.push_back({{"id", node_id(b.key)}, {"reason", b.reason}, {"since", iso8601_utc(b.since_ms)}});
        std::cout << out.dump(2) << "\n";
        return;
      }
      if (blocks.empty()) std::cout << "no blocked ids\n";
      for (const auto& b : blocks)
        std::cout << node_id(b.key) << "  since " << iso8601_utc(b.since_ms).substr(0, 10)
                  << (b.reason.empty() ? "" : "  " + b.reason) << "\n";
      return;
    }
    PublicKey key = resolve_id(dir, o->id);
    if (key == dir.id()) throw InvalidInput("block: " + short_node_id(key) + " is this node's own city");
    dir.store().env().write([&](storage::WriteTxn& txn) {
      // Blocking again keeps the first date, and the reason unless a new one is given.
      Block block{key, o->reason, now_ms()};
      for (const auto& b : load_blocks(dir.store(), txn))
        if (b.key == key) block.since_ms = b.since_ms, block.reason = o->reason.empty() ? b.reason : o->reason;
      save_block(dir.store(), txn, block);
    });
    dir.notify_change();
    std::cout << "blocked " << short_node_id(key)
              << ": its records are no longer stored or relayed here, its connections refused\n";
  });

  auto unblock_id = std::make_shared<std::string>();
  auto* unblock = app.add_subcommand("unblock", "undo agora block");
  add_data_option(unblock, ctx);
  unblock->add_option("ID", *unblock_id, "node id (or a unique prefix, or a city name this node knows)")->required();
  unblock->callback([&ctx, unblock_id] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    PublicKey key = resolve_id(dir, *unblock_id);
    bool removed = false;
    dir.store().env().write([&](storage::WriteTxn& txn) { removed = remove_block(dir.store(), txn, key); });
    if (!removed) throw InvalidInput("unblock: " + short_node_id(key) + " is not blocked");
    dir.notify_change();
    std::cout << "unblocked " << short_node_id(key) << "\n";
  });
}

}  // namespace agora::cli
