// Validation of input records (what coordinators write) into canonical signed-record bodies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "protocol/framework_catalog.hpp"
#include "protocol/record.hpp"
#include "protocol/result.hpp"
#include "protocol/vocabulary.hpp"

namespace agora {

// Keys the store indexes a record version under; derived from a validated body.
struct IndexKeys {
  uint16_t themes = 0;  // bit i set: themes()[i]
  uint16_t year = 0;    // "started" of a practice, first year of a plan's period; 0 if none
};

// Who is publishing: input may restate the signer's city but never claim another.
struct PublisherIdentity {
  std::string node_id;
  std::string city;
  std::string country;
};

struct ValidatedInput {
  Kind kind = Kind::practice;
  std::optional<std::string> id;  // absent: the publisher generates one
  std::string visibility = "public";
  std::string body;   // canonical JSON bytes of the body (no kind/id/visibility)
  std::string title;  // for generated ids and listings
  IndexKeys keys;
};

// Validates one parsed input record. Every string in it (values and keys, at any depth) is
// first normalized to NFC (protocol/unicode.hpp): what is checked and signed is the
// normalized text. Errors name the field path ("themes[2]") and, for unknown vocabulary,
// suggest the nearest valid value. The body is source_text itself when that is one compact
// line and already NFC, else the canonical serialisation of the (normalized) input.
// Framework references are checked against `frameworks` (the node passes the ones it holds).
Result<ValidatedInput> validate_input(const nlohmann::json& input, const PublisherIdentity& self,
                                      std::string_view source_text = {},
                                      const FrameworkCatalog& frameworks = FrameworkCatalog::builtin());
// Parses then validates; a JSON syntax error names the byte offset.
Result<ValidatedInput> parse_and_validate_input(std::string_view text, const PublisherIdentity& self,
                                                const FrameworkCatalog& frameworks = FrameworkCatalog::builtin());

// Every field name an input of some kind may have (sorted): CSV headers are checked against it.
std::vector<std::string> input_field_names();

// Every problem of an input that parse_and_validate_input refuses, up to `limit`, so that a
// coordinator fixes them in one round: the first exactly as parse_and_validate_input names
// it, then the first problem of each further top-level field (each found by validating again
// without the fields already reported; a missing required field is stood in for by a
// placeholder, whose own problems are never reported). A JSON syntax error is the only one.
std::vector<Error> input_errors(std::string_view text, const PublisherIdentity& self,
                                const FrameworkCatalog& frameworks = FrameworkCatalog::builtin(), size_t limit = 20);

// "YYYY-MM-DD" naming a real calendar day with a year in 1900-2100 — the one rule for
// dates in records and in requests (`today=`).
bool is_calendar_date(std::string_view text);

// Checks the body of a record received from a peer against its header: the schema of its
// kind (no claim checks: the signer is the origin), and kind/id/visibility agreeing with
// the header when the body restates them; a tombstone's body is empty. The body is checked
// as it was signed, not normalized (a node of an earlier version may have signed text in
// another normalization form).
// Fields, kinds and vocabulary values newer than this node are kept without being
// interpreted (docs/data-model.md, "Evolution"); duplicate object keys are refused.
Result<IndexKeys> validate_received_body(const Header& header, std::string_view body);
// The same for a known kind (tests, fuzz targets).
Result<IndexKeys> validate_received_body(Kind kind, std::string_view id, std::string_view visibility, bool tombstone,
                                         std::string_view body);

// Re-derives the index keys from a stored body (used by tests and the fuzz targets).
IndexKeys index_keys_for(Kind kind, std::string_view body);

}  // namespace agora
