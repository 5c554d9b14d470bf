// A fresh directory under the system temp dir, removed when the test ends.
#pragma once

#include <filesystem>
#include <random>
#include <string>

namespace agora::test {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("agora-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& sub = "") const { return (sub.empty() ? path_ : path_ / sub).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace agora::test
