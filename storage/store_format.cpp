// RecordStore::migrate and its steps: how a store of an older format becomes this build's.
// Each step reads and writes in the one transaction migrate() commits, so a kill leaves the
// store in its old format, whole (docs/operations.md, "Upgrades").
#include <map>

#include "protocol/release.hpp"
#include "storage/keys.hpp"
#include "storage/record_store.hpp"

namespace agora::storage {

std::optional<uint32_t> RecordStore::pending_migration() const {
  if (opened_.format == 0 || opened_.format >= kStoreFormatVersion) return std::nullopt;
  return opened_.format;
}

void RecordStore::migrate() {
  auto from = pending_migration();
  if (!from) return;
  if (*from < kOldestMigratableFormat)
    throw NewerStoreFormat("the store in " + dir_.string() + " is in format " + std::to_string(*from) +
                           ", older than this agora " + kRelease + " migrates from (" +
                           std::to_string(kOldestMigratableFormat) + "): open it with an earlier release first");
  env_->write([&](WriteTxn& txn) {
    for (uint32_t format = *from; format < kStoreFormatVersion; ++format) {
      if (format == 1) migrate_format_1_to_2(txn);
    }
    txn.put(meta_, "format", be(kStoreFormatVersion));
    txn.put(meta_, "release", kRelease);
  });
  opened_ = {kStoreFormatVersion, kRelease};
  index_kinds_of_older_release();
}

// Format 1 marked the grant and recovery indexes complete with two meta keys, and 0.1.0
// completed them at each start when a mark was missing; format 2 means both are complete.
void RecordStore::migrate_format_1_to_2(WriteTxn& txn) {
  if (!txn.get(meta_, "recovery")) index_recovery_commitments_of_older_release(txn);
  if (!txn.get(meta_, "grants")) index_grants_of_older_release(txn);
  txn.del(meta_, "recovery");
  txn.del(meta_, "grants");
}

// A release before recovery keys stored genesis records without reading their commitment:
// it is read from each held genesis record, or that city's recovery would be refused.
void RecordStore::index_recovery_commitments_of_older_release(WriteTxn& txn) {
  StoreReader r(*this, txn);
  for (const OriginHead& head : r.heads()) {
    auto view = r.at(head.origin, 1);
    if (!view || view->is_stub()) continue;
    auto h = decode_header(view->header_bytes);
    if (!h || h.value().kind != Kind::city || r.recovery_commitment(head.origin)) continue;
    std::string body = *view->load().body;
    if (!validate_received_body(h.value(), body)) continue;
    if (auto idx = r.origin_index(head.origin)) apply_statement(txn, *idx, h.value(), body);
  }
}

// A release before key records held any a peer relayed as a kind it did not know: their
// grants are read from the log, or records signed by those keys would be refused.
void RecordStore::index_grants_of_older_release(WriteTxn& txn) {
  StoreReader r(*this, txn);
  // In log order (each origin's chain order), under the rule a receiving node applies
  // today: an older release stored them without knowing it.
  std::map<std::pair<PublicKey, PublicKey>, KeyGrant> applied;
  r.scan_log(1, [&](const StoredRecordView& view) {
    if (view.header_bytes.find("\"kind\":\"key\"") == std::string_view::npos) return true;
    auto h = decode_header(view.header_bytes);
    if (!h || h.value().kind != Kind::key || view.is_stub()) return true;
    std::string body = *view.load().body;
    if (!validate_received_body(h.value(), body)) return true;
    auto granted = read_key_grant(body, h.value().seq);
    if (!granted) return true;
    auto before = applied.find({h.value().origin, granted->key});
    if (authority_problem(h.value(), nullptr, &*granted, before == applied.end() ? nullptr : &before->second))
      return true;
    applied[{h.value().origin, granted->key}] = *granted;
    put_grant(txn, h.value(), body);
    return true;
  });
}

}  // namespace agora::storage
