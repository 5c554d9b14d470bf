// The demo network's records, compiled in from cli/demo/ (see its README).
#pragma once

#include <string_view>

namespace agora::cli {

// "SLUG.ndjson" (imported before the nodes sync) or "SLUG.later.ndjson" (after); empty if none.
std::string_view demo_file(std::string_view name);

}  // namespace agora::cli
