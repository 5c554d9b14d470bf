// The controlled vocabularies: record kinds, themes, principles, built-in frameworks
// (languages: protocol/languages.hpp).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agora {

// `unknown`: a kind newer than this node (held, verified and relayed, never interpreted).
// `key`: a delegation of one of the city's keys (docs/identity.md).
enum class Kind : uint8_t {
  unknown = 0,
  city,
  practice,
  plan,
  report,
  adoption,
  partnership,
  coalition,
  framework,
  key,
  erasure,     // drops the bodies of earlier versions of one of the city's records (docs/data-model.md)
  moderation,  // a coalition lead's or admin's decision on a member or a coalition-scoped record
  retraction,  // why the city retracted one of its records (the tombstone's body stays empty)
  translation  // one version of a practice or plan in another language (protocol/translation.hpp)
};
inline constexpr int kKindCount = 13;

std::string_view kind_name(Kind k);
std::optional<Kind> parse_kind(std::string_view name);
// What any kind's name looks like, known or not: 1-32 of a-z, 0-9 and '-', starting with a letter.
bool is_valid_kind_name(std::string_view name);
std::vector<std::string> kind_names();

// Released values; a value is never renamed once released (order gives the stored code).
std::span<const std::string_view> themes();
std::span<const std::string_view> principles();
// Index of value in list, or -1.
int vocabulary_index(std::span<const std::string_view> list, std::string_view value);

struct FrameworkRef {
  std::string_view ref;
  std::string_view title;
};
struct Framework {
  std::string_view id;
  std::string_view title;
  std::span<const FrameworkRef> refs;
};
std::span<const Framework> builtin_frameworks();
const Framework* find_framework(std::string_view id);

// The closest candidate within a small edit distance, for "did you mean" hints.
std::optional<std::string> nearest(std::string_view value, const std::vector<std::string>& candidates);
std::optional<std::string> nearest(std::string_view value, std::span<const std::string_view> candidates);

}  // namespace agora
