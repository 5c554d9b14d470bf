// A value or an error naming where the input went wrong, for operations where failure is expected.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace agora {

// Where (a field path such as "themes[2]", may be empty) and what went wrong.
struct Error {
  std::string path;
  std::string message;
  // The input is of a format newer than this code understands (an envelope version it does
  // not know): not the sender's fault, and not evidence against it.
  bool newer_format = false;

  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error make_error(std::string path, std::string message) { return Error{std::move(path), std::move(message)}; }

}  // namespace agora
