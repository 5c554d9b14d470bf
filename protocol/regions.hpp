// The regions of the International Coalition of Cities against Racism (one regional
// coalition each): a city's region, from its profile's `region` when that names one, else
// from its country. docs/data-model.md, "Regions".
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace agora {

struct Region {
  std::string_view id;    // africa, arab-states, asia-pacific, europe, latin-america-caribbean, north-america
  std::string_view name;  // as UNESCO names the regional coalition's region
};
std::span<const Region> regions();

// The region a text names: an id, a name or a usual alias ("Arab region", "Asia and the
// Pacific", "LAC"), any case and accents; nullopt for other text ("Skåne").
std::optional<std::string_view> region_named(std::string_view text);
// The region of an ISO 3166-1 alpha-2 country code; nullopt for one outside every region
// (Antarctica) or unknown.
std::optional<std::string_view> region_of_country(std::string_view country);
// A city's region: its profile's region text when that names one, else its country's.
std::optional<std::string_view> city_region(std::string_view region_text, std::string_view country);

}  // namespace agora
