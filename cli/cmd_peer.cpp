// agora peer add|list|remove: the peers this node allows and dials.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/net/transport.hpp"
#include "node/local/entitlements.hpp"
#include "node/local/peer_registry.hpp"
#include "storage/stored_record.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "protocol/utf8.hpp"

namespace agora::cli {

using nlohmann::json;

namespace {

PublicKey node_id_arg(const std::string& text, const char* what) {
  auto key = parse_node_id(text);
  if (!key) throw InvalidInput(std::string(what) + ": expected a node id (64 hex digits), got \"" + text + "\"");
  return *key;
}

std::string span(int64_t s) {
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

std::string ago(int64_t ms) {
  if (ms == 0) return "never";
  return span(std::max<int64_t>(0, (now_ms() - ms) / 1000)) + " ago";
}

// When a time to come is: "in 25 s", or "now" once it has passed (a running node dials).
std::string until(int64_t ms) {
  int64_t s = (ms - now_ms() + 999) / 1000;
  return s <= 0 ? "now" : "in " + span(s);
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

// A listed peer by its node id, a prefix of 8 or more digits, or its city's name.
PublicKey listed_peer(DataDir& dir, const std::string& text) {
  if (auto key = parse_node_id(text)) return *key;
  std::string prefix = text;
  for (auto& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool hex = prefix.size() >= 8 && prefix.find_first_not_of("0123456789abcdef") == std::string::npos;
  std::vector<PublicKey> found;
  storage::ReadTxn txn(dir.store().env());
  storage::StoreReader r(dir.store(), txn);
  for (const auto& p : load_peers(dir.store(), txn)) {
    auto city = city_profile(r, p.key);
    if ((hex && node_id(p.key).starts_with(prefix)) || (city && fold_for_match(city->name) == fold_for_match(text)))
      found.push_back(p.key);
  }
  if (found.size() > 1) throw InvalidInput("PEER: \"" + text + "\" names several peers; give more digits");
  if (found.empty())
    throw InvalidInput("PEER: no peer of this node is \"" + text +
                       "\" (a node id, 8 or more of its first digits, or a city name: `agora peer list`)");
  return found.front();
}

// What makes a relation real is records, which `peer add --relation` only labels: the
// ones this city would publish for it, as commands to run (docs/protocol.md, "Visibility").
void propose_relation_records(DataDir& dir, const PublicKey& peer, const std::string& relation) {
  if (relation.empty() || relation == "observer") return;
  std::string me = node_id(dir.id()), them = node_id(peer);
  storage::ReadTxn txn(dir.store().env());
  storage::StoreReader r(dir.store(), txn);
  Entitlements ent = Entitlements::load(r);
  if (relation == "twin") {
    if (ent.twins(dir.id(), peer)) {
      std::cout << "  twin cities already: both cities have published their partnership\n";
      return;
    }
    std::cout << "  to be twin cities (each reads the other's \"partners\" records), both publish a partnership:\n"
              << "    here:    echo '" << json{{"kind", "partnership"}, {"with", them}, {"relation", "twin"}}.dump()
              << "' | agora publish -\n"
              << "    there:   echo '" << json{{"kind", "partnership"}, {"with", me}, {"relation", "twin"}}.dump()
              << "' | agora publish -\n";
    return;
  }
  std::string name = relation.substr(10);  // coalition:NAME
  if (ent.member(name, peer) && ent.member(name, dir.id())) {
    std::cout << "  members of coalition " << name << " already\n";
    return;
  }
  auto lead = ent.coalition_leads().find(name);
  if (lead != ent.coalition_leads().end() && lead->second == dir.id()) {
    std::string record;  // this city's coalition record of that name
    storage::ListQuery q;
    q.kind = Kind::coalition;
    q.origin = dir.id();
    r.list(q, [&](const PublicKey&, std::string_view id, const storage::LatestEntry& latest) {
      auto rec = storage::read_record(r, latest.local);
      auto body = rec ? rec->body_json() : std::nullopt;
      if (body && body->value("name", "") == name) record = std::string(id);
      return record.empty();
    });
    std::cout
        << "  this city leads coalition " << name << ": add " << them << " to the \"members\" of its record ("
        << (record.empty() ? "agora show --as-input" : "agora edit " + record)
        << "), and the member publishes on its node:\n    echo '"
        << json{{"kind", "partnership"}, {"with", me}, {"relation", "coalition-member"}, {"coalition", name}}.dump()
        << "' | agora publish -\n";
    return;
  }
  // The partnership names the coalition's lead: the one this node knows of, else (no
  // coalition record of that name held here yet) this peer, as the likeliest.
  std::string lead_id = lead != ent.coalition_leads().end() ? node_id(lead->second) : them;
  std::cout
      << "  to be a member of coalition " << name << ", this city publishes:\n    echo '"
      << json{{"kind", "partnership"}, {"with", lead_id}, {"relation", "coalition-member"}, {"coalition", name}}.dump()
      << "' | agora publish -\n  and the lead"
      << (lead != ent.coalition_leads().end() ? "" : " (if not this peer, put the lead's id in \"with\")")
      << " adds this city's id " << me << " to the coalition's members\n";
}

PeerConfig peer_to_add(const std::string& url, const std::string& key_text, const std::string& relation) {
  PublicKey key = node_id_arg(key_text, "--key");
  if (url != "-" && !net::is_peer_url(url))
    throw InvalidInput("URL: expected ws://HOST:PORT/sync or wss://HOST:PORT/sync, got \"" + url + "\"");
  if (!relation.empty() && relation != "twin" && relation != "observer" &&
      !(relation.starts_with("coalition:") && is_valid_coalition_name(relation.substr(10))))
    throw InvalidInput("--relation: expected twin, coalition:NAME or observer, got \"" + relation + "\"");
  return PeerConfig{key, url == "-" ? "" : url, relation, now_ms(), ""};
}

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
    PeerConfig peer = peer_to_add(add->url, add->key, add->relation);
    PublicKey key = peer.key;
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    if (key == dir.id()) throw InvalidInput("--key: that is this node's own id");
    dir.store().env().write([&](storage::WriteTxn& txn) { save_peer(dir.store(), txn, peer); });
    dir.notify_change();
    std::cout << "peer " << short_node_id(key) << " added" << (add->url == "-" ? "" : " (" + add->url + ")") << "\n";
    propose_relation_records(dir, key, add->relation);
  });

  auto remove_key = std::make_shared<std::string>();
  auto* rm = verb->add_subcommand("remove", "stop allowing and dialling a peer");
  add_data_option(rm, ctx);
  rm->add_option(
        "PEER", *remove_key,
        "the peer: its node id, 8 or more of its first digits (as `agora peer list` shows), or its city's name")
      ->required();
  rm->callback([&ctx, remove_key] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    PublicKey key = listed_peer(dir, *remove_key);
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
    bool running = dir.node_running();
    if (!running) mark_node_stopped(states);
    auto forks = load_forks(dir.store(), txn);
    json refused = json::array();  // keys that dialled in unlisted, most recent first
    std::vector<int64_t> refused_last;
    {
      auto listed = load_peers(dir.store(), txn);
      auto keys = load_refused_keys(dir.store(), txn);
      for (auto k = keys.rbegin(); k != keys.rend(); ++k) {
        if (std::any_of(listed.begin(), listed.end(), [&](const PeerConfig& p) { return p.key == k->key; })) continue;
        auto city = city_profile(r, k->key);
        refused.push_back({{"node", node_id(k->key)},
                           {"city", city ? json(city->name) : json()},
                           {"address", k->address},
                           {"attempts", k->attempts},
                           {"first", iso8601_utc(k->first_ms)},
                           {"last", iso8601_utc(k->last_ms)},
                           {"allow", "agora peer add - --key " + node_id(k->key)}});
        refused_last.push_back(k->last_ms);
      }
    }
    std::map<PublicKey, uint64_t> ours;
    for (const auto& h : r.heads()) ours[h.origin] = h.seq;
    for (const auto& p : load_peers(dir.store(), txn)) {
      PeerState st = states.count(p.key) ? states[p.key] : PeerState{};
      json behind = json::object(), ahead = json::object();
      // What it lacks is known only from what it said it holds: nothing before a first contact.
      bool heard_from = st.last_contact_ms != 0 || !st.remote_heads.empty();
      for (const auto& [origin, seq] : ours) {
        if (!heard_from) break;
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
                     {"last_error_at", st.last_error_ms ? json(iso8601_utc(st.last_error_ms)) : json()},
                     {"next_dial", st.next_dial_ms && !p.url.empty() ? json(iso8601_utc(st.next_dial_ms)) : json()},
                     {"node_key", node_key_of(r, p.key, st.node_key)},
                     {"protocol", st.protocol ? json(st.protocol) : json()},
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
      std::cout << json{{"node_running", running}, {"peers", out}, {"refused", refused}, {"forks", forks_json}}.dump(2)
                << "\n";
      return;
    }
    if (out.empty()) std::cout << "no peers (add one with `agora peer add ws://HOST:PORT/sync --key NODEID`)\n";
    if (!out.empty() && !running)
      std::cout << "(no node runs on this data dir: what it last saw; `agora serve` connects)\n";
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
      if (!p["protocol"].is_null()) std::cout << ", protocol " << p["protocol"];
      std::cout << "\n";
      if (!p["node_key"].is_null())
        std::cout << "  proves its city with node key " << p["node_key"]["key"].get<std::string>().substr(0, 12) << " ("
                  << p["node_key"].value("name", std::string("?")) << ")\n";
      const PeerState& st = states[parse_node_id(p["node"].get<std::string>()).value()];
      if (!st.last_error.empty()) {
        std::cout << "  " << (st.state == peer_state::kRefused ? "refused our connection" : "last error")
                  << (st.last_error_ms ? " " + ago(st.last_error_ms) : std::string()) << ": " << st.last_error;
        if (st.next_dial_ms && st.state != peer_state::kConnected && !p["url"].get<std::string>().empty())
          std::cout << "; next try " << until(st.next_dial_ms);
        std::cout << "\n";
        if (st.state == peer_state::kRefused && st.last_error.find("does not list your key") != std::string::npos)
          std::cout << "  that node allows this one with: agora peer add - --key " << node_id(dir.id()) << "\n";
      }
      for (auto& [origin, v] : p["peer_lacks"].items())
        std::cout << "  peer holds " << origin.substr(0, 12) << " up to seq " << v["peer_holds"] << " of "
                  << v["we_hold"] << "\n";
      for (auto& [origin, v] : p["we_lack"].items())
        std::cout << "  we hold " << origin.substr(0, 12) << " up to seq " << v["we_hold"] << " of " << v["peer_holds"]
                  << "\n";
    }
    if (!refused.empty()) std::cout << "refused (they dialled in, but this node does not list them):\n";
    for (size_t i = 0; i < refused.size(); ++i) {
      const json& k = refused[i];
      std::cout << "  " << k["node"].get<std::string>().substr(0, 12) << "  "
                << (k["city"].is_null() ? std::string("?") : k["city"].get<std::string>()) << "  from "
                << k["address"].get<std::string>() << ", " << k["attempts"] << " attempts, last "
                << ago(refused_last[i]) << "; allow it with: " << k["allow"].get<std::string>() << "\n";
    }
  });
}

}  // namespace agora::cli
