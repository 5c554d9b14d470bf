// A node's data directory: its identity (key file, profile) and its record store.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "protocol/crypto.hpp"
#include "protocol/input_schema.hpp"
#include "protocol/sync_messages.hpp"
#include "storage/record_store.hpp"

namespace agora {

// Input the user gave was invalid; nothing was written (the CLI exits 3).
class InvalidInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class NodeRole { city, observer };

class DataDir {
 public:
  // --data DIR, else $AGORA_DATA, else ./agora-data.
  static std::filesystem::path resolve(const std::string& flag);

  // Creates a new node: key pair (node.key, mode 0600) and node.json. Refuses, changing
  // nothing, if dir already holds a node. The city record is published by the caller.
  static DataDir create(const std::filesystem::path& dir, NodeRole role, const std::string& name);
  // Re-creates a city's node from its backed-up key after its data dir was lost. The node
  // starts "restoring": it publishes nothing until it has its own records back from its
  // peers, so it never signs a sequence number they already hold (see restoring()).
  static DataDir restore(const std::filesystem::path& dir, SigningKey key);
  // Opens an existing node; throws naming the dir when there is none.
  static DataDir open(const std::filesystem::path& dir, bool read_only = false);

  const std::filesystem::path& path() const { return dir_; }
  // The node's own key: it proves the node in handshakes and signs what the node publishes.
  // The city's root key at first; after `agora key rotate`, a node key the city delegated.
  const SigningKey& key() const { return *key_; }
  // The city id (its root key's public key), whatever key the node holds.
  const PublicKey& id() const { return city_; }
  // What proves key() a node key of the city in handshakes, when it is not the city's own:
  // the key record granting it the node role, and the records that make its signer a root
  // key (protocol.md §3). nullopt when the store lacks the delegation.
  std::optional<sync::NodeKeyProof> node_key_proof();
  // Replaces the node's key file with `key` (a node key the city has just delegated): the
  // root key, if it was the node's key, is kept as DATA/root.key first. Returns that file
  // when it was written.
  std::optional<std::filesystem::path> install_node_key(const SigningKey& key);
  // Writes the city's root key to `file` (replacing the file it had there: a rotated or
  // recovered root key's file, mode 0600).
  static void write_root_key(const std::filesystem::path& file, const SigningKey& key);
  // Reads the key file again when it changed on disk (another process rotated it: a new
  // file renamed into place); true when the key changed. Cheap when it did not: the node
  // calls it on every change to the store, and parsing the PEM costs a good part of a
  // millisecond.
  bool reload_key();
  // Records this process publishes are signed with `key`, one the city delegated (`agora
  // --key FILE`, docs/identity.md), instead of the node's own.
  void sign_with(SigningKey key);
  const SigningKey& signing_key() const { return signer_ ? *signer_ : *key_; }
  // Records drafted here will be signed elsewhere by `key` (a staff member's laptop: `agora
  // submission`); delegated_key() names it, nothing here signs with it.
  void sign_elsewhere(const PublicKey& key) { elsewhere_ = key; }
  // The key records are signed with when it is not the city's own (envelope 2 names it).
  std::optional<PublicKey> delegated_key() const;
  // A private key file: PEM, readable by its owner only; throws naming the file otherwise.
  static SigningKey read_key_file(const std::filesystem::path& file);
  NodeRole role() const { return role_; }
  const std::string& name() const { return name_; }
  storage::RecordStore& store() { return *store_; }

  // True from `init --restore` until a running node has learned its own head from its
  // peers and holds its records up to it; publishing is refused meanwhile.
  bool restoring();
  void finish_restoring(storage::WriteTxn& txn);
  static constexpr const char* kRestoringKey = "restoring";

  // Who this node publishes as, from its latest city record.
  PublisherIdentity identity();

  // Tells an `agora serve` running on this data dir that the store changed (new records,
  // peers), so it pushes at once instead of at its next poll. Best effort, never blocks.
  void notify_change() const;
  // Whether an `agora serve` runs on this data dir now (it listens for those notices).
  bool node_running() const;
  // The abstract Unix datagram address `agora serve` listens on for those notices.
  static std::string change_notice_address(const std::filesystem::path& dir);

 private:
  DataDir(std::filesystem::path dir, SigningKey key, NodeRole role, std::string name, bool read_only,
          std::optional<PublicKey> city = std::nullopt);
  void migrate_store(bool read_only);

  std::filesystem::path dir_;
  std::optional<SigningKey> key_;
  std::string key_file_stamp_;  // inode, size and change time of node.key when key_ was read
  PublicKey city_{};
  std::optional<SigningKey> signer_;
  std::optional<PublicKey> elsewhere_;
  NodeRole role_;
  std::string name_;
  std::shared_ptr<void> in_use_;  // a shared lock on DATA/agora.lock while this is open
  std::unique_ptr<storage::RecordStore> store_;
};

// Holds DATA/agora.lock exclusively, so that no other agora process has the data dir open
// (every DataDir holds it shared): what compaction needs before it swaps files. Throws
// InvalidInput when another process has it open.
class ExclusiveDataDirLock {
 public:
  explicit ExclusiveDataDirLock(const std::filesystem::path& dir);
  ~ExclusiveDataDirLock();
  ExclusiveDataDirLock(const ExclusiveDataDirLock&) = delete;
  ExclusiveDataDirLock& operator=(const ExclusiveDataDirLock&) = delete;

 private:
  int fd_ = -1;
};

// The city record of an origin (name, country, region), if this node holds it.
struct CityProfile {
  std::string name, country, region;
};
std::optional<CityProfile> city_profile(const storage::StoreReader& reader, const PublicKey& origin);

inline constexpr const char* kCityProfileId = "profile";

}  // namespace agora
