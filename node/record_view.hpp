// How records look to readers: the JSON item (input fields plus origin, city, version...)
// shared by `show`, `list --json`, export and, later, the HTTP API.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "node/data_dir.hpp"

namespace agora {

// City profiles by origin, looked up once per reader.
class CityDirectory {
 public:
  explicit CityDirectory(const storage::StoreReader& reader) : reader_(reader) {}
  const CityProfile* find(const PublicKey& origin);

 private:
  const storage::StoreReader& reader_;
  std::map<PublicKey, std::optional<CityProfile>> cache_;
};

std::string iso8601_utc(int64_t ms);

// The item for one record version; body nullopt for a stub.
nlohmann::json record_item(const Header& h, const std::optional<std::string>& body, const CityProfile* city);

// Resolves a REF as the CLI accepts it: "ID" (this node's) or "ORIGIN/ID", where ORIGIN is
// a node id, a unique prefix of one (8+ hex digits), or a city name. Throws InvalidInput.
std::pair<PublicKey, std::string> resolve_ref(const storage::StoreReader& reader, const PublicKey& self,
                                              std::string_view ref);
// Resolves a city given by name (diacritics and case ignored), node id or id prefix.
std::optional<PublicKey> resolve_city(const storage::StoreReader& reader, std::string_view city);

}  // namespace agora
