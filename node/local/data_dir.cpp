#include "node/local/data_dir.hpp"
#include "storage/stored_record.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <spdlog/spdlog.h>

#include "node/local/backup.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "protocol/hex.hpp"
#include "protocol/release.hpp"

namespace agora {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kKeyFile = "node.key";
constexpr const char* kProfileFile = "node.json";
constexpr const char* kStoreDir = "store";

void write_file_durably(const fs::path& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

storage::EnvOptions env_options(bool read_only) {
  storage::EnvOptions o;
  o.read_only = read_only;
  if (const char* max = std::getenv("AGORA_MAP_MAX_MB")) o.max_map_bytes = std::strtoull(max, nullptr, 10) << 20;
  if (const char* init = std::getenv("AGORA_MAP_INITIAL_MB"))
    o.initial_map_bytes = std::strtoull(init, nullptr, 10) << 20;
  o.initial_map_bytes = std::min(o.initial_map_bytes, o.max_map_bytes);
  return o;
}

}  // namespace

fs::path DataDir::resolve(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("AGORA_DATA"); env && *env) return env;
  return "agora-data";
}

namespace {

constexpr const char* kLockFile = "agora.lock";

// A shared lock on DATA/agora.lock for as long as the DataDir lives; waits while `agora
// compact` holds it exclusively. None where the file cannot be opened (a read-only copy).
std::shared_ptr<void> lock_shared(const fs::path& dir) {
  int fd = ::open((dir / kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) fd = ::open((dir / kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  while (::flock(fd, LOCK_SH) != 0 && errno == EINTR) {
  }
  return std::shared_ptr<void>(nullptr, [fd](void*) { ::close(fd); });
}

}  // namespace

ExclusiveDataDirLock::ExclusiveDataDirLock(const fs::path& dir) {
  fd_ = ::open((dir / kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open " + (dir / kLockFile).string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    throw InvalidInput("the data dir " + dir.string() +
                       " is in use by another agora process (a running node or a command): stop it first");
  }
}

ExclusiveDataDirLock::~ExclusiveDataDirLock() { ::close(fd_); }

DataDir::DataDir(fs::path dir, SigningKey key, NodeRole role, std::string name, bool read_only,
                 std::optional<PublicKey> city)
    : dir_(std::move(dir)), key_(std::move(key)), role_(role), name_(std::move(name)) {
  city_ = city.value_or(key_->public_key());
  in_use_ = lock_shared(dir_);
  store_ = std::make_unique<storage::RecordStore>(dir_ / kStoreDir, env_options(read_only));
  // Reading commands read an older format as it is, when they can: only what writes
  // migrates, so `agora status` shows the format an upgrade left, and a data dir restored
  // for an older release stays its.
  if (auto from = store_->pending_migration(); from && (!read_only || *from < storage::kOldestReadableFormat))
    migrate_store(read_only);
}

// A store of an older release's format is migrated by the first agora that opens it, with
// the data dir to itself, after a backup restorable by that release (docs/operations.md,
// "Upgrades").
void DataDir::migrate_store(bool read_only) {
  uint32_t from = *store_->pending_migration();
  std::string was = "format " + std::to_string(from) +
                    (store_->opened_format().release.empty() ? "" : " (agora " + store_->opened_format().release + ")");
  in_use_.reset();
  std::optional<ExclusiveDataDirLock> alone;
  try {
    alone.emplace(dir_);
  } catch (const InvalidInput&) {
    throw InvalidInput("the store in " + dir_.string() + " is in " + was + "; this agora " + kRelease +
                       " migrates it to format " + std::to_string(storage::kStoreFormatVersion) +
                       " once no other agora process has the data dir open: stop the node running on it "
                       "(systemctl stop agora), then run this again");
  }
  if (read_only) store_.reset(), store_ = std::make_unique<storage::RecordStore>(dir_ / kStoreDir, env_options(false));
  if (store_->pending_migration()) {  // another process may have migrated it meanwhile
    fs::path backups = dir_ / "backups";
    fs::create_directories(backups);
    ::chmod(backups.c_str(), 0700);
    std::string stamp = iso8601_utc(now_ms()).substr(0, 19);
    std::erase(stamp, '-'), std::erase(stamp, ':');
    fs::path backup =
        backups / ("before-format-" + std::to_string(storage::kStoreFormatVersion) + "-" + stamp + "Z.agora-backup");
    for (int n = 2; fs::exists(backup); ++n) backup.replace_extension(".agora-backup." + std::to_string(n));
    write_backup(*this, backup, std::nullopt);
    spdlog::warn("migrating the store in {} from {} to format {} (agora {}); a backup of it as it was is {}",
                 dir_.string(), was, storage::kStoreFormatVersion, kRelease, backup.string());
    auto started = std::chrono::steady_clock::now();
    store_->migrate();
    spdlog::warn("store migrated to format {} in {:.1f} s", storage::kStoreFormatVersion,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (read_only) store_.reset(), store_ = std::make_unique<storage::RecordStore>(dir_ / kStoreDir, env_options(true));
  alone.reset();
  in_use_ = lock_shared(dir_);
}

DataDir DataDir::create(const fs::path& dir, NodeRole role, const std::string& name) {
  if (fs::exists(dir / kKeyFile) || fs::exists(dir / kProfileFile) || fs::exists(dir / kStoreDir))
    throw InvalidInput("data dir " + dir.string() + " already holds a node; init changes nothing");
  if (fs::exists(dir) && !fs::is_directory(dir)) throw InvalidInput(dir.string() + " exists and is not a directory");
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  SigningKey key = SigningKey::generate();
  // The key file is created last-but-one and exclusively: two concurrent inits cannot both win.
  write_file_durably(dir / kKeyFile, key.to_pem(), 0600);
  json profile = {{"role", role == NodeRole::city ? "city" : "observer"}, {"name", name}, {"format", 1}};
  write_file_durably(dir / kProfileFile, profile.dump(2) + "\n", 0644);
  return DataDir(dir, std::move(key), role, name, false);
}

DataDir DataDir::restore(const fs::path& dir, SigningKey key) {
  if (fs::exists(dir / kKeyFile) || fs::exists(dir / kProfileFile) || fs::exists(dir / kStoreDir))
    throw InvalidInput("data dir " + dir.string() + " already holds a node; restore into an empty or new directory");
  if (fs::exists(dir) && !fs::is_directory(dir)) throw InvalidInput(dir.string() + " exists and is not a directory");
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  {
    // The flag is durable before the key exists: no moment where this node could sign as
    // a fresh chain (seq 1) while its peers hold the real one.
    storage::RecordStore store(dir / kStoreDir, env_options(false));
    store.env().write([&](storage::WriteTxn& txn) { store.put_meta(txn, kRestoringKey, "1"); });
  }
  write_file_durably(dir / kKeyFile, key.to_pem(), 0600);
  json profile = {{"role", "city"}, {"name", ""}, {"format", 1}};
  write_file_durably(dir / kProfileFile, profile.dump(2) + "\n", 0644);
  return DataDir(dir, std::move(key), NodeRole::city, "", false);
}

bool DataDir::restoring() {
  storage::ReadTxn txn(store_->env());
  return store_->meta(txn, kRestoringKey).has_value();
}

void DataDir::finish_restoring(storage::WriteTxn& txn) { store_->erase_meta(txn, kRestoringKey); }

DataDir DataDir::open(const fs::path& dir, bool read_only) {
  if (!fs::exists(dir / kKeyFile))
    throw std::runtime_error("no node in " + dir.string() + " (run `agora init` or pass --data DIR)");
  struct stat st {};
  if (::stat((dir / kKeyFile).c_str(), &st) == 0 && (st.st_mode & 077))
    throw std::runtime_error("key file " + (dir / kKeyFile).string() + " is readable by others; run `chmod 600` on it");
  auto key = SigningKey::from_pem(read_file(dir / kKeyFile));
  if (!key) throw std::runtime_error("key file " + (dir / kKeyFile).string() + " does not hold an Ed25519 private key");
  json profile = json::parse(read_file(dir / kProfileFile), nullptr, false);
  if (!profile.is_object()) throw std::runtime_error((dir / kProfileFile).string() + " is not valid JSON");
  NodeRole role = profile.value("role", "city") == "observer" ? NodeRole::observer : NodeRole::city;
  std::optional<PublicKey> city;
  if (auto c = profile.find("city"); c != profile.end()) {
    city = c->is_string() ? parse_node_id(c->get<std::string>()) : std::nullopt;
    if (!city) throw std::runtime_error((dir / kProfileFile).string() + ": \"city\" is not a node id");
  }
  return DataDir(dir, std::move(*key), role, profile.value("name", ""), read_only, city);
}

void DataDir::sign_with(SigningKey key) { signer_ = std::move(key); }

std::optional<sync::NodeKeyProof> DataDir::node_key_proof() {
  if (key_->public_key() == city_) return std::nullopt;
  return store_->read([&](const storage::StoreReader& r) -> std::optional<sync::NodeKeyProof> {
    auto latest_grant_of = [&](const PublicKey& key) -> std::optional<SignedRecord> {
      auto latest = r.latest(city_, key_record_id(key));
      if (!latest) return std::nullopt;
      auto view = r.at(latest->local);
      if (!view || view->is_stub()) return std::nullopt;
      return view->load();
    };
    sync::NodeKeyProof proof;
    proof.key = key_->public_key();
    auto delegation = latest_grant_of(proof.key);
    if (!delegation) return std::nullopt;
    proof.delegation = *delegation;
    // Back from the delegation's signer to the genesis key, through the root grants.
    std::vector<SignedRecord> path;
    auto h = decode_header(delegation->header_bytes);
    while (h && h.value().key && path.size() < sync::kMaxNodeKeyPath) {
      const PublicKey signer = *h.value().key;
      auto g = r.grant(city_, signer);
      if (g && g->role == KeyRole::recovery) {  // the genesis record shows its commitment
        if (auto genesis = r.at(city_, 1); genesis && !genesis->is_stub()) path.push_back(genesis->load());
        break;
      }
      auto grant = latest_grant_of(signer);
      if (!grant) break;
      path.push_back(*grant);
      h = decode_header(grant->header_bytes);
    }
    proof.path.assign(path.rbegin(), path.rend());
    return proof;
  });
}

void DataDir::write_root_key(const fs::path& file, const SigningKey& key) {
  fs::path tmp = file;
  tmp += ".new";
  fs::remove(tmp);
  write_file_durably(tmp, key.to_pem(), 0600);
  fs::rename(tmp, file);
}

std::optional<fs::path> DataDir::install_node_key(const SigningKey& key) {
  std::optional<fs::path> root_file;
  if (key_->public_key() == city_) {  // the root key leaves the key file: keep it, once
    root_file = dir_ / "root.key";
    if (!fs::exists(*root_file)) write_file_durably(*root_file, key_->to_pem(), 0600);
  }
  // node.json names the city before node.key stops being its key: a crash in between leaves
  // a node that opens as before.
  json profile = json::parse(read_file(dir_ / kProfileFile), nullptr, false);
  if (!profile.is_object()) throw std::runtime_error((dir_ / kProfileFile).string() + " is not valid JSON");
  if (!profile.contains("city")) {
    profile["city"] = node_id(city_);
    fs::path tmp = dir_ / (std::string(kProfileFile) + ".new");
    fs::remove(tmp);
    write_file_durably(tmp, profile.dump(2) + "\n", 0644);
    fs::rename(tmp, dir_ / kProfileFile);
  }
  fs::path tmp = dir_ / (std::string(kKeyFile) + ".new");
  fs::remove(tmp);
  write_file_durably(tmp, key.to_pem(), 0600);
  fs::rename(tmp, dir_ / kKeyFile);
  key_ = key;
  return root_file;
}

namespace {
// What changes when node.key is replaced or rewritten; empty when it cannot be read.
std::string file_stamp(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return {};
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_ctim.tv_sec) + "." +
         std::to_string(st.st_ctim.tv_nsec);
}
}  // namespace

bool DataDir::reload_key() {
  std::string stamp = file_stamp(dir_ / kKeyFile);
  if (!stamp.empty() && stamp == key_file_stamp_) return false;
  auto key = SigningKey::from_pem(read_file(dir_ / kKeyFile));
  key_file_stamp_ = stamp;
  if (!key || key->public_key() == key_->public_key()) return false;
  key_ = std::move(*key);
  return true;
}

std::optional<PublicKey> DataDir::delegated_key() const {
  if (elsewhere_) return *elsewhere_;
  if (signing_key().public_key() == id()) return std::nullopt;
  return signing_key().public_key();
}

SigningKey DataDir::read_key_file(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw InvalidInput("key file " + file.string() + ": " + std::strerror(errno));
  if (st.st_mode & 077)
    throw InvalidInput("key file " + file.string() + " is readable by others; run `chmod 600` on it");
  auto key = SigningKey::from_pem(read_file(file));
  if (!key) throw InvalidInput("key file " + file.string() + " does not hold an Ed25519 private key");
  return std::move(*key);
}

PublisherIdentity DataDir::identity() {
  PublisherIdentity who;
  who.node_id = node_id(id());
  store_->read([&](const storage::StoreReader& r) {
    if (auto p = city_profile(r, id())) who.city = p->name, who.country = p->country;
    return 0;
  });
  return who;
}

std::string DataDir::change_notice_address(const fs::path& dir) {
  // Abstract namespace (leading NUL): no file to clean up after kill -9, no path-length limit.
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(dir), ec);
  return std::string(1, '\0') + "agora-" + to_hex(sha256((ec ? dir : canonical).string())).substr(0, 32);
}

namespace {

// A datagram socket connected to the change-notice address of `dir`; -1 when no
// `agora serve` listens there (ECONNREFUSED) or no socket could be made.
int connect_to_change_notices(const fs::path& dir) {
  std::string address = DataDir::change_notice_address(dir);
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address.data(), address.size());
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

void DataDir::notify_change() const {
  int fd = connect_to_change_notices(dir_);
  if (fd < 0) return;  // no node running: nobody to tell
  (void)::send(fd, "c", 1, 0);
  ::close(fd);
}

bool DataDir::node_running() const {
  int fd = connect_to_change_notices(dir_);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::optional<CityProfile> city_profile(const storage::StoreReader& reader, const PublicKey& origin) {
  auto latest = reader.latest(origin, kCityProfileId);
  if (!latest || latest->tombstone || latest->kind != Kind::city) return std::nullopt;
  auto record = storage::read_record(reader, latest->local);
  auto body = record ? record->body_json() : std::nullopt;
  if (!body) return std::nullopt;
  return CityProfile{body->value("name", ""), body->value("country", ""), body->value("region", "")};
}

}  // namespace agora
