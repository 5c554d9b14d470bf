// Bulk import of NDJSON input records: validate the whole file first, then sign and store
// in large transactions, reporting what is durably stored after each.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "node/local/data_dir.hpp"

namespace agora {

struct ImportOptions {
  size_t batch_size = 1536;  // records per transaction (one fsync each)
  bool revive = false;       // may bring back records that were retracted or erased
  // Called after each committed batch with (records stored so far, records in the file).
  std::function<void(size_t, size_t)> on_committed;
};

struct ImportSummary {
  size_t records = 0;    // non-blank lines
  size_t created = 0;    // first versions
  size_t updated = 0;    // new versions of existing records
  size_t unchanged = 0;  // identical to the latest version: nothing written
  size_t batches = 0;
  std::map<std::string, size_t> by_kind;
};

// Throws InvalidInput ("FILE:LINE: field: message") before writing anything if any line is
// invalid; an empty file is invalid too.
ImportSummary import_ndjson(DataDir& dir, const std::filesystem::path& file, const ImportOptions& options);

}  // namespace agora
