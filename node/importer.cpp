#include "node/importer.hpp"

#include <fstream>
#include <optional>
#include <vector>

#include "node/publisher.hpp"
#include "node/worker_pool.hpp"

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

// Validates a chunk in parallel; throws InvalidInput for the first bad line.
std::vector<ValidatedInput> validate_chunk(const std::vector<Line>& lines, const PublisherIdentity& self,
                                           const std::filesystem::path& file) {
  std::vector<std::optional<ValidatedInput>> out(lines.size());
  std::vector<std::optional<Error>> errors(lines.size());
  parallel_for(lines.size(), [&](size_t i) {
    auto r = parse_and_validate_input(lines[i].text, self);
    if (r) {
      out[i] = std::move(r).value();
    } else {
      errors[i] = r.error();
    }
  });
  std::vector<ValidatedInput> valid;
  valid.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (errors[i])
      throw InvalidInput(file.string() + ":" + std::to_string(lines[i].number) + ": " + errors[i]->to_string());
    valid.push_back(std::move(*out[i]));
  }
  return valid;
}

}  // namespace

ImportSummary import_ndjson(DataDir& dir, const std::filesystem::path& file, const ImportOptions& options) {
  if (dir.role() != NodeRole::city) throw InvalidInput("an observer node holds no city and imports no records");
  PublisherIdentity self = dir.identity();
  ImportSummary summary;
  std::vector<Line> lines;

  {  // Pass 1: every line valid, or nothing is written.
    LineReader reader(file);
    while (reader.next_chunk(lines, options.batch_size)) {
      validate_chunk(lines, self, file);
      summary.records += lines.size();
    }
  }
  if (summary.records == 0) throw InvalidInput(file.string() + ": no records (empty file)");

  // Pass 2: validate again (cheaper than holding the file in memory), sign, store.
  LineReader reader(file);
  Publisher publisher(dir);
  size_t stored = 0;
  while (reader.next_chunk(lines, options.batch_size)) {
    std::vector<ValidatedInput> batch = validate_chunk(lines, self, file);
    auto results = publisher.publish(batch);
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
    if (options.on_committed) options.on_committed(stored, summary.records);
  }
  return summary;
}

}  // namespace agora
