// Streams every public record (latest versions, not retracted) as NDJSON or CSV.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>

#include "node/data_dir.hpp"

namespace agora {

enum class ExportFormat { ndjson, csv };

// Returns the number of records written. Memory stays flat: one record at a time.
uint64_t export_public(storage::RecordStore& store, std::ostream& out, ExportFormat format,
                       std::optional<Kind> kind = std::nullopt);

}  // namespace agora
