#include "protocol/input_schema.hpp"

#include "protocol/authority.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>
#include <vector>

#include "protocol/framework_catalog.hpp"
#include "protocol/hex.hpp"
#include "protocol/json_text.hpp"
#include "protocol/languages.hpp"
#include "protocol/limits.hpp"
#include "protocol/moderation.hpp"
#include "protocol/retraction.hpp"
#include "protocol/theme_names.hpp"
#include "protocol/translation.hpp"
#include "protocol/record.hpp"
#include "protocol/unicode.hpp"
#include "protocol/utf8.hpp"

namespace agora {

using nlohmann::json;

namespace {

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

// Set while a body received from a peer is checked (validate_received_body): fields and
// vocabulary values newer than this node are then kept uninterpreted instead of refused.
thread_local bool tl_received = false;

struct ReceivedMode {
  ReceivedMode() { tl_received = true; }
  ~ReceivedMode() { tl_received = false; }
  ReceivedMode(const ReceivedMode&) = delete;
  ReceivedMode& operator=(const ReceivedMode&) = delete;
};

// What a vocabulary value newer than this node must look like to be kept.
bool is_vocabulary_token(std::string_view s) {
  if (s.empty() || s.size() > 64 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return false;
  return true;
}

// Thrown inside this file only; validate_input turns it into a Result.
struct Invalid {
  Error error;
};
[[noreturn]] void fail(std::string path, std::string message) { throw Invalid{{std::move(path), std::move(message)}}; }

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string join_path(const std::string& base, const std::string& key) { return base.empty() ? key : base + "." + key; }
std::string index_path(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

// Reads the fields of one JSON object, rejecting unknown keys with a suggestion.
class Fields {
 public:
  Fields(const json& obj, std::string path, const std::vector<std::string>& allowed)
      : obj_(obj), path_(std::move(path)), allowed_(allowed) {
    if (!obj.is_object()) fail(path_.empty() ? "record" : path_, "expected an object, got " + type_name(obj));
    for (auto& [key, value] : obj.items()) {
      if (std::find(allowed_.begin(), allowed_.end(), key) != allowed_.end()) continue;
      if (tl_received) continue;  // a field newer than this node: kept, not interpreted
      std::string msg = "unknown field";
      if (auto near = nearest(key, allowed_)) msg += "; did you mean " + in_quotes(*near) + "?";
      fail(join_path(path_, key), msg);
    }
  }

  const json* optional(const std::string& key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  const json& required(const std::string& key) const {
    const json* v = optional(key);
    if (!v) fail(join_path(path_, key), "required field is missing");
    return *v;
  }
  std::string path(const std::string& key) const { return join_path(path_, key); }

 private:
  const json& obj_;
  std::string path_;
  const std::vector<std::string>& allowed_;  // outlives this reader: static field lists
};

std::string text(const json& v, const std::string& path, size_t max_chars, bool multiline = false) {
  if (!v.is_string()) fail(path, "expected a string, got " + type_name(v));
  const auto& s = v.get_ref<const std::string&>();
  // nlohmann's parser rejects ill-formed UTF-8 and dump() would throw on it, so strings
  // here are well-formed; one pass counts code points and finds control characters.
  size_t n = 0;
  for (unsigned char c : s) {
    if (c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) fail(path, "contains a control character");
    n += (c & 0xc0) != 0x80;
  }
  if (n > max_chars) fail(path, "longer than " + std::to_string(max_chars) + " characters (" + std::to_string(n) + ")");
  if (s.find_first_not_of(" \t\r\n") == std::string::npos) fail(path, "must not be empty");
  return s;
}

int year_of(const json& v, const std::string& path) {
  if (!v.is_number_integer()) fail(path, "expected a year (integer), got " + type_name(v));
  auto y = v.get<int64_t>();
  if (y < limits::kMinYear || y > limits::kMaxYear)
    fail(path, "year " + std::to_string(y) + " outside " + std::to_string(limits::kMinYear) + "-" +
                   std::to_string(limits::kMaxYear));
  return static_cast<int>(y);
}

double number(const json& v, const std::string& path) {
  if (!v.is_number()) fail(path, "expected a number, got " + type_name(v));
  return v.get<double>();
}

bool date_shaped(std::string_view s) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  return s.size() == 10 && s[4] == '-' && s[7] == '-' && digits(0, 4) && digits(5, 2) && digits(8, 2);
}

std::string date(const json& v, const std::string& path) {
  std::string s = text(v, path, 10);
  if (!date_shaped(s)) fail(path, "expected a date YYYY-MM-DD, got " + in_quotes(s));
  if (!is_calendar_date(s)) fail(path, "not a valid date: " + in_quotes(s));
  return s;
}

template <class Each>
void array_of(const json& v, const std::string& path, size_t max_items, bool non_empty, Each each) {
  if (!v.is_array()) fail(path, "expected an array, got " + type_name(v));
  if (non_empty && v.empty()) fail(path, "must not be empty");
  if (v.size() > max_items) fail(path, "more than " + std::to_string(max_items) + " items");
  for (size_t i = 0; i < v.size(); ++i) each(v[i], index_path(path, i));
}

int vocab(const json& v, const std::string& path, std::span<const std::string_view> list, const char* what) {
  if (!v.is_string()) fail(path, std::string("expected a ") + what + " (string), got " + type_name(v));
  const auto& s = v.get_ref<const std::string&>();
  int i = vocabulary_index(list, s);
  if (i >= 0) return i;
  if (tl_received && is_vocabulary_token(s)) return -1;  // a value newer than this node
  std::string msg = std::string("unknown ") + what + " " + in_quotes(s);
  if (auto near = nearest(s, list)) msg += "; did you mean " + in_quotes(*near) + "?";
  fail(path, msg);
}

// A language tag (protocol/languages.hpp), in its canonical form: validate_input has put
// it in that form already, received records are checked as they were signed.
void language(const json& v, const std::string& path) {
  if (!v.is_string()) fail(path, "expected a language tag (string), got " + type_name(v));
  const auto& s = v.get_ref<const std::string&>();
  if (auto canonical = canonical_language_tag(s); canonical && *canonical == s) return;
  if (tl_received && is_vocabulary_token(s)) return;  // a tag newer rules allow
  fail(path, unknown_language(s));
}

void unique_strings(const json& arr, const std::string& path) {
  std::set<std::string> seen;
  for (size_t i = 0; i < arr.size(); ++i)
    if (!seen.insert(arr[i].get<std::string>()).second)
      fail(index_path(path, i), "duplicate value " + in_quotes(arr[i].get<std::string>()));
}

std::string url(const json& v, const std::string& path) {
  std::string s = text(v, path, limits::kMaxUrlChars);
  if (!(s.starts_with("https://") || s.starts_with("http://")) || s.find_first_of(" \t\"<>") != std::string::npos)
    fail(path, "expected an http(s) URL, got " + in_quotes(s));
  return s;
}

std::string node_ref(const json& v, const std::string& path) {
  std::string s = text(v, path, 64);
  if (!parse_node_id(s) || s != [&] {
        std::string l = s;
        for (auto& c : l) c = static_cast<char>(std::tolower(c));
        return l;
      }())
    fail(path, "expected a node id (64 lowercase hex digits)");
  return s;
}

// "ORIGIN/ID": a record of another (or this) city.
std::string record_ref(const json& v, const std::string& path) {
  std::string s = text(v, path, 64 + 1 + limits::kMaxIdLength);
  auto slash = s.find('/');
  if (slash == std::string::npos || !parse_node_id(s.substr(0, slash)) || !is_valid_record_id(s.substr(slash + 1)))
    fail(path, "expected ORIGIN/ID (a node id, a slash, a record id)");
  return s;
}

// The framework a record names, looked up in the catalog (an open catalog accepts any
// well-formed id and ref: nullptr is returned then for an unknown framework).
const FrameworkDef* known_framework(const json& fw, const std::string& path, const FrameworkCatalog& catalog) {
  if (!fw.is_string()) fail(path, "expected a framework id (string), got " + type_name(fw));
  const auto& id = fw.get_ref<const std::string&>();
  if (const FrameworkDef* framework = catalog.find(id)) return framework;
  if (catalog.accepts_any() && is_valid_framework_id(id)) return nullptr;
  std::vector<std::string> ids = catalog.ids();
  std::string msg = "unknown framework " + in_quotes(id);
  if (auto near = nearest(id, ids))
    msg += "; did you mean " + in_quotes(*near) + "?";
  else
    msg += " (known: " + join(ids, ", ") + ")";
  fail(path, msg);
}

void commitment_ref(const json& ref, const std::string& path, const FrameworkDef* framework, const std::string& what) {
  if (!ref.is_string()) fail(path, "expected a commitment reference (string), got " + type_name(ref));
  const auto& r = ref.get_ref<const std::string&>();
  if (!framework) {
    if (!is_valid_commitment_ref(r)) fail(path, "expected a commitment reference (letters, digits, '.', '-')");
    return;
  }
  if (!framework->find(r))
    fail(path,
         "unknown " + what + " " + in_quotes(r) + " in " + framework->id + " (valid: " + framework->refs_hint() + ")");
}

void framework_refs(const json& v, const std::string& path, const FrameworkCatalog& catalog) {
  array_of(v, path, limits::kMaxListItems, false, [&](const json& item, const std::string& p) {
    static const std::vector<std::string> kFrameworkRefFields = {"framework", "ref"};
    Fields f(item, p, kFrameworkRefFields);
    const FrameworkDef* framework = known_framework(f.required("framework"), f.path("framework"), catalog);
    commitment_ref(f.required("ref"), f.path("ref"), framework, "ref");
  });
}

uint16_t theme_bits(const json& v, const std::string& path, bool required_non_empty) {
  uint16_t bits = 0;
  array_of(v, path, limits::kMaxThemes, required_non_empty, [&](const json& t, const std::string& p) {
    // A theme's name in an interface language ("emploi") is answered with the theme, not
    // taken for it: the record states the vocabulary value every node reads.
    if (!tl_received && t.is_string() && vocabulary_index(themes(), t.get<std::string>()) < 0)
      if (const ThemeName* n = theme_named(t.get<std::string>()))
        fail(p, "unknown theme " + in_quotes(t.get<std::string>()) + "; did you mean " + in_quotes(n->theme) +
                    " (its " + std::string(find_language(n->language)->name) + " name)?");
    if (int i = vocab(t, p, themes(), "theme"); i >= 0) bits |= static_cast<uint16_t>(1u << i);
  });
  unique_strings(v, path);
  return bits;
}

void string_list(const json& v, const std::string& path, size_t max_chars) {
  array_of(v, path, limits::kMaxListItems, false, [&](const json& s, const std::string& p) { text(s, p, max_chars); });
}

// ---- one validator per kind; each fills keys and checks the fields it allows ----

const std::vector<std::string> kCommon = {"kind", "id", "visibility", "origin", "city", "country"};

std::vector<std::string> with_common(std::initializer_list<std::string> fields) {
  std::vector<std::string> all = kCommon;
  all.insert(all.end(), fields);
  return all;
}

void validate_practice(const Fields& f, ValidatedInput& out, const FrameworkCatalog& catalog) {
  out.title = text(f.required("title"), f.path("title"), limits::kMaxTitleChars);
  text(f.required("summary"), f.path("summary"), limits::kMaxSummaryChars, true);
  language(f.required("language"), f.path("language"));
  out.keys.themes = theme_bits(f.required("themes"), f.path("themes"), true);
  if (auto* v = f.optional("body")) {
    if (!v->is_string()) fail(f.path("body"), "expected Markdown text (string), got " + type_name(*v));
    if (v->get_ref<const std::string&>().size() > limits::kMaxMarkdownBytes)
      fail(f.path("body"), "larger than " + std::to_string(limits::kMaxMarkdownBytes) + " bytes");
    text(*v, f.path("body"), limits::kMaxMarkdownBytes, true);
  }
  if (auto* v = f.optional("principles")) {
    array_of(*v, f.path("principles"), limits::kMaxThemes, false,
             [](const json& p, const std::string& path) { vocab(p, path, principles(), "principle"); });
    unique_strings(*v, f.path("principles"));
  }
  if (auto* v = f.optional("frameworks")) framework_refs(*v, f.path("frameworks"), catalog);
  if (auto* v = f.optional("started")) out.keys.year = static_cast<uint16_t>(year_of(*v, f.path("started")));
  if (auto* v = f.optional("ended")) {
    int ended = year_of(*v, f.path("ended"));
    if (out.keys.year && ended < out.keys.year) fail(f.path("ended"), "before \"started\"");
  }
  if (auto* v = f.optional("partners")) string_list(*v, f.path("partners"), limits::kMaxShortTextChars);
  if (auto* v = f.optional("outcomes"))
    array_of(*v, f.path("outcomes"), limits::kMaxListItems, false, [](const json& o, const std::string& p) {
      static const std::vector<std::string> kOutcomeFields = {"indicator", "value", "unit", "year"};
      Fields of(o, p, kOutcomeFields);
      text(of.required("indicator"), of.path("indicator"), limits::kMaxShortTextChars);
      number(of.required("value"), of.path("value"));
      if (auto* u = of.optional("unit")) text(*u, of.path("unit"), 50);
      if (auto* y = of.optional("year")) year_of(*y, of.path("year"));
    });
  if (auto* v = f.optional("links"))
    array_of(*v, f.path("links"), limits::kMaxListItems, false, [](const json& l, const std::string& p) { url(l, p); });
  if (auto* v = f.optional("contact")) text(*v, f.path("contact"), limits::kMaxShortTextChars);
}

void validate_city(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  out.title = text(f.required("name"), f.path("name"), limits::kMaxNameChars);
  std::string cc = text(f.required("country"), f.path("country"), 2);
  if (cc.size() != 2 || !std::isupper(static_cast<unsigned char>(cc[0])) ||
      !std::isupper(static_cast<unsigned char>(cc[1])))
    fail(f.path("country"), "expected an ISO 3166-1 alpha-2 code such as \"NL\"");
  if (auto* v = f.optional("region")) text(*v, f.path("region"), limits::kMaxNameChars);
  if (auto* v = f.optional("languages")) {
    array_of(*v, f.path("languages"), limits::kMaxLanguages, false,
             [](const json& l, const std::string& p) { language(l, p); });
    unique_strings(*v, f.path("languages"));
  }
  if (auto* v = f.optional("links"))
    array_of(*v, f.path("links"), limits::kMaxListItems, false, [](const json& l, const std::string& p) { url(l, p); });
  // The recovery key's SHA-256 (docs/identity.md): fixed by the first city record stating it.
  if (auto* v = f.optional("recovery")) {
    Hash h{};
    if (!v->is_string() || !from_lower_hex(v->get<std::string>(), h.data(), h.size()))
      fail(f.path("recovery"), "expected the recovery key's SHA-256 as 64 lowercase hex digits");
  }
}

const FrameworkDef* framework_field(const Fields& f, const FrameworkCatalog& catalog) {
  return known_framework(f.required("framework"), f.path("framework"), catalog);
}

void validate_plan(const Fields& f, ValidatedInput& out, const FrameworkCatalog& catalog) {
  const FrameworkDef* framework = framework_field(f, catalog);
  out.title = text(f.required("title"), f.path("title"), limits::kMaxTitleChars);
  if (auto* v = f.optional("summary")) text(*v, f.path("summary"), limits::kMaxSummaryChars, true);
  if (auto* v = f.optional("language")) language(*v, f.path("language"));
  static const std::vector<std::string> kPeriodFields = {"from", "to"};
  Fields period(f.required("period"), f.path("period"), kPeriodFields);
  std::string from = date(period.required("from"), period.path("from"));
  std::string to = date(period.required("to"), period.path("to"));
  if (to < from) fail(period.path("to"), "before \"from\"");
  out.keys.year = static_cast<uint16_t>(std::stoi(from.substr(0, 4)));
  std::set<std::string> item_ids;
  static constexpr std::string_view kStatuses[] = {"planned", "in-progress", "done", "delayed", "dropped"};
  static constexpr std::string_view kDirections[] = {"increase", "decrease"};
  array_of(
      f.required("items"), f.path("items"), limits::kMaxListItems, true, [&](const json& it, const std::string& p) {
        static const std::vector<std::string> kPlanItemFields = {"id",  "commitment", "action", "department", "start",
                                                                 "due", "status",     "themes", "indicators"};
        Fields item(it, p, kPlanItemFields);
        std::string id = text(item.required("id"), item.path("id"), limits::kMaxIdLength);
        if (!is_valid_record_id(id)) fail(item.path("id"), "expected lowercase letters, digits, '-', '_' or '.'");
        if (!item_ids.insert(id).second) fail(item.path("id"), "duplicate item id " + in_quotes(id));
        commitment_ref(item.required("commitment"), item.path("commitment"), framework, "commitment");
        text(item.required("action"), item.path("action"), limits::kMaxSummaryChars, true);
        if (auto* v = item.optional("department")) text(*v, item.path("department"), limits::kMaxShortTextChars);
        std::string start, due;
        if (auto* v = item.optional("start")) start = date(*v, item.path("start"));
        if (auto* v = item.optional("due")) due = date(*v, item.path("due"));
        if (!start.empty() && !due.empty() && due < start) fail(item.path("due"), "before \"start\"");
        if (auto* v = item.optional("status")) vocab(*v, item.path("status"), kStatuses, "status");
        if (auto* v = item.optional("themes")) out.keys.themes |= theme_bits(*v, item.path("themes"), false);
        if (auto* v = item.optional("indicators")) {
          std::set<std::string> names;
          array_of(*v, item.path("indicators"), limits::kMaxListItems, false,
                   [&](const json& ind, const std::string& ip) {
                     static const std::vector<std::string> kIndicatorFields = {"name", "unit", "baseline", "target",
                                                                               "direction"};
                     Fields i(ind, ip, kIndicatorFields);
                     std::string name = text(i.required("name"), i.path("name"), limits::kMaxShortTextChars);
                     if (!names.insert(name).second) fail(i.path("name"), "duplicate indicator " + in_quotes(name));
                     if (auto* u = i.optional("unit")) text(*u, i.path("unit"), 50);
                     double baseline = number(i.required("baseline"), i.path("baseline"));
                     double target = number(i.required("target"), i.path("target"));
                     int dir = vocab(i.required("direction"), i.path("direction"), kDirections, "direction");
                     if ((dir == 0 && target < baseline) || (dir == 1 && target > baseline))  // -1: newer
                       fail(i.path("target"),
                            std::string("does not ") + (dir == 0 ? "increase" : "decrease") + " from the baseline");
                   });
        }
      });
}

void validate_report(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  std::string plan = text(f.required("plan"), f.path("plan"), limits::kMaxIdLength);
  if (!is_valid_record_id(plan)) fail(f.path("plan"), "expected a plan id");
  text(f.required("item"), f.path("item"), limits::kMaxIdLength);
  out.title = text(f.required("indicator"), f.path("indicator"), limits::kMaxShortTextChars);
  number(f.required("value"), f.path("value"));
  out.keys.year = static_cast<uint16_t>(std::stoi(date(f.required("date"), f.path("date")).substr(0, 4)));
  if (auto* v = f.optional("source")) text(*v, f.path("source"), limits::kMaxShortTextChars);
  if (auto* v = f.optional("note")) text(*v, f.path("note"), limits::kMaxSummaryChars, true);
  if (auto* v = f.optional("corrects"))
    if (!v->is_number_unsigned() || v->get<uint64_t>() == 0 || v->get<uint64_t>() > (1u << 30))
      fail(f.path("corrects"), "expected the version number this report corrects");
}

void validate_adoption(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  out.title = record_ref(f.required("practice"), f.path("practice"));
  if (auto* v = f.optional("notes")) text(*v, f.path("notes"), limits::kMaxSummaryChars, true);
  if (auto* v = f.optional("started")) out.keys.year = static_cast<uint16_t>(year_of(*v, f.path("started")));
  if (auto* v = f.optional("themes")) out.keys.themes = theme_bits(*v, f.path("themes"), false);
}

void validate_partnership(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  out.title = node_ref(f.required("with"), f.path("with"));
  static constexpr std::string_view kRelations[] = {"twin", "coalition-member"};
  int rel = vocab(f.required("relation"), f.path("relation"), kRelations, "relation");
  if (rel == 1) {
    const json& c = f.required("coalition");
    if (!c.is_string() || !is_valid_coalition_name(c.get<std::string>()))
      fail(f.path("coalition"), "expected a coalition name (lowercase letters, digits, '-')");
  } else if (f.optional("coalition") && rel == 0) {
    fail(f.path("coalition"), "only for relation \"coalition-member\"");
  }
  if (auto* v = f.optional("topics")) out.keys.themes = theme_bits(*v, f.path("topics"), false);
  if (auto* v = f.optional("since")) out.keys.year = static_cast<uint16_t>(year_of(*v, f.path("since")));
  if (auto* v = f.optional("notes")) text(*v, f.path("notes"), limits::kMaxSummaryChars, true);
}

void validate_coalition(const Fields& f, ValidatedInput& out, const FrameworkCatalog& catalog) {
  const json& name = f.required("name");
  if (!name.is_string() || !is_valid_coalition_name(name.get<std::string>()))
    fail(f.path("name"), "expected a coalition name (lowercase letters, digits, '-')");
  out.title = text(f.required("title"), f.path("title"), limits::kMaxTitleChars);
  text(f.required("region"), f.path("region"), limits::kMaxNameChars);
  framework_field(f, catalog);
  if (auto* v = f.optional("members")) {
    array_of(*v, f.path("members"), 1000, false, [](const json& m, const std::string& p) { node_ref(m, p); });
    unique_strings(*v, f.path("members"));
  }
  // Members the lead names to moderate with it (docs/data-model.md, "moderation").
  if (auto* v = f.optional("admins")) {
    array_of(*v, f.path("admins"), limits::kMaxCoalitionAdmins, false,
             [](const json& m, const std::string& p) { node_ref(m, p); });
    unique_strings(*v, f.path("admins"));
  }
  if (auto* v = f.optional("since")) out.keys.year = static_cast<uint16_t>(year_of(*v, f.path("since")));
}

// A framework of commitments published by a coalition's lead city (who may publish one is
// checked by the node, which knows the coalitions). Its record id is the framework id.
void validate_framework(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  const json* id = f.optional("id");
  if (!id) fail("id", "required for a framework: it is the id plans and practices refer to");
  if (!id->is_string() || !is_valid_framework_id(id->get<std::string>()))
    fail("id", "expected a framework id: 3-48 lowercase letters, digits or '-', starting with a letter");
  if (FrameworkCatalog::builtin().find(id->get<std::string>()))
    fail("id", in_quotes(id->get<std::string>()) + " is a built-in framework");
  out.title = text(f.required("title"), f.path("title"), limits::kMaxTitleChars);
  const json& c = f.required("coalition");
  if (!c.is_string() || !is_valid_coalition_name(c.get<std::string>()))
    fail(f.path("coalition"), "expected a coalition name (lowercase letters, digits, '-')");
  if (auto* v = f.optional("summary")) text(*v, f.path("summary"), limits::kMaxSummaryChars, true);
  if (auto* v = f.optional("language")) language(*v, f.path("language"));
  if (auto* v = f.optional("adopted")) out.keys.year = static_cast<uint16_t>(year_of(*v, f.path("adopted")));
  if (auto* v = f.optional("links"))
    array_of(*v, f.path("links"), limits::kMaxListItems, false,
             [](const json& l, const std::string& p) { text(l, p, limits::kMaxShortTextChars); });
  std::set<std::string> refs;
  array_of(f.required("commitments"), f.path("commitments"), limits::kMaxListItems, true,
           [&](const json& item, const std::string& p) {
             static const std::vector<std::string> kCommitmentFields = {"ref", "title", "summary"};
             Fields cf(item, p, kCommitmentFields);
             const json& ref = cf.required("ref");
             if (!ref.is_string() || !is_valid_commitment_ref(ref.get<std::string>()))
               fail(cf.path("ref"), "expected 1-16 letters, digits, '.' or '-'");
             if (!refs.insert(ref.get<std::string>()).second)
               fail(cf.path("ref"), "duplicate commitment " + in_quotes(ref.get<std::string>()));
             text(cf.required("title"), cf.path("title"), limits::kMaxTitleChars);
             if (auto* v = cf.optional("summary")) text(*v, cf.path("summary"), limits::kMaxSummaryChars, true);
           });
}

void validate_key(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  std::string key = node_ref(f.required("key"), f.path("key"));
  out.title = text(f.required("name"), f.path("name"), limits::kMaxKeyNameChars);
  vocab(f.required("role"), f.path("role"), key_role_names(), "key role");
  if (auto* v = f.optional("expires")) date(*v, f.path("expires"));
  if (auto* v = f.optional("revoked"))
    if (!v->is_boolean() || !v->get<bool>()) fail(f.path("revoked"), "present only as true");
  if (auto* v = f.optional("reason")) text(*v, f.path("reason"), limits::kMaxShortTextChars);
  if (auto* v = f.optional("compromised_since")) {
    if (!v->is_number_unsigned() || v->get<uint64_t>() == 0)
      fail(f.path("compromised_since"), "expected a positive sequence number");
    if (!f.optional("revoked")) fail(f.path("compromised_since"), "only with \"revoked\": true");
  }
  if (out.id && *out.id != "key-" + key.substr(0, 16))
    fail("id", "a key record's id is \"key-\" + the first 16 hex digits of its key");
}

// An erasure names versions of one of the city's own records whose bodies every node drops
// (the node checks that they exist and may be erased; docs/data-model.md).
void validate_erasure(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  if (out.id && !out.id->starts_with("erasure-")) fail("id", "an erasure's id starts with \"erasure-\"");
  if (out.visibility != "public") fail("visibility", "an erasure is always public");
  const json& target = f.required("target");
  if (!target.is_string() || !is_valid_record_id(target.get<std::string>()) ||
      target.get<std::string>().starts_with("erasure-"))
    fail(f.path("target"), "expected the id of one of the city's records (not an erasure)");
  uint64_t last = 0;
  array_of(f.required("versions"), f.path("versions"), limits::kMaxErasedVersions, true,
           [&](const json& v, const std::string& p) {
             if (!v.is_number_unsigned() || v.get<uint64_t>() == 0 || v.get<uint64_t>() > (1u << 30))
               fail(p, "expected a version number (1, 2, ...)");
             if (v.get<uint64_t>() <= last) fail(p, "versions are listed once each, in increasing order");
             last = v.get<uint64_t>();
           });
  out.title = text(f.required("reason"), f.path("reason"), limits::kMaxShortTextChars);
}

// A coalition moderator's decision: its id names the (coalition, target) it decides about;
// whether its signer may moderate is decided by the node that applies it (docs/data-model.md).
void validate_moderation(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  if (out.visibility != "public") fail("visibility", "a moderation record is always public");
  const json& coalition = f.required("coalition");
  if (!coalition.is_string() || !is_valid_coalition_name(coalition.get<std::string>()))
    fail(f.path("coalition"), "expected a coalition name (lowercase letters, digits, '-')");
  const json& action = f.required("action");
  auto a = action.is_string() ? parse_moderation_action(action.get<std::string>()) : std::nullopt;
  // An action newer than this node, from a peer: kept and relayed, never applied.
  if (!a && tl_received && action.is_string() && is_vocabulary_token(action.get<std::string>())) {
    if (!f.required("target").is_string() || f.required("target").get<std::string>().size() > 64 + 1 + 80)
      fail(f.path("target"), "expected a string of at most 145 characters");
    out.title = text(f.required("reason"), f.path("reason"), limits::kMaxShortTextChars);
    return;
  }
  if (!a) fail(f.path("action"), "expected remove-member, dispute or withdraw");
  const json& target = f.required("target");
  if (!target.is_string() || !is_valid_moderation_target(*a, target.get<std::string>()))
    fail(f.path("target"), *a == ModerationAction::remove_member
                               ? "expected a node id (64 lowercase hex digits)"
                               : "expected ORIGIN/ID (a node id, a slash, a record id)");
  if (out.id && *out.id != moderation_id(coalition.get<std::string>(), target.get<std::string>()))
    fail("id", "a moderation record's id is \"moderation-\" + 16 hex digits of SHA-256(coalition, newline, target)");
  out.title = text(f.required("reason"), f.path("reason"), limits::kMaxShortTextChars);
}

// A translation of one version of a practice or plan (its own or another city's): the
// texts a reader needs, by position where the source has lists (its outcomes' indicators, a
// plan's items by id). docs/data-model.md, "Translations".
void validate_translation(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  const json& of = f.required("of");
  auto source = of.is_string() ? parse_translation_source(of.get_ref<const std::string&>()) : std::nullopt;
  if (!source)
    fail(f.path("of"), "expected the translated record as ORIGIN/ID (the city's 64-hex node id, '/', the record id)");
  const auto& [origin, source_id] = *source;
  const json& version = f.required("of_version");
  if (!version.is_number_unsigned() || version.get<uint64_t>() < 1 || version.get<uint64_t>() > (1u << 31))
    fail(f.path("of_version"), "expected the version translated (1, 2, ...)");
  language(f.required("language"), f.path("language"));
  std::string id = translation_id(origin, source_id, f.required("language").get<std::string>());
  if (out.id && *out.id != id)
    fail("id",
         "a translation's id is \"translation-\" + 16 hex digits of SHA-256(ORIGIN \"/\" ID \"/\" LANGUAGE): " + id);
  out.id = id;
  out.title = text(f.required("title"), f.path("title"), limits::kMaxTitleChars);
  if (auto* v = f.optional("summary")) text(*v, f.path("summary"), limits::kMaxSummaryChars, true);
  if (auto* v = f.optional("body")) {
    if (!v->is_string()) fail(f.path("body"), "expected Markdown text (string), got " + type_name(*v));
    text(*v, f.path("body"), limits::kMaxMarkdownBytes, true);
  }
  if (auto* v = f.optional("outcomes"))
    array_of(*v, f.path("outcomes"), limits::kMaxListItems, true,
             [](const json& o, const std::string& p) { text(o, p, limits::kMaxShortTextChars); });
  if (auto* v = f.optional("items")) {
    std::set<std::string> item_ids;
    array_of(*v, f.path("items"), limits::kMaxListItems, true, [&](const json& it, const std::string& p) {
      static const std::vector<std::string> kItemFields = {"id", "action"};
      Fields item(it, p, kItemFields);
      std::string item_id = text(item.required("id"), item.path("id"), limits::kMaxIdLength);
      if (!is_valid_record_id(item_id)) fail(item.path("id"), "expected the id of one of the plan's items");
      if (!item_ids.insert(item_id).second) fail(item.path("id"), "duplicate item id " + in_quotes(item_id));
      text(item.required("action"), item.path("action"), limits::kMaxSummaryChars, true);
    });
  }
}

// A retraction note: why the city retracted one of its records (its tombstone is version
// `version` of `target`; the node does not require that it holds them).
void validate_retraction(const Fields& f, ValidatedInput& out, const FrameworkCatalog&) {
  const json& target = f.required("target");
  if (!target.is_string() || !is_valid_record_id(target.get<std::string>()))
    fail(f.path("target"), "expected the id of one of the city's records");
  const json& version = f.required("tombstone_version");
  if (!version.is_number_unsigned() || version.get<uint64_t>() < 2 || version.get<uint64_t>() > (1u << 31))
    fail(f.path("tombstone_version"), "expected the tombstone's version (2, 3, ...)");
  if (out.id && *out.id != retraction_id(target.get<std::string>(), version.get<uint32_t>()))
    fail("id", "a retraction note's id is \"retraction-\" + 16 hex digits of SHA-256(target \"/\" tombstone_version)");
  out.title = text(f.required("reason"), f.path("reason"), limits::kMaxShortTextChars);
}

struct KindSpec {
  Kind kind;
  std::vector<std::string> fields;
  std::function<void(const Fields&, ValidatedInput&, const FrameworkCatalog&)> validate;
};

const std::vector<KindSpec>& kind_specs() {
  static const std::vector<KindSpec> specs = {
      {Kind::practice,
       with_common({"title", "summary", "language", "themes", "body", "principles", "frameworks", "started", "ended",
                    "partners", "outcomes", "links", "contact"}),
       validate_practice},
      {Kind::city,
       {"kind", "id", "visibility", "name", "country", "region", "languages", "links", "recovery"},
       validate_city},
      {Kind::plan, with_common({"title", "summary", "language", "framework", "period", "items"}), validate_plan},
      {Kind::report, with_common({"plan", "item", "indicator", "value", "date", "source", "note", "corrects"}),
       validate_report},
      {Kind::adoption, with_common({"practice", "notes", "started", "themes"}), validate_adoption},
      {Kind::partnership, with_common({"with", "relation", "coalition", "topics", "since", "notes"}),
       validate_partnership},
      {Kind::coalition, with_common({"name", "title", "region", "framework", "members", "admins", "since"}),
       validate_coalition},
      {Kind::framework, with_common({"title", "coalition", "commitments", "summary", "language", "adopted", "links"}),
       validate_framework},
      {Kind::key, with_common({"key", "name", "role", "expires", "revoked", "reason", "compromised_since"}),
       validate_key},
      {Kind::erasure, with_common({"target", "versions", "reason"}), validate_erasure},
      {Kind::moderation, with_common({"coalition", "action", "target", "reason"}), validate_moderation},
      {Kind::retraction, with_common({"target", "tombstone_version", "reason"}), validate_retraction},
      {Kind::translation,
       with_common({"of", "of_version", "language", "title", "summary", "body", "outcomes", "items"}),
       validate_translation},
  };
  return specs;
}

}  // namespace

std::vector<std::string> input_field_names() {
  std::set<std::string> all;
  for (const auto& spec : kind_specs()) all.insert(spec.fields.begin(), spec.fields.end());
  return {all.begin(), all.end()};
}

namespace {

// The signer is the city: input may restate it, never claim another.
void check_claims(const json& in, const PublisherIdentity& self) {
  auto claim = [&](const char* key, const std::string& own) {
    auto it = in.find(key);
    if (it == in.end()) return;
    if (!it->is_string()) fail(key, "expected a string, got " + type_name(*it));
    const auto& value = it->get_ref<const std::string&>();
    if (fold_for_match(value) != fold_for_match(own))
      fail(key, "record claims " + std::string(key) + " " + in_quotes(value) + " but this node publishes for " +
                    (own.empty() ? std::string("no city") : in_quotes(own)) +
                    "; a city publishes only its own records");
  };
  claim("origin", self.node_id);
  claim("city", self.city);
  // Countries are compared when given as an ISO code; a spelled-out name is not checked.
  if (auto it = in.find("country"); it != in.end() && it->is_string() && it->get<std::string>().size() == 2)
    claim("country", self.country);
}

// No kind nests deeper than 5 levels (plan > items > indicators > object > value); an input
// nested deeper than this is refused before it is walked further or copied (recursively).
constexpr size_t kMaxInputDepth = 16;

enum class TextForm { nfc, not_nfc, too_deep };

// Whether every string of the input, value or object key, at any depth, is already NFC.
TextForm text_form(const json& in) {
  TextForm form = TextForm::nfc;
  std::vector<std::pair<const json*, size_t>> todo{{&in, 0}};  // iterative: input may nest deeply
  while (!todo.empty()) {
    auto [v, depth] = todo.back();
    todo.pop_back();
    if (depth > kMaxInputDepth) return TextForm::too_deep;
    if (v->is_string()) {
      if (form == TextForm::nfc && !is_nfc(v->get_ref<const std::string&>())) form = TextForm::not_nfc;
    } else if (v->is_object()) {
      for (auto it = v->begin(); it != v->end(); ++it) {
        if (form == TextForm::nfc && !is_nfc(it.key())) form = TextForm::not_nfc;
        todo.emplace_back(&it.value(), depth + 1);
      }
    } else if (v->is_array()) {
      for (const auto& item : *v) todo.emplace_back(&item, depth + 1);
    }
  }
  return form;
}

// Every string of v in NFC, object keys too (two keys that become one keep one value, as a
// duplicate key in JSON does; no kind has a field name outside ASCII, which NFC keeps).
void normalize_strings(json& v) {
  std::vector<json*> todo{&v};
  while (!todo.empty()) {
    json* j = todo.back();
    todo.pop_back();
    if (j->is_string()) {
      auto& s = j->get_ref<std::string&>();
      if (!is_nfc(s)) s = nfc(s);
    } else if (j->is_object()) {
      bool keys_nfc = true;
      for (auto it = j->begin(); it != j->end() && keys_nfc; ++it) keys_nfc = is_nfc(it.key());
      if (!keys_nfc) {
        json rebuilt = json::object();
        for (auto it = j->begin(); it != j->end(); ++it) rebuilt[nfc(it.key())] = std::move(it.value());
        *j = std::move(rebuilt);
      }
      for (auto it = j->begin(); it != j->end(); ++it) todo.push_back(&it.value());
    } else if (j->is_array()) {
      for (auto& item : *j) todo.push_back(&item);
    }
  }
}

// Puts the record's language tags ("language", and a city's "languages") in canonical case
// in *out (nullptr: only tells); true when one was not.
bool canonicalize_language_tags(json* out, const json& in) {
  if (!in.is_object()) return false;
  bool changed = false;
  auto fix = [&](const json& v, json* target) {
    if (!v.is_string()) return;
    auto canonical = canonical_language_tag(v.get_ref<const std::string&>());
    if (!canonical || *canonical == v.get_ref<const std::string&>()) return;
    changed = true;
    if (target) *target = *canonical;
  };
  if (auto it = in.find("language"); it != in.end()) fix(*it, out ? &(*out)["language"] : nullptr);
  if (auto it = in.find("languages"); it != in.end() && it->is_array())
    for (size_t i = 0; i < it->size(); ++i) fix((*it)[i], out ? &(*out)["languages"][i] : nullptr);
  return changed;
}

// Validates the input as it is (validate_input normalizes it first; bodies from peers are
// checked exactly as they were signed).
Result<ValidatedInput> validate_as_is(const json& in, const PublisherIdentity& self, std::string_view source_text,
                                      const FrameworkCatalog& frameworks) {
  try {
    if (!in.is_object()) fail("record", "expected a JSON object, got " + type_name(in));
    auto kind_it = in.find("kind");
    if (kind_it == in.end()) fail("kind", "required field is missing");
    if (!kind_it->is_string()) fail("kind", "expected a string, got " + type_name(*kind_it));
    const auto& kind_text = kind_it->get_ref<const std::string&>();
    auto kind = parse_kind(kind_text);
    if (!kind) {
      std::string msg = "unknown kind " + in_quotes(kind_text);
      if (auto near = nearest(kind_text, kind_names())) msg += "; did you mean " + in_quotes(*near) + "?";
      fail("kind", msg);
    }
    if (*kind == Kind::key && !tl_received)
      fail("kind", "key records are written by `agora key add` and `agora key revoke`, not published");
    if (*kind == Kind::erasure && !tl_received) fail("kind", "erasures are written by `agora erase`, not published");
    if (*kind == Kind::moderation && !tl_received)
      fail("kind", "moderation records are written by `agora moderate`, not published");
    if (*kind == Kind::retraction && !tl_received)
      fail("kind", "retraction notes are written by `agora retract --reason`, not published");
    const auto& specs = kind_specs();
    const KindSpec& spec =
        *std::find_if(specs.begin(), specs.end(), [&](const KindSpec& s) { return s.kind == *kind; });
    Fields fields(in, "", spec.fields);
    // A city record states the city itself; every other kind may only restate it.
    if (*kind != Kind::city) check_claims(in, self);

    ValidatedInput out;
    out.kind = *kind;
    if (auto* id = fields.optional("id")) {
      if (!id->is_string()) fail("id", "expected a string, got " + type_name(*id));
      if (!is_valid_record_id(id->get<std::string>()))
        fail("id", "expected 1-80 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit");
      out.id = id->get<std::string>();
      if (*kind == Kind::city && *out.id != "profile") fail("id", "a city record's id is always \"profile\"");
    }
    if (*kind == Kind::city) out.id = "profile";
    if (auto* v = fields.optional("visibility")) {
      if (!v->is_string()) fail("visibility", "expected a string, got " + type_name(*v));
      out.visibility = v->get<std::string>();
      if (!is_valid_visibility(out.visibility)) {
        static constexpr std::string_view kVis[] = {"public", "partners", "private", "coalition:NAME"};
        std::string msg = "unknown visibility " + in_quotes(out.visibility);
        if (auto near = nearest(out.visibility, kVis)) msg += "; did you mean " + in_quotes(*near) + "?";
        fail("visibility", msg);
      }
      if (*kind == Kind::city && out.visibility != "public") fail("visibility", "a city profile is always public");
    }
    spec.validate(fields, out, frameworks);

    // A compact one-line input is its own body, byte for byte: what the coordinator wrote
    // is what gets signed (and NDJSON import skips re-serialising every record).
    std::string_view trimmed = source_text;
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) trimmed.remove_suffix(1);
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) trimmed.remove_prefix(1);
    bool one_line = trimmed.find('\n') == std::string_view::npos && trimmed.find('\r') == std::string_view::npos;
    if (!trimmed.empty() && one_line) {
      out.body = std::string(trimmed);
      if (out.body.size() > limits::kMaxBodyBytes) fail("record", "larger than the 256 KiB record limit");
      return out;
    }
    json body = json::object();
    const size_t header_fields = *kind == Kind::city ? 3 : kCommon.size();  // kind, id, visibility (+ claims)
    for (auto& [key, value] : in.items())
      if (std::find(kCommon.begin(), kCommon.begin() + header_fields, key) == kCommon.begin() + header_fields &&
          !value.is_null())
        body[key] = value;
    out.body = body.dump();
    if (out.body.size() > limits::kMaxBodyBytes) fail("record", "larger than the 256 KiB record limit");
    return out;
  } catch (const Invalid& e) {
    return e.error;
  }
}

}  // namespace

Result<ValidatedInput> validate_input(const json& in, const PublisherIdentity& self, std::string_view source_text,
                                      const FrameworkCatalog& frameworks) {
  TextForm form = text_form(in);
  if (form == TextForm::too_deep)
    return make_error("record", "nested more than " + std::to_string(kMaxInputDepth) + " levels deep");
  if (form == TextForm::nfc && !canonicalize_language_tags(nullptr, in))
    return validate_as_is(in, self, source_text, frameworks);
  // Text is signed in NFC ("Malmö" precomposed, never "o" + U+0308) and language tags in
  // their canonical case ("pt-BR"): lengths, claims and generated ids are taken from the
  // normalized text, and the source, no longer the bytes to sign, gives way to the
  // canonical serialisation of the normalized input.
  json normalized = in;
  if (form != TextForm::nfc) normalize_strings(normalized);
  canonicalize_language_tags(&normalized, normalized);
  return validate_as_is(normalized, self, {}, frameworks);
}

Result<ValidatedInput> parse_and_validate_input(std::string_view text, const PublisherIdentity& self,
                                                const FrameworkCatalog& frameworks) {
  if (text.size() > limits::kMaxInputLineBytes)
    return make_error("record", "larger than " + std::to_string(limits::kMaxInputLineBytes) + " bytes");
  json parsed;
  bool commented = false;  // `agora new` templates explain their fields in // and /* */ comments
  try {
    try {
      parsed = json::parse(text);
    } catch (const json::parse_error&) {
      parsed = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
      commented = true;
    }
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 1, column 7: ..."
    auto pos = what.find("parse error");
    return make_error("", "invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  } catch (const json::exception& e) {  // found by fuzzing: 1E+55555555 is out_of_range, not parse_error
    std::string what = e.what();
    auto pos = what.find("] ");
    return make_error("", "invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  // Found by fuzzing: a one-line input is signed as it is, so a key written twice would reach
  // peers, which refuse bodies with duplicate keys (the parser here keeps the last value).
  if (auto twice = parse_unique_keys(text, commented).duplicate_key)
    return make_error(*twice, "this key appears twice in one object; write it once");
  // With comments the text is never the body: it is serialised anew, without them.
  return validate_input(parsed, self, commented ? std::string_view() : text, frameworks);
}

std::vector<Error> input_errors(std::string_view text, const PublisherIdentity& self,
                                const FrameworkCatalog& frameworks, size_t limit) {
  auto first = parse_and_validate_input(text, self, frameworks);
  if (first) return {};
  std::vector<Error> out{first.error()};
  json work = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (work.is_discarded() || !work.is_object() || first.error().path.empty()) return out;
  // The top-level field an error's path starts with ("outcomes" of "outcomes[2].value").
  auto field_of = [](const std::string& path) { return path.substr(0, path.find_first_of(".[")); };
  // Values that stand in for a reported field, tried in turn until one passes.
  const json placeholders[] = {"placeholder", "en", json::array({"employment"}), 2000, "2000-01-01"};
  std::set<std::string> done;
  for (Error e = first.error(); out.size() < limit;) {
    std::string field = field_of(e.path);
    if (field.empty() || field == "record" || field == "kind" || done.count(field)) break;
    done.insert(field);
    // A list: each further element checked alone, as the list's only one ("themes[3]").
    if (e.path.size() > field.size() && e.path[field.size()] == '[' && work[field].is_array()) {
      size_t reported = std::strtoul(e.path.c_str() + field.size() + 1, nullptr, 10);
      const json list = work[field];
      for (size_t j = 0; j < list.size() && out.size() < limit; ++j) {
        if (j == reported) continue;
        json trial = work;
        trial[field] = json::array({list[j]});
        auto alone = validate_input(trial, self, {}, frameworks);
        std::string first = field + "[0]";
        if (alone || alone.error().path.compare(0, first.size(), first) != 0) continue;
        Error ej = alone.error();
        ej.path = field + "[" + std::to_string(j) + "]" + ej.path.substr(first.size());
        out.push_back(ej);
      }
    }
    // Its value replaced by one that passes (so that a required field is still there), else
    // left out; either way what it hid comes next.
    bool replaced = false;
    for (const json& stand_in : placeholders) {
      work[field] = stand_in;
      auto again = validate_input(work, self, {}, frameworks);
      if (again || field_of(again.error().path) != field) {
        replaced = true;
        break;
      }
    }
    if (!replaced) work.erase(field);
    auto again = validate_input(work, self, {}, frameworks);
    if (again) break;
    e = again.error();
    if (done.count(field_of(e.path))) break;  // a stand-in's own problem: not the coordinator's
    out.push_back(e);
  }
  return out;
}

bool is_calendar_date(std::string_view s) {
  if (!date_shaped(s)) return false;
  auto number = [&](size_t from, size_t n) {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  int y = number(0, 4), m = number(5, 2), d = number(8, 2);
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return y >= limits::kMinYear && y <= limits::kMaxYear && m >= 1 && m <= 12 && d >= 1 && d <= kDays[m - 1] &&
         !(m == 2 && d == 29 && !leap);
}

namespace {

Result<IndexKeys> check_received_body(Kind kind, std::string_view kind_text, std::string_view id,
                                      std::string_view visibility, bool tombstone, std::string_view body) {
  if (tombstone) {
    if (!body.empty()) return make_error("body", "a tombstone's body must be empty");
    return IndexKeys{};
  }
  UniqueKeysParse parsed = parse_unique_keys(body);
  if (parsed.duplicate_key) return make_error("body", "an object has the same key twice");
  json& in = parsed.value;
  if (in.is_discarded() || !in.is_object()) return make_error("body", "not a JSON object");
  auto agrees = [&](const char* key, std::string_view expected) {
    auto it = in.find(key);
    return it == in.end() || (it->is_string() && it->get_ref<const std::string&>() == expected);
  };
  if (!agrees("kind", kind_text)) return make_error("body.kind", "differs from the signed header");
  if (!agrees("id", id)) return make_error("body.id", "differs from the signed header");
  if (!agrees("visibility", visibility)) return make_error("body.visibility", "differs from the signed header");
  if (kind == Kind::unknown) return IndexKeys{};  // a kind newer than this node: not interpreted
  if (kind == Kind::erasure && visibility != "public") return make_error("visibility", "an erasure is always public");
  if (kind == Kind::moderation && visibility != "public")
    return make_error("visibility", "a moderation record is always public");
  in["kind"] = kind_name(kind);
  in["id"] = std::string(id);  // a framework's id is part of what it states
  in.erase("visibility");
  if (kind != Kind::city) in.erase("origin"), in.erase("city"), in.erase("country");
  ReceivedMode received;
  auto r = validate_as_is(in, PublisherIdentity{}, "{}", FrameworkCatalog::open());
  if (!r) return r.error();
  return r.value().keys;
}

}  // namespace

Result<IndexKeys> validate_received_body(const Header& h, std::string_view body) {
  return check_received_body(h.kind, header_kind_name(h), h.id, h.visibility, h.tombstone, body);
}

Result<IndexKeys> validate_received_body(Kind kind, std::string_view id, std::string_view visibility, bool tombstone,
                                         std::string_view body) {
  return check_received_body(kind, kind_name(kind), id, visibility, tombstone, body);
}

IndexKeys index_keys_for(Kind kind, std::string_view body) {
  IndexKeys keys;
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return keys;
  auto add_themes = [&](const json& arr) {
    if (!arr.is_array()) return;
    for (const auto& t : arr)
      if (t.is_string())
        if (int i = vocabulary_index(themes(), t.get<std::string>()); i >= 0) keys.themes |= uint16_t(1u << i);
  };
  auto year = [&](const char* key) {
    auto it = j.find(key);
    if (it != j.end() && it->is_number_integer()) keys.year = static_cast<uint16_t>(it->get<int>());
  };
  switch (kind) {
    case Kind::practice:
      add_themes(j.value("themes", json()));
      year("started");
      break;
    case Kind::plan:
      if (auto p = j.find("period"); p != j.end() && p->is_object() && p->value("from", json()).is_string())
        keys.year = static_cast<uint16_t>(std::atoi(p->value("from", std::string()).c_str()));
      if (auto items = j.find("items"); items != j.end() && items->is_array())
        for (const auto& it : *items)
          if (it.is_object()) add_themes(it.value("themes", json()));
      break;
    case Kind::adoption:
      add_themes(j.value("themes", json()));
      year("started");
      break;
    case Kind::partnership:
      add_themes(j.value("topics", json()));
      year("since");
      break;
    case Kind::coalition:
      year("since");
      break;
    case Kind::framework:
      year("adopted");
      break;
    case Kind::report:
      if (auto d = j.find("date"); d != j.end() && d->is_string())
        keys.year = static_cast<uint16_t>(std::atoi(d->get<std::string>().c_str()));
      break;
    case Kind::city:
    case Kind::key:
    case Kind::erasure:
    case Kind::moderation:
    case Kind::retraction:
    case Kind::translation:
    case Kind::unknown:
      break;
  }
  return keys;
}

}  // namespace agora
