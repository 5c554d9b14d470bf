#include "node/http/metrics.hpp"

#include <sstream>

namespace agora {

std::string RequestMetrics::route_of(std::string_view path) {
  for (std::string_view collection : {"/api/v1/practices/", "/api/v1/plans/"}) {
    if (!path.starts_with(collection)) continue;
    std::string base(collection.substr(0, collection.size() - 1));
    return path.ends_with("/history") ? base + "/{origin}/{id}/history" : base + "/{origin}/{id}";
  }
  static const char* kKnown[] = {"/",
                                 "/health",
                                 "/metrics",
                                 "/api/v1/practices",
                                 "/api/v1/plans",
                                 "/api/v1/cities",
                                 "/api/v1/network",
                                 "/api/v1/changes",
                                 "/api/v1/openapi.json",
                                 "/app.js",
                                 "/style.css"};
  for (const char* k : kKnown)
    if (path == k) return k;
  return "other";  // unknown paths share one label: no unbounded label sets
}

void RequestMetrics::observe(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  Histogram& h = latency_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.count;
  h.sum += seconds;
}

std::string RequestMetrics::prometheus() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP agora_http_requests_total HTTP requests answered, by route and status.\n"
         "# TYPE agora_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out << "agora_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n << "\n";
  out << "# HELP agora_http_request_seconds Time to answer an HTTP request, by route.\n"
         "# TYPE agora_http_request_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out << "agora_http_request_seconds_bucket{route=\"" << route << "\",le=\"" << kBuckets[i] << "\"} " << h.counts[i]
          << "\n";
    out << "agora_http_request_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.count << "\n";
    out << "agora_http_request_seconds_sum{route=\"" << route << "\"} " << h.sum << "\n";
    out << "agora_http_request_seconds_count{route=\"" << route << "\"} " << h.count << "\n";
  }
  return out.str();
}

}  // namespace agora
