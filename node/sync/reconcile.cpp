#include "node/sync/reconcile.hpp"

#include <algorithm>

#include "protocol/crypto.hpp"
#include "protocol/record.hpp"

namespace agora::sync {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int nibble(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// The smallest (fill 0) or largest (fill 0xf) key whose hex form starts with prefix.
PublicKey bound(std::string_view prefix, uint8_t fill) {
  PublicKey key;
  for (size_t i = 0; i < key.size(); ++i) {
    uint8_t hi = 2 * i < prefix.size() ? nibble(prefix[2 * i]) : fill;
    uint8_t lo = 2 * i + 1 < prefix.size() ? nibble(prefix[2 * i + 1]) : fill;
    key[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return key;
}

uint64_t item_hash(const Hash& salt, const PublicKey& origin, uint64_t seq) {
  std::string bytes(reinterpret_cast<const char*>(salt.data()), salt.size());
  bytes.append(reinterpret_cast<const char*>(origin.data()), origin.size());
  for (int i = 7; i >= 0; --i) bytes.push_back(static_cast<char>(seq >> (8 * i)));
  Hash h = sha256(bytes);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | h[i];
  return v;
}

}  // namespace

Hash reconcile_salt(std::string_view server_challenge, std::string_view client_challenge) {
  return sha256("agora-sync/2 reconcile " + std::string(server_challenge) + " " + std::string(client_challenge));
}

Reconciler::Reconciler(const std::map<PublicKey, uint64_t>& mine, const Hash& salt) : peer_(mine), salt_(salt) {
  items_.reserve(mine.size());
  sums_.reserve(mine.size() + 1);
  sums_.push_back(0);
  for (const auto& [origin, seq] : mine) {  // std::map: already in byte order
    items_.push_back({origin, seq});
    sums_.push_back(sums_.back() + item_hash(salt_, origin, seq));  // wraps: a sum mod 2^64
  }
}

std::pair<size_t, size_t> Reconciler::range(std::string_view prefix) const {
  PublicKey lo = bound(prefix, 0), hi = bound(prefix, 0xf);
  auto first = std::lower_bound(items_.begin(), items_.end(), lo,
                                [](const Item& a, const PublicKey& k) { return a.origin < k; });
  auto last = std::upper_bound(first, items_.end(), hi, [](const PublicKey& k, const Item& a) { return k < a.origin; });
  return {size_t(first - items_.begin()), size_t(last - items_.begin())};
}

uint64_t Reconciler::fingerprint(std::string_view prefix) const {
  auto [first, last] = range(prefix);
  return sums_[last] - sums_[first];
}

uint64_t Reconciler::seq_of(const PublicKey& origin) const {
  auto it = std::lower_bound(items_.begin(), items_.end(), origin,
                             [](const Item& a, const PublicKey& k) { return a.origin < k; });
  return it != items_.end() && it->origin == origin ? it->seq : 0;
}

RangeEntry Reconciler::describe(const std::string& prefix) const {
  RangeEntry e;
  e.prefix = prefix;
  auto [first, last] = range(prefix);
  if (last - first <= kListAtMost || prefix.size() == kNodeIdHexDigits) {
    e.type = RangeEntry::Type::heads;
    for (size_t i = first; i < last; ++i) e.heads.emplace(items_[i].origin, items_[i].seq);
  } else {
    e.type = RangeEntry::Type::fingerprints;
    for (int d = 0; d < 16; ++d) e.fingerprints[d] = fingerprint(prefix + kHexDigits[d]);
  }
  return e;
}

std::vector<RangeEntry> Reconciler::open() {
  started_ = true;
  RangeEntry root = describe("");
  if (root.type == RangeEntry::Type::fingerprints) {
    sent_fingerprints_.insert("");
  } else {
    auto& listed = sent_heads_[""];
    for (const auto& [origin, seq] : root.heads) listed.insert(origin);
  }
  return {root};
}

Result<std::optional<std::vector<RangeEntry>>> Reconciler::on_turn(const std::vector<RangeEntry>& turn) {
  if (done_) return make_error("reconcile", "the exchange is over");
  std::vector<RangeEntry> reply;
  std::set<std::pair<std::string, int>> seen;  // (prefix, answer or not): each at most once
  for (size_t i = 0; i < turn.size(); ++i) {
    const RangeEntry& e = turn[i];
    std::string where = "reconcile.ranges[" + std::to_string(i) + "] \"" + e.prefix + "\"";
    bool is_answer = e.type == RangeEntry::Type::answer;
    if (!seen.insert({e.prefix, is_answer}).second) return make_error(where, "range given twice in one turn");
    if (is_answer) {
      auto asked = sent_heads_.find(e.prefix);
      if (asked == sent_heads_.end()) return make_error(where, "an answer for a range this node did not list");
      for (const auto& [origin, seq] : e.heads) {
        if (!asked->second.count(origin)) return make_error(where, "an answer for an origin this node did not list");
        if (seq == 0)
          peer_.erase(origin);
        else
          peer_[origin] = seq;
      }
      continue;
    }
    // Fingerprints or heads: the whole range at the start, else a sub-range of one this
    // node split in its last turn.
    bool asked = started_ ? !e.prefix.empty() && sent_fingerprints_.count(e.prefix.substr(0, e.prefix.size() - 1))
                          : e.prefix.empty() && turn.size() == 1;
    if (!asked) return make_error(where, "a range this node did not ask about");
    if (e.type == RangeEntry::Type::fingerprints) {
      for (int d = 0; d < 16; ++d) {
        std::string sub = e.prefix + kHexDigits[d];
        if (fingerprint(sub) != e.fingerprints[d]) reply.push_back(describe(sub));
      }
      continue;
    }
    // The peer's complete heads in this range: they replace what this node assumed.
    auto [first, last] = range(e.prefix);
    for (size_t k = first; k < last; ++k) peer_.erase(items_[k].origin);
    RangeEntry answer;
    answer.prefix = e.prefix;
    answer.type = RangeEntry::Type::answer;
    for (const auto& [origin, seq] : e.heads) {
      if (seq != 0) peer_[origin] = seq;
      if (uint64_t mine = seq_of(origin); mine != seq) answer.heads.emplace(origin, mine);
    }
    if (!answer.heads.empty()) reply.push_back(std::move(answer));
  }
  bool peer_was_empty = turn.empty() && started_;
  started_ = true;
  sent_fingerprints_.clear();
  sent_heads_.clear();
  if (peer_was_empty) {
    done_ = true;
    return std::optional<std::vector<RangeEntry>>{};
  }
  for (const auto& e : reply) {
    if (e.type == RangeEntry::Type::fingerprints) sent_fingerprints_.insert(e.prefix);
    if (e.type == RangeEntry::Type::heads) {
      auto& listed = sent_heads_[e.prefix];
      for (const auto& [origin, seq] : e.heads) listed.insert(origin);
    }
  }
  if (reply.empty()) done_ = true;  // nothing outstanding on either side once this is sent
  return std::optional<std::vector<RangeEntry>>{std::move(reply)};
}

}  // namespace agora::sync
