// The record store: per-origin signed logs in LMDB with heads, latest versions, history and
// the secondary indexes that listing by kind, city, theme and year needs. See docs/data-model.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "protocol/authority.hpp"
#include "protocol/input_schema.hpp"
#include "protocol/record.hpp"
#include "storage/lmdb_env.hpp"
#include "storage/store_format.hpp"

namespace agora::storage {

// A verified record ready to be stored, with the index keys of its body.
struct IncomingRecord {
  SignedRecord record;
  Header header;
  IndexKeys keys;
  std::string log_value;  // the stored form; filled by prepare_log_value (or by append)
};

// Encodes (compresses) a record for the log ahead of the write transaction, so this work
// can run on all cores instead of inside the single writer.
void prepare_log_value(IncomingRecord& in);

// Where an origin's chain ends.
struct OriginHead {
  PublicKey origin{};
  uint64_t seq = 0;
  Hash hash{};  // record_hash of the record at seq (all zero when seq is 0)
};

// The newest version of one (origin, id).
struct LatestEntry {
  uint64_t local = 0;  // position in this node's log
  uint32_t version = 0;
  Kind kind = Kind::practice;
  bool tombstone = false;
  bool is_public = false;
  IndexKeys keys;
  uint64_t body_hash_prefix = 0;  // first 8 bytes of the body's SHA-256 (no-op update check)
};

// A stored record as found in the log; views point into the map (valid for the txn).
struct StoredRecordView {
  uint64_t local = 0;
  std::string_view header_bytes;
  Signature signature{};
  std::string_view encoded_body;
  SignedRecord load() const;  // copies out, decompressing the body
  bool is_stub() const;       // held without its body
};

struct ListQuery {
  std::optional<Kind> kind;
  std::optional<PublicKey> origin;
  std::optional<int> theme;                    // index into themes()
  std::optional<uint16_t> year_from, year_to;  // inclusive; records without a year never match
  // With kind alone: visit in log order of the latest versions, starting after this
  // position. A reader resuming in a new transaction sees each record once, even when it
  // changed in between (its new version sits further on).
  uint64_t after_local = 0;
};

class RecordStore;

// Read access within one read transaction.
class StoreReader {
  friend class RecordStore;

 public:
  StoreReader(const RecordStore& store, const Txn& txn) : store_(store), txn_(txn) {}

  std::optional<OriginHead> head(const PublicKey& origin) const;
  std::vector<OriginHead> heads() const;
  std::optional<LatestEntry> latest(const PublicKey& origin, std::string_view id) const;
  std::optional<StoredRecordView> at(uint64_t local) const;
  std::optional<StoredRecordView> at(const PublicKey& origin, uint64_t seq) const;
  // Log positions of every version of (origin, id), oldest first.
  std::vector<uint64_t> history(const PublicKey& origin, std::string_view id) const;
  // Visits records in log order from position `from`; stop by returning false.
  void scan_log(uint64_t from, const std::function<bool(const StoredRecordView&)>& visit) const;
  // Visits latest versions matching q: (origin, id, entry).
  void list(const ListQuery& q,
            const std::function<bool(const PublicKey&, std::string_view, const LatestEntry&)>& visit) const;
  uint64_t last_local() const;  // 0 when the log is empty
  uint64_t count_latest(Kind kind) const;
  // What the origin's chain (as held) states of one of its delegated keys; every key it
  // delegated, in key order.
  std::optional<KeyGrant> grant(const PublicKey& origin, const PublicKey& key) const;
  std::vector<KeyGrant> grants(const PublicKey& origin) const;
  // Whether the record version at log position `local` was withdrawn: signed by a key after
  // the point its revocation says it was compromised (kept as evidence, not current).
  bool is_withdrawn(uint64_t local) const;
  // The (log position, id) of the origin's records after seq `after` and before `before`
  // signed by `key` (what a revocation with compromised_since withdraws).
  std::vector<std::pair<uint64_t, std::string>> signed_by(const PublicKey& origin, const PublicKey& key, uint64_t after,
                                                          uint64_t before) const;
  // The highest version number (origin, id) ever had, withdrawn or not (0: none).
  uint32_t max_version(const PublicKey& origin, std::string_view id) const;
  // The recovery key commitment the origin's chain states (its genesis record, or the first
  // city record that states one), and the seq of its latest recovery record (0: none).
  std::optional<Hash> recovery_commitment(const PublicKey& origin) const;
  uint64_t recovered_at(const PublicKey& origin) const;
  std::vector<std::pair<PublicKey, uint64_t>> recoveries() const;  // origins with a recovery: its seq
  // Whether the version at `local` was set aside by a recovery (a branch of the chain the
  // recovery record replaced); such versions are also is_withdrawn().
  bool is_set_aside(uint64_t local) const;
  std::set<uint64_t> set_aside_positions() const;  // every one (a few: recoveries are rare)
  // The log position of the erasure record that dropped the body of the version at `local`
  // (its header stays: the chain still verifies); nullopt when it was not erased.
  std::optional<uint64_t> erased_by(uint64_t local) const;
  // The translations of (origin, id) this node holds with their bodies, any version of the
  // source, current or not: (translator, translation record id). Read each with latest().
  std::vector<std::pair<PublicKey, std::string>> translations_of(const PublicKey& origin, std::string_view id) const;

