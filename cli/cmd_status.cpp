// agora status: what this node is and holds.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/search/search_index.hpp"
#include "protocol/release.hpp"

namespace agora::cli {

namespace fs = std::filesystem;

static uint64_t dir_bytes(const fs::path& p) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto& e : fs::recursive_directory_iterator(p, ec))
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

void register_status(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand(
      "status", "show this node: identity, records held per kind and origin, store size, search index progress");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->callback([&ctx] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    nlohmann::json s;
    s["node"] = node_id(dir.id());
    s["role"] = dir.role() == NodeRole::city ? "city" : "observer";
    s["data_dir"] = dir.path().string();
    s["store_bytes"] = dir_bytes(dir.path() / "store");
    s["store_format"] = dir.store().opened_format().format;
    if (dir.store().pending_migration()) s["store_migrates_to"] = storage::kStoreFormatVersion;
    s["restoring"] = dir.restoring();
    dir.store().read([&](const storage::StoreReader& r) {
      if (auto p = city_profile(r, dir.id()))
        s["city"] = {{"name", p->name}, {"country", p->country}, {"region", p->region}};
      else
        s["name"] = dir.name();
      nlohmann::json kinds = nlohmann::json::object();
      for (int k = 1; k <= kKindCount; ++k) kinds[kind_name(Kind(k))] = r.count_latest(Kind(k));
      s["records"] = kinds;
      s["log_length"] = r.last_local();
      nlohmann::json origins = nlohmann::json::array();
      for (const auto& h : r.heads()) {
        auto p = city_profile(r, h.origin);
        origins.push_back(
            {{"origin", node_id(h.origin)}, {"city", p ? nlohmann::json(p->name) : nlohmann::json()}, {"seq", h.seq}});
      }
      s["origins"] = origins;
      return 0;
    });
    // The search index is derived: how far it has read the log (a running node writes it).
    // "none": DATA/search does not exist (never built, or the node runs with --no-index).
    nlohmann::json index = {{"state", "none"}, {"indexed", 0}, {"of", s["log_length"]}, {"behind", s["log_length"]}};
    try {
      if (auto reader = SearchIndex::open_readonly(dir)) {
        uint64_t at = std::min<uint64_t>(reader->position(), s["log_length"].get<uint64_t>());
        index = {{"state", reader->complete() ? "ready" : "building"},
                 {"indexed", at},
                 {"of", s["log_length"]},
                 {"behind", s["log_length"].get<uint64_t>() - at}};
      }
    } catch (const std::exception& e) {
      index = {{"state", "unreadable"},
               {"indexed", 0},
               {"of", s["log_length"]},
               {"behind", s["log_length"]},
               {"error", e.what()}};
    }
    s["search_index"] = index;
    if (ctx.json) {
      std::cout << s.dump(2) << "\n";
      return;
    }
    std::cout << "node      " << s["node"].get<std::string>() << "\n";
    if (s.contains("city"))
      std::cout << "city      " << s["city"]["name"].get<std::string>() << " ("
                << s["city"]["country"].get<std::string>()
                << (s["city"]["region"].get<std::string>().empty() ? "" : ", " + s["city"]["region"].get<std::string>())
                << ")\n";
    else if (s["role"] == "city")
      std::cout << "city      (its profile has not come back from a peer yet)\n";
    else
      std::cout << "observer  " << dir.name() << "\n";
    if (s["restoring"].get<bool>())
      std::cout << "restoring its own records from its peers (init --restore): publishing waits until `agora serve` "
                   "has them\n";
    std::cout << "data dir  " << dir.path().string() << " (store " << s["store_bytes"].get<uint64_t>() / 1024
              << " KiB, format " << s["store_format"].get<uint32_t>()
              << (dir.store().pending_migration() ? std::string("; agora ") + kRelease + " migrates it to format " +
                                                        std::to_string(storage::kStoreFormatVersion) +
                                                        " when `agora serve` or a command that writes opens it"
                                                  : std::string())
              << ")\n";
    if (index["state"] == "ready" || index["state"] == "building")
      std::cout << "search    " << index["state"].get<std::string>() << ", " << index["indexed"].get<uint64_t>()
                << " of " << index["of"].get<uint64_t>() << " log entries indexed (" << index["behind"].get<uint64_t>()
                << " behind)\n";
    else
      std::cout << "search    " << index["state"].get<std::string>()
                << " (no index in this data dir: `agora serve` builds it, unless run with --no-index; lists "
                   "answer from the store meanwhile)\n";
    std::cout << "records  ";
    for (auto& [k, n] : s["records"].items()) std::cout << " " << k << " " << n.get<uint64_t>();
    std::cout << "\n";
    for (const auto& o : s["origins"])
      std::cout << "origin    " << o["origin"].get<std::string>().substr(0, 12) << "  "
                << (o["city"].is_null() ? "?" : o["city"].get<std::string>()) << "  up to seq "
                << o["seq"].get<uint64_t>() << "\n";
  });
}

}  // namespace agora::cli
