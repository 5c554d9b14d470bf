// agora submission draft|put (on the city's node) and `agora --remote CMD --key FILE
// publish`: a staff member publishes from a laptop with a key that never leaves it; the
// city's node drafts and sequences (docs/identity.md, "Several staff at once").
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "node/local/frameworks.hpp"
#include "node/local/publisher.hpp"
#include "protocol/hex.hpp"

namespace agora::cli {

namespace {

using nlohmann::json;

// The exit code of `submission put` when the chain moved since the draft: draft again.
constexpr int kExitMoved = 75;

// Runs `sh -c COMMAND` with `input` on its standard input; returns its exit code and
// standard output (its standard error goes to ours).
std::pair<int, std::string> run_remote(const std::string& command, const std::string& input) {
  int to_child[2], from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) throw std::runtime_error(std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("cannot start --remote: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    ::close(to_child[0]), ::close(to_child[1]), ::close(from_child[0]), ::close(from_child[1]);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  ::signal(SIGPIPE, SIG_IGN);  // a remote that went away is an exit code below, not our death
  // The node reads all its input before it answers, and the input is bounded (512 KiB).
  for (size_t done = 0; done < input.size();) {
    ssize_t n = ::write(to_child[1], input.data() + done, input.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(to_child[1]);
  std::string out;
  char buf[8192];
  for (ssize_t n; (n = ::read(from_child[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(from_child[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

// Exit codes agora itself ends with; any other means the way to the node broke (ssh says
// 255, a killed command 128 + its signal).
bool agora_answered(int code) {
  return code == kExitOk || code == kExitFailure || code == kExitUsage || code == kExitInvalid || code == kExitMoved;
}

}  // namespace

int publish_remotely(const Context& ctx, const std::string& text, bool revive) {
  if (ctx.key_file.empty())
    throw CLI::ValidationError("--remote",
                               "publishing through the city's node needs your key: agora --key FILE --remote …");
  SigningKey key = DataDir::read_key_file(ctx.key_file);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto [code, out] = run_remote(
        ctx.remote + " submission draft - --signer " + node_id(key.public_key()) + (revive ? " --revive" : ""), text);
    if (code == 126 || code == 127)
      throw std::runtime_error("--remote: \"" + ctx.remote + "\" could not run (exit " + std::to_string(code) + ")");
    if (!agora_answered(code))
      throw std::runtime_error("--remote: the connection to the node ended before it answered (exit " +
                               std::to_string(code) + "); nothing was published");
    if (code != 0) return code;  // the node said why on standard error
    json d = json::parse(out, nullptr, false);
    if (!d.is_object() || !d.contains("kind"))
      throw std::runtime_error("--remote: the node's draft is not JSON: " + out);
    if (d.value("unchanged", false)) {
      std::cout << d["kind"].get<std::string>() << " " << d["id"].get<std::string>() << " v" << d["version"]
                << " (unchanged)\n";
      return kExitOk;
    }
    // Sign only what is this key's to sign: a record naming it, with the body shown.
    std::string header = d.value("header", ""), body = d.value("body", "");
    auto h = decode_header(header);
    if (!h || !h.value().key || *h.value().key != key.public_key() || h.value().body_sha256 != sha256(body))
      throw std::runtime_error("--remote: the node's draft is not a record for this key with this body; not signed");
    // And the record this input asked for: its kind, its id when it named one, its visibility.
    json asked = json::parse(text, nullptr, false);
    auto asked_for = [&](const char* field, const std::string& fallback) {
      return asked.is_object() && asked.contains(field) && asked[field].is_string() ? asked[field].get<std::string>()
                                                                                    : fallback;
    };
    if (asked_for("kind", "") != header_kind_name(h.value()) || asked_for("id", h.value().id) != h.value().id ||
        asked_for("visibility", "public") != h.value().visibility)
      throw std::runtime_error("--remote: the node's draft is not the record this input describes; not signed");
    json signed_record = {{"header", header}, {"signature", to_hex(key.sign(header))}, {"body", body}};
    auto [put_code, put_out] = run_remote(ctx.remote + " submission put -", signed_record.dump());
    if (put_code == kExitMoved) continue;  // another publish came first: draft again
    if (!agora_answered(put_code))
      throw std::runtime_error("--remote: the connection to the node ended while it stored the record (exit " +
                               std::to_string(put_code) +
                               "); it may or may not be published: run the same command again (an unchanged "
                               "record is reported as such, never published twice)");
    if (put_code != 0) return put_code;
    std::cout << put_out;
    return kExitOk;
  }
  throw std::runtime_error("--remote: the city's chain kept moving; try again");
}

void register_submission(CLI::App& app, Context& ctx) {
  auto* verb = app.add_subcommand(
      "submission", "on the city's node: draft and store records a staff key signs elsewhere (agora --remote)");
  verb->require_subcommand(1);
  auto signer = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto revive = std::make_shared<bool>(false);
  auto* draft = verb->add_subcommand("draft", "validate an input record and draft it for SIGNER; prints JSON");
  add_data_option(draft, ctx);
  draft->add_option("FILE", *file, "the input record (JSON), or - for standard input")->required();
  draft->add_option("--signer", *signer, "the id (64 hex digits) of the key that will sign it")->required();
  draft->add_flag("--revive", *revive, "it may bring back a record that was retracted or erased");
  draft->callback([&ctx, signer, file, revive] {
    auto key = parse_node_id(*signer);
    if (!key || signer->size() != 64) throw InvalidInput("--signer: expected a key id (64 hex digits)");
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    std::string text = read_input(*file);
    auto input = parse_and_validate_input(text, dir.identity(), load_frameworks(dir.store()));
    if (!input) throw InvalidInput((*file == "-" ? "<stdin>" : *file) + ": " + input.error().to_string());
    auto d = Publisher(dir).allow_revive(*revive).draft(input.value(), *key);
    json out = {{"kind", kind_name(d.result.kind)},
                {"id", d.result.id},
                {"version", d.result.version},
                {"unchanged", d.result.unchanged}};
    if (!d.result.unchanged) out["seq"] = d.result.seq, out["header"] = d.header_bytes, out["body"] = d.body;
    std::cout << out.dump() << "\n";
  });
  auto* put = verb->add_subcommand("put", "store a drafted record its signer signed (JSON: header, signature, body)");
  add_data_option(put, ctx);
  put->add_option("FILE", *file, "the signed record, or - for standard input")->required();
  put->callback([&ctx, file] {
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data));
    json in = json::parse(read_input(*file), nullptr, false);
    SignedRecord record;
    if (!in.is_object() || !in["header"].is_string() || !in["signature"].is_string() || !in["body"].is_string() ||
        !from_hex(in["signature"].get<std::string>(), record.signature.data(), record.signature.size()))
      throw InvalidInput("submission put: expected {\"header\", \"signature\", \"body\"} as strings");
    record.header_bytes = in["header"].get<std::string>();
    record.body = in["body"].get<std::string>();
    try {
      auto r = Publisher(dir).submit(record);
      std::cout << kind_name(r.kind) << " " << r.id << " v" << r.version << "\n";
    } catch (const SubmissionMoved& e) {
      std::cout << "moved: " << e.what() << "\n";  // the laptop drafts again: no error of anyone's
      ctx.exit_code = kExitMoved;
    }
  });
}

}  // namespace agora::cli