 private:
  std::optional<uint32_t> origin_index(const PublicKey& origin) const;
  std::optional<PublicKey> origin_key(uint32_t index) const;
  const RecordStore& store_;
  const Txn& txn_;
};

class RecordStore {
 public:
  // Opens or creates the store in dir. Throws NewerStoreFormat if a later release wrote it.
  // A store of an older format opens unchanged, readable for a backup: pending_migration()
  // says so, and migrate() brings it to kStoreFormatVersion.
  RecordStore(const std::filesystem::path& dir, EnvOptions options = {});

  Env& env() { return *env_; }

  // The format (and release) the store was in when it was opened.
  const StoreFormat& opened_format() const { return opened_; }
  // The older format to migrate from, when the store is in one.
  std::optional<uint32_t> pending_migration() const;
  // Brings a store of an older format to this build's, every step in one write transaction
  // (a kill leaves it as it was, to migrate again). The caller took a backup first.
  void migrate();

  // Tables the node keeps beside the records (values are JSON, see node/local/peer_registry.hpp):
  // allowed peers by node id, their last known sync state, and fork evidence.
  MDB_dbi peers_table() const { return peers_; }
  MDB_dbi peer_state_table() const { return peer_state_; }
  MDB_dbi forks_table() const { return forks_; }

  // Appends records in order inside txn. Each must extend its origin's chain exactly
  // (seq = head + 1, prev = head hash); throws ChainError otherwise, so the caller's
  // transaction is abandoned and nothing of the batch is written.
  void append(WriteTxn& txn, std::span<const IncomingRecord> records);
  // The same over records held elsewhere: lets a retried transaction append again from
  // inputs it did not consume.
  void append(WriteTxn& txn, std::span<const IncomingRecord* const> records);

  // A recovery record is about to take seq `from_seq` of `origin`'s chain: the records held
  // from there on leave the chain (kept in the log as evidence, withdrawn, never served as
  // current), the head moves back to from_seq - 1, and what the remaining chain states of
  // the city's keys is read again. Returns how many records were set aside.
  uint64_t set_aside(WriteTxn& txn, const PublicKey& origin, uint64_t from_seq);

  // Completes a stub with its body (the caller checked it against the signed header):
  // rewrites the log entry and, when it is the latest version, indexes it. False if the
  // record is not held or not a stub.
  bool fill_body(WriteTxn& txn, const PublicKey& origin, uint64_t seq, const std::string& body, const IndexKeys& keys);

  // Small named values beside the records (e.g. "restoring"), written in the caller's txn.
  std::optional<std::string> meta(const Txn& txn, std::string_view key) const;
  void put_meta(WriteTxn& txn, std::string_view key, std::string_view value);
  void erase_meta(WriteTxn& txn, std::string_view key);

  // Read helpers for one-off lookups.
  template <class Fn>
  auto read(Fn&& fn) {
    ReadTxn txn(*env_);
    StoreReader reader(*this, txn);
    return fn(reader);
  }

 private:
  friend class StoreReader;
  uint32_t origin_index_for_write(WriteTxn& txn, const PublicKey& origin, uint32_t& next_index);
  void put_grant(WriteTxn& txn, const Header& h, std::string_view body);
  // What a key or city record of origin `idx` states beyond its own version: a grant, a
  // compromise withdrawal, a recovery's retirement of the other root keys, a commitment.
  void apply_statement(WriteTxn& txn, uint32_t idx, const Header& h, std::string_view body);
  // A revocation with compromised_since: marks what the key signed after that point
  // withdrawn and gives each record touched its latest version not withdrawn.
  void withdraw(WriteTxn& txn, uint32_t origin_index, const Header& revocation, const KeyGrant& grant);
  void recompute_latest(WriteTxn& txn, uint32_t origin_index, const std::string& id);
  // The migration steps (store_format.cpp).
  void migrate_format_1_to_2(WriteTxn& txn);
  void index_grants_of_older_release(WriteTxn& txn);
  void index_recovery_commitments_of_older_release(WriteTxn& txn);
  void index_kinds_of_older_release();
  void index_latest(WriteTxn& txn, uint32_t origin_index, const Header& h, uint64_t local, const IndexKeys& keys);
  // An erasure record (at log position `erasure_local`) was stored with its body: the
  // versions it names lose their bodies, and the record its current version.
  // A translation's body names its source: remembered for StoreReader::translations_of.
  void note_translation(WriteTxn& txn, const Header& h, std::string_view body);
  void apply_erasure(WriteTxn& txn, uint32_t origin_index, const Header& erasure, std::string_view body,
                     uint64_t erasure_local);

  std::unique_ptr<Env> env_;
  std::filesystem::path dir_;
  StoreFormat opened_;
  MDB_dbi meta_, origins_, heads_, log_, by_origin_seq_, latest_, versions_, by_kind_, by_theme_, by_year_;
  MDB_dbi peers_, peer_state_, forks_;
  // Added in release 0.2: absent from a read-only view of an older release's store.
  std::optional<MDB_dbi> grants_;  // origin + key -> what the latest key record of that key states
  // log position -> "" (a compromised key's revocation) or "s" (set aside by a recovery)
  std::optional<MDB_dbi> withdrawn_;
  std::optional<MDB_dbi> erased_;        // log position -> the erasure record's log position
  std::optional<MDB_dbi> translations_;  // source (origin + id) + translator + translation id -> ""
  std::optional<MDB_dbi> recovery_;      // origin -> recovery key commitment (32) + seq of its latest recovery (8)
};

// A record does not extend its origin's chain (gap, fork, reordering or broken link).
class ChainError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace agora::storage
