#include "node/local/compaction.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "node/local/data_dir.hpp"
#include "storage/lmdb_env.hpp"

namespace agora {

namespace fs = std::filesystem;

namespace {

uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return fs::file_size(p, ec);
  uint64_t total = 0;
  if (fs::is_directory(p, ec))
    for (const auto& e : fs::recursive_directory_iterator(p, ec))
      if (e.is_regular_file(ec)) total += e.file_size(ec);
  return total;
}

void sync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

CompactionReport compact_data_dir(const fs::path& dir, const std::function<void(const fs::path&)>& compact_index) {
  if (!fs::exists(dir / "node.key"))
    throw std::runtime_error("no node in " + dir.string() + " (run `agora init` or pass --data DIR)");
  ExclusiveDataDirLock lock(dir);
  CompactionReport report;
  const fs::path store = dir / "store", copy = dir / "store.compact";
  report.store_before = size_of(store / "data.mdb");
  fs::remove_all(copy);  // left by a compaction that was interrupted: never the store itself
  {
    storage::Env env(store, storage::EnvOptions{});
    env.copy_compacted(copy);
  }
  // Readable by the node's user only, as LMDB creates it (the copy follows the umask).
  fs::permissions(copy / "data.mdb", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  sync_path(copy / "data.mdb");
  fs::rename(copy / "data.mdb", store / "data.mdb");  // atomic: the old store or the new, whole
  sync_path(store);
  fs::remove_all(copy);
  report.store_after = size_of(store / "data.mdb");
  if (fs::exists(dir / "search")) {
    report.index_before = size_of(dir / "search");
    compact_index(dir / "search");
    report.index_after = size_of(dir / "search");
  }
  return report;
}

}  // namespace agora
