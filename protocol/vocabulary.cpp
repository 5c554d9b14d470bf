#include "protocol/vocabulary.hpp"

#include <algorithm>
#include <array>

namespace agora {

namespace {
constexpr std::array<std::string_view, kKindCount> kKinds = {
    "city",      "practice", "plan",    "report",     "adoption",   "partnership", "coalition",
    "framework", "key",      "erasure", "moderation", "retraction", "translation"};
static_assert(!kKinds.back().empty(), "every kind of the enum has its name here");
constexpr std::array<std::string_view, 12> kThemes = {"employment",
                                                      "housing",
                                                      "education",
                                                      "health",
                                                      "participation",
                                                      "non-discrimination",
                                                      "language",
                                                      "social-services",
                                                      "intercultural-dialogue",
                                                      "media",
                                                      "migration-development",
                                                      "skills-recognition"};
constexpr std::array<std::string_view, 7> kPrinciples = {
    "subsidiarity", "coherence-coordination",    "partnerships",       "human-rights",
    "consultation", "monitoring-accountability", "diversity-promotion"};
constexpr FrameworkRef kEccar[] = {
    {"1", "Greater Vigilance Against Racism"},
    {"2", "Assessing Racism and Discrimination and Monitoring Municipal Policies"},
    {"3", "Better Support for the Victims of Racism and Discrimination"},
    {"4", "More Participation and Better Informed City Dwellers"},
    {"5", "The City as an Active Supporter of Equal Opportunity Practices"},
    {"6", "The City as an Equal Opportunities Employer and Service Provider"},
    {"7", "Fair Access to Housing"},
    {"8", "Challenging Racism and Discrimination Through Education"},
    {"9", "Promoting Cultural Diversity"},
    {"10", "Hate Crimes and Conflict Management"},
};
constexpr FrameworkRef kCoeRes281[] = {
    {"a", "Review objectives for migrant employment and service delivery"},
    {"b", "Reinforce anti-discrimination procedures"},
    {"c", "Monitor and account for employment and service goals"},
    {"d", "Egalitarian recruitment"},
    {"e", "A welcoming work environment for migrant employees"},
    {"f", "Benefit from a diverse workforce"},
    {"g", "Diversity and equality standards in contracts and funding"},
    {"h", "Consult migrants on new policies and service reforms"},
    {"i", "Equality and diversity aims in local strategic partnerships"},
    {"j", "Advice, information and language tuition for all new migrants"},
    {"k", "A public communication strategy on diversity policies"},
};
constexpr FrameworkRef kHague2002[] = {
    {"13", "Focus on the potentials"},
    {"14", "Integration and social inclusion"},
    {"15", "Participation and responsibilities"},
    {"18", "The role of the corporate sector"},
};
constexpr Framework kFrameworks[] = {
    {"eccar-10pt", "ECCAR Ten-Point Plan of Action (Nuremberg, 2004)", kEccar},
    {"coe-res281", "Council of Europe Congress Resolution 281 (2009)", kCoeRes281},
    {"hague-2002", "Declaration of The Hague on the Future of Refugee and Migration Policy (2002)", kHague2002},
};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

template <class List>
std::optional<std::string> nearest_in(std::string_view value, const List& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(2, value.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(value, c);
    if (d < best_distance) best_distance = d, best = std::string(c);
  }
  return best;
}
}  // namespace

std::string_view kind_name(Kind k) { return k == Kind::unknown ? "unknown" : kKinds[static_cast<size_t>(k) - 1]; }

bool is_valid_kind_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

std::optional<Kind> parse_kind(std::string_view name) {
  for (size_t i = 0; i < kKinds.size(); ++i)
    if (kKinds[i] == name) return static_cast<Kind>(i + 1);
  return std::nullopt;
}

std::vector<std::string> kind_names() { return {kKinds.begin(), kKinds.end()}; }

std::span<const std::string_view> themes() { return kThemes; }
std::span<const std::string_view> principles() { return kPrinciples; }

int vocabulary_index(std::span<const std::string_view> list, std::string_view value) {
  auto it = std::find(list.begin(), list.end(), value);
  return it == list.end() ? -1 : static_cast<int>(it - list.begin());
}

std::span<const Framework> builtin_frameworks() { return kFrameworks; }

const Framework* find_framework(std::string_view id) {
  for (const auto& f : kFrameworks)
    if (f.id == id) return &f;
  return nullptr;
}

std::optional<std::string> nearest(std::string_view value, const std::vector<std::string>& candidates) {
  return nearest_in(value, candidates);
}
std::optional<std::string> nearest(std::string_view value, std::span<const std::string_view> candidates) {
  return nearest_in(value, candidates);
}

}  // namespace agora
