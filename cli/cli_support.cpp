#include <charconv>
#include "cli/cli_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "protocol/input_schema.hpp"
#include "protocol/limits.hpp"

namespace agora::cli {

std::string mib_text(uint64_t bytes) {
  char buf[32];
  if (bytes < (1 << 20))  // a new node's store: 52.0 KiB, not 0.0 MiB
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

void refuse_input(const std::string& name, std::string_view text, const PublisherIdentity& self,
                  const FrameworkCatalog& frameworks) {
  auto errors = input_errors(text, self, frameworks);
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "\nerror: ") + name + ": " + e.to_string();
  if (errors.size() > 1)
    message += "\nerror: " + name + ": " + std::to_string(errors.size()) + " problems; nothing was published";
  throw InvalidInput(message);
}

void add_data_option(CLI::App* verb, Context& ctx) {
  verb->add_option("--data", ctx.data, "data directory (default: $AGORA_DATA, else ./agora-data)");
}

void add_json_option(CLI::App* verb, Context& ctx) {
  verb->add_flag("--json", ctx.json, "print machine-readable JSON on stdout");
}

void write_new_key_file(const std::filesystem::path& file, const SigningKey& key) {
  std::string pem = key.to_pem();
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw InvalidInput("cannot create " + file.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(errno));
}

DataDir open_to_publish(const Context& ctx) {
  DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
  if (!ctx.key_file.empty()) dir.sign_with(DataDir::read_key_file(ctx.key_file));
  return dir;
}

std::string read_input(const std::string& file) {
  std::ostringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw InvalidInput(file + ": cannot open for reading");
    ss << in.rdbuf();
  }
  std::string text = ss.str();
  if (text.size() > limits::kMaxInputLineBytes)
    throw InvalidInput((file == "-" ? std::string("<stdin>") : file) + ": larger than the 512 KiB input limit");
  return text;
}

std::pair<int, int> parse_year_range(const std::string& text) {
  auto dash = text.find('-', 1);
  auto year = [&](const std::string& part) {
    if (part.size() != 4 || part.find_first_not_of("0123456789") != std::string::npos)
      throw InvalidInput("--year: expected YYYY or YYYY-YYYY, got \"" + text + "\"");
    return std::stoi(part);
  };
  int from = year(text.substr(0, dash));
  return {from, dash == std::string::npos ? from : year(text.substr(dash + 1))};
}

CLI::Validator whole_number_in(long long lo, long long hi) {
  std::string range = std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        long long v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
          return "expected a whole number from " + range + ", got " + text;
        return {};
      },
      "[" + range + "]");
}

CLI::Validator number_in(double lo, double hi) {
  auto shortest = [](double d) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, ec == std::errc() ? end : buf);
  };
  std::string range = shortest(lo) + " to " + shortest(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        double v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || !(v >= lo && v <= hi))
          return "expected a number from " + range + ", got " + text;
        return {};
      },
      "[" + range + "]");
}

}  // namespace agora::cli
