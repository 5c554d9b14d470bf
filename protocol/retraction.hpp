// Retraction notes: why a city retracted one of its records, as a record beside the
// tombstone (whose body must stay empty). No I/O. docs/data-model.md, "Retraction".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agora {

struct RetractionNote {
  std::string target;    // the retracted record's id, in the note's own chain
  uint32_t version = 0;  // the tombstone's version
  std::string reason;
};

// The body a note signs (canonical JSON) and the note a valid body states.
std::string retraction_body(const RetractionNote& n);
std::optional<RetractionNote> read_retraction(std::string_view body);
// Its record id: "retraction-" and the first 16 hex digits of SHA-256(target "/" version)
// (the body names the version as "tombstone_version"),
// so that a reader finds the note of a tombstone without an index.
std::string retraction_id(std::string_view target, uint32_t version);

}  // namespace agora
