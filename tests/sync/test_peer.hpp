// A peer written from docs/protocol.md, driven step by step by a test: it can follow the
// protocol or break it on purpose (hostile-peer tests, system tests).
#pragma once

#include <catch2/catch.hpp>

#include <deque>
#include <functional>
#include <optional>

#include "node/net/transport.hpp"
#include "protocol/record.hpp"
#include "protocol/sync_messages.hpp"
#include "sync/served_node.hpp"

namespace agora::test {

class TestPeer {
 public:
  bool connect(const std::string& url) {
    dialled_ = false;
    net::dial(io_, url, {}, nullptr, [this](std::shared_ptr<net::Transport> t, std::string) {
      dialled_ = true;
      t_ = t;
      if (t_)
        t_->start({[this](std::string m, bool binary) { inbox_.emplace_back(std::move(m), binary); },
                   [this](const std::string&) { closed_ = true; }});
    });
    pump_until([&] { return dialled_; });  // connected, or refused
    return t_ != nullptr;
  }
  // The next message, or nullopt if the connection closed or nothing came in time.
  std::optional<std::pair<std::string, bool>> next() {
    pump_until([&] { return !inbox_.empty() || closed_; });
    if (inbox_.empty()) return std::nullopt;
    auto m = std::move(inbox_.front());
    inbox_.pop_front();
    return m;
  }
  // The next control message, skipping record batches; nullopt if the connection closed,
  // nothing came in time or it does not decode. No Catch macros: usable from any thread.
  std::optional<sync::Control> try_control() {
    for (;;) {
      auto m = next();
      if (!m) return std::nullopt;
      if (m->second) continue;
      auto c = sync::decode_control(m->first);
      if (!c) return std::nullopt;
      return c.value();
    }
  }
  sync::Control next_control() {
    auto c = try_control();
    REQUIRE(c);
    return *c;
  }
  sync::Ack next_ack() {  // skips heads and batches the node sends meanwhile
    for (;;) {
      sync::Control c = next_control();
      if (auto* ack = std::get_if<sync::Ack>(&c)) return *ack;
    }
  }
  void send(std::string m, bool binary = false) {
    t_->send(std::move(m), binary);
    pump_until([&] { return t_->queued_bytes() == 0 || closed_; });
  }
  bool closed() {
    pump_until([&] { return closed_; });
    return closed_;
  }

 private:
  void pump_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
  }
  boost::asio::io_context io_;
  std::shared_ptr<net::Transport> t_;
  std::deque<std::pair<std::string, bool>> inbox_;
  bool closed_ = false, dialled_ = false;
};

// The client's answer to the server's challenge, as `key` (our own challenge: all 'a').
inline sync::Auth auth_message(const SigningKey& key, const std::string& challenge, const PublicKey& server) {
  return {key.public_key(),
          std::string(64, 'a'),
          key.sign(sync::auth_transcript(challenge, key.public_key(), server)),
          {1},
          std::nullopt,
          ""};
}

// Completes the handshake as `key`; returns the Auth message it sent.
inline std::string handshake(TestPeer& p, const SigningKey& key, const PublicKey& server) {
  auto hello = std::get<sync::Hello>(p.next_control());
  REQUIRE(hello.node == server);
  sync::Auth auth = auth_message(key, hello.challenge, server);
  std::string text = sync::encode(auth);
  p.send(text);
  auto welcome = std::get<sync::Welcome>(p.next_control());
  // A city's node proves itself with its node key (the hello's delegation names it).
  const PublicKey& proving = hello.node_key ? hello.node_key->key : server;
  CHECK(verify_signature(proving, sync::welcome_transcript(auth.challenge, server, key.public_key()), welcome.proof));
  return text;
}

inline SignedRecord record(const SigningKey& key, uint64_t seq, const Hash& prev, const std::string& id) {
  Header h;
  h.origin = key.public_key();
  h.seq = seq;
  h.prev = prev;
  h.kind = Kind::practice;
  h.id = id;
  h.version = 1;
  h.ts = 1;
  return sign_record(h, practice_json(id), key);
}

// A key of the (test) peer's own, listed by the node so that it passes the handshake.
inline SigningKey listed_key(ServedNode& node) {
  SigningKey key = SigningKey::generate();
  REQUIRE(node.agora({"peer", "add", "-", "--key", node_id(key.public_key())}).exit_code == 0);
  return key;
}

// Connects to the node and completes the handshake as `key`.
inline void connect_as(TestPeer& p, const ServedNode& node, const SigningKey& key) {
  REQUIRE(p.connect(node.sync_url));
  handshake(p, key, *parse_node_id(node.id));
}

// After the handshake: the key's first two records, a valid chain, both stored.
inline std::pair<SignedRecord, SignedRecord> send_first_two(TestPeer& p, const SigningKey& key) {
  p.send(sync::encode(sync::Heads{}));
  SignedRecord r1 = record(key, 1, Hash{}, "first");
  SignedRecord r2 = record(key, 2, record_hash(r1.header_bytes), "second");
  p.send(sync::encode(sync::RecordBatch{1, {r1, r2}}), true);
  REQUIRE(p.next_ack().stored == 2);
  return {r1, r2};
}

// A serving node and a test peer connected to it under a key the node lists.
struct ListedPeerConnected {
  ServedNode a{"Lyon", "FR"};
  SigningKey key = listed_key(a);
  TestPeer p;
  ListedPeerConnected() {
    a.serve();
    connect_as(p, a, key);
  }
};

}  // namespace agora::test
