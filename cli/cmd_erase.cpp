// agora erase REF: a signed erasure of versions of one of this city's records (their bodies
// go from every node; the signed headers stay, so chains still verify).
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"

namespace agora::cli {

namespace {

std::string version_list(const std::vector<uint32_t>& versions) {
  std::string out;
  for (uint32_t v : versions) out += (out.empty() ? "v" : ", v") + std::to_string(v);
  return out;
}

}  // namespace

void register_erase(CLI::App& app, Context& ctx) {
  struct Options {
    std::string ref, reason;
    uint32_t version = 0;
    bool all = false;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand(
      "erase", "publish a signed erasure: the text of a record's versions goes from every node (retract keeps it)");
  add_data_option(verb, ctx);
  verb->add_option("REF", opts->ref, "ID (or ORIGIN/ID naming this city)")->required();
  auto* one = verb->add_option("--version", opts->version, "erase this version only (default: the current one)")
                  ->check(whole_number_in(1, 1LL << 30));
  verb->add_flag("--all-versions", opts->all, "erase every version that still holds text")->excludes(one);
  verb->add_option("--reason", opts->reason, "why (shown with the erased versions, on every node)")->required();
  verb->callback([&ctx, opts] {
    DataDir dir = open_to_publish(ctx);
    auto [origin, id] =
        dir.store().read([&](const storage::StoreReader& r) { return resolve_ref(r, dir.id(), opts->ref); });
    if (origin != dir.id())
      throw InvalidInput("erase: \"" + opts->ref + "\" belongs to another city; a city erases only its own records");
    ErasureRequest request;
    request.id = id;
    if (opts->version) request.version = opts->version;
    request.all_versions = opts->all;
    request.reason = opts->reason;
    ErasureResult result = Publisher(dir).erase(request);
    std::cout << kind_name(result.target_kind) << " " << id << ": " << version_list(result.erased) << " erased (as "
              << result.record.id << ", seq " << result.record.seq << ")\n";
    if (!result.kept.empty())
      std::cout << "still holding text: " << version_list(result.kept) << " (agora erase " << id
                << " --all-versions erases them too)\n";
  });
}

}  // namespace agora::cli
