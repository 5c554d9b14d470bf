// agora publish FILE|-: validate, sign and store one input record.
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/frameworks.hpp"
#include "node/local/publisher.hpp"

namespace agora::cli {

void register_publish(CLI::App& app, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto revive = std::make_shared<bool>(false);
  auto* verb =
      app.add_subcommand("publish", "validate, sign and store one input record (JSON); prints KIND ID vVERSION");
  add_data_option(verb, ctx);
  verb->add_option("FILE", *file, "the record as a JSON file, or - for standard input")->required();
  verb->add_flag("--revive", *revive, "bring back a record that was retracted or erased (else refused, exit 3)");
  verb->callback([&ctx, file, revive] {
    if (!ctx.remote.empty()) {
      ctx.exit_code = publish_remotely(ctx, read_input(*file), *revive);
      return;
    }
    DataDir dir = open_to_publish(ctx);
    std::string text = read_input(*file);
    std::string name = *file == "-" ? "<stdin>" : *file;
    const FrameworkCatalog frameworks = load_frameworks(dir.store());
    auto input = parse_and_validate_input(text, dir.identity(), frameworks);
    if (!input) refuse_input(name, text, dir.identity(), frameworks);
    // The city profile is the root's (or an admin's) to sign: with no --key, the root key
    // while it is still on this machine (docs/identity.md).
    if (input.value().kind == Kind::city && ctx.key_file.empty() && std::filesystem::exists(dir.path() / "root.key"))
      dir.sign_with(DataDir::read_key_file(dir.path() / "root.key"));
    auto result = Publisher(dir).allow_revive(*revive).publish({input.value()}).front();
    std::cout << kind_name(result.kind) << " " << result.id << " v" << result.version
              << (result.unchanged ? " (unchanged)" : "") << "\n";
  });
}

}  // namespace agora::cli
