// RAII over LMDB: the environment (whose map grows on demand), transactions and cursors.
//
// Thread-safety: an Env is shared by all threads; a transaction belongs to one thread at a
// time. Growing the map waits until no transaction of this process is open (LMDB requires
// it), so never keep a transaction open while waiting for another thread's write.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace agora::storage {

// An LMDB call failed; the message names the call and LMDB's reason.
class LmdbError : public std::runtime_error {
 public:
  LmdbError(const std::string& call, int code);
  int code() const { return code_; }

 private:
  int code_;
};

struct EnvOptions {
  size_t initial_map_bytes = size_t{64} << 20;  // grown by doubling as data arrives
  size_t max_map_bytes = size_t{1} << 40;       // ceiling (AGORA_MAP_MAX_MB overrides)
  bool durable = true;                          // fsync at every commit
  bool read_only = false;
};

class Env;

inline MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view from_val(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

class Txn {
 public:
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn();

  // The value stored under key, pointing into the map: valid until this transaction ends.
  std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key) const;
  MDB_txn* raw() const { return txn_; }
  // Commits (for a read transaction: keeps tables it opened usable). Ends the transaction.
  void commit();

 protected:
  Txn(Env& env, bool write);
  void end_without_abort() { txn_ = nullptr; }
  MDB_txn* txn_ = nullptr;
  std::shared_lock<std::shared_mutex> resize_guard_;
};

class ReadTxn : public Txn {
 public:
  explicit ReadTxn(Env& env) : Txn(env, false) {}
};

class WriteTxn : public Txn {
 public:
  explicit WriteTxn(Env& env) : Txn(env, true) {}
  void put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  bool del(MDB_dbi dbi, std::string_view key);  // false if it was not there
};

// A cursor over one table, positioned with seek/first/last and moved with next/prev.
class Cursor {
 public:
  Cursor(const Txn& txn, MDB_dbi dbi);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  bool seek(std::string_view key);  // first entry >= key
  bool first();
  bool last();
  bool next();
  bool prev();
  std::string_view key() const { return from_val(key_); }
  std::string_view value() const { return from_val(value_); }

 private:
  bool move(MDB_cursor_op op);
  MDB_cursor* cursor_ = nullptr;
  MDB_val key_{}, value_{};
};

class Env {
 public:
  Env(const std::filesystem::path& dir, EnvOptions options);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // Opens (creating when writable) a named table; call before concurrent use.
  MDB_dbi open_table(const char* name, unsigned flags = 0);
  // The same for a table a newer release added: a read-only env over a store an older
  // release wrote (and no writer has opened since) has none, which reads as empty.
  std::optional<MDB_dbi> open_table_if_present(const char* name);

  // Runs fn(WriteTxn&) and commits. When the map is full the transaction is dropped, the
  // map doubled (up to the ceiling) and fn run again, so fn must only write from its inputs.
  template <class Fn>
  void write(Fn&& fn) {
    for (;;) {
      try {
        WriteTxn txn(*this);
        fn(txn);
        txn.commit();
        return;
      } catch (const LmdbError& e) {
        if (e.code() != MDB_MAP_FULL) throw;
      }
      grow();
    }
  }

  // Calls on the raw env that read its map (mdb_env_info, ...) must not overlap a map
  // resize on another thread: use the methods below, which hold the resize lock.
  MDB_env* raw() const { return env_; }
  const EnvOptions& options() const { return options_; }
  size_t map_size() const;
  // The id of the last write transaction (by any process) that a read begun now sees:
  // changes on every write, and a read after it sees that write.
  size_t last_txnid() const;
  // Drops this process's resident pages of the map (they stay in the page cache): keeps RSS
  // bounded while scanning a large store. Only for a read-only map (no WRITEMAP).
  void release_resident_pages() const;
  // Writes a copy of the environment holding only its live pages (mdb_env_copy2 with
  // MDB_CP_COMPACT) as `to_dir`/data.mdb: what free pages held (erased bodies) is not in it.
  void copy_compacted(const std::filesystem::path& to_dir) const;

 private:
  friend class Txn;
  size_t map_size_locked() const;  // the caller holds the resize lock
  void grow();
  void adopt_resized_map();

  MDB_env* env_ = nullptr;
  EnvOptions options_;
  std::filesystem::path data_file_;
  mutable std::shared_mutex resize_mutex_;
};

}  // namespace agora::storage
