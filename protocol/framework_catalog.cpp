#include "protocol/framework_catalog.hpp"

#include <algorithm>
#include <cctype>

#include "protocol/vocabulary.hpp"

namespace agora {

const FrameworkDef::Commitment* FrameworkDef::find(std::string_view ref) const {
  for (const auto& c : commitments)
    if (c.ref == ref) return &c;
  return nullptr;
}

std::string FrameworkDef::refs_hint() const {
  if (commitments.empty()) return "none";
  bool run = commitments.size() > 2;
  for (size_t i = 0; run && i < commitments.size(); ++i) run = commitments[i].ref == std::to_string(i + 1);
  if (run) return commitments.front().ref + "-" + commitments.back().ref;
  std::string out;
  for (size_t i = 0; i < commitments.size() && i < 20; ++i) out += (i ? " " : "") + commitments[i].ref;
  if (commitments.size() > 20) out += " …";
  return out;
}

FrameworkCatalog::FrameworkCatalog() {
  for (const auto& f : builtin_frameworks()) {
    FrameworkDef def{std::string(f.id), std::string(f.title), {}, {}, {}};
    for (const auto& r : f.refs) def.commitments.push_back({std::string(r.ref), std::string(r.title)});
    frameworks_.push_back(std::move(def));
  }
}

const FrameworkCatalog& FrameworkCatalog::builtin() {
  static const FrameworkCatalog catalog;
  return catalog;
}

const FrameworkCatalog& FrameworkCatalog::open() {
  static const FrameworkCatalog catalog = [] {
    FrameworkCatalog c;
    c.accepts_any_ = true;
    return c;
  }();
  return catalog;
}

void FrameworkCatalog::add(FrameworkDef def) {
  if (find(def.id)) return;
  frameworks_.push_back(std::move(def));
}

const FrameworkDef* FrameworkCatalog::find(std::string_view id) const {
  for (const auto& f : frameworks_)
    if (f.id == id) return &f;
  return nullptr;
}

std::vector<std::string> FrameworkCatalog::ids() const {
  std::vector<std::string> out;
  for (const auto& f : frameworks_) out.push_back(f.id);
  return out;
}

bool is_valid_framework_id(std::string_view id) {
  if (id.size() < 3 || id.size() > 48 || !std::islower(static_cast<unsigned char>(id.front()))) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool is_valid_commitment_ref(std::string_view ref) {
  if (ref.empty() || ref.size() > 16) return false;
  return std::all_of(ref.begin(), ref.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; });
}

}  // namespace agora
