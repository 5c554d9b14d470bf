#include "storage/stored_record.hpp"

namespace agora::storage {

std::optional<nlohmann::json> StoredRecord::body_json() const {
  if (!record.body) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*record.body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

std::optional<StoredRecord> read_record(const StoreReader& reader, uint64_t local) {
  auto view = reader.at(local);
  if (!view) return std::nullopt;
  StoredRecord out;
  out.local = local;
  out.record = view->load();
  auto h = decode_header(out.record.header_bytes);
  if (!h) return std::nullopt;
  out.header = std::move(h).value();
  return out;
}

}  // namespace agora::storage
