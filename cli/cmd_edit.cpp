// agora edit REF: the current version in $VISUAL/$EDITOR as input, published when saved changed.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/record_view.hpp"

namespace agora::cli {

namespace {

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A shell command's exit code (128 + N when signal N ended it).
int run_shell(const std::string& command) {
  int status = std::system(command.c_str());
  if (status == -1) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void register_edit(CLI::App& app, Context& ctx) {
  auto ref = std::make_shared<std::string>();
  auto* verb = app.add_subcommand(
      "edit",
      "open the current version of one of this city's records in $VISUAL or $EDITOR (else vi) as input; when saved "
      "with changes it is published as the next version (saved unchanged: nothing is written)");
  add_data_option(verb, ctx);
  verb->add_option("REF", *ref, "the record: ID (this city's) or ORIGIN/ID")->required();
  verb->callback([&ctx, ref] {
    nlohmann::ordered_json input;
    {
      DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
      dir.store().read([&](const storage::StoreReader& r) {
        auto origin = resolve_ref(r, dir.id(), *ref).first;
        if (origin != dir.id())
          throw InvalidInput("edit: " + *ref +
                             " is another city's record: only that city publishes its versions (adapt it as your own "
                             "from `agora show " +
                             *ref + " --as-input`, or record it with `agora adopt`)");
        input = record_as_input(r, dir, *ref);
        return 0;
      });
    }
    std::string id = input["id"].get<std::string>();
    std::string pattern = (std::filesystem::temp_directory_path() / ("agora-edit-" + id + "-XXXXXX.json")).string();
    int fd = ::mkstemps(pattern.data(), 5);
    if (fd < 0)
      throw std::runtime_error("edit: cannot create a file in " + std::filesystem::temp_directory_path().string());
    ::close(fd);
    const std::string path = pattern;
    const std::string before = input.dump(2) + "\n";
    std::ofstream(path, std::ios::binary) << before;
    const char* editor = std::getenv("VISUAL");
    if (!editor || !*editor) editor = std::getenv("EDITOR");
    std::string command = std::string(editor && *editor ? editor : "vi") + " " + shell_quoted(path);
    if (int code = run_shell(command); code != 0) {
      std::cerr << "error: edit: the editor (" << command << ") exited with " << code
                << ": nothing published; the text is in " << path << "\n";
      ctx.exit_code = kExitFailure;
      return;
    }
    std::string after = read_text(path);
    auto parsed = nlohmann::ordered_json::parse(after, nullptr, false, /*ignore_comments=*/true);
    if (after == before || (!parsed.is_discarded() && parsed == input)) {
      std::filesystem::remove(path);
      std::cout << input["kind"].get<std::string>() << " " << id << ": unchanged, nothing published\n";
      return;
    }
    // Published exactly as `agora publish FILE` (`agora plan publish FILE` for a plan) would.
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string publish = shell_quoted(self);
    if (!ctx.data.empty()) publish += " --data " + shell_quoted(ctx.data);
    if (!ctx.key_file.empty()) publish += " --key " + shell_quoted(ctx.key_file);
    if (!ctx.remote.empty()) publish += " --remote " + shell_quoted(ctx.remote);
    bool plan = !parsed.is_discarded() && parsed.is_object() && parsed.value("kind", "") == "plan";
    publish += std::string(plan ? " plan publish " : " publish ") + shell_quoted(path);
    int code = run_shell(publish);
    if (code == 0) {
      std::filesystem::remove(path);
      return;
    }
    std::cerr << "error: edit: nothing published; your text is kept in " << path << ": fix it and run `agora "
              << (plan ? "plan publish " : "publish ") << path << "`\n";
    ctx.exit_code = code;
  });
}

}  // namespace agora::cli
