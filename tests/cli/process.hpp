// Runs the real agora binary as a child process and captures what it prints.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace agora::test {

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs AGORA_BINARY with args; stdin_text is fed to its standard input.
ProcessResult run_agora(const std::vector<std::string>& args, const std::string& stdin_text = "");

// A child running in the background; its stderr goes to err_file.
struct Background {
  pid_t pid = -1;
  std::string err_file;
};
// launcher: a command the binary runs under (e.g. {"ip", "netns", "exec", "NS"}).
Background start_agora(const std::vector<std::string>& args, const std::string& err_file,
                       const std::string& out_file = "/dev/null", const std::vector<std::string>& launcher = {});
int wait_exit(pid_t pid);

}  // namespace agora::test
