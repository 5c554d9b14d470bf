// NFC normalization (protocol/unicode.hpp, ICU) and where input passes through it: the
// validated body that gets signed, claims, lengths and generated ids.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>

#include "protocol/input_schema.hpp"
#include "protocol/unicode.hpp"
#include "protocol/utf8.hpp"

using namespace agora;
using nlohmann::json;

namespace {
// "Malmö" precomposed (U+00F6) and decomposed ("o" + U+0308 COMBINING DIAERESIS).
const std::string kMalmoNfc = "Malm\xC3\xB6";
const std::string kMalmoNfd = "Malmo\xCC\x88";

const PublisherIdentity kMalmoSelf{std::string(64, 'a'), "Malm\xC3\xB6", "SE"};

json malmo_practice(const std::string& title) {
  return {{"kind", "practice"},
          {"title", title},
          {"summary", "Linkworkers in " + title + "."},
          {"language", "sv"},
          {"themes", {"employment"}}};
}
}  // namespace

TEST_CASE("nfc composes, reorders and leaves normalized text as it is", "[protocol][unicode]") {
  CHECK(nfc(kMalmoNfd) == kMalmoNfc);
  CHECK(nfc(kMalmoNfc) == kMalmoNfc);
  CHECK(is_nfc(kMalmoNfc));
  CHECK_FALSE(is_nfc(kMalmoNfd));
  CHECK(is_nfc(""));
  CHECK(nfc("") == "");
  CHECK(nfc("plain ASCII, untouched") == "plain ASCII, untouched");
  CHECK(nfc("Cafe\xCC\x81 in Lyon") == "Caf\xC3\xA9 in Lyon");  // e + U+0301 -> é
  CHECK(nfc("\xE1\x84\x80\xE1\x85\xA1") == "\xEA\xB0\x80");     // Hangul jamo ᄀ + ᅡ -> 가
  CHECK(nfc("\xE2\x84\xAB") == "\xC3\x85");                     // U+212B ANGSTROM SIGN -> Å
  // Marks in either order end up as one precomposed letter: a + U+0323 + U+0302 -> ậ (U+1EAD).
  CHECK(nfc("a\xCC\xA3\xCC\x82") == "\xE1\xBA\xAD");
  CHECK(nfc("a\xCC\x82\xCC\xA3") == "\xE1\xBA\xAD");
  // NFC is canonical only: compatibility characters (the ﬁ ligature, U+FB01) stay.
  CHECK(nfc("\xEF\xAC\x81") == "\xEF\xAC\x81");
  // A lone combining mark is already NFC; normalizing twice changes nothing.
  CHECK(is_nfc("\xCC\x88"));
  CHECK(nfc(nfc(kMalmoNfd)) == nfc(kMalmoNfd));
  // Long text that is already NFC (København, Malmö, Lyon...) comes back equal.
  std::string long_text;
  for (int i = 0; i < 2000; ++i)
    long_text +=
        "K\xC3\xB8"
        "benhavn og " +
        kMalmoNfc + " ";
  CHECK(is_nfc(long_text));
  CHECK(nfc(long_text) == long_text);
  std::string long_decomposed;
  for (int i = 0; i < 2000; ++i) long_decomposed += kMalmoNfd + " ";
  std::string expected;
  for (int i = 0; i < 2000; ++i) expected += kMalmoNfc + " ";
  CHECK(nfc(long_decomposed) == expected);
}

TEST_CASE("nfc never throws and returns text that is not valid UTF-8 unchanged", "[protocol][unicode]") {
  for (std::string bad : {std::string("\xFF"), std::string("o\xCC"), std::string("\xC0\xAF"),
                          std::string("\xED\xA0\x80"), kMalmoNfd + "\xFE", std::string("a\0b\xCC\x88", 5)}) {
    INFO(bad.size());
    if (is_valid_utf8(bad)) {
      CHECK_NOTHROW(nfc(bad));  // "a\0b + U+0308": NUL is a character like any other
    } else {
      CHECK(is_nfc(bad));
      CHECK(nfc(bad) == bad);
    }
  }
  CHECK(nfc(std::string("a\0o\xCC\x88", 5)) == std::string("a\0\xC3\xB6", 4));
}

TEST_CASE("matching folds decomposed and precomposed text alike", "[protocol][unicode]") {
  CHECK(fold_for_match(kMalmoNfd) == "malmo");
  CHECK(fold_for_match(kMalmoNfc) == "malmo");
  CHECK(fold_for_match("Go\xCC\x88teborg") == fold_for_match("G\xC3\xB6teborg"));
  CHECK(slugify("Linkworkers in " + kMalmoNfd, 48) == slugify("Linkworkers in " + kMalmoNfc, 48));
}

