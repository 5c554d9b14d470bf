// agora serve: run the node (peer sync over WebSocket, HTTP API) until SIGINT/SIGTERM.
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/cli_support.hpp"
#include "cli/config_file.hpp"
#include "node/local/peer_registry.hpp"
#include "node/net/address.hpp"
#include "node/server/server.hpp"
#include "protocol/sync_messages.hpp"

namespace agora::cli {

namespace {
// "HOST:PORT" (IPv6 as [::1]:PORT) into its parts; throws a usage error otherwise.
std::pair<std::string, uint16_t> host_port(const std::string& text, const std::string& option) {
  auto parsed = net::parse_host_port(text);
  if (!parsed) throw CLI::ValidationError(option, "expected HOST:PORT with a port 0-65535, got " + text);
  return {parsed->host, parsed->port};
}
// The config file's [[peers]]: added when missing, their address and relation updated when
// the file's differ. Peers added with `agora peer add` stay; `peer remove` removes either.
void add_configured_peers(DataDir& dir, const ConfigFile& config) {
  size_t changed = 0;
  dir.store().env().write([&](storage::WriteTxn& txn) {
    for (const auto& entry : config.peers) {
      PeerConfig peer = peer_to_add(entry.url, entry.key, entry.relation);
      if (peer.key == dir.id())
        throw InvalidInput(config.path + ":" + std::to_string(entry.line) + ": [[peers]] key is this node's own id");
      auto held = find_peer(dir.store(), txn, peer.key);
      if (held && held->url == peer.url && held->relation == peer.relation) continue;
      if (held) peer.added_ms = held->added_ms, peer.invitation = held->invitation;
      save_peer(dir.store(), txn, peer);
      spdlog::info("peer {} {} from {}", short_node_id(peer.key), held ? "updated" : "added", config.path);
      ++changed;
    }
  });
  if (changed) dir.notify_change();
}

}  // namespace

void register_serve(CLI::App& app, Context& ctx) {
  // The defaults are ServeOptions' (node/server/server.hpp): one place for each.
  const ServeOptions defaults;
  struct Options {
    std::string listen, http;
    double max_rate;
    size_t max_connections, per_ip;
    int handshake_timeout, idle_timeout;
    std::string tls_cert, tls_key, tls_ca;
    size_t http_max_url_kib, http_max_page, http_max_connections, http_max_streams;
    size_t http_max_header_kib, http_max_body_kib;
    size_t max_frame_kib, batch_records, batch_kib, window;
    size_t max_new_origins;
    int protocol;
    bool no_index = false;
  };
  auto opts = std::make_shared<Options>(Options{net::format_host_port(defaults.listen_host, defaults.listen_port),
                                                net::format_host_port(defaults.http_host, defaults.http_port),
                                                defaults.sync.max_records_per_s,
                                                defaults.sync.max_connections,
                                                defaults.sync.max_connections_per_ip,
                                                defaults.transport.handshake_timeout_s,
                                                defaults.transport.idle_timeout_s,
                                                "",
                                                "",
                                                "",
                                                defaults.transport.http_max_target_bytes / 1024,
                                                defaults.http_max_page,
                                                defaults.http_max_connections,
                                                defaults.http_max_streams,
                                                defaults.transport.http_max_header_bytes / 1024,
                                                defaults.transport.http_max_body_bytes / 1024,
                                                defaults.transport.max_message_bytes / 1024,
                                                defaults.sync.send.batch_records,
                                                defaults.sync.send.batch_bytes / 1024,
                                                defaults.sync.send.window,
                                                defaults.sync.max_new_origins_per_day,
                                                defaults.sync.max_protocol,
                                                !defaults.search_index});
  auto* verb = app.add_subcommand("serve", "run the node: peer sync over WebSocket and the HTTP API");
  verb->option_defaults()->always_capture_default();  // `serve --help` shows every default
  verb->footer(
      "Global options (before or after the verb; `agora --help`): --config FILE (a TOML file with these options, "
      "docs/operations.md), --log-level debug|info|warn|error|off, --log-format text|json, --data DIR.");
  add_data_option(verb, ctx);
  const CLI::Validator address(
      [](std::string& text) {
        return net::parse_host_port(text) ? std::string()
                                          : "expected HOST:PORT with a port 0-65535 (IPv6 as [::1]:PORT), got " + text;
      },
      "HOST:PORT");
  verb->add_option("--listen", opts->listen, "peer sync address HOST:PORT (port 0: any free port)")->check(address);
  verb->add_option("--http", opts->http,
                   "HTTP API address HOST:PORT (port 0: any free port); admin routes answer on loopback only")
      ->check(address);
  verb->add_option("--max-records-per-s", opts->max_rate, "records accepted per second from one peer")
      ->check(number_in(1, 1e7));
  verb->add_option("--max-new-origins", opts->max_new_origins,
                   "origins this node holds nothing of accepted from one peer per 24 h (the rest are skipped)")
      ->check(whole_number_in(0, 100000000));
  verb->add_flag("--no-index", opts->no_index,
                 "run without the search index: lists, filters, stats and commitments answer from the store (LMDB); q= "
                 "searches answer 503");
  verb->add_option("--max-connections", opts->max_connections, "peer connections in all")
      ->check(whole_number_in(1, 100000));
  verb->add_option("--max-connections-per-ip", opts->per_ip, "peer connections from one address")
      ->check(whole_number_in(1, 100000));
  verb->add_option("--handshake-timeout", opts->handshake_timeout, "seconds to complete the authenticated handshake")
      ->check(whole_number_in(1, 3600));
  verb->add_option("--idle-timeout", opts->idle_timeout, "seconds without traffic before a connection is dropped")
      ->check(whole_number_in(2, 86400));
  verb->add_option("--max-frame-kib", opts->max_frame_kib, "largest message accepted from a peer, KiB")
      ->check(whole_number_in(static_cast<long long>(sync::kMinFrameBytes / 1024),
                              static_cast<long long>(sync::kMaxFrameBytes / 1024)));
  verb->add_option("--batch-records", opts->batch_records, "records per batch sent to a peer")
      ->check(whole_number_in(1, static_cast<long long>(sync::kMaxBatchRecords)));
  verb->add_option("--batch-kib", opts->batch_kib, "record bytes per batch sent to a peer, KiB")
      ->check(whole_number_in(16, static_cast<long long>(sync::kMaxBatchBytes / 1024)));
  verb->add_option("--window", opts->window,
                   "the most batches sent to a peer before its acks (below it the window follows the round trip)")
      ->check(whole_number_in(1, static_cast<long long>(sync::kMaxUnackedBatches)));
  verb->add_option("--protocol", opts->protocol,
                   "the highest peer-sync protocol version offered: the connection uses the highest both sides offer "
                   "(pin an earlier one to talk to every peer as that release would)")
      ->check(whole_number_in(1, static_cast<long long>(sync::kHighestProtocolVersion)));
  auto* cert = verb->add_option("--tls-cert", opts->tls_cert, "PEM certificate (chain): the sync port speaks wss://")
                   ->check(CLI::ExistingFile);
  auto* key = verb->add_option("--tls-key", opts->tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  verb->add_option("--tls-ca", opts->tls_ca, "PEM CAs trusted, besides the system's, when dialling wss:// peers")
      ->check(CLI::ExistingFile);
  verb->add_option("--http-max-url-kib", opts->http_max_url_kib, "longest API request path and query, KiB (414 beyond)")
      ->check(whole_number_in(1, 15));
  verb->add_option("--http-max-page", opts->http_max_page, "largest `limit` of the API's list routes")
      ->check(whole_number_in(1, 10000));
  verb->add_option("--http-max-connections", opts->http_max_connections,
                   "HTTP connections open at once on the --http port (503 beyond)")
      ->check(whole_number_in(1, 1000000));
  verb->add_option("--http-max-header-kib", opts->http_max_header_kib,
                   "largest HTTP request header block, KiB (431 beyond)")
      ->check(whole_number_in(1, 64));
  verb->add_option("--http-max-body-kib", opts->http_max_body_kib, "largest HTTP request body, KiB (413 beyond)")
      ->check(whole_number_in(1, 1024));
  verb->add_option("--http-max-streams", opts->http_max_streams, "open change event streams (503 beyond)")
      ->check(whole_number_in(1, 100000));
  verb->callback([&ctx, opts] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    if (ctx.config) add_configured_peers(dir, *ctx.config);
    ServeOptions o;
    std::tie(o.listen_host, o.listen_port) = host_port(opts->listen, "--listen");
    std::tie(o.http_host, o.http_port) = host_port(opts->http, "--http");
    o.sync.max_records_per_s = opts->max_rate;
    o.sync.max_connections = opts->max_connections;
    o.sync.max_new_origins_per_day = opts->max_new_origins;
    o.search_index = !opts->no_index;
    o.sync.max_connections_per_ip = opts->per_ip;
    o.transport.handshake_timeout_s = opts->handshake_timeout;
    o.transport.idle_timeout_s = opts->idle_timeout;
    o.transport.max_message_bytes = opts->max_frame_kib * 1024;
    o.sync.send.batch_records = opts->batch_records;
    o.sync.send.batch_bytes = opts->batch_kib * 1024;
    o.sync.send.window = opts->window;
    o.sync.max_protocol = opts->protocol;
    o.tls = net::TlsSettings{opts->tls_cert, opts->tls_key, opts->tls_ca};
    o.transport.http_max_target_bytes = opts->http_max_url_kib * 1024;
    o.http_max_page = opts->http_max_page;
    o.http_max_connections = opts->http_max_connections;
    o.http_max_streams = opts->http_max_streams;
    o.transport.http_max_header_bytes = opts->http_max_header_kib * 1024;
    o.transport.http_max_body_bytes = opts->http_max_body_kib * 1024;
    Server node(dir, o);
    node.run([](const std::string& sync_url, const std::string& http_url) {
      std::cout << "sync " << sync_url << "\nhttp " << http_url << std::endl;
    });
  });
}

}  // namespace agora::cli
