#include "node/local/importer.hpp"

#include "node/local/reference_check.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "node/local/publisher.hpp"
#include "node/local/worker_pool.hpp"

namespace agora {

namespace {

struct Line {
  size_t number;
  std::string text;
};

// Reads the file in chunks of non-blank lines so memory stays bounded on large files.
class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& file) : in_(file, std::ios::binary), file_(file) {
    if (!in_) throw InvalidInput(file.string() + ": cannot open for reading");
  }
  bool next_chunk(std::vector<Line>& out, size_t max_lines) {
    out.clear();
    std::string line;
    while (out.size() < max_lines && std::getline(in_, line)) {
      ++number_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      out.push_back({number_, std::move(line)});
    }
    return !out.empty();
  }

 private:
  std::ifstream in_;
  std::filesystem::path file_;
  size_t number_ = 0;
};

// Problems as the CLI prints them: one per line (it puts "error: " before the first), then
// how many lines were bad when there are several.
std::string problems_text(const std::vector<std::string>& problems, size_t bad_lines, const std::string& file) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "\nerror: ") + p;
  if (problems.size() > 1)
    out += "\nerror: " + file + ": " + std::to_string(problems.size()) + " problems" +
           (bad_lines > 1 ? " on " + std::to_string(bad_lines) + " lines" : "") + "; nothing was imported";
  return out;
}

// Validates a chunk in parallel; throws InvalidInput naming every problem of its bad lines.
std::vector<ValidatedInput> validate_chunk(DataDir& dir, const std::vector<Line>& lines, const PublisherIdentity& self,
                                           const std::filesystem::path& file, ReferenceChecker& references,
                                           bool revive) {
  std::vector<std::optional<ValidatedInput>> out(lines.size());
  std::vector<std::optional<Error>> errors(lines.size());
  const FrameworkCatalog& frameworks = references.frameworks();  // loaded here, not in the workers
  parallel_for(lines.size(), [&](size_t i) {
    auto r = parse_and_validate_input(lines[i].text, self, frameworks);
    if (r) {
      out[i] = std::move(r).value();
    } else {
      errors[i] = r.error();
    }
  });
  std::vector<ValidatedInput> valid;
  valid.reserve(lines.size());
  // Every bad line's every problem (up to kMaxReported), so that one round fixes them all.
  constexpr size_t kMaxReported = 50;
  std::vector<std::string> problems;
  size_t bad_lines = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string where = file.string() + ":" + std::to_string(lines[i].number) + ": ";
    if (errors[i]) {
      ++bad_lines;
      for (const auto& e : input_errors(lines[i].text, self, frameworks))
        if (problems.size() < kMaxReported) problems.push_back(where + e.to_string());
      continue;
    }
    try {  // in file order: a report may name a plan from an earlier line
      references.check(*out[i]);
    } catch (const InvalidInput& e) {
      ++bad_lines;
      if (problems.size() < kMaxReported) problems.push_back(where + e.what());
      continue;
    }
    valid.push_back(std::move(*out[i]));
  }
  if (!problems.empty()) throw InvalidInput(problems_text(problems, bad_lines, file.string()));
  // A retracted or erased record comes back only when asked (--revive): found here, before
  // anything is written, as every other bad line.
  if (!revive)
    dir.store().read([&](const storage::StoreReader& r) {
      for (size_t i = 0; i < valid.size(); ++i)
        if (valid[i].id)
          if (auto latest = r.latest(dir.id(), *valid[i].id); latest && latest->tombstone)
            throw InvalidInput(file.string() + ":" + std::to_string(lines[i].number) + ": id: \"" + *valid[i].id +
                               "\" was " + (r.erased_by(latest->local) ? "erased" : "retracted") +
                               "; importing it again needs --revive");
      return 0;
    });
  return valid;
}

