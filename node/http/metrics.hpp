// Request counters and latency histograms of the HTTP port, in Prometheus text format.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace agora {

class RequestMetrics {
 public:
  // route: a path template such as "/api/v1/practices/{origin}/{id}" (see route_of).
  void observe(const std::string& route, int status, double seconds);
  std::string prometheus() const;  // agora_http_requests_total, agora_http_request_seconds

  static std::string route_of(std::string_view path);

 private:
  static constexpr std::array<double, 11> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,  0.5,   1.0};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;  // observed from the io thread and the HTTP workers
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace agora
