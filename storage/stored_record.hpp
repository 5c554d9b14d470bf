// One stored record version read whole: the signed record with its header decoded once.
// How readers (HTTP, search, export, CLI, entitlements, monitoring) load whole records; scans
// that need only headers decode StoredRecordView::header_bytes instead.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "storage/record_store.hpp"

namespace agora::storage {

struct StoredRecord {
  uint64_t local = 0;  // log position
  Header header;
  SignedRecord record;  // as signed; body nullopt for a stub

  bool is_stub() const { return !record.body; }
  const std::optional<std::string>& body() const { return record.body; }
  // The body as a JSON object; nullopt for a stub or a body that is not one.
  std::optional<nlohmann::json> body_json() const;
};

// The version at a log position; nullopt when none is stored there or its header does not
// decode (a damaged store, which `agora verify` names).
std::optional<StoredRecord> read_record(const StoreReader& reader, uint64_t local);

}  // namespace agora::storage
