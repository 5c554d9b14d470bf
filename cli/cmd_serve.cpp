// agora serve: run the node (peer sync over WebSocket, HTTP API) until SIGINT/SIGTERM.
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/sync_node.hpp"
#include "protocol/sync_messages.hpp"

namespace agora::cli {

namespace {
// "HOST:PORT" (IPv6 as [::1]:PORT) into its parts; throws a usage error otherwise.
std::pair<std::string, uint16_t> host_port(const std::string& text, const std::string& option) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError(option, "expected HOST:PORT, got " + text);
  std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw CLI::ValidationError(option, "bad port in " + text);
  return {host, static_cast<uint16_t>(std::stoul(port))};
}
}  // namespace

void register_serve(CLI::App& app, Context& ctx) {
  struct Options {
    std::string listen = "127.0.0.1:7400", http = "127.0.0.1:8080";
    double max_rate = 50000;
    size_t max_connections = 256, per_ip = 16;
    int handshake_timeout = 10, idle_timeout = 60;
    std::string tls_cert, tls_key, tls_ca;
    size_t http_max_url_kib = 8, http_max_page = 100, http_max_connections = 1024, http_max_streams = 64;
    size_t http_max_header_kib = 16, http_max_body_kib = 64;
    size_t max_frame_kib = sync::kMaxFrameBytes / 1024, batch_records = 512, batch_kib = 1024, window = 8;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand("serve", "run the node: peer sync over WebSocket and the HTTP API");
  add_data_option(verb, ctx);
  verb->add_option("--listen", opts->listen, "peer sync address HOST:PORT (port 0: any free port)");
  verb->add_option("--http", opts->http, "HTTP API address HOST:PORT (port 0: any free port)");
  verb->add_option("--max-records-per-s", opts->max_rate, "records accepted per second from one peer")
      ->check(CLI::Range(1.0, 1e7));
  verb->add_option("--max-connections", opts->max_connections, "peer connections in all")->check(CLI::Range(size_t{1}, size_t{100000}));
  verb->add_option("--max-connections-per-ip", opts->per_ip, "peer connections from one address")
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  verb->add_option("--handshake-timeout", opts->handshake_timeout, "seconds to complete the authenticated handshake")
      ->check(CLI::Range(1, 3600));
  verb->add_option("--idle-timeout", opts->idle_timeout, "seconds without traffic before a connection is dropped")
      ->check(CLI::Range(2, 86400));
  verb->add_option("--max-frame-kib", opts->max_frame_kib, "largest message accepted from a peer, KiB")
      ->check(CLI::Range(sync::kMinFrameBytes / 1024, sync::kMaxFrameBytes / 1024));
  verb->add_option("--batch-records", opts->batch_records, "records per batch sent to a peer")
      ->check(CLI::Range(size_t{1}, sync::kMaxBatchRecords));
  verb->add_option("--batch-kib", opts->batch_kib, "record bytes per batch sent to a peer, KiB")
      ->check(CLI::Range(size_t{16}, sync::kMaxBatchBytes / 1024));
  verb->add_option("--window", opts->window, "batches sent to a peer before waiting for its acks")
      ->check(CLI::Range(size_t{1}, sync::kMaxUnackedBatches));
  auto* cert = verb->add_option("--tls-cert", opts->tls_cert, "PEM certificate (chain): the sync port speaks wss://")
                   ->check(CLI::ExistingFile);
  auto* key = verb->add_option("--tls-key", opts->tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  verb->add_option("--tls-ca", opts->tls_ca, "PEM CAs trusted, besides the system's, when dialling wss:// peers")
      ->check(CLI::ExistingFile);
  verb->add_option("--http-max-url-kib", opts->http_max_url_kib, "longest API request path and query, KiB (414 beyond)")
      ->check(CLI::Range(size_t{1}, size_t{15}));
  verb->add_option("--http-max-page", opts->http_max_page, "largest `limit` of the API's list routes")
      ->check(CLI::Range(size_t{1}, size_t{10000}));
  verb->add_option("--http-max-connections", opts->http_max_connections,
                   "HTTP connections open at once on the --http port (503 beyond)")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  verb->add_option("--http-max-header-kib", opts->http_max_header_kib, "largest HTTP request header block, KiB (431 beyond)")
      ->check(CLI::Range(size_t{1}, size_t{64}));
  verb->add_option("--http-max-body-kib", opts->http_max_body_kib, "largest HTTP request body, KiB (413 beyond)")
      ->check(CLI::Range(size_t{1}, size_t{1024}));
  verb->add_option("--http-max-streams", opts->http_max_streams, "open change event streams (503 beyond)")
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  verb->callback([&ctx, opts] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    SyncOptions o;
    std::tie(o.listen_host, o.listen_port) = host_port(opts->listen, "--listen");
    std::tie(o.http_host, o.http_port) = host_port(opts->http, "--http");
    o.max_records_per_s = opts->max_rate;
    o.max_connections = opts->max_connections;
    o.max_connections_per_ip = opts->per_ip;
    o.transport.handshake_timeout_s = opts->handshake_timeout;
    o.transport.idle_timeout_s = opts->idle_timeout;
    o.transport.max_message_bytes = opts->max_frame_kib * 1024;
    o.batch_records = opts->batch_records;
    o.batch_bytes = opts->batch_kib * 1024;
    o.window = opts->window;
    o.tls = net::TlsSettings{opts->tls_cert, opts->tls_key, opts->tls_ca};
    o.transport.http_max_target_bytes = opts->http_max_url_kib * 1024;
    o.http_max_page = opts->http_max_page;
    o.http_max_connections = opts->http_max_connections;
    o.http_max_streams = opts->http_max_streams;
    o.transport.http_max_header_bytes = opts->http_max_header_kib * 1024;
    o.transport.http_max_body_bytes = opts->http_max_body_kib * 1024;
    SyncNode node(dir, o);
    node.run([](const std::string& sync_url, const std::string& http_url) {
      std::cout << "sync " << sync_url << "\nhttp " << http_url << std::endl;
    });
  });
}

}  // namespace agora::cli
