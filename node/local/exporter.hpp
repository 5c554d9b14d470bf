// Streams every public record (latest versions, not retracted) as NDJSON, CSV or JSON-LD.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "node/local/data_dir.hpp"

namespace agora {

enum class ExportFormat { ndjson, csv, jsonld };

std::optional<ExportFormat> parse_export_format(std::string_view name);
std::string_view export_content_type(ExportFormat format);

// An export read a piece at a time, each piece in its own read transaction: memory stays
// flat and a slow reader pins no old pages. Records changed meanwhile appear once, in
// their newest version.
class ExportStream {
 public:
  ExportStream(storage::RecordStore& store, ExportFormat format, std::optional<Kind> kind = std::nullopt);
  // The next piece, about max_bytes long (at least one record); empty once everything is out.
  std::string next(size_t max_bytes = 64 * 1024);
  bool done() const { return finished_; }
  uint64_t records() const { return records_; }

 private:
  storage::RecordStore& store_;
  ExportFormat format_;
  std::vector<Kind> kinds_;
  size_t kind_index_ = 0;
  uint64_t after_ = 0;  // log position reached within the current kind
  uint64_t records_ = 0;
  bool started_ = false, finished_ = false;
};

// The whole export into out; returns the number of records written.
uint64_t export_public(storage::RecordStore& store, std::ostream& out, ExportFormat format,
                       std::optional<Kind> kind = std::nullopt);

}  // namespace agora
