// agora peer add|list|remove: the peers this node allows and dials.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/net/transport.hpp"
#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"

namespace agora::cli {

using nlohmann::json;

namespace {

PublicKey node_id_arg(const std::string& text, const char* what) {
  auto key = parse_node_id(text);
  if (!key) throw InvalidInput(std::string(what) + ": expected a node id (64 hex digits), got \"" + text + "\"");
  return *key;
}

std::string ago(int64_t ms) {
  if (ms == 0) return "never";
  int64_t s = (now_ms() - ms) / 1000;
  if (s < 120) return std::to_string(s) + " s ago";
  if (s < 7200) return std::to_string(s / 60) + " min ago";
  return std::to_string(s / 3600) + " h ago";
}

// The delegated node key a peer last proved its city with (null: its own id), named as
// the peer's key record held here names it.
json node_key_of(const storage::StoreReader& r, const PublicKey& peer, const std::string& key_hex) {
  auto key = parse_node_id(key_hex);
  if (!key) return nullptr;
  json out = {{"key", key_hex}};
  if (auto g = r.grant(peer, *key)) out["name"] = g->name, out["revoked"] = g->revoked;
  return out;
}

}  // namespace

void register_peer(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand("peer", "the peers this node allows and dials: add, list, remove");
  verb->require_subcommand(1);

  struct AddOptions {
    std::string url, key, relation;
  };
  auto add = std::make_shared<AddOptions>();
  auto* add_cmd = verb->add_subcommand("add", "allow a peer's key and (with a URL) dial it");
  add_data_option(add_cmd, ctx);
  add_cmd
      ->add_option("URL", add->url, "its sync address, ws:// or wss://HOST:PORT/sync (\"-\": accept only, never dial)")
      ->required();
  add_cmd->add_option("--key", add->key, "its node id (from `agora id` on that node)")->required();
  add_cmd->add_option("--relation", add->relation,
                      "a label shown by `peer list` (twin, coalition:NAME or observer); who may read what "
                      "comes from partnership and coalition records, not from this label");
  add_cmd->callback([&ctx, add] {
    PublicKey key = node_id_arg(add->key, "--key");
    if (add->url != "-" && !net::is_peer_url(add->url))
      throw InvalidInput("URL: expected ws://HOST:PORT/sync or wss://HOST:PORT/sync, got \"" + add->url + "\"");
    if (!add->relation.empty() && add->relation != "twin" && add->relation != "observer" &&
        !(add->relation.starts_with("coalition:") && is_valid_coalition_name(add->relation.substr(10))))
      throw InvalidInput("--relation: expected twin, coalition:NAME or observer, got \"" + add->relation + "\"");
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    if (key == dir.id()) throw InvalidInput("--key: that is this node's own id");
    dir.store().env().write([&](storage::WriteTxn& txn) {
      save_peer(dir.store(), txn, PeerConfig{key, add->url == "-" ? "" : add->url, add->relation, now_ms(), ""});
    });
    dir.notify_change();
    std::cout << "peer " << short_node_id(key) << " added" << (add->url == "-" ? "" : " (" + add->url + ")") << "\n";
  });

  auto remove_key = std::make_shared<std::string>();
  auto* rm = verb->add_subcommand("remove", "stop allowing and dialling a peer");
  add_data_option(rm, ctx);
  rm->add_option("NODEID", *remove_key, "the peer's node id")->required();
  rm->callback([&ctx, remove_key] {
    PublicKey key = node_id_arg(*remove_key, "NODEID");
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    bool removed = false;
    dir.store().env().write([&](storage::WriteTxn& txn) { removed = remove_peer(dir.store(), txn, key); });
    if (!removed) throw InvalidInput("peer remove: " + *remove_key + " is not a peer of this node");
    dir.notify_change();
    std::cout << "peer " << short_node_id(key) << " removed\n";
  });

  auto* list = verb->add_subcommand("list", "peers with their state, last contact, records behind, errors, traffic");
  add_data_option(list, ctx);
  add_json_option(list, ctx);
  list->callback([&ctx] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    json out = json::array();
    storage::ReadTxn txn(dir.store().env());
    storage::StoreReader r(dir.store(), txn);
    auto states = load_peer_states(dir.store(), txn);
    auto forks = load_forks(dir.store(), txn);
    std::map<PublicKey, uint64_t> ours;
    for (const auto& h : r.heads()) ours[h.origin] = h.seq;
    for (const auto& p : load_peers(dir.store(), txn)) {
      PeerState st = states.count(p.key) ? states[p.key] : PeerState{};
      json behind = json::object(), ahead = json::object();
      for (const auto& [origin, seq] : ours) {
        uint64_t theirs = st.remote_heads.count(origin) ? st.remote_heads[origin] : 0;
        if (seq > theirs) behind[node_id(origin)] = {{"peer_holds", theirs}, {"we_hold", seq}};
      }
      for (const auto& [origin, seq] : st.remote_heads)
        if (seq > (ours.count(origin) ? ours[origin] : 0))
          ahead[node_id(origin)] = {{"peer_holds", seq}, {"we_hold", ours.count(origin) ? ours[origin] : 0}};
      size_t fork_count = 0;
      for (const auto& f : forks) fork_count += f.reported_by == p.key;
      auto city = city_profile(r, p.key);
      out.push_back({{"node", node_id(p.key)},
                     {"city", city ? json(city->name) : json()},
                     {"url", p.url},
                     {"relation", p.relation},
                     {"state", st.state},
                     {"address", st.address},
                     {"last_contact", st.last_contact_ms ? json(iso8601_utc(st.last_contact_ms)) : json()},
                     {"errors", st.errors},
                     {"last_error", st.last_error},
                     {"node_key", node_key_of(r, p.key, st.node_key)},
                     {"bytes_in", st.bytes_in},
                     {"bytes_out", st.bytes_out},
                     {"records_in", st.records_in},
                     {"records_out", st.records_out},
                     {"peer_lacks", behind},
                     {"we_lack", ahead},
                     {"forks_reported", fork_count}});
    }
    if (ctx.json) {
      json forks_json = json::array();
      for (const auto& f : forks)
        forks_json.push_back({{"origin", node_id(f.origin)},
                              {"seq", f.seq},
                              {"reported_by", node_id(f.reported_by)},
                              {"header", f.header_bytes},
                              {"seen", iso8601_utc(f.seen_ms)}});
      std::cout << json{{"peers", out}, {"forks", forks_json}}.dump(2) << "\n";
      return;
    }
    if (out.empty()) std::cout << "no peers (add one with `agora peer add ws://HOST:PORT/sync --key NODEID`)\n";
    for (const auto& p : out) {
      std::cout << p["node"].get<std::string>().substr(0, 12) << "  "
                << (p["city"].is_null() ? std::string("?") : p["city"].get<std::string>()) << "  "
                << (p["url"].get<std::string>().empty() ? "(inbound only)" : p["url"].get<std::string>()) << "  "
                << (p["relation"].get<std::string>().empty() ? "" : p["relation"].get<std::string>() + "  ")
                << p["state"].get<std::string>() << "\n";
      int64_t last = states.count(parse_node_id(p["node"].get<std::string>()).value())
                         ? states[parse_node_id(p["node"].get<std::string>()).value()].last_contact_ms
                         : 0;
      std::cout << "  last contact " << ago(last) << ", errors " << p["errors"] << ", in " << p["bytes_in"] << " B / "
                << p["records_in"] << " records, out " << p["bytes_out"] << " B / " << p["records_out"] << " records";
      if (p["forks_reported"].get<size_t>()) std::cout << ", FORKS " << p["forks_reported"];
      std::cout << "\n";
      if (!p["node_key"].is_null())
        std::cout << "  proves its city with node key " << p["node_key"]["key"].get<std::string>().substr(0, 12) << " ("
                  << p["node_key"].value("name", std::string("?")) << ")\n";
      if (!p["last_error"].get<std::string>().empty())
        std::cout << "  last error: " << p["last_error"].get<std::string>() << "\n";
      for (auto& [origin, v] : p["peer_lacks"].items())
        std::cout << "  peer holds " << origin.substr(0, 12) << " up to seq " << v["peer_holds"] << " of "
                  << v["we_hold"] << "\n";
      for (auto& [origin, v] : p["we_lack"].items())
        std::cout << "  we hold " << origin.substr(0, 12) << " up to seq " << v["we_hold"] << " of " << v["peer_holds"]
                  << "\n";
    }
  });
}

}  // namespace agora::cli
