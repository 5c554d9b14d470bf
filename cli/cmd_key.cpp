// agora key …: the city's delegated keys — generate, add (delegate), list, revoke.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "protocol/hex.hpp"
#include "protocol/input_schema.hpp"
#include "protocol/utf8.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// --expires: YYYY-MM-DD, or a number of days from today ("90d").
std::string expiry_date(const std::string& text) {
  if (text.empty()) return {};
  if (text.size() >= 2 && text.back() == 'd' && text.find_first_not_of("0123456789") == text.size() - 1 &&
      text.size() <= 6) {
    using namespace std::chrono;
    auto day = floor<days>(system_clock::now()) + days(std::stoi(text.substr(0, text.size() - 1)));
    year_month_day ymd(day);
    char out[16];
    std::snprintf(out, sizeof out, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()));
    return out;
  }
  if (!is_calendar_date(text))
    throw InvalidInput("--expires: expected YYYY-MM-DD or a number of days (90d), got \"" + text + "\"");
  if (text < iso8601_utc(now_ms()).substr(0, 10)) throw InvalidInput("--expires: " + text + " is already past");
  return text;
}

std::string status_of(const KeyGrant& g) {
  if (g.revoked) return g.role == KeyRole::root ? "retired" : "revoked";
  if (!g.expires.empty()) {
    std::string today = iso8601_utc(now_ms()).substr(0, 10);
    if (today > g.expires) return "expired";
  }
  return "active";
}

// The delegated key KEYID names: all 64 hex digits, or a prefix of at least 8 naming one.
KeyGrant find_grant(DataDir& dir, std::string keyid) {
  for (auto& c : keyid) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (keyid.size() >= 8 && node_id(dir.id()).starts_with(keyid))
    throw InvalidInput("KEYID: " + keyid + " is the city's root key, the city itself: it is never revoked");
  if (keyid.size() < 8 || keyid.size() > 64 || keyid.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw InvalidInput("KEYID: expected 8-64 lowercase hex digits of a key (`agora key list`), got \"" + keyid + "\"");
  auto grants = dir.store().read([&](const storage::StoreReader& r) { return r.grants(dir.id()); });
  std::vector<KeyGrant> found;
  for (const auto& g : grants)
    if (to_hex(g.key).starts_with(keyid)) found.push_back(g);
  if (found.empty()) throw InvalidInput("KEYID: this city has delegated no key " + keyid + " (`agora key list`)");
  if (found.size() > 1) throw InvalidInput("KEYID: " + keyid + " names several keys; give more digits");
  return found.front();
}

// --compromised-since: a seq of this city's chain, or the first record at or after a time
// (its seq - 1).
// `through_head`: the point may be the last record held (a recovery that sets aside nothing
// here, only the branch other nodes hold after it).
uint64_t compromise_point(DataDir& dir, const std::string& text, bool through_head = false) {
  uint64_t head = dir.store().read([&](const storage::StoreReader& r) {
    auto h = r.head(dir.id());
    return h ? h->seq : uint64_t{0};
  });
  uint64_t seq = 0;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 15) {
    seq = std::stoull(text);
  } else {
    if (text.size() < 10 || !is_calendar_date(text.substr(0, 10)))
      throw InvalidInput("--compromised-since: expected a seq or a time YYYY-MM-DD[THH:MM:SSZ], got \"" + text + "\"");
    std::string when = text.size() == 10 ? text + "T00:00:00.000Z" : text;
    seq = head;
    dir.store().read([&](const storage::StoreReader& r) {
      for (uint64_t s = 1; s <= head; ++s)
        if (auto v = r.at(dir.id(), s))
          if (auto h = decode_header(v->header_bytes); h && iso8601_utc(h.value().ts) >= when) {
            seq = s - 1;
            break;
          }
      return 0;
    });
  }
  if (seq > head || (seq == head && !through_head))
    throw InvalidInput("--compromised-since: this city's chain ends at seq " + std::to_string(head));
  return std::max<uint64_t>(seq, 1);
}

// Whether the key this process signs with has the root's powers in the city's chain: the
// genesis key while it is not retired, or a root key `key rotate-root`/`key recover` granted.
bool signs_as_root(DataDir& dir) {
  const PublicKey signer = dir.signing_key().public_key();
  auto g = dir.store().read([&](const storage::StoreReader& r) { return r.grant(dir.id(), signer); });
  if (signer == dir.id()) return !g || !g->revoked;
  return g && g->role == KeyRole::root && !g->revoked;
}

