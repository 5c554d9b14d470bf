#include "node/local/verifier.hpp"

#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "node/local/worker_pool.hpp"
#include "protocol/chain.hpp"
#include "protocol/key_state.hpp"
#include "storage/body_codec.hpp"

namespace agora {

namespace {

struct Checked {
  uint64_t local = 0;
  std::optional<Header> header;
  Hash hash{};
  std::string_view header_bytes;  // into the chunk's views
  bool stub = false;
  std::optional<std::string> body;  // of a key or city record: what it states of the city's keys
  std::string problem;
};

// (origin, id) as 64 bits: a million ids cost ~40 MB instead of ~150 as strings.
uint64_t id_key(const PublicKey& origin, std::string_view id) {
  uint64_t prefix = 0;
  std::memcpy(&prefix, origin.data(), sizeof prefix);
  return prefix * 0x9E3779B97F4A7C15ull ^ std::hash<std::string_view>{}(id);
}

constexpr size_t kChunk = 4096;
constexpr size_t kMaxListedProblems = 100;

}  // namespace

VerifyReport verify_store(storage::RecordStore& store) {
  VerifyReport report;
  auto add_problem = [&](std::string p) {
    ++report.problem_count;
    if (report.problems.size() < kMaxListedProblems) report.problems.push_back(std::move(p));
  };
  storage::ReadTxn txn(store.env());
  storage::StoreReader reader(store, txn);
  std::map<PublicKey, storage::OriginHead> chain;  // per origin: last seq and hash seen in the log
  KeyState keys;                                   // what each chain, read so far, states of its keys
  std::unordered_map<uint64_t, Kind> kinds;        // per (origin, id), hashed: the kind of its latest version
  const std::set<uint64_t> set_aside = reader.set_aside_positions();  // a recovery's evidence

  std::vector<storage::StoredRecordView> views;
  std::vector<Checked> checked;
  auto flush = [&] {
    checked.assign(views.size(), Checked{});
    parallel_for(views.size(), [&](size_t i) {
      Checked& c = checked[i];
      c.local = views[i].local;
      try {
        SignedRecord rec;
        rec.header_bytes = std::string(views[i].header_bytes);
        rec.signature = views[i].signature;
        rec.body = storage::decode_body(views[i].encoded_body);
        c.stub = !rec.body;
        auto h = verify_record(rec);
        if (!h) {
          c.problem = h.error().to_string();
          return;
        }
        c.header = h.value();
        if (c.header->kind == Kind::key || c.header->kind == Kind::city) c.body = std::move(rec.body);
        c.hash = record_hash(rec.header_bytes);
        c.header_bytes = views[i].header_bytes;
      } catch (const std::exception& e) {
        c.problem = e.what();
      }
    });
    for (const Checked& c : checked) {
      ++report.records;
      report.stubs += c.stub;
      if (!c.header) {
        add_problem("log position " + std::to_string(c.local) + ": " + c.problem);
        continue;
      }
      const Header& h = *c.header;
      // Set aside by a recovery: signed evidence, out of the chain that goes on without it.
      if (set_aside.count(c.local)) {
        ++report.set_aside;
        continue;
      }
      auto [it, fresh] = chain.try_emplace(h.origin, storage::OriginHead{h.origin, 0, {}});
      storage::OriginHead& last = it->second;
      std::string where = short_node_id(h.origin) + "/" + std::to_string(h.seq) + " (" + h.id + ")";
      // The log holds each origin's records in chain order: each one must extend the last.
      switch (chain_step(h, c.header_bytes, !c.stub, ChainTip{last.seq, last.hash}, nullptr)) {
        case ChainStep::extends:
          break;
        case ChainStep::unlinked:
          add_problem(where + ": does not link to the hash of the origin's previous record");
          break;
        default:
          add_problem(where + ": sequence " + std::to_string(h.seq) + " follows " + std::to_string(last.seq));
      }
      last.seq = h.seq;
      last.hash = c.hash;
      // Its signer's authority at this place in the chain (docs/identity.md).
      std::optional<KeyGrant> signer;
      if (auto why = keys.problem(h, c.body, &signer)) add_problem(where + ": " + *why);
      // A delegated key replaces only a record of a kind its role may sign (as every
      // receiving node checks; docs/identity.md).
      auto [held, first] = kinds.try_emplace(id_key(h.origin, h.id), h.kind);
      if (!first) {
        if (h.key && signer && !role_may_sign(signer->role, held->second))
          add_problem(where + ": key " + short_node_id(*h.key) + " (" + signer->name + ") may not replace a " +
                      std::string(kind_name(held->second)));
        held->second = h.kind;
      }
      keys.apply(h, c.body);
    }
    views.clear();
    // The scan has read these pages; let them go so RSS stays flat on large stores.
    store.env().release_resident_pages();
  };
  reader.scan_log(0, [&](const storage::StoredRecordView& v) {
    views.push_back(v);
    if (views.size() == kChunk) flush();
    return true;
  });
  flush();

  for (const auto& head : reader.heads()) {
    auto it = chain.find(head.origin);
    std::string who = short_node_id(head.origin);
    if (it == chain.end()) {
      if (head.seq != 0) add_problem(who + ": head says seq " + std::to_string(head.seq) + " but the log has none");
    } else if (it->second.seq != head.seq || it->second.hash != head.hash) {
      add_problem(who + ": head (seq " + std::to_string(head.seq) + ") differs from the log's last record (seq " +
                  std::to_string(it->second.seq) + ")");
    }
  }
  report.origins = chain.size();
  return report;
}

}  // namespace agora
