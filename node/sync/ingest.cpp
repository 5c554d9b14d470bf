#include "node/sync/ingest.hpp"

#include <spdlog/spdlog.h>

#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "node/local/worker_pool.hpp"
#include "node/sync/engine.hpp"
#include "node/sync/store_views.hpp"
#include "protocol/input_schema.hpp"

namespace agora::sync {

VerifiedBatch verify_batch(RecordBatch& batch) {
  VerifiedBatch v;
  v.batch = batch.batch;
  std::vector<SignedRecord>& records = batch.records;
  v.records.resize(records.size());
  v.errors.resize(records.size());
  v.newer.assign(records.size(), 0);
  try {
    parallel_for(records.size(), [&](size_t i) {
      if (i < batch.oversized.size() && !batch.oversized[i].empty()) {
        v.errors[i] = batch.oversized[i];
        return;
      }
      auto h = verify_record(records[i]);
      if (!h && h.error().newer_format) {
        // Not checkable here: kept out of the store without blame (docs/protocol.md section 7).
        v.newer[i] = 1;
        if (auto at = claimed_position(records[i].header_bytes))
          v.records[i].header.origin = at->first, v.records[i].header.seq = at->second;
        return;
      }
      if (!h) {
        v.errors[i] = h.error().to_string();
        return;
      }
      if (records[i].body) {
        auto keys = validate_received_body(h.value(), *records[i].body);
        if (!keys) {
          v.errors[i] = keys.error().to_string();
          return;
        }
        v.records[i].keys = keys.value();
      }
      v.records[i].header = std::move(h).value();
      v.records[i].record = std::move(records[i]);
      storage::prepare_log_value(v.records[i]);
    });
  } catch (const std::exception& e) {  // e.g. out of memory: refuse the whole batch
    v.records.assign(records.size(), storage::IncomingRecord{});
    v.errors.assign(records.size(), std::string("cannot verify: ") + e.what());
    v.newer.assign(records.size(), 0);
  }
  return v;
}

IngestOutcome store_batch(storage::RecordStore& store, const PublicKey& from, const VerifiedBatch& batch,
                          IngestPolicy& policy) {
  IngestOutcome out;
  IngestPolicy working;
  try {
    // The transaction body only reads the batch and the policy: LMDB may run it again after
    // growing the map.
    store.env().write([&](storage::WriteTxn& txn) {
      out = IngestOutcome{};
      working = policy;
      storage::StoreReader reader(store, txn);
      BatchDecision d = decide_batch(batch.records, batch.errors, batch.newer, LmdbChainView(reader), working);
      std::vector<const storage::IncomingRecord*> accepted;
      for (size_t i = 0; i < batch.records.size(); ++i) {
        const storage::IncomingRecord& in = batch.records[i];
        switch (d.dispositions[i]) {
          case Disposition::store:
            accepted.push_back(&in);
            break;
          case Disposition::recover: {
            // Nothing of the batch before it extends this origin past its seq (one sender's
            // chain), but be exact: those go with the branch.
            std::erase_if(accepted, [&](const storage::IncomingRecord* r) {
              return r->header.origin == in.header.origin && r->header.seq >= in.header.seq;
            });
            store.append(txn, accepted);
            out.stored += static_cast<uint32_t>(accepted.size());
            accepted.clear();
            uint64_t aside = store.set_aside(txn, in.header.origin, in.header.seq);
            spdlog::warn(
                "recovery: {} replaced its chain from seq {} with a record signed by its recovery key; {} "
                "records held from there are set aside (reported by {})",
                short_node_id(in.header.origin), in.header.seq, aside, short_node_id(from));
            accepted.push_back(&in);
            out.recovered.push_back(in.header.origin);
            break;
          }
          case Disposition::fill:
            // The sender now counts this node as entitled to a body it holds as a stub.
            if (store.fill_body(txn, in.header.origin, in.header.seq, *in.record.body, in.keys)) {
              ++out.filled;
              out.filled_at.emplace_back(in.header.origin, in.header.seq);
            } else if (auto at = reader.at(in.header.origin, in.header.seq); at && reader.erased_by(at->local)) {
              // An erased body never comes back; no blame (a peer may not have heard yet).
              ++out.skipped;
              spdlog::info("peer {} sent the body of {}/{}, which was erased: dropped", short_node_id(from),
                           short_node_id(in.header.origin), in.header.seq);
            } else {
              ++out.duplicate;
            }
            break;
          case Disposition::duplicate:
            ++out.duplicate;
            if (!in.record.body && !in.header.tombstone && in.header.body_size > 0)
              if (auto held = reader.at(in.header.origin, in.header.seq); held && !held->is_stub())
                out.stubs_of_held_bodies.emplace_back(in.header.origin, in.header.seq);
            break;
          case Disposition::fork:
            ++out.forks;
            save_fork(store, txn,
                      ForkEvidence{in.header.origin, in.header.seq, from, in.record.header_bytes, now_ms()});
            spdlog::warn("fork: {}/{} holds a second, different record from {} (reported by {})",
                         short_node_id(in.header.origin), in.header.seq, short_node_id(in.header.origin),
                         short_node_id(from));
            break;
          case Disposition::reject:
          case Disposition::skip:
            break;
        }
      }
      store.append(txn, accepted);
      out.stored += static_cast<uint32_t>(accepted.size());
      out.rejected = d.rejected;
      out.skipped += d.skipped;
      out.new_origins = d.new_origins;
      out.first_error = d.first_error;
      out.sender_holds = std::move(d.sender_holds);
    });
    policy = std::move(working);
  } catch (const std::exception& e) {
    out = IngestOutcome{};
    out.rejected = static_cast<uint32_t>(batch.records.size());
    out.first_error = std::string("cannot store: ") + e.what();
    out.local_failure = true;
  }
  return out;
}

}  // namespace agora::sync
