// agora backup OUT and agora restore BACKUP --data DIR: a hot copy of the data dir and back.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/cli_support.hpp"
#include "node/local/backup.hpp"

namespace agora::cli {

namespace {

// The passphrase: the first line of --passphrase-file, else $AGORA_BACKUP_PASSPHRASE.
std::optional<std::string> passphrase_from(const std::string& file) {
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw InvalidInput("--passphrase-file: cannot read " + file);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) throw InvalidInput("--passphrase-file: " + file + " holds no passphrase on its first line");
    return line;
  }
  if (const char* env = std::getenv("AGORA_BACKUP_PASSPHRASE"); env && *env) return std::string(env);
  return std::nullopt;
}

}  // namespace

void register_backup(CLI::App& app, Context& ctx) {
  struct Options {
    std::string out, passphrase_file;
    bool encrypt = false;
  };
  auto opts = std::make_shared<Options>();
  auto* verb = app.add_subcommand(
      "backup",
      "a consistent copy of the data dir while the node runs: the store (compacted; every record, partners and "
      "private ones too, and the peer list), the keys and node.json; restore it with `agora restore`");
  add_data_option(verb, ctx);
  verb->add_option("OUT", opts->out, "the backup file to write (never over an existing one)")->required();
  verb->add_flag("--encrypt", opts->encrypt,
                 "encrypt it (scrypt, AES-256-GCM) with the passphrase of --passphrase-file or "
                 "$AGORA_BACKUP_PASSPHRASE");
  verb->add_option("--passphrase-file", opts->passphrase_file, "a file whose first line is the passphrase");
  verb->callback([&ctx, opts] {
    auto passphrase = passphrase_from(opts->passphrase_file);
    if (opts->encrypt && !passphrase)
      throw InvalidInput("--encrypt: give the passphrase with --passphrase-file FILE or AGORA_BACKUP_PASSPHRASE");
    if (!opts->encrypt && !opts->passphrase_file.empty())
      throw InvalidInput("--passphrase-file: add --encrypt to encrypt the backup with it");
    if (!opts->encrypt && passphrase)
      throw InvalidInput(
          "AGORA_BACKUP_PASSPHRASE is set but --encrypt is not given: add --encrypt (or unset it for "
          "a backup in clear)");
    DataDir dir = DataDir::open(DataDir::resolve(ctx.data), /*read_only=*/true);
    auto report = write_backup(dir, opts->out, opts->encrypt ? passphrase : std::nullopt);
    std::cout << "backup " << opts->out << ": node " << report.node.substr(0, 12) << ", " << report.records
              << " log entries, store " << mib_text(report.store_bytes) << ", file " << mib_text(report.bytes)
              << (report.encrypted ? ", encrypted" : "") << "\n";
    if (!report.encrypted)
      std::cerr << "warning: " << opts->out
                << " holds the node's private keys unencrypted: keep it as safe as the node (or use --encrypt)\n";
  });

  struct RestoreOptions {
    std::string backup, passphrase_file;
  };
  auto ro = std::make_shared<RestoreOptions>();
  auto* restore = app.add_subcommand(
      "restore", "bring a backup back into a new data dir (--data DIR, which must not exist or be empty)");
  add_data_option(restore, ctx);
  restore->add_option("BACKUP", ro->backup, "the file `agora backup` wrote")->required()->check(CLI::ExistingFile);
  restore->add_option("--passphrase-file", ro->passphrase_file,
                      "for an encrypted backup: a file whose first line is the passphrase (else "
                      "$AGORA_BACKUP_PASSPHRASE)");
  restore->callback([&ctx, ro] {
    auto target = DataDir::resolve(ctx.data);
    auto report = restore_backup(ro->backup, target, passphrase_from(ro->passphrase_file));
    std::cout << "restored node " << report.node.substr(0, 12) << " (backup of " << report.created << ", "
              << report.files << " files) into " << target.string()
              << "; check it with `agora verify`, then start it: the search index is rebuilt, and peers send "
                 "what was published since the backup\n";
    if (report.waits_for_peers)
      std::cout << "it publishes nothing until a peer has sent back this city's records published after the backup "
                   "(run `agora serve`); run only one node of a city at a time\n";
  });
}

}  // namespace agora::cli
