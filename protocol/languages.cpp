#include "protocol/languages.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "protocol/vocabulary.hpp"

namespace agora {

namespace {
constexpr Language kLanguages[] = {
    {"aa", "Afar", ""},
    {"ab", "Abkhazian", ""},
    {"ae", "Avestan", ""},
    {"af", "Afrikaans", ""},
    {"ak", "Akan", ""},
    {"am", "Amharic", ""},
    {"an", "Aragonese", ""},
    {"ar", "Arabic", "arabic"},
    {"as", "Assamese", ""},
    {"av", "Avaric", ""},
    {"ay", "Aymara", ""},
    {"az", "Azerbaijani", ""},
    {"ba", "Bashkir", ""},
    {"be", "Belarusian", ""},
    {"bg", "Bulgarian", ""},
    {"bi", "Bislama", ""},
    {"bm", "Bambara", ""},
    {"bn", "Bengali", ""},
    {"bo", "Tibetan", ""},
    {"br", "Breton", ""},
    {"bs", "Bosnian", ""},
    {"ca", "Catalan", "catalan"},
    {"ce", "Chechen", ""},
    {"ch", "Chamorro", ""},
    {"co", "Corsican", ""},
    {"cr", "Cree", ""},
    {"cs", "Czech", ""},
    {"cu", "Church Slavic", ""},
    {"cv", "Chuvash", ""},
    {"cy", "Welsh", ""},
    {"da", "Danish", "danish"},
    {"de", "German", "german"},
    {"dv", "Divehi", ""},
    {"dz", "Dzongkha", ""},
    {"ee", "Ewe", ""},
    {"el", "Greek", ""},
    {"en", "English", "english"},
    {"eo", "Esperanto", ""},
    {"es", "Spanish", "spanish"},
    {"et", "Estonian", ""},
    {"eu", "Basque", "basque"},
    {"fa", "Persian", ""},
    {"ff", "Fulah", ""},
    {"fi", "Finnish", "finnish"},
    {"fj", "Fijian", ""},
    {"fo", "Faroese", ""},
    {"fr", "French", "french"},
    {"fy", "Western Frisian", ""},
    {"ga", "Irish", "irish"},
    {"gd", "Scottish Gaelic", ""},
    {"gl", "Galician", ""},
    {"gn", "Guarani", ""},
    {"gu", "Gujarati", ""},
    {"gv", "Manx", ""},
    {"ha", "Hausa", ""},
    {"he", "Hebrew", ""},
    {"hi", "Hindi", ""},
    {"ho", "Hiri Motu", ""},
    {"hr", "Croatian", ""},
    {"ht", "Haitian Creole", ""},
    {"hu", "Hungarian", "hungarian"},
    {"hy", "Armenian", "armenian"},
    {"hz", "Herero", ""},
    {"ia", "Interlingua", ""},
    {"id", "Indonesian", "indonesian"},
    {"ie", "Interlingue", ""},
    {"ig", "Igbo", ""},
    {"ii", "Sichuan Yi", ""},
    {"ik", "Inupiaq", ""},
    {"io", "Ido", ""},
    {"is", "Icelandic", ""},
    {"it", "Italian", "italian"},
    {"iu", "Inuktitut", ""},
    {"ja", "Japanese", ""},
    {"jv", "Javanese", ""},
    {"ka", "Georgian", ""},
    {"kg", "Kongo", ""},
    {"ki", "Kikuyu", ""},
    {"kj", "Kuanyama", ""},
    {"kk", "Kazakh", ""},
    {"kl", "Kalaallisut", ""},
    {"km", "Khmer", ""},
    {"kn", "Kannada", ""},
    {"ko", "Korean", ""},
    {"kr", "Kanuri", ""},
    {"ks", "Kashmiri", ""},
    {"ku", "Kurdish", ""},
    {"kv", "Komi", ""},
    {"kw", "Cornish", ""},
    {"ky", "Kyrgyz", ""},
    {"la", "Latin", ""},
    {"lb", "Luxembourgish", ""},
    {"lg", "Ganda", ""},
    {"li", "Limburgish", ""},
    {"ln", "Lingala", ""},
    {"lo", "Lao", ""},
    {"lt", "Lithuanian", "lithuanian"},
    {"lu", "Luba-Katanga", ""},
    {"lv", "Latvian", ""},
    {"mg", "Malagasy", ""},
    {"mh", "Marshallese", ""},
    {"mi", "Maori", ""},
    {"mk", "Macedonian", ""},
    {"ml", "Malayalam", ""},
    {"mn", "Mongolian", ""},
    {"mr", "Marathi", ""},
    {"ms", "Malay", ""},
    {"mt", "Maltese", ""},
    {"my", "Burmese", ""},
    {"na", "Nauru", ""},
    {"nb", "Norwegian Bokmal", "norwegian"},
    {"nd", "North Ndebele", ""},
    {"ne", "Nepali", "nepali"},
    {"ng", "Ndonga", ""},
    {"nl", "Dutch", "dutch"},
    {"nn", "Norwegian Nynorsk", "norwegian"},
    {"no", "Norwegian", "norwegian"},
    {"nr", "South Ndebele", ""},
    {"nv", "Navajo", ""},
    {"ny", "Chichewa", ""},
    {"oc", "Occitan", ""},
    {"oj", "Ojibwa", ""},
    {"om", "Oromo", ""},
    {"or", "Odia", ""},
    {"os", "Ossetian", ""},
    {"pa", "Punjabi", ""},
    {"pi", "Pali", ""},
    {"pl", "Polish", ""},
    {"ps", "Pashto", ""},
    {"pt", "Portuguese", "portuguese"},
    {"qu", "Quechua", ""},
    {"rm", "Romansh", ""},
    {"rn", "Kirundi", ""},
    {"ro", "Romanian", "romanian"},
    {"ru", "Russian", "russian"},
    {"rw", "Kinyarwanda", ""},
    {"sa", "Sanskrit", ""},
    {"sc", "Sardinian", ""},
    {"sd", "Sindhi", ""},
    {"se", "Northern Sami", ""},
    {"sg", "Sango", ""},
    {"si", "Sinhala", ""},
    {"sk", "Slovak", ""},
    {"sl", "Slovenian", ""},
    {"sm", "Samoan", ""},
    {"sn", "Shona", ""},
    {"so", "Somali", ""},
    {"sq", "Albanian", ""},
    {"sr", "Serbian", ""},
    {"ss", "Swati", ""},
    {"st", "Southern Sotho", ""},
    {"su", "Sundanese", ""},
    {"sv", "Swedish", "swedish"},
    {"sw", "Swahili", ""},
    {"ta", "Tamil", "tamil"},
    {"te", "Telugu", ""},
    {"tg", "Tajik", ""},
    {"th", "Thai", ""},
    {"ti", "Tigrinya", ""},
    {"tk", "Turkmen", ""},
    {"tl", "Tagalog", ""},
    {"tn", "Tswana", ""},
    {"to", "Tongan", ""},
    {"tr", "Turkish", "turkish"},
    {"ts", "Tsonga", ""},
    {"tt", "Tatar", ""},
    {"tw", "Twi", ""},
    {"ty", "Tahitian", ""},
    {"ug", "Uyghur", ""},
    {"uk", "Ukrainian", ""},
    {"ur", "Urdu", ""},
    {"uz", "Uzbek", ""},
    {"ve", "Venda", ""},
    {"vi", "Vietnamese", ""},
    {"vo", "Volapuk", ""},
    {"wa", "Walloon", ""},
    {"wo", "Wolof", ""},
    {"xh", "Xhosa", ""},
    {"yi", "Yiddish", ""},
    {"yo", "Yoruba", ""},
    {"za", "Zhuang", ""},
    {"zh", "Chinese", ""},
    {"zu", "Zulu", ""},
};
static_assert(std::size(kLanguages) == 183, "every ISO 639-1 code");

constexpr std::string_view kRightToLeft[] = {"ar", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"};
constexpr std::string_view kRightToLeftScripts[] = {"Adlm", "Arab", "Hebr", "Nkoo", "Syrc", "Thaa"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
bool all_of(std::string_view s, int (*pred)(int)) {
  return std::all_of(s.begin(), s.end(), [pred](char c) { return pred(static_cast<unsigned char>(c)) != 0; });
}
}  // namespace

std::span<const Language> languages() { return kLanguages; }

const Language* find_language(std::string_view code) {
  auto it = std::lower_bound(std::begin(kLanguages), std::end(kLanguages), code,
                             [](const Language& l, std::string_view c) { return l.code < c; });
  return it != std::end(kLanguages) && it->code == code ? &*it : nullptr;
}

std::optional<std::string> canonical_language_tag(std::string_view tag) {
  std::string out;
  size_t part = 0, start = 0;
  bool script_seen = false, region_seen = false;
  while (start <= tag.size()) {
    size_t end = std::min(tag.find('-', start), tag.size());
    std::string_view sub = tag.substr(start, end - start);
    if (part == 0) {
      if (sub.size() != 2 || !all_of(sub, std::isalpha) || !find_language(lower(sub))) return std::nullopt;
      out = lower(sub);
    } else if (sub.size() == 4 && all_of(sub, std::isalpha) && !script_seen && !region_seen) {
      script_seen = true;
      std::string s = lower(sub);
      s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
      out += "-" + s;
    } else if (((sub.size() == 2 && all_of(sub, std::isalpha)) || (sub.size() == 3 && all_of(sub, std::isdigit))) &&
               !region_seen) {
      region_seen = true;
      std::string r(sub);
      for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out += "-" + r;
    } else {
      return std::nullopt;
    }
    ++part;
    if (end == tag.size()) break;
    start = end + 1;
  }
  return out;
}

std::string_view primary_language(std::string_view tag) { return tag.substr(0, tag.find('-')); }

std::optional<std::string> language_suggestion(std::string_view tag) {
  std::string l = lower(tag);
  for (const auto& lang : kLanguages)
    if (lower(lang.name) == l) return std::string(lang.code);
  for (const auto& lang : kLanguages)
    if (lower(lang.name).starts_with(l + " ")) return std::string(lang.code);
  std::vector<std::string> names, codes;
  for (const auto& lang : kLanguages) {
    names.push_back(lower(lang.name));
    codes.emplace_back(lang.code);
  }
  if (l.size() > 3)
    if (auto near = nearest(l, names))
      for (const auto& lang : kLanguages)
        if (lower(lang.name) == *near) return std::string(lang.code);
  return nearest(l.substr(0, l.find('-')), codes);
}

std::string unknown_language(std::string_view tag) {
  std::string msg = "unknown language \"" + std::string(tag) + "\"";
  if (auto near = language_suggestion(tag))
    return msg + "; did you mean \"" + *near + "\" (" + std::string(find_language(*near)->name) + ")?";
  return msg + "; expected an ISO 639-1 code, optionally with a script and a region (\"pt-BR\", \"zh-Hant\")";
}

bool is_right_to_left(std::string_view tag) {
  // A script subtag decides ("ku-Arab" is, "az-Latn" is not); without one, the language.
  for (size_t start = tag.find('-'); start != std::string_view::npos; start = tag.find('-', start + 1)) {
    std::string_view sub = tag.substr(start + 1, tag.find('-', start + 1) - start - 1);
    if (sub.size() == 4 && all_of(sub, std::isalpha))
      return std::find(std::begin(kRightToLeftScripts), std::end(kRightToLeftScripts), sub) !=
             std::end(kRightToLeftScripts);
  }
  std::string_view primary = primary_language(tag);
  return std::find(std::begin(kRightToLeft), std::end(kRightToLeft), primary) != std::end(kRightToLeft);
}

}  // namespace agora
