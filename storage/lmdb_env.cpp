#include "storage/lmdb_env.hpp"

#include <sys/mman.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <mutex>

namespace agora::storage {

LmdbError::LmdbError(const std::string& call, int code)
    : std::runtime_error(
          call + ": " +
          (code == MDB_MAP_FULL ? std::string("the data dir's map is full") : std::string(mdb_strerror(code)))),
      code_(code) {}

static void check(int rc, const char* call) {
  if (rc != MDB_SUCCESS) throw LmdbError(call, rc);
}

// ---- Env ----

Env::Env(const std::filesystem::path& dir, EnvOptions options)
    : options_(options), data_file_(std::filesystem::absolute(dir / "data.mdb")) {
  check(mdb_env_create(&env_), "mdb_env_create");
  try {
    check(mdb_env_set_maxdbs(env_, 32), "mdb_env_set_maxdbs");
    check(mdb_env_set_maxreaders(env_, 256), "mdb_env_set_maxreaders");
    // Start from the larger of the configured size and what the file already holds.
    size_t map = options_.initial_map_bytes;
    std::error_code ec;
    auto file_size = std::filesystem::file_size(dir / "data.mdb", ec);
    if (!ec) map = std::max<size_t>(map, file_size + file_size / 2);
    map = std::min(map, std::max(options_.max_map_bytes, static_cast<size_t>(ec ? 0 : file_size)));
    check(mdb_env_set_mapsize(env_, map), "mdb_env_set_mapsize");
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    if (!options_.durable) flags |= MDB_NOSYNC;
    if (options_.read_only) flags |= MDB_RDONLY;
    check(mdb_env_open(env_, dir.c_str(), flags, 0600), ("mdb_env_open " + dir.string()).c_str());
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

Env::~Env() { mdb_env_close(env_); }

MDB_dbi Env::open_table(const char* name, unsigned flags) {
  MDB_dbi dbi = 0;
  if (options_.read_only) {
    ReadTxn txn(*this);
    int rc = mdb_dbi_open(txn.raw(), name, flags, &dbi);
    if (rc == MDB_NOTFOUND) throw LmdbError(std::string("mdb_dbi_open ") + name + " (table missing)", rc);
    check(rc, "mdb_dbi_open");
    txn.commit();  // a table opened in an aborted read transaction is closed again
    return dbi;
  }
  write([&](WriteTxn& txn) { check(mdb_dbi_open(txn.raw(), name, flags | MDB_CREATE, &dbi), "mdb_dbi_open"); });
  return dbi;
}

std::optional<MDB_dbi> Env::open_table_if_present(const char* name) {
  if (!options_.read_only) return open_table(name);
  MDB_dbi dbi = 0;
  ReadTxn txn(*this);
  int rc = mdb_dbi_open(txn.raw(), name, 0, &dbi);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "mdb_dbi_open");
  txn.commit();
  return dbi;
}

void Env::copy_compacted(const std::filesystem::path& to_dir) const {
  std::filesystem::create_directories(to_dir);
  std::shared_lock lock(resize_mutex_);
  check(mdb_env_copy2(env_, to_dir.c_str(), MDB_CP_COMPACT), ("mdb_env_copy2 " + to_dir.string()).c_str());
}

size_t Env::map_size() const {
  std::shared_lock lock(resize_mutex_);
  return map_size_locked();
}

size_t Env::map_size_locked() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

void Env::grow() {
  std::unique_lock lock(resize_mutex_);
  size_t current = map_size_locked();
  if (current >= options_.max_map_bytes)
    throw std::runtime_error("the data dir reached its map ceiling of " + std::to_string(options_.max_map_bytes >> 20) +
                             " MiB (raise AGORA_MAP_MAX_MB)");
  size_t next = std::min(options_.max_map_bytes, current * 2);
  check(mdb_env_set_mapsize(env_, next), "mdb_env_set_mapsize");
  spdlog::info("store {}: map grown from {} to {} MiB", data_file_.parent_path().string(), current >> 20, next >> 20);
}

void Env::adopt_resized_map() {
  std::unique_lock lock(resize_mutex_);
  check(mdb_env_set_mapsize(env_, 0), "mdb_env_set_mapsize");
}

// The snapshot a read begun now sees, not mdb_env_info's id: a writer updates the meta page
// before it lets new readers see its transaction, so a caller that took that id and then
// read could see the id of a write it cannot read yet, and miss the write for good.
size_t Env::last_txnid() const {
  ReadTxn txn(const_cast<Env&>(*this));
  return mdb_txn_id(txn.raw());
}

void Env::release_resident_pages() const {
  // The lock keeps the map where /proc/self/maps says it is: after a resize the old range
  // may hold other memory, which MADV_DONTNEED would wipe.
  std::shared_lock lock(resize_mutex_);
  // LMDB does not expose its map address, so find this file's mappings in /proc/self/maps.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (!line.ends_with(data_file_.string())) continue;
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &begin, &end) == 2)
      madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

// ---- transactions ----

Txn::Txn(Env& env, bool write) {
  for (;;) {
    resize_guard_ = std::shared_lock(env.resize_mutex_);
    int rc = mdb_txn_begin(env.env_, nullptr, write ? 0 : MDB_RDONLY, &txn_);
    if (rc == MDB_MAP_RESIZED) {  // another process grew the map: take its size and retry
      resize_guard_.unlock();
      env.adopt_resized_map();
      continue;
    }
    check(rc, write ? "mdb_txn_begin (write)" : "mdb_txn_begin (read)");
    return;
  }
}

Txn::~Txn() {
  if (txn_) mdb_txn_abort(txn_);
}

std::optional<std::string_view> Txn::get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = to_val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "mdb_get");
  return from_val(v);
}

void WriteTxn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(value);
  check(mdb_put(txn_, dbi, &k, &v, flags), "mdb_put");
}

bool WriteTxn::del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_del");
  return true;
}

void Txn::commit() {
  MDB_txn* txn = txn_;
  end_without_abort();  // LMDB frees the transaction whether commit succeeds or not
  check(mdb_txn_commit(txn), "mdb_txn_commit");
}

// ---- cursor ----

Cursor::Cursor(const Txn& txn, MDB_dbi dbi) { check(mdb_cursor_open(txn.raw(), dbi, &cursor_), "mdb_cursor_open"); }
Cursor::~Cursor() { mdb_cursor_close(cursor_); }

bool Cursor::move(MDB_cursor_op op) {
  int rc = mdb_cursor_get(cursor_, &key_, &value_, op);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_cursor_get");
  return true;
}

bool Cursor::seek(std::string_view key) {
  key_ = to_val(key);
  return move(MDB_SET_RANGE);
}
bool Cursor::first() { return move(MDB_FIRST); }
bool Cursor::last() { return move(MDB_LAST); }
bool Cursor::next() { return move(MDB_NEXT); }
bool Cursor::prev() { return move(MDB_PREV); }

}  // namespace agora::storage
