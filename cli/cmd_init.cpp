// agora init: a new node (key pair, signed city profile) in the data dir.
#include <fstream>
#include <cctype>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "protocol/hex.hpp"
#include "protocol/unicode.hpp"

namespace agora::cli {

void register_init(CLI::App& app, Context& ctx) {
  struct Options {
    std::string city, country, region, name, restore, recovery_out;
    bool observer = false;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand("init", "create a node: key pair and signed city profile; prints the node id");
  add_data_option(verb, ctx);
  verb->add_option("--city", opts->city, "the city's name, as it writes it (e.g. \"Malmö\")");
  verb->add_option("--country", opts->country, "ISO 3166-1 alpha-2 country code (e.g. SE)");
  verb->add_option("--region", opts->region, "region or regional coalition (e.g. Europe)");
  verb->add_flag("--observer", opts->observer, "a node that holds no city (e.g. a research institute)");
  verb->add_option("--name", opts->name, "the observer's name");
  verb->add_option("--recovery-key-out", opts->recovery_out,
                   "where to write the city's recovery key (default: DATA/recovery.key); keep it offline")
      ->excludes("--observer");
  verb->add_option("--restore", opts->restore,
                   "re-create this city's node from its backed-up key file; its records come back from its peers")
      ->check(CLI::ExistingFile);
  verb->callback([&ctx, opts] {
    // Names are kept in NFC, as everything the node signs (protocol/unicode.hpp).
    opts->city = nfc(opts->city), opts->name = nfc(opts->name);
    auto path = DataDir::resolve(ctx.data);
    if (!opts->restore.empty()) {
      if (opts->observer || !opts->city.empty() || !opts->country.empty() || !opts->region.empty())
        throw CLI::ValidationError("--restore",
                                   "takes only the key file: the city's profile comes back from its peers");
      std::ifstream in(opts->restore, std::ios::binary);
      std::string pem((std::istreambuf_iterator<char>(in)), {});
      auto key = SigningKey::from_pem(pem);
      if (!key) throw InvalidInput("--restore: " + opts->restore + " does not hold an Ed25519 private key (node.key)");
      DataDir dir = DataDir::restore(path, std::move(*key));
      std::cout << node_id(dir.id()) << "\n";
      std::cerr << "restoring " << short_node_id(dir.id())
                << ": add the peers that hold this city's records (agora peer add URL --key NODEID) and run "
                   "`agora serve`; publishing resumes once they have sent them back\n";
      return;
    }
    if (opts->observer) {
      if (!opts->city.empty() || !opts->country.empty())
        throw CLI::ValidationError("--observer", "an observer node takes --name, not --city/--country");
      if (opts->name.empty()) throw CLI::RequiredError("--name");
      DataDir dir = DataDir::create(path, NodeRole::observer, opts->name);
      std::cout << node_id(dir.id()) << "\n";
      return;
    }
    if (opts->city.empty()) throw CLI::RequiredError("--city");
    if (opts->country.empty()) throw CLI::RequiredError("--country");
    // "se" as "SE": the code's case carries nothing (a profile is signed with it in capitals).
    if (opts->country.size() == 2)
      for (auto& c : opts->country) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    nlohmann::json profile = {{"kind", "city"}, {"name", opts->city}, {"country", opts->country}};
    if (!opts->region.empty()) profile["region"] = opts->region;
    // Validate before anything touches the disk: bad input changes nothing.
    auto input = validate_input(profile, PublisherIdentity{});
    if (!input) throw InvalidInput("init: " + input.error().to_string());
    // The recovery key: its hash goes into the genesis record, the key itself offline.
    std::filesystem::path recovery_file =
        opts->recovery_out.empty() ? path / "recovery.key" : std::filesystem::path(opts->recovery_out);
    if (std::filesystem::exists(path / "node.key") || std::filesystem::exists(path / "node.json"))
      throw InvalidInput("data dir " + path.string() + " already holds a node; init changes nothing");
    if (std::filesystem::exists(recovery_file))
      throw InvalidInput("--recovery-key-out: " + recovery_file.string() + " already exists; init changes nothing");
    SigningKey recovery = SigningKey::generate();
    profile["recovery"] = to_hex(recovery_commitment(recovery.public_key()));
    input = validate_input(profile, PublisherIdentity{});
    if (!input) throw InvalidInput("init: " + input.error().to_string());
    DataDir dir = DataDir::create(path, NodeRole::city, opts->city);
    write_new_key_file(recovery_file, recovery);
    Publisher(dir).publish({input.value()});
    // The node signs with a key of its own, delegated by the root key (the city id), which
    // then leaves the node's key file: DATA/root.key, to be moved offline.
    SigningKey node_key = SigningKey::generate();
    KeyGrant grant;
    grant.key = node_key.public_key();
    grant.name = "node key " + iso8601_utc(now_ms()).substr(0, 16) + "Z";
    grant.role = KeyRole::node;
    Publisher(dir).publish_key(grant);
    auto root_file = dir.install_node_key(node_key);
    std::cout << node_id(dir.id()) << "\n";
    std::cerr << "city " << short_node_id(dir.id()) << " created with three keys (docs/identity.md):\n"
              << "  node key      " << (path / "node.key").string() << "  stays here: the node signs with it\n"
              << "  root key      " << (root_file ? root_file->string() : std::string("?"))
              << "  delegates and revokes keys: move it off this machine, use it with agora --key FILE key …\n"
              << "  recovery key  " << recovery_file.string()
              << "  replaces a lost or stolen root key (agora key recover): keep it offline, apart from the root "
                 "key\n"
              << "next steps:\n"
              << "  1. copy " << (root_file ? root_file->string() : std::string("root.key")) << " and "
              << recovery_file.string()
              << " to two separate offline places (an encrypted USB stick, the city's safe),\n"
                 "     then delete them here; without them a lost or stolen node key cannot be replaced\n"
              << "  2. describe a practice: agora new practice --out practice.json, edit it, agora publish "
                 "practice.json\n"
              << "  3. run the node (agora serve; as a service: docs/operations.md) and add partner cities:\n"
                 "     agora peer add ws://HOST:7400/sync --key THEIR-NODE-ID (they run: agora peer add - --key "
              << node_id(dir.id()) << ")\n";
  });
}

}  // namespace agora::cli
