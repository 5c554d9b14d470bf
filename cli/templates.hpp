// The input templates `agora new KIND` writes (cli/templates/*.jsonc, compiled in).
#pragma once

#include <string_view>

namespace agora::cli {

// The template of a kind (practice, plan, report, coalition, partnership): JSON with //
// comments explaining each field; empty for another kind.
std::string_view template_text(std::string_view kind);

}  // namespace agora::cli