std::string root_hint(DataDir& dir) {
  return "run it with the root key: agora --key " + (dir.path() / "root.key").string() +
         " … (or wherever the root key is kept)";
}

// Opens the data dir to sign key records: with --key FILE, else with DATA/root.key when the
// root key is still on this machine, else with the node's key (which a root key must be).
DataDir open_as_root(const Context& ctx) {
  DataDir dir = open_to_publish(ctx);
  if (ctx.key_file.empty() && fs::exists(dir.path() / "root.key"))
    dir.sign_with(DataDir::read_key_file(dir.path() / "root.key"));
  else if (ctx.key_file.empty() && dir.delegated_key())
    throw InvalidInput("the root key is not on this machine (" + (dir.path() / "root.key").string() +
                       "): run it with the root key or an admin key: agora --key FILE key …");
  return dir;
}

// Delegates a fresh node key with the key in use (a root key), revokes every other node key,
// and installs it as this node's key. Returns the new key's delegation and the last revocation.
std::pair<PublishResult, std::optional<PublishResult>> new_node_key(DataDir& dir, const std::string& expires,
                                                                    SigningKey& fresh) {
  KeyGrant g;
  g.key = fresh.public_key();
  g.name = "node key " + iso8601_utc(now_ms()).substr(0, 16) + "Z";
  g.role = KeyRole::node;
  g.expires = expires;
  auto delegated = Publisher(dir).publish_key(g);
  // One node key at a time: every earlier one signs nothing more (the one this node held,
  // or, after a restore from the root key, the one lost with the old machine).
  std::optional<PublishResult> revoked;
  auto earlier = dir.store().read([&](const storage::StoreReader& r) { return r.grants(dir.id()); });
  for (auto& grant : earlier)
    if (grant.role == KeyRole::node && !grant.revoked && grant.key != fresh.public_key()) {
      grant.revoked = true;
      revoked = Publisher(dir).publish_key(grant);
    }
  return {delegated, revoked};
}

}  // namespace

