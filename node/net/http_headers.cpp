#include "node/net/http_headers.hpp"

#include <optional>

#include "protocol/crypto.hpp"
#include "protocol/hex.hpp"

namespace agora::net {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The q-value of one list member's parameters ("q=0.5"); 1 when absent, nullopt when
// malformed (the member is then ignored).
std::optional<double> q_value(std::string_view params) {
  double q = 1;
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "q")) continue;
    std::string_view v = trim(param.substr(eq + 1));
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (v.empty() || (v[0] != '0' && v[0] != '1') || v.size() > 5) return std::nullopt;
    if (v.size() > 1 && v[1] != '.') return std::nullopt;
    double frac = 0, scale = 0.1;
    for (size_t i = 2; i < v.size(); ++i) {
      if (v[i] < '0' || v[i] > '9') return std::nullopt;
      frac += (v[i] - '0') * scale;
      scale /= 10;
    }
    q = (v[0] - '0') + frac;
    if (q > 1) return std::nullopt;
  }
  return q;
}

}  // namespace

bool accepts_gzip(std::string_view header) {
  std::optional<double> gzip_q, any_q;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view member = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t semi = member.find(';');
    std::string_view coding = trim(member.substr(0, semi));
    if (coding.empty()) continue;
    auto q = q_value(semi == std::string_view::npos ? std::string_view() : member.substr(semi + 1));
    if (!q) continue;
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip"))
      gzip_q = gzip_q ? std::max(*gzip_q, *q) : *q;
    else if (coding == "*")
      any_q = *q;
  }
  if (gzip_q) return *gzip_q > 0;
  return any_q && *any_q > 0;
}

bool if_none_match_matches(std::string_view header, std::string_view etag) {
  auto opaque = [](std::string_view tag) {
    tag = trim(tag);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
  };
  std::string_view mine = opaque(etag);
  if (mine.empty()) return false;
  // Entity tags are quoted and may hold commas: split outside quotes only.
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= header.size(); ++i) {
    if (i < header.size() && header[i] == '"') quoted = !quoted;
    if (i < header.size() && (quoted || header[i] != ',')) continue;
    std::string_view member = trim(header.substr(start, i - start));
    start = i + 1;
    if (member == "*") return true;
    if (!member.empty() && opaque(member) == mine) return true;
  }
  return false;
}

std::string etag_of(std::string_view body) {
  Hash h = sha256(body);
  return "W/\"" + to_hex(h.data(), 16) + "\"";
}

void answer_conditionally(const HttpRequest& request, HttpResponse& response) {
  if (response.status != 200 || response.stream || (request.method != "GET" && request.method != "HEAD")) return;
  std::string etag;  // a copy: adding headers below may move the vector's strings
  bool has_cache_control = false;
  for (const auto& [name, value] : response.headers) {
    if (name == "ETag") etag = value;
    if (name == "Cache-Control") has_cache_control = true;
  }
  if (etag.empty()) {
    etag = etag_of(response.body);
    response.headers.emplace_back("ETag", etag);
  }
  if (!has_cache_control) response.headers.emplace_back("Cache-Control", "no-cache");
  if (!request.if_none_match.empty() && if_none_match_matches(request.if_none_match, etag)) {
    response.status = 304;
    response.body.clear();
  }
}

}  // namespace agora::net
