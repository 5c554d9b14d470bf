// The shape of every JSON error the HTTP side answers: {"error": TEXT, "param": NAME|null}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "node/net/transport.hpp"

namespace agora {

inline net::HttpResponse json_answer(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump(), {}};
}

inline net::HttpResponse error_answer(int status, const std::string& message, const std::string& param = "") {
  return json_answer(status, {{"error", message}, {"param", param.empty() ? nlohmann::json() : nlohmann::json(param)}});
}

}  // namespace agora