void register_key(CLI::App& app, Context& ctx) {
  auto* verb =
      app.add_subcommand("key", "the city's delegated keys: staff and node keys with roles (docs/identity.md)");
  verb->require_subcommand(1);

  auto gen_file = std::make_shared<std::string>();
  auto* gen =
      verb->add_subcommand("generate", "create a new private key file here (e.g. on a laptop) and print its id");
  gen->add_option("FILE", *gen_file, "the key file to create (mode 0600; never overwritten)")->required();
  gen->callback([gen_file] {
    SigningKey key = SigningKey::generate();
    write_new_key_file(*gen_file, key);
    std::cout << node_id(key.public_key()) << "\n";
    std::cerr << "key file " << *gen_file
              << " created; have the city delegate it: agora key add NAME --role R --public "
              << node_id(key.public_key()) << "\n";
  });

  struct AddOptions {
    std::string name, role, expires, public_key, out;
  };
  auto a = std::make_shared<AddOptions>();
  auto* add = verb->add_subcommand("add", "delegate a key to a member of staff or a machine, with a role");
  add_data_option(add, ctx);
  add->add_option("NAME", a->name, "who or what holds the key (\"Ana Silva, laptop\")")->required();
  add->add_option("--role", a->role, "admin, publisher, reporter or node")->required();
  add->add_option("--expires", a->expires, "last day it may sign: YYYY-MM-DD, or days from today (90d)");
  add->add_option("--public", a->public_key, "delegate this existing key (its id from `agora key generate`)");
  add->add_option("--out", a->out, "where to write a new private key (default: DATA/keys/NAME-ID.key)");
  add->callback([&ctx, a] {
    auto role = parse_key_role(a->role);
    if (!role) {
      std::string msg = "--role: unknown role \"" + a->role + "\"";
      if (auto near = nearest(a->role, key_role_names())) msg += "; did you mean \"" + *near + "\"?";
      throw InvalidInput(msg + " (admin, publisher, reporter, node)");
    }
    if (*role == KeyRole::root) throw InvalidInput("--role root: a root key comes from `agora key rotate-root`");
    if (!a->public_key.empty() && !a->out.empty()) throw InvalidInput("--out: not with --public (no key is created)");
    DataDir dir = open_as_root(ctx);
    KeyGrant g;
    g.name = a->name;
    g.role = *role;
    g.expires = expiry_date(a->expires);
    std::optional<fs::path> created;
    if (!a->public_key.empty()) {
      for (auto& c : a->public_key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto key = parse_node_id(a->public_key);
      if (!key || a->public_key.size() != 64)
        throw InvalidInput("--public: expected a key id (64 lowercase hex digits), got \"" + a->public_key + "\"");
      g.key = *key;
      if (g.key == dir.id()) throw InvalidInput("--public: that is the city's root key, which needs no delegation");
      auto held = dir.store().read([&](const storage::StoreReader& r) { return r.grant(dir.id(), g.key); });
      if (held)
        throw InvalidInput("--public: key " + short_node_id(g.key) + " is already delegated (" + held->name + ", " +
                           std::string(key_role_name(held->role)) + (held->revoked ? ", revoked" : "") +
                           "); to change its role or expiry, revoke it and delegate a new key");
    } else {
      // Checked before a key file is written, so that a refusal leaves nothing behind.
      if (!signs_as_root(dir) && (*role == KeyRole::admin || *role == KeyRole::node))
        throw InvalidInput("refused: only a root key delegates or changes admin and node keys");
      SigningKey key = SigningKey::generate();
      fs::path file = a->out;
      if (file.empty()) {
        fs::create_directories(dir.path() / "keys");
        ::chmod((dir.path() / "keys").c_str(), 0700);
        std::string slug = slugify(a->name, 32);
        file = dir.path() / "keys" /
               ((slug.empty() ? "key" : slug) + "-" + node_id(key.public_key()).substr(0, 8) + ".key");
      }
      write_new_key_file(file, key);
      g.key = key.public_key();
      created = file;
    }
    try {
      auto result = Publisher(dir).publish_key(g);
      std::cout << "key " << short_node_id(g.key) << " (" << g.name << ", " << key_role_name(g.role)
                << ") delegated as " << result.id << " v" << result.version << " (seq " << result.seq << ")\n";
      if (created)
        std::cout
            << "private key: " << created->string()
            << "\n  give it to its holder over a safe channel, then delete it here; they run: agora --key FILE …\n";
    } catch (...) {
      if (created) fs::remove(*created);  // refused: no key file for a key that was never delegated
      throw;
    }
  });

  auto* list = verb->add_subcommand("list", "the city's root key and every key it delegated, with role and status");
  add_data_option(list, ctx);
  add_json_option(list, ctx);
  list->callback([&ctx] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    auto grants = dir.store().read([&](const storage::StoreReader& r) { return r.grants(dir.id()); });
    std::sort(grants.begin(), grants.end(), [](const KeyGrant& a, const KeyGrant& b) { return a.seq < b.seq; });
    json out = json::array();
    // The genesis key (the city id) first: the root key until a rotation or recovery retires it.
    auto genesis = std::find_if(grants.begin(), grants.end(), [&](const KeyGrant& g) { return g.key == dir.id(); });
    out.push_back({{"key", node_id(dir.id())},
                   {"name", "genesis key (the city id)"},
                   {"role", "root"},
                   {"status", genesis != grants.end() ? "retired" : "active"}});
    if (genesis != grants.end()) out.back()["seq"] = genesis->seq;
    for (const auto& g : grants)
      if (g.key != dir.id())
        out.push_back({{"key", node_id(g.key)},
                       {"name", g.name},
                       {"role", key_role_name(g.role)},
                       {"expires", g.expires.empty() ? json() : json(g.expires)},
                       {"status", status_of(g)},
                       {"seq", g.seq}});
    if (ctx.json) {
      std::cout << out.dump(2) << "\n";
      return;
    }
    std::printf("%-12s  %-9s  %-7s  %-10s  %s\n", "KEY", "ROLE", "STATUS", "EXPIRES", "NAME");
    for (const auto& k : out)
      std::printf("%-12s  %-9s  %-7s  %-10s  %s\n", k["key"].get<std::string>().substr(0, 12).c_str(),
                  k["role"].get<std::string>().c_str(), k["status"].get<std::string>().c_str(),
                  k.value("expires", json()).is_string() ? k["expires"].get<std::string>().c_str() : "-",
                  k["name"].get<std::string>().c_str());
  });

  auto rotate_expires = std::make_shared<std::string>();
  auto* rotate = verb->add_subcommand(
      "rotate", "give the node a new key (delegated by the root key), revoke its old one; peers follow by themselves");
  add_data_option(rotate, ctx);
  rotate->add_option("--expires", *rotate_expires, "last day the new node key may sign: YYYY-MM-DD or 90d");
  rotate->callback([&ctx, rotate_expires] {
    DataDir dir = open_as_root(ctx);
    if (!signs_as_root(dir)) throw InvalidInput("key rotate: a root key delegates node keys; " + root_hint(dir));
    PublicKey old = dir.key().public_key();
    SigningKey fresh = SigningKey::generate();
    auto [delegated, revoked] = new_node_key(dir, expiry_date(*rotate_expires), fresh);
    auto root_file = dir.install_node_key(fresh);
    dir.notify_change();  // a running node re-reads its key
    std::cout << "node key is now " << short_node_id(fresh.public_key()) << " (" << delegated.id << ", seq "
              << delegated.seq << ")";
    if (revoked) std::cout << "; old node key " << short_node_id(old) << " revoked (seq " << revoked->seq << ")";
    std::cout << "\nthe city id stays " << node_id(dir.id()) << ": peers follow without any change\n";
    if (root_file)
      std::cout
          << "the city's root key is now in " << root_file->string()
          << ": move it off this machine and keep it offline; use it with agora --key FILE key add|revoke|rotate\n";
  });

  auto rotate_root_out = std::make_shared<std::string>();
  auto* rotate_root = verb->add_subcommand(
      "rotate-root", "replace the city's root key with a new one and retire the old; the city id stays");
  add_data_option(rotate_root, ctx);
  rotate_root->add_option("--out", *rotate_root_out, "where to write the new root key (default: DATA/root.key)");
  rotate_root->callback([&ctx, rotate_root_out] {
    DataDir dir = open_as_root(ctx);
    if (!signs_as_root(dir)) throw InvalidInput("key rotate-root: " + root_hint(dir));
    fs::path out = rotate_root_out->empty() ? dir.path() / "root.key" : fs::path(*rotate_root_out);
    const PublicKey old_root = dir.signing_key().public_key();
    const bool node_held_root = dir.key().public_key() == old_root;
    SigningKey root = SigningKey::generate();
    KeyGrant g;
    g.key = root.public_key();
    g.name = "root key " + iso8601_utc(now_ms()).substr(0, 16) + "Z";
    g.role = KeyRole::root;
    auto granted = Publisher(dir).publish_key(g);
    // The new root retires the old one: the genesis key by a record naming it, a later
    // root key by revoking its grant.
    dir.sign_with(root);
    KeyGrant retired;
    if (old_root == dir.id()) {
      retired.key = dir.id();
      retired.name = "genesis key";
      retired.role = KeyRole::root;
    } else {
      retired = *dir.store().read([&](const storage::StoreReader& r) { return r.grant(dir.id(), old_root); });
    }
    retired.revoked = true;
    auto retirement = Publisher(dir).publish_key(retired);
    std::optional<SigningKey> node_key;
    if (node_held_root) {  // the node signed with the old root: it needs a node key of its own
      node_key = SigningKey::generate();
      new_node_key(dir, "", *node_key);
      dir.install_node_key(*node_key);
    }
    DataDir::write_root_key(out, root);
    dir.notify_change();
    std::cout << "root key is now " << short_node_id(root.public_key()) << " (" << granted.id << ", seq " << granted.seq
              << "); the old root key " << short_node_id(old_root) << " is retired (seq " << retirement.seq << ")\n";
    if (node_key) std::cout << "node key is now " << short_node_id(node_key->public_key()) << "\n";
    std::cout << "the new root key is in " << out.string()
              << ": move it off this machine and keep it offline; destroy every copy of the old one\n"
              << "the city id stays " << node_id(dir.id()) << ": peers follow without any change\n";
  });

  struct RecoverOptions {
    std::string recovery_key, compromised_since, out;
  };
  auto rc = std::make_shared<RecoverOptions>();
  auto* recover = verb->add_subcommand(
      "recover",
      "replace a lost or stolen root key with the recovery key; what came after a stated point is set aside");
  add_data_option(recover, ctx);
  recover->add_option("--recovery-key", rc->recovery_key, "the recovery key file `agora init` wrote")->required();
  recover->add_option("--compromised-since", rc->compromised_since,
                      "the last point you trust (a seq of this city's chain, or a time YYYY-MM-DD[THH:MM:SSZ]): "
                      "every record after it is set aside on every node (default: nothing; the root key was lost, "
                      "not stolen)");
  recover->add_option("--out", rc->out, "where to write the new root key (default: DATA/root.key)");
  recover->callback([&ctx, rc] {
    DataDir dir = open_to_publish(ctx);
    SigningKey recovery = DataDir::read_key_file(rc->recovery_key);
    fs::path out = rc->out.empty() ? dir.path() / "root.key" : fs::path(rc->out);
    uint64_t head = dir.store().read([&](const storage::StoreReader& r) {
      auto h = r.head(dir.id());
      return h ? h->seq : uint64_t{0};
    });
    uint64_t point = rc->compromised_since.empty() ? head : compromise_point(dir, rc->compromised_since, true);
    SigningKey root = SigningKey::generate();
    KeyGrant g;
    g.key = root.public_key();
    g.name = "root key (recovered " + iso8601_utc(now_ms()).substr(0, 16) + "Z)";
    g.role = KeyRole::root;
    auto result = Publisher(dir).recover(recovery, g, point);
    // A new node key from the new root: the old ones may be in the thief's hands too.
    dir.sign_with(root);
    SigningKey node_key = SigningKey::generate();
    new_node_key(dir, "", node_key);
    dir.install_node_key(node_key);
    DataDir::write_root_key(out, root);
    dir.notify_change();
    std::cout << "recovered: root key is now " << short_node_id(root.public_key()) << " (seq " << result.record.seq
              << ", signed by the recovery key); every earlier root key is retired\n";
    if (result.set_aside)
      std::cout << result.set_aside << " record(s) after seq " << point
                << " set aside on this node, and on every node as the recovery reaches it; "
                   "re-publish what of them was yours (agora show ID --history lists them)\n";
    std::cout << "node key is now " << short_node_id(node_key.public_key()) << "; the new root key is in "
              << out.string() << ": move it off this machine\n"
              << "keep the recovery key offline again; the city id stays " << node_id(dir.id()) << "\n";
  });

  struct RevokeOptions {
    std::string keyid, compromised_since;
  };
  auto rv = std::make_shared<RevokeOptions>();
  auto* revoke = verb->add_subcommand("revoke", "revoke a delegated key: every node refuses what it signs from now on");
  add_data_option(revoke, ctx);
  revoke->add_option("KEYID", rv->keyid, "the key (8 or more hex digits of its id, as `agora key list` shows)")
      ->required();
  revoke->add_option("--compromised-since", rv->compromised_since,
                     "the key was in other hands after this point (a seq of this city's chain, or a time "
                     "YYYY-MM-DD[THH:MM:SSZ]): what it signed after it is withdrawn on every node");
  revoke->callback([&ctx, rv] {
    DataDir dir = open_as_root(ctx);
    KeyGrant g = find_grant(dir, rv->keyid);
    if (g.revoked && rv->compromised_since.empty())
      throw InvalidInput("key " + short_node_id(g.key) + " (" + g.name + ") is already revoked");
    g.revoked = true;
    if (!rv->compromised_since.empty()) g.compromised_since = compromise_point(dir, rv->compromised_since);
    auto result = Publisher(dir).publish_key(g);
    std::cout << "key " << short_node_id(g.key) << " (" << g.name << ") revoked as " << result.id << " v"
              << result.version << " (seq " << result.seq << ")";
    if (g.compromised_since) {
      size_t withdrawn = dir.store().read([&](const storage::StoreReader& r) {
        return r.signed_by(dir.id(), g.key, g.compromised_since, result.seq).size();
      });
      std::cout << "; " << withdrawn << " record version(s) it signed after seq " << g.compromised_since
                << " withdrawn";
    }
    std::cout << "\n";
  });
}

}  // namespace agora::cli
