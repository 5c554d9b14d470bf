// Erasure records: what one states (which versions of which of the city's records lose
// their bodies, and why) and which kinds may be erased. No I/O. docs/data-model.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/vocabulary.hpp"

namespace agora {

struct ErasureStatement {
  std::string target;              // the erased record's id, in the erasure's own chain
  std::vector<uint32_t> versions;  // increasing
  std::string reason;
};

// Kinds whose bodies can be erased: what people write about people. City profiles, key
// records, partnerships, coalitions and frameworks state what the network runs on (who may
// read what, who signs) and are withdrawn by a new version instead.
bool is_erasable(Kind kind);

// The body an erasure signs (canonical JSON) and the statement a valid body makes.
std::string erasure_body(const ErasureStatement& e);
std::optional<ErasureStatement> read_erasure(std::string_view body);
// An erasure's record id: "erasure-" and 16 hex digits derived from what it erases and seq.
std::string erasure_id(const ErasureStatement& e, uint64_t seq);

}  // namespace agora
