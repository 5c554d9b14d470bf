// agora invite / agora join: two cities become peers through one string.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/invitations.hpp"
#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "node/net/transport.hpp"
#include "protocol/record.hpp"

namespace agora::cli {

namespace {

// --expires: a number of days, hours, minutes or seconds ("7d", "12h", "30m", "90s").
int64_t duration_ms(const std::string& text) {
  static constexpr std::pair<char, int64_t> kUnits[] = {
      {'d', 86'400'000}, {'h', 3'600'000}, {'m', 60'000}, {'s', 1000}};
  if (text.size() >= 2 && text.size() <= 6 && text.find_first_not_of("0123456789") == text.size() - 1)
    for (auto [unit, ms] : kUnits)
      if (text.back() == unit) return std::stoll(text.substr(0, text.size() - 1)) * ms;
  throw InvalidInput("--expires: expected a number of days, hours, minutes or seconds (7d, 12h, 30m), got \"" + text +
                     "\"");
}

void check_relation(const std::string& relation) {
  if (!relation.empty() && relation != "twin" &&
      !(relation.starts_with("coalition:") && is_valid_coalition_name(relation.substr(10))))
    throw InvalidInput("--relation: expected twin or coalition:NAME, got \"" + relation + "\"");
}

// What each coordinator publishes to confirm the relation an invitation proposed.
std::string partnership_hint(const std::string& relation, const PublicKey& other) {
  nlohmann::json p = {{"kind", "partnership"}, {"with", node_id(other)}};
  if (relation == "twin") {
    p["relation"] = "twin";
  } else {
    p["relation"] = "coalition-member";
    p["coalition"] = relation.substr(10);
  }
  return "agora publish - <<< '" + p.dump() + "'";
}

}  // namespace

void register_invite(CLI::App& app, Context& ctx) {
  struct Options {
    std::string url, relation, expires = "7d";
  };
  auto o = std::make_shared<Options>();
  auto* verb = app.add_subcommand("invite", "print a one-time invitation another city's node joins with (agora join)");
  add_data_option(verb, ctx);
  verb->add_option("--url", o->url, "the address other nodes dial this node at: ws://HOST:PORT/sync or wss://…")
      ->required();
  verb->add_option("--relation", o->relation, "twin or coalition:NAME: proposes that relation to both coordinators");
  verb->add_option("--expires", o->expires, "how long it may be used: 7d (default), 12h, 30m");
  verb->callback([&ctx, o] {
    if (!net::is_peer_url(o->url))
      throw InvalidInput("--url: expected ws://HOST:PORT/sync or wss://HOST:PORT/sync, got \"" + o->url + "\"");
    check_relation(o->relation);
    int64_t valid_for = duration_ms(o->expires);
    if (valid_for <= 0) throw InvalidInput("--expires: must be more than 0");
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    InvitationRecord record;
    record.created_ms = now_ms();
    record.expires_ms = record.created_ms + valid_for;
    Invitation inv{o->url, dir.id(), new_invitation_secret(), o->relation, record.expires_ms};
    record.relation = o->relation;
    dir.store().env().write([&](storage::WriteTxn& txn) { save_invitation(dir.store(), txn, inv.secret, record); });
    std::cout << encode_invitation(inv) << "\n";
    std::cerr << "valid once, until " << iso8601_utc(record.expires_ms)
              << "; the other city runs: agora join STRING (this node must be serving at " << o->url << ")\n";
  });

  auto text = std::make_shared<std::string>();
  auto* join = app.add_subcommand("join", "become peers with the city whose invitation this is (agora invite)");
  add_data_option(join, ctx);
  join->add_option("STRING", *text, "the invitation, as `agora invite` printed it")->required();
  join->callback([&ctx, text] {
    auto inv = decode_invitation(*text);
    if (!inv) throw InvalidInput(inv.error().to_string());
    const Invitation& i = inv.value();
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    if (i.city == dir.id()) throw InvalidInput("invitation: it is this node's own; give it to the other city");
    if (i.expires_ms && i.expires_ms <= now_ms())
      throw InvalidInput("invitation: expired on " + iso8601_utc(i.expires_ms) + "; ask the other city for a new one");
    PeerConfig config{i.city, i.url, i.relation, now_ms(), i.secret};
    dir.store().env().write([&](storage::WriteTxn& txn) {
      if (auto held = find_peer(dir.store(), txn, i.city); held && config.relation.empty())
        config.relation = held->relation;
      save_peer(dir.store(), txn, config);
    });
    dir.notify_change();
    std::cout << "peer " << short_node_id(i.city) << " added (" << i.url << ")"
              << (i.relation.empty() ? "" : ", " + i.relation) << "\n";
    std::cerr << "the invitation is presented at the next connection (`agora serve` must run); `agora peer list` "
                 "shows the outcome\n";
    if (!i.relation.empty())
      std::cerr << "to confirm the " << i.relation
                << " relation, each coordinator publishes a partnership record; here:\n  "
                << partnership_hint(i.relation, i.city) << "\n";
  });
}

}  // namespace agora::cli