// Validated records between the two passes: written in pass 1, read back in pass 2, so
// each line is parsed once and memory stays flat however large the file is.
class Spool {
 public:
  explicit Spool(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    // A spool left by an import that was killed is of no use to anyone.
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (name.starts_with("import-") && name.ends_with(".spool")) {
        pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + 7));
        if (pid > 0 && ::kill(pid, 0) != 0) std::filesystem::remove(e.path());
      }
    }
    path_ = dir / ("import-" + std::to_string(::getpid()) + ".spool");
    out_.open(path_, std::ios::binary | std::ios::trunc);
    if (!out_) throw std::runtime_error("cannot create " + path_.string());
  }
  ~Spool() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

  void write(const ValidatedInput& in) {
    put_u32(static_cast<uint32_t>(in.kind));
    put_string(in.id ? *in.id : std::string());
    put_u32(in.id ? 1 : 0);
    put_string(in.visibility);
    put_string(in.title);
    put_u32(in.keys.themes);
    put_u32(in.keys.year);
    put_string(in.body);
  }
  void finish_writing() {
    out_.close();
    if (!out_) throw std::runtime_error("cannot write " + path_.string() + " (disk full?)");
    in_.open(path_, std::ios::binary);
  }
  bool read(ValidatedInput& in) {
    uint32_t kind;
    if (!get_u32(kind)) return false;
    in.kind = static_cast<Kind>(kind);
    std::string id = get_string();
    in.id = get_u32() ? std::optional<std::string>(std::move(id)) : std::nullopt;
    in.visibility = get_string();
    in.title = get_string();
    in.keys.themes = static_cast<uint16_t>(get_u32());
    in.keys.year = static_cast<uint16_t>(get_u32());
    in.body = get_string();
    if (!in_) throw std::runtime_error(path_.string() + " is truncated");
    return true;
  }

 private:
  void put_u32(uint32_t v) { out_.write(reinterpret_cast<const char*>(&v), sizeof v); }
  void put_string(const std::string& s) {
    put_u32(static_cast<uint32_t>(s.size()));
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
  }
  bool get_u32(uint32_t& v) { return static_cast<bool>(in_.read(reinterpret_cast<char*>(&v), sizeof v)); }
  uint32_t get_u32() {
    uint32_t v = 0;
    get_u32(v);
    return v;
  }
  std::string get_string() {
    std::string s(get_u32(), '\0');
    in_.read(s.data(), static_cast<std::streamsize>(s.size()));
    return s;
  }
  std::filesystem::path path_;
  std::ofstream out_;
  std::ifstream in_;
};

}  // namespace

ImportSummary import_ndjson(DataDir& dir, const std::filesystem::path& file, const ImportOptions& options) {
  if (dir.role() != NodeRole::city) throw InvalidInput("an observer node holds no city and imports no records");
  PublisherIdentity self = dir.identity();
  ImportSummary summary;
  Spool spool(dir.path() / "tmp");
  ReferenceChecker references(dir.store(), dir.id());

  {  // Pass 1: every line valid, or nothing is written.
    LineReader reader(file);
    std::vector<Line> lines;
    while (reader.next_chunk(lines, options.batch_size)) {
      for (const auto& in : validate_chunk(dir, lines, self, file, references, options.revive)) spool.write(in);
      summary.records += lines.size();
    }
    try {  // a plan update that leaves reports without their indicator, anywhere in the file
      references.finish();
    } catch (const InvalidInput& e) {
      throw InvalidInput(file.string() + ": " + e.what());
    }
  }
  if (summary.records == 0) throw InvalidInput(file.string() + ": no records (empty file)");
  spool.finish_writing();

  // Pass 2: sign and store in batches; each batch is one durable transaction.
  Publisher publisher(dir);
  publisher.allow_revive(options.revive);
  size_t stored = 0;
  auto next_batch = [&](std::vector<ValidatedInput>& batch) {
    batch.clear();
    ValidatedInput in;
    while (batch.size() < options.batch_size && spool.read(in)) batch.push_back(std::move(in));
    return !batch.empty();
  };
  publisher.publish_stream(next_batch, [&](const std::vector<PublishResult>& results) {
    ++summary.batches;
    for (const auto& r : results) {
      if (r.unchanged) {
        ++summary.unchanged;
      } else {
        ++(r.version == 1 ? summary.created : summary.updated);
        ++summary.by_kind[std::string(kind_name(r.kind))];
      }
    }
    stored += results.size();
    spdlog::debug("import {}: batch {} committed ({} records stored)", file.string(), summary.batches, stored);
    if (options.on_committed) options.on_committed(stored, summary.records);
  });
  return summary;
}

}  // namespace agora
