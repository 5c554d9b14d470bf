// agora retract REF: a signed tombstone for one of this city's records.
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"

namespace agora::cli {

void register_retract(CLI::App& app, Context& ctx) {
  auto ref = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  auto* verb = app.add_subcommand(
      "retract", "publish a signed tombstone for one of this city's records (its history stays readable)");
  add_data_option(verb, ctx);
  verb->add_option("REF", *ref, "ID (or ORIGIN/ID naming this city)")->required();
  auto* reason_option =
      verb->add_option("--reason", *reason, "why (shown with the retraction wherever the record's history is read)");
  verb->callback([&ctx, ref, reason, reason_option] {
    if (reason_option->count() && reason->empty())
      throw InvalidInput("retract: --reason: say why, or leave --reason out");
    DataDir dir = open_to_publish(ctx);
    auto [origin, id] = dir.store().read([&](const storage::StoreReader& r) { return resolve_ref(r, dir.id(), *ref); });
    if (origin != dir.id())
      throw InvalidInput("retract: \"" + *ref + "\" belongs to another city; a city retracts only its own records");
    auto result = Publisher(dir).retract(id, *reason);
    std::cout << kind_name(result.kind) << " " << result.id << " v" << result.version << " retracted"
              << (reason->empty() ? "" : " (reason published with it)") << "\n";
  });
}

}  // namespace agora::cli
