// The frameworks records may refer to: the built-in ones and those coalition lead cities published.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agora {

struct FrameworkDef {
  struct Commitment {
    std::string ref;
    std::string title;
  };
  std::string id;
  std::string title;
  std::vector<Commitment> commitments;
  std::string origin;     // publishing node id; empty for a built-in framework
  std::string coalition;  // the coalition whose lead city published it; empty for a built-in

  bool builtin() const { return origin.empty(); }
  const Commitment* find(std::string_view ref) const;
  // "1-10" for a run, else the refs listed: for error messages.
  std::string refs_hint() const;
};

class FrameworkCatalog {
 public:
  // Built-in frameworks only: what an input is checked against when the node holds no others.
  static const FrameworkCatalog& builtin();
  // Accepts any well-formed framework id and ref: bodies received from peers, whose
  // framework record may arrive later or be withheld from this node.
  static const FrameworkCatalog& open();

  FrameworkCatalog();  // the built-in frameworks
  // Adds a published framework; a later one with the same id (another origin) does not replace it.
  void add(FrameworkDef def);

  const FrameworkDef* find(std::string_view id) const;
  bool accepts_any() const { return accepts_any_; }
  std::vector<std::string> ids() const;
  const std::vector<FrameworkDef>& all() const { return frameworks_; }

 private:
  std::vector<FrameworkDef> frameworks_;
  bool accepts_any_ = false;
};

// "a-z 0-9 -", 3-48 characters, starting with a letter: the id of a published framework.
bool is_valid_framework_id(std::string_view id);
// 1-16 characters of letters, digits, '.', '-': a commitment's ref ("6", "b", "3.2").
bool is_valid_commitment_ref(std::string_view ref);

}  // namespace agora
