// agora doctor: what is wrong with this node, each problem with the command that fixes it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "cli/config_file.hpp"
#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "storage/stored_record.hpp"

namespace agora::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Finding {
  std::string level;  // "ok", "warning", "problem"
  std::string what, fix;
};

class Report {
 public:
  void ok(std::string what) { findings_.push_back({"ok", std::move(what), {}}); }
  void warning(std::string what, std::string fix) { findings_.push_back({"warning", std::move(what), std::move(fix)}); }
  void problem(std::string what, std::string fix) { findings_.push_back({"problem", std::move(what), std::move(fix)}); }
  const std::vector<Finding>& findings() const { return findings_; }
  size_t count(const std::string& level) const {
    size_t n = 0;
    for (const auto& f : findings_) n += f.level == level;
    return n;
  }

 private:
  std::vector<Finding> findings_;
};

// A TCP connection to host:port within `timeout_ms`, or -1 (errno set).
int connect_with_timeout(const std::string& host, const std::string& port, int timeout_ms, std::string& error) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      error = std::string("cannot connect: ") + std::strerror(errno);
      ::close(fd), fd = -1;
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
      error = soerr ? std::string("cannot connect: ") + std::strerror(soerr) : "no answer within the timeout";
      ::close(fd), fd = -1;
      continue;
    }
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ::freeaddrinfo(found);
  return fd;
}

// Days until a certificate's notAfter (negative: expired).
int days_left(X509* cert) {
  int days = 0, seconds = 0;
  ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert));
  return days;
}

// A peer's sync address: reachable? For wss://, its certificate: verified, name, expiry.
void check_peer_address(Report& report, const std::string& label, const std::string& url, const std::string& ca_file) {
  bool tls = url.starts_with("wss://");
  std::string rest = url.substr(tls ? 6 : 5);
  std::string hostport = rest.substr(0, rest.find('/'));
  auto hp = hostport.rfind(':');
  std::string host = hostport.substr(0, hp),
              port = hp == std::string::npos ? (tls ? "443" : "80") : hostport.substr(hp + 1);
  if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
  std::string error;
  int fd = connect_with_timeout(host, port, 3000, error);
  if (fd < 0) {
    report.problem(label + ": " + url + " is not reachable (" + error + ")",
                   "check that the peer's node runs and that its firewall lets this machine reach port " + port +
                       "; if the peer is behind NAT, it dials you: `agora peer add - --key ID` here instead");
    return;
  }
  if (!tls) {
    ::close(fd);
    report.ok(label + ": " + url + " is reachable");
    return;
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_default_verify_paths(ctx);
  if (!ca_file.empty()) SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // the result is read below, to say what is wrong
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, host.c_str());
  SSL_set1_host(ssl, host.c_str());
  if (SSL_connect(ssl) != 1) {
    report.problem(label + ": the TLS handshake with " + url + " failed",
                   "check that the peer serves wss:// on that port (--tls-cert and --tls-key there)");
  } else if (X509* cert = SSL_get1_peer_certificate(ssl)) {
    long verified = SSL_get_verify_result(ssl);
    int days = days_left(cert);
    if (verified != X509_V_OK)
      report.problem(label + ": " + url + "'s certificate does not verify: " + X509_verify_cert_error_string(verified),
                     verified == X509_V_ERR_CERT_HAS_EXPIRED
                         ? "the peer must renew its certificate"
                         : "if it is signed by a private CA, trust that CA: serve --tls-ca FILE (serve.tls-ca)");
    else if (days < 14)
      report.warning(label + ": " + url + "'s certificate expires in " + std::to_string(days) + " days",
                     "ask the peer to renew it");
    else
      report.ok(label + ": " + url + " is reachable; its certificate verifies and is valid for " +
                std::to_string(days) + " more days");
    X509_free(cert);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
}

void check_own_certificate(Report& report, const std::string& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (!f) {
    report.problem("serve.tls-cert " + cert_file + " cannot be read",
                   "check the path and that the agora user can read it");
    return;
  }
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) {
    report.problem("serve.tls-cert " + cert_file + " holds no PEM certificate",
                   "point tls-cert at the certificate chain");
    return;
  }
  int days = days_left(cert);
  if (days < 0)
    report.problem("this node's certificate " + cert_file + " has expired",
                   "renew it (e.g. certbot renew), then restart");
  else if (days < 14)
    report.warning("this node's certificate expires in " + std::to_string(days) + " days", "renew it, then restart");
  else
    report.ok("this node's certificate is valid for " + std::to_string(days) + " more days");
  X509_free(cert);
}

}  // namespace

