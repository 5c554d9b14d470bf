// `agora backup` and `agora restore`: a consistent copy of a data dir taken while its node
// serves, optionally encrypted to a passphrase (docs/operations.md, "Backups").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace agora {

class DataDir;

struct BackupReport {
  uint64_t bytes = 0;        // the backup file's size
  uint64_t store_bytes = 0;  // the compacted store inside it
  uint64_t records = 0;      // records in the store's log
  std::string node;          // the node id it belongs to
  bool encrypted = false;
};

// Writes OUT (never over an existing file): the store copied compacted in one read
// transaction (LMDB: a running node goes on writing meanwhile), the key files and
// node.json, each with its SHA-256; encrypted (scrypt, AES-256-GCM in 1 MiB chunks, the
// last one marked) when a passphrase is given. Written as .OUT.PID.partial beside it, synced,
// then renamed: a backup killed midway leaves no OUT (the next backup into that directory
// removes what it left), and an OUT that exists is whole. Not in it: the
// search index (derived, rebuilt at start) and the lock file.
BackupReport write_backup(DataDir& dir, const std::filesystem::path& out, const std::optional<std::string>& passphrase);

struct RestoreReport {
  std::string node;
  uint64_t files = 0;
  std::string created;           // when the backup was taken (UTC)
  bool waits_for_peers = false;  // it publishes once a peer has sent back what it lacks
};

// Unpacks a backup into `data_dir`, which must not exist or be empty: every file checked
// against its SHA-256 first (a damaged or truncated backup, or a wrong passphrase, is an
// InvalidInput and leaves no data dir behind); keys with mode 0600. A node with peers is
// left restoring (DataDir::restoring): it publishes once a peer has sent back its city's
// records published after the backup, so that it never signs a seq they already hold.
RestoreReport restore_backup(const std::filesystem::path& backup, const std::filesystem::path& data_dir,
                             const std::optional<std::string>& passphrase);

// True when the file is an encrypted backup (restore then needs the passphrase).
bool backup_is_encrypted(const std::filesystem::path& backup);

}  // namespace agora
