// Files compiled into the binary (docs/openapi.json, the browsing page in node/http/web/), so a
// node serves them without reading its source tree.
#pragma once

#include <string_view>

namespace agora::embedded {

std::string_view openapi_json();
// The browsing page's files by path ("/", "/app.js", "/style.css"); empty if none.
std::string_view web_file(std::string_view path, std::string_view& content_type);

}  // namespace agora::embedded
