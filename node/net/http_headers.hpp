// The request headers the node acts on, read as HTTP says (RFC 9110): Accept-Encoding
// (content negotiation) and If-None-Match (conditional requests). No I/O, no Beast.
#pragma once

#include <string>
#include <string_view>

#include "node/net/transport.hpp"

namespace agora::net {

// True when the client accepts gzip: the coding `gzip` (or `x-gzip`, or `*` when gzip is
// not named) with a q-value above 0. Names are case-insensitive; `gzip;q=0` refuses it.
bool accepts_gzip(std::string_view accept_encoding);

// True when If-None-Match holds `*` or an entity tag that matches `etag` by weak
// comparison (W/ prefixes ignored), in a comma-separated list of tags.
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

// A weak entity tag for a body: W/"first 128 bits of its SHA-256, in hex".
std::string etag_of(std::string_view body);

// Makes a complete 200 answer to GET or HEAD conditional: gives it an ETag (from its body,
// unless it has one) and `Cache-Control: no-cache` (unless set), and turns it into a 304
// without a body when the request's If-None-Match matches. Streamed answers are left as
// they are.
void answer_conditionally(const HttpRequest& request, HttpResponse& response);

}  // namespace agora::net