TEST_CASE("input is normalized before it is signed", "[protocol][unicode][schema]") {
  SECTION("every string, at any depth, in the canonical body") {
    json in = malmo_practice(kMalmoNfd + " linkworkers");
    in["partners"] = {"La\xCC\x88nkarbetare AB"};                             // arrays
    in["outcomes"] = {{{"indicator", "fo\xCC\x88reningar"}, {"value", 12}}};  // nested objects
    auto r = validate_input(in, kMalmoSelf);
    REQUIRE(r);
    const std::string& body = r.value().body;
    CHECK(is_nfc(body));
    CHECK(body.find("\xCC\x88") == std::string::npos);
    json parsed = json::parse(body);
    CHECK(parsed["title"] == kMalmoNfc + " linkworkers");
    CHECK(parsed["summary"] == "Linkworkers in " + kMalmoNfc + " linkworkers.");
    CHECK(parsed["partners"][0] == "L\xC3\xA4nkarbetare AB");
    CHECK(parsed["outcomes"][0]["indicator"] == "f\xC3\xB6reningar");
    CHECK(r.value().title == kMalmoNfc + " linkworkers");
  }
  SECTION("a compact line is its own body only when it is already NFC") {
    std::string composed_line = malmo_practice(kMalmoNfc).dump();
    auto same = parse_and_validate_input(composed_line, kMalmoSelf);
    REQUIRE(same);
    CHECK(same.value().body == composed_line);

    // Decomposed as raw UTF-8 and as a JSON escape: the body is the normalized input,
    // serialised canonically (sorted keys, no kind), like a pretty-printed file's.
    for (
        std::string line :
        {malmo_practice(kMalmoNfd).dump(),
         std::string(
             R"({"kind":"practice","title":"Malmo\u0308","summary":"Linkworkers in Malmo\u0308.","language":"sv","themes":["employment"]})")}) {
      auto r = parse_and_validate_input(line, kMalmoSelf);
      REQUIRE(r);
      CHECK(r.value().body == validate_input(malmo_practice(kMalmoNfc), kMalmoSelf).value().body);
      CHECK(json::parse(r.value().body)["title"] == kMalmoNfc);
      CHECK_FALSE(json::parse(r.value().body).contains("kind"));
    }
  }
  SECTION("plans: item actions and indicator names") {
    json plan = {
        {"kind", "plan"},
        {"title", "Handlingsplan"},
        {"framework", "eccar-10pt"},
        {"period", {{"from", "2024-01-01"}, {"to", "2027-12-31"}}},
        {"items",
         {{{"id", "lankarbetare"},
           {"commitment", "6"},
           {"action", "Anst\xC3\xA4lla la\xCC\x88nkarbetare"},
           {"indicators",
            {{{"name", "la\xCC\x88nkarbetare"}, {"baseline", 4}, {"target", 12}, {"direction", "increase"}}}}}}}};
    auto r = validate_input(plan, kMalmoSelf);
    REQUIRE(r);
    json body = json::parse(r.value().body);
    CHECK(body["items"][0]["action"] == "Anst\xC3\xA4lla l\xC3\xA4nkarbetare");
    CHECK(body["items"][0]["indicators"][0]["name"] == "l\xC3\xA4nkarbetare");
  }
  SECTION("limits count the characters of the normalized text") {
    std::string title;
    for (int i = 0; i < 300; ++i) title += "o\xCC\x88";  // 600 code points, 300 once composed
    CHECK(validate_input(malmo_practice(title), kMalmoSelf));
    CHECK_FALSE(validate_input(malmo_practice(title + "o"), kMalmoSelf));
  }
  SECTION("one text, one generated id, one claim") {
    auto a = validate_input(malmo_practice(kMalmoNfd), kMalmoSelf);
    auto b = validate_input(malmo_practice(kMalmoNfc), kMalmoSelf);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a.value().body == b.value().body);
    CHECK(a.value().title == b.value().title);
    // Restating the city decomposed is restating it; so is restating it to a node whose
    // profile an older version signed decomposed.
    json claims = malmo_practice("Linkworkers");
    claims["city"] = kMalmoNfd;
    CHECK(validate_input(claims, kMalmoSelf));
    claims["city"] = kMalmoNfc;
    CHECK(validate_input(claims, PublisherIdentity{kMalmoSelf.node_id, kMalmoNfd, "SE"}));
    claims["city"] = "Lund";
    CHECK_FALSE(validate_input(claims, kMalmoSelf));
  }
  SECTION("an input nested deeper than any record is refused before it is copied") {
    json deep = kMalmoNfd;
    for (int i = 0; i < 20; ++i) deep = json::array({deep});
    json in = malmo_practice(kMalmoNfd);
    in["country"] = deep;  // a restated country that is not a string is otherwise not checked
    auto r = validate_input(in, kMalmoSelf);
    REQUIRE_FALSE(r);
    CHECK(r.error().path == "record");
    std::string line = R"({"kind":"practice","country":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
    CHECK_FALSE(parse_and_validate_input(line, kMalmoSelf));
  }
  SECTION("object keys too: a decomposed field name is still an unknown field, named in NFC") {
    json in = malmo_practice("Linkworkers");
    in["fo\xCC\x88rening"] = "x";
    auto r = validate_input(in, kMalmoSelf);
    REQUIRE_FALSE(r);
    CHECK(r.error().path == "f\xC3\xB6rening");
  }
}

TEST_CASE("bodies from peers are checked as they were signed, decomposed or not", "[protocol][unicode][schema]") {
  // What a node of an earlier version signed: the title as the coordinator typed it.
  std::string body = R"({"title":")" + kMalmoNfd + R"(","summary":"s","language":"sv","themes":["employment"]})";
  CHECK(validate_received_body(Kind::practice, "old", "public", false, body));
  std::string city = R"({"name":"Go)"
                     "\xCC\x88"
                     R"(teborg","country":"SE"})";
  CHECK(validate_received_body(Kind::city, "profile", "public", false, city));
}

TEST_CASE("no character below U+0300 changes or combines under NFC (the fast path of is_nfc)", "[protocol][unicode]") {
  for (UChar32 c = 0; c < 0x300; ++c) {
    INFO(c);
    // Quick check "yes": neither decomposes nor combines with a character before it.
    CHECK(u_getIntPropertyValue(c, UCHAR_NFC_QUICK_CHECK) == UNORM_YES);
    CHECK(u_getCombiningClass(c) == 0);
  }
  CHECK(u_getIntPropertyValue(0x300, UCHAR_NFC_QUICK_CHECK) != UNORM_YES);  // U+0300 COMBINING GRAVE ACCENT
}
