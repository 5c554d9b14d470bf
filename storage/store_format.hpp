// Which on-disk format a store is in, and the error a store newer than this build gives.
// The steps from each older format to the next are RecordStore::migrate (store_format.cpp).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace agora::storage {

// The format this build writes. Format 1: agora 0.1.0. Format 2 (agora 0.2.0): the grant
// and recovery-commitment indexes are complete for every record held (format 1 stores of
// releases before key records could lack them; 0.1.0 completed them at each start).
inline constexpr uint32_t kStoreFormatVersion = 2;
// The oldest format this build migrates from.
inline constexpr uint32_t kOldestMigratableFormat = 1;
// The oldest format a read-only open reads as it is (no migration, nothing written):
// format 1 differs from 2 only in marks that reads do not use.
inline constexpr uint32_t kOldestReadableFormat = 1;

// What a store says about itself in its meta table.
struct StoreFormat {
  uint32_t format = 0;  // 0: no store there yet
  std::string release;  // the agora release that wrote that format ("" before 0.2.0)
};

// The store was written by a later release in a format this build cannot read. Its
// message names both formats and both releases.
class NewerStoreFormat : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace agora::storage
