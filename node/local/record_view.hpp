// How records look to readers: the JSON item (input fields plus origin, city, version...)
// shared by `show`, `list --json`, export and the HTTP API.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "node/local/data_dir.hpp"
#include "node/local/moderation.hpp"

namespace agora {

// City profiles by origin, looked up once per reader.
class CityDirectory {
 public:
  explicit CityDirectory(const storage::StoreReader& reader) : reader_(reader) {}
  const CityProfile* find(const PublicKey& origin);
  // The delegated key that signed a record (null for the origin's own key).
  const KeyGrant* signer(const Header& h);

 private:
  const storage::StoreReader& reader_;
  std::map<PublicKey, std::optional<CityProfile>> cache_;
  std::map<std::pair<PublicKey, PublicKey>, std::optional<KeyGrant>> keys_;
};

std::string iso8601_utc(int64_t ms);

// The item for one record version; body nullopt for a stub. A version signed by a
// delegated key names it: "signed_by": {"key", "name", "role"} (name and role when known).
nlohmann::json record_item(const Header& h, const std::optional<std::string>& body, const CityProfile* city,
                           const KeyGrant* signer = nullptr);
// The same item as JSON text, spliced from the stored body's bytes rather than parsed and
// serialised: the node's fields first, then the body's members as signed (their order and
// spelling). What a GET of one record and the pages of items answer.
std::string record_item_text(const Header& h, const std::optional<std::string>& body, const CityProfile* city,
                             const KeyGrant* signer = nullptr);

// For a version whose body an erasure dropped: {"on": time, "reason", "erasure": its id,
// "seq": its seq}; nullopt otherwise. Items of erased versions carry it as "erased".
std::optional<nlohmann::json> erasure_note(const storage::StoreReader& reader, uint64_t local);
// Why the city retracted (origin, id) at `version`, when a retraction note of the
// tombstone's `visibility` says so: {"reason", "record": the note's id}.
std::optional<nlohmann::json> retraction_note(const storage::StoreReader& reader, const PublicKey& origin,
                                              const std::string& id, uint32_t version, std::string_view visibility);
// Marks an item of the version at `local`: erased, withdrawn, set aside, and a retraction's
// reason as "retraction" (what show, the API and the changes feed say of it).
void mark_item(const storage::StoreReader& reader, uint64_t local, nlohmann::json& item);

// A coalition moderator's decision as shown with the record it concerns (`show`, `list
// --json`): {"coalition", "action", "by": {"node", "city"}, "on", "reason", "record"}.
nlohmann::json moderation_note(const ModerationDecision& d, CityDirectory& cities);

// One page of the public changes feed (GET /api/v1/changes and its event stream): record
// versions in the order this node stored them, after log position `since`. Scans at most
// 100 x limit log entries, so a feed of mostly non-public records still answers promptly.
struct ChangesPage {
  nlohmann::json results = nlohmann::json::array();
  uint64_t last = 0;  // the position to continue after
  bool more = false;
};
ChangesPage read_changes(const storage::StoreReader& reader, uint64_t since, size_t limit, std::optional<Kind> kind);

// Resolves a REF as the CLI accepts it: "ID" (this node's) or "ORIGIN/ID", where ORIGIN is
// a node id, a unique prefix of one (8+ hex digits), or a city name. Throws InvalidInput.
std::pair<PublicKey, std::string> resolve_ref(const storage::StoreReader& reader, const PublicKey& self,
                                              std::string_view ref);
// Resolves a city given by name (diacritics and case ignored; both names NFC-normalized, so a
// profile signed decomposed by an older node still matches), node id or id prefix.
std::optional<PublicKey> resolve_city(const storage::StoreReader& reader, std::string_view city);

}  // namespace agora
