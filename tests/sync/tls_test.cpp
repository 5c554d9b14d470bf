// Peer sync over wss:// with a certificate made by the openssl tool for 127.0.0.1.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "sync/certificate.hpp"
#include "sync/served_node.hpp"

using namespace agora::test;
using nlohmann::json;

namespace {

std::string last_error_of(const ServedNode& node, const std::string& peer) {
  json list = json::parse(node.agora({"peer", "list", "--json"}).out);
  for (const auto& p : list["peers"])
    if (p["node"] == peer) return p.value("last_error", "");
  return "";
}

}  // namespace

TEST_CASE("peers sync over wss:// and a dialler checks the certificate", "[sync][tls]") {
  TempDir certs;
  Certificate c = make_certificate(certs);
  ServedNode a("Lyon", "FR"), b("Lisbon", "PT"), untrusting("Turin", "IT");
  REQUIRE(a.agora({"publish", "-"}, practice_json("mediators")).exit_code == 0);
  a.serve({"--tls-cert", c.cert, "--tls-key", c.key});
  REQUIRE(a.sync_url.starts_with("wss://127.0.0.1:"));
  b.serve({"--tls-ca", c.cert});
  untrusting.serve();

  a.agora({"peer", "add", "-", "--key", b.id});
  a.agora({"peer", "add", "-", "--key", untrusting.id});
  REQUIRE(b.agora({"peer", "add", a.sync_url, "--key", a.id}).exit_code == 0);
  bool synced = wait_until([&] { return b.head_of(a.id) == 1 + kInitRecords; });
  INFO("A:\n" << a.log() << "B:\n" << b.log());
  REQUIRE(synced);
  REQUIRE(wait_until([&] { return a.head_of(b.id) == kInitRecords; }));  // both directions over the one connection

  // A node that does not trust the certificate never completes the TLS handshake.
  REQUIRE(untrusting.agora({"peer", "add", a.sync_url, "--key", a.id}).exit_code == 0);
  REQUIRE(wait_until(
      [&] { return last_error_of(untrusting, a.id).find("certificate verify failed") != std::string::npos; }));
  // What was wrong with the certificate, and the option that fixes it.
  CHECK_THAT(last_error_of(untrusting, a.id),
             Catch::Contains("self-signed certificate") && Catch::Contains("trust it with --tls-ca FILE"));
  CHECK(untrusting.head_of(a.id) == 0);

  // Plain ws:// to the TLS port is not a WebSocket handshake it will complete either.
  std::string plain = "ws://" + a.sync_url.substr(6);
  REQUIRE(untrusting.agora({"peer", "add", plain, "--key", a.id}).exit_code == 0);
  REQUIRE(wait_until([&] { return last_error_of(untrusting, a.id).find("WebSocket handshake") != std::string::npos; }));
  CHECK(untrusting.head_of(a.id) == 0);
}

TEST_CASE("serve refuses a key that does not match its certificate, naming the option", "[sync][tls]") {
  TempDir certs;
  Certificate c = make_certificate(certs);
  TempDir other_dir;
  Certificate other = make_certificate(other_dir);
  ServedNode a("Lyon", "FR");
  auto r = a.agora(
      {"serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--tls-cert", c.cert, "--tls-key", other.key});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("--tls-key") != std::string::npos);
  auto half = a.agora({"serve", "--listen", "127.0.0.1:0", "--tls-cert", c.cert});
  CHECK(half.exit_code != 0);
  CHECK(half.err.find("--tls-key") != std::string::npos);
}