void register_doctor(CLI::App& app, Context& ctx) {
  auto offline = std::make_shared<bool>(false);
  auto* verb = app.add_subcommand(
      "doctor",
      "check this node: data dir and key permissions, free disk, the store, the config, the HTTP port, each "
      "peer's state, reachability and certificate, clocks; each problem with the command that fixes it; exit 0 "
      "when all is well, 1 when there are problems (warnings alone: 0)");
  add_data_option(verb, ctx);
  add_json_option(verb, ctx);
  verb->add_flag("--offline", *offline,
                 "do not connect to peers (their reachability and certificates are not checked)");
  verb->callback([&ctx, offline] {
    Report report;
    fs::path path = DataDir::resolve(ctx.data);
    if (!fs::exists(path / "node.key")) {
      report.problem("no node in " + path.string(), "agora init --data " + path.string() + " --city NAME --country CC");
    } else {
      // Permissions: the data dir and key files are the node user's only.
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
        report.problem(path.string() + " is readable by others (mode " + std::to_string(st.st_mode & 0777) + ")",
                       "chmod 700 " + path.string());
      for (const char* key : {"node.key", "root.key", "recovery.key"}) {
        fs::path k = path / key;
        if (!fs::exists(k)) continue;
        if (::stat(k.c_str(), &st) == 0 && (st.st_mode & 077))
          report.problem(k.string() + " is readable by others", "chmod 600 " + k.string());
        if (std::string(key) != "node.key")
          report.warning(k.string() + " is still on this machine",
                         "move it offline (docs/identity.md): mv " + k.string() + " /media/safe/");
      }
      if (report.count("problem") == 0) report.ok("data dir and key files are private to the node's user");
      try {
        DataDir dir = DataDir::open(path, /*read_only=*/true);
        uint64_t log = dir.store().read([](const storage::StoreReader& r) { return r.last_local(); });
        size_t map = dir.store().env().map_size();
        uint64_t store_bytes = fs::file_size(path / "store" / "data.mdb");
        report.ok("the store opens: " + std::to_string(log) + " log entries, " + mib_text(store_bytes) + " on disk");
        struct statvfs vfs {};
        if (::statvfs(path.c_str(), &vfs) == 0) {
          uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
          // The map doubles as the store grows: room for the next doubling, and a compaction copy.
          uint64_t needed = std::max<uint64_t>(map, store_bytes * 2);
          if (free_bytes < store_bytes)
            report.problem("only " + mib_text(free_bytes) + " free on the data dir's disk (the store is " +
                               mib_text(store_bytes) + "): writes will fail",
                           "free disk space, or move the data dir to a larger disk");
          else if (free_bytes < needed)
            report.warning(mib_text(free_bytes) + " free on the data dir's disk: less than the store's next growth (" +
                               mib_text(needed) + ")",
                           "free disk space before it is needed");
          else
            report.ok(mib_text(free_bytes) + " free on the data dir's disk");
        }
        // Peers: state, last error, and (unless offline) their addresses.
        storage::ReadTxn txn(dir.store().env());
        storage::StoreReader r(dir.store(), txn);
        auto states = load_peer_states(dir.store(), txn);
        if (!dir.node_running()) mark_node_stopped(states);
        auto peers = load_peers(dir.store(), txn);
        if (peers.empty())
          report.warning("no peers: this node exchanges nothing",
                         "agora peer add ws://HOST:7400/sync --key THEIR-NODE-ID (or agora invite)");
        std::string ca = ctx.config ? ctx.config->serve_value("--tls-ca") : "";
        for (const auto& p : peers) {
          auto city = city_profile(r, p.key);
          std::string label = "peer " + short_node_id(p.key) + (city ? " (" + city->name + ")" : "");
          PeerState st = states.count(p.key) ? states[p.key] : PeerState{};
          if (st.state == peer_state::kRefused)
            report.problem(label + " refuses this node: " + st.last_error,
                           st.last_error.find("does not list your key") != std::string::npos
                               ? "on " + (city ? city->name + "'s node" : std::string("that node")) +
                                     ": agora peer add - --key " + node_id(dir.id())
                               : "see docs/operations.md, \"When a peer cannot connect\"");
          else if (st.state == peer_state::kUnreachable)
            report.problem(label + ": the last connection failed: " + st.last_error,
                           st.last_error.find("--tls-ca") != std::string::npos
                               ? "serve --tls-ca FILE (serve.tls-ca in the config)"
                               : "check the address and the peer's firewall");
          else if (st.state == peer_state::kNeverConnected)
            report.warning(label + " has never connected",
                           p.url.empty() ? "it dials this node: check that it lists this node's id " + node_id(dir.id())
                                         : "start this node (agora serve) and check the address " + p.url);
          else
            report.ok(label + ": " + st.state +
                      (st.last_contact_ms ? ", last contact " + iso8601_utc(st.last_contact_ms) : ""));
          // Clocks: a peer whose newest record is dated well after this machine's clock.
          if (auto head = r.head(p.key); head && head->seq > 0)
            if (auto view = r.at(p.key, head->seq))
              if (auto h = decode_header(view->header_bytes); h && h.value().ts > now_ms() + 5 * 60 * 1000)
                report.warning(label + "'s newest record is dated " +
                                   std::to_string((h.value().ts - now_ms()) / 60000) +
                                   " min after this machine's clock: one of the two clocks is wrong",
                               "timedatectl (is NTP on?) here, and ask the peer to check theirs");
          if (!*offline && !p.url.empty()) check_peer_address(report, label, p.url, ca);
        }
      } catch (const std::exception& e) {
        std::string why = e.what();
        if (why.find("readable by others") != std::string::npos)  // named above, with its fix
          report.warning("the store and peers are not checked until the key file is private", "the chmod above");
        else
          report.problem("the store does not open: " + why, "agora verify --data " + path.string() +
                                                                "; restore from a backup (agora restore) if it fails");
      }
    }
    // The config: checked, its certificate, and whether the HTTP port answers.
    if (ctx.config) {
      report.ok("config " + ctx.config->path + " is valid");
      if (std::string cert = ctx.config->serve_value("--tls-cert"); !cert.empty()) check_own_certificate(report, cert);
      std::string http = ctx.config->serve_value("--http", "127.0.0.1:8080");
      auto colon = http.rfind(':');
      std::string host = http.substr(0, colon), port = http.substr(colon + 1);
      if (host == "0.0.0.0") host = "127.0.0.1";
      std::string error;
      if (port != "0") {
        int fd = connect_with_timeout(host, port, 1000, error);
        if (fd < 0)
          report.problem("nothing answers on the HTTP port " + http + " (" + error + "): the node is not running",
                         "systemctl start agora (or agora serve --config " + ctx.config->path + ")");
        else
          report.ok("the node answers on " + http), ::close(fd);
      }
    }
    if (ctx.json) {
      json out = json::array();
      for (const auto& f : report.findings()) out.push_back({{"level", f.level}, {"what", f.what}, {"fix", f.fix}});
      std::cout << json{{"findings", out}, {"problems", report.count("problem")}, {"warnings", report.count("warning")}}
                       .dump(2)
                << "\n";
    } else {
      for (const auto& f : report.findings()) {
        std::cout << (f.level == "ok"        ? "ok       "
                      : f.level == "warning" ? "warning  "
                                             : "PROBLEM  ")
                  << f.what << "\n";
        if (!f.fix.empty()) std::cout << "         fix: " << f.fix << "\n";
      }
      std::cout << report.count("problem") << " problem(s), " << report.count("warning") << " warning(s)\n";
    }
    if (report.count("problem")) ctx.exit_code = kExitFailure;
  });
}

}  // namespace agora::cli
