// The signed record envelope: header fields, canonical header bytes, sign and verify.
//
// A record is three parts: the header (canonical JSON, the exact bytes that are signed),
// the Ed25519 signature over those bytes, and the body (JSON bytes whose SHA-256 and size
// the header carries). A record without its body (a "stub") still proves its place in the
// origin's hash chain. See docs/data-model.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/crypto.hpp"
#include "protocol/result.hpp"
#include "protocol/vocabulary.hpp"

namespace agora {

// The highest envelope version this node reads: 1 (signed by the origin's own key) and 2
// (signed by a key the origin delegated, named in the header's `key`).
inline constexpr int kEnvelopeVersion = 2;

struct Header {
  PublicKey origin{};
  uint64_t seq = 0;  // 1, 2, 3 ... per origin
  Hash prev{};       // record_hash of seq-1; all zero for seq 1
  Kind kind = Kind::practice;
  std::string id;
  // The key that signed it when not the origin's own (envelope 2): one the origin's chain
  // delegated before this record (docs/identity.md).
  std::optional<PublicKey> key;
  uint32_t version = 0;  // 1, 2, 3 ... per (origin, id)
  int64_t ts = 0;        // milliseconds since the Unix epoch, as the origin's clock said
  std::string visibility = "public";
  Hash body_sha256{};
  uint32_t body_size = 0;
  bool tombstone = false;  // a signed retraction of (origin, id)
  // The kind's name when `kind` is Kind::unknown: a kind newer than this node.
  std::string unknown_kind;
};
// The key whose signature the record carries: `key`, else the origin.
inline const PublicKey& signer(const Header& h) { return h.key ? *h.key : h.origin; }
// The kind's name as the header carries it (known or not).
std::string_view header_kind_name(const Header& h);

struct SignedRecord {
  std::string header_bytes;
  Signature signature{};
  std::optional<std::string> body;  // nullopt for a stub
};

// The canonical bytes of a header: keys sorted, no whitespace, integers only.
std::string encode_header(const Header& h);
// Parses header bytes, insisting on canonical form and valid fields. Canonical bytes are
// read directly; anything else goes through decode_header_parsed, which names the problem.
Result<Header> decode_header(std::string_view bytes);
// The same with a JSON parser, whatever the layout (tests and fuzzing compare the two).
Result<Header> decode_header_parsed(std::string_view bytes);
// The chain link: SHA-256 of the header bytes.
inline Hash record_hash(std::string_view header_bytes) { return sha256(header_bytes); }

// Signs a header for a body; the header's body hash and size are filled in from body.
SignedRecord sign_record(Header header, std::string body, const SigningKey& key);
// Checks canonical header, body hash and size (when the body is present) and the signature
// by signer(header). Whether that key may sign it is the chain's question (authority.hpp).
Result<Header> verify_record(const SignedRecord& record);

// Field checks shared by headers and input validation.
bool is_valid_record_id(std::string_view id);
bool is_valid_visibility(std::string_view v);
inline constexpr std::string_view kPublicVisibility = "public";
inline bool is_public(const Header& h) { return h.visibility == kPublicVisibility; }
// Whether canonical header bytes say "public" without parsing them: the canonical form sorts
// its keys, so "visibility" always comes last.
bool header_is_public(std::string_view header_bytes);
// The (origin, seq) that header bytes claim, read without parsing or checking anything else:
// what a peer says it holds by sending a record, before the record is verified.
std::optional<std::pair<PublicKey, uint64_t>> claimed_position(std::string_view header_bytes);
bool is_valid_coalition_name(std::string_view name);

// The node id: the origin's public key as 64 lowercase hex digits.
std::string node_id(const PublicKey& key);
// The first 12 hex digits of node_id, as logs and `agora peer list` show a node.
inline std::string short_node_id(const PublicKey& key) { return node_id(key).substr(0, 12); }
std::optional<PublicKey> parse_node_id(std::string_view text);

}  // namespace agora
