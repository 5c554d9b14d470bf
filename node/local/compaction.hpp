// `agora compact`: rewrites a stopped node's files with only their live data, so that what
// erasures and updates freed (pages LMDB keeps for reuse) is gone from the disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

namespace agora {

struct CompactionReport {
  uint64_t store_before = 0, store_after = 0;  // bytes of DATA/store/data.mdb
  uint64_t index_before = 0, index_after = 0;  // bytes of DATA/search (0: none)
};

// Holds the data dir exclusively (InvalidInput when a node or command has it open), copies
// the LMDB store without its free pages and puts the copy in place atomically; then
// `compact_index` (the search layer's) does the same for DATA/search when it exists.
CompactionReport compact_data_dir(const std::filesystem::path& dir,
                                  const std::function<void(const std::filesystem::path& index_dir)>& compact_index);

}  // namespace agora
