// The coalition's regions (protocol/regions.hpp): by name or alias, by country, and a
// city's region from its profile.
#include <catch2/catch.hpp>

#include "protocol/regions.hpp"

using namespace agora;

TEST_CASE("a city's coalition region comes from its profile's region, else its country", "[protocol][regions]") {
  CHECK(regions().size() == 6);
  CHECK(region_named("europe") == "europe");
  CHECK(region_named("Arab region") == "arab-states");
  CHECK(region_named("Asia and the Pacific") == "asia-pacific");
  CHECK(region_named("LATIN AMERICA AND THE CARIBBEAN") == "latin-america-caribbean");
  CHECK(region_named("América Latina y el Caribe") == "latin-america-caribbean");
  CHECK_FALSE(region_named("Skåne"));
  CHECK(region_named("Europa") == "europe");  // names in the page's languages
  CHECK(region_named("États arabes") == "arab-states");
  CHECK(region_named("الدول العربية") == "arab-states");
  CHECK(region_named("亚太") == "asia-pacific");
  CHECK(region_named("Amérique du Nord") == "north-america");
  CHECK(region_of_country("SE") == "europe");
  CHECK(region_of_country("MA") == "arab-states");
  CHECK(region_of_country("KE") == "africa");
  CHECK(region_of_country("JP") == "asia-pacific");
  CHECK(region_of_country("BR") == "latin-america-caribbean");
  CHECK(region_of_country("CA") == "north-america");
  CHECK(region_of_country("US") == "north-america");
  CHECK(region_of_country("MX") == "latin-america-caribbean");
  CHECK_FALSE(region_of_country("AQ"));
  CHECK_FALSE(region_of_country("ZZ"));
  CHECK(city_region("Skåne", "SE") == "europe");             // free text: the country decides
  CHECK(city_region("Arab States", "FR") == "arab-states");  // a region named decides
  CHECK(city_region("", "ZA") == "africa");
}
