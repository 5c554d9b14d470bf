#include "node/local/backup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/local/data_dir.hpp"
#include "node/local/peer_registry.hpp"
#include "node/local/publisher.hpp"
#include "node/local/record_view.hpp"
#include "protocol/hex.hpp"
#include "storage/lmdb_env.hpp"
#include "storage/record_store.hpp"

namespace agora {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kPlainMagic = "AGORA-BACKUP 1\n";
constexpr std::string_view kSealedMagic = "AGORA-BACKUP-SEALED 1\n";
constexpr size_t kChunk = 1 << 20;
constexpr size_t kTag = 16;
// scrypt: 32 MiB of memory and about 0.1 s per try on this class of machine.
constexpr uint64_t kScryptN = 1 << 15, kScryptR = 8, kScryptP = 1;
// What a data dir holds that a backup carries, besides the store (key files only if present).
constexpr const char* kCarried[] = {"node.json", "node.key", "root.key", "recovery.key"};

[[noreturn]] void io_error(const std::string& what, const fs::path& p) {
  throw std::runtime_error(what + " " + p.string() + ": " + std::strerror(errno));
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void write_all(int fd, const char* data, size_t n, const fs::path& p) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) io_error("cannot write", p);
    data += w, n -= static_cast<size_t>(w);
  }
}

size_t read_some(int fd, char* data, size_t n, const fs::path& p) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, data + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) io_error("cannot read", p);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

std::array<uint8_t, 32> derive_key(const std::string& passphrase, const std::string& salt) {
  std::array<uint8_t, 32> key{};
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), reinterpret_cast<const uint8_t*>(salt.data()), salt.size(),
                     kScryptN, kScryptR, kScryptP, 64u << 20, key.data(), key.size()) != 1)
    throw std::runtime_error("scrypt failed");
  return key;
}

// The nonce of chunk `index`: the file's random base with the index in its last 8 bytes.
std::array<uint8_t, 12> chunk_nonce(const std::string& base, uint64_t index) {
  std::array<uint8_t, 12> nonce{};
  std::memcpy(nonce.data(), base.data(), 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(index >> (8 * i));
  return nonce;
}

struct BadChunk {};  // a chunk that does not authenticate

// AES-256-GCM over one chunk; the header line and whether it is the last chunk are
// authenticated too (a cut or reordered file does not open).
std::string gcm(bool seal, const std::array<uint8_t, 32>& key, const std::array<uint8_t, 12>& nonce,
                const std::string& header, bool last, const char* in, size_t n, const uint8_t* tag_in,
                uint8_t* tag_out) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(n, '\0');
  int len = 0;
  bool ok = (seal ? EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data())
                  : EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data())) == 1;
  std::string aad = header + (last ? '\1' : '\0');
  auto update = seal ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  ok = ok && update(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                    static_cast<int>(aad.size())) == 1;
  ok = ok && (n == 0 || update(ctx.get(), reinterpret_cast<uint8_t*>(out.data()), &len,
                               reinterpret_cast<const uint8_t*>(in), static_cast<int>(n)) == 1);
  if (seal) {
    ok = ok && EVP_EncryptFinal_ex(ctx.get(), nullptr, &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag_out) == 1;
    if (!ok) throw std::runtime_error("encryption failed");
  } else {
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, const_cast<uint8_t*>(tag_in)) == 1 &&
         EVP_DecryptFinal_ex(ctx.get(), nullptr, &len) == 1;
    if (!ok) throw BadChunk{};
  }
  return out;
}

// Where plain backup bytes go: the file, or the file through the sealer.
class Writer {
 public:
  Writer(int fd, fs::path path, const std::optional<std::string>& passphrase) : fd_(fd), path_(std::move(path)) {
    if (!passphrase) {
      write_all(fd_, kPlainMagic.data(), kPlainMagic.size(), path_);
      return;
    }
    std::string salt(16, '\0'), base(12, '\0');
    RAND_bytes(reinterpret_cast<uint8_t*>(salt.data()), 16);
    RAND_bytes(reinterpret_cast<uint8_t*>(base.data()), 12);
    key_ = derive_key(*passphrase, salt);
    nonce_base_ = base;
    header_ = json{{"kdf", "scrypt"},
                   {"n", kScryptN},
                   {"r", kScryptR},
                   {"p", kScryptP},
                   {"salt", to_hex(salt.data(), salt.size())},
                   {"cipher", "aes-256-gcm"},
                   {"chunk", kChunk},
                   {"nonce", to_hex(base.data(), base.size())}}
                  .dump() +
              "\n";
    write_all(fd_, kSealedMagic.data(), kSealedMagic.size(), path_);
    write_all(fd_, header_.data(), header_.size(), path_);
    sealed_ = true;
    write(kPlainMagic.data(), kPlainMagic.size());
  }
  void write(const char* data, size_t n) {
    if (!sealed_) return write_all(fd_, data, n, path_);
    while (n > 0) {
      size_t take = std::min(n, kChunk - buffer_.size());
      buffer_.append(data, take);
      data += take, n -= take;
      if (buffer_.size() == kChunk) seal_chunk(false);
    }
  }
  void finish() {
    if (sealed_) seal_chunk(true);
  }

 private:
  void seal_chunk(bool last) {
    std::array<uint8_t, kTag> tag{};
    std::string c = gcm(true, key_, chunk_nonce(nonce_base_, index_++), header_, last, buffer_.data(), buffer_.size(),
                        nullptr, tag.data());
    uint8_t len[4] = {static_cast<uint8_t>(c.size() >> 24), static_cast<uint8_t>(c.size() >> 16),
                      static_cast<uint8_t>(c.size() >> 8), static_cast<uint8_t>(c.size())};
    write_all(fd_, reinterpret_cast<const char*>(len), 4, path_);
    write_all(fd_, c.data(), c.size(), path_);
    write_all(fd_, reinterpret_cast<const char*>(tag.data()), kTag, path_);
    buffer_.clear();
  }

  int fd_;
  fs::path path_;
  bool sealed_ = false;
  std::array<uint8_t, 32> key_{};
  std::string nonce_base_, header_, buffer_;
  uint64_t index_ = 0;
};

// Plain backup bytes read back: from the file, or opened chunk by chunk.
class Reader {
 public:
  Reader(int fd, fs::path path, const std::optional<std::string>& passphrase) : fd_(fd), path_(std::move(path)) {
    // The magic and the encryption header unbuffered: what follows them may be sealed.
    std::string magic = raw_line();
    if (magic + "\n" == kPlainMagic) return;
    if (magic + "\n" != kSealedMagic) throw InvalidInput(path_.string() + " is not an agora backup");
    if (!passphrase)
      throw InvalidInput(path_.string() +
                         " is encrypted: give its passphrase (--passphrase-file FILE or AGORA_BACKUP_PASSPHRASE)");
    header_ = raw_line() + "\n";
    json h = json::parse(header_, nullptr, false);
    std::string salt(16, '\0'), base(12, '\0');
    if (h.is_discarded() || h.value("kdf", "") != "scrypt" || h.value("cipher", "") != "aes-256-gcm" ||
        !from_hex(h.value("salt", ""), reinterpret_cast<uint8_t*>(salt.data()), salt.size()) ||
        !from_hex(h.value("nonce", ""), reinterpret_cast<uint8_t*>(base.data()), base.size()) ||
        h.value("n", uint64_t{0}) != kScryptN || h.value("r", uint64_t{0}) != kScryptR ||
        h.value("p", uint64_t{0}) != kScryptP || h.value("chunk", size_t{0}) != kChunk)
      throw InvalidInput(path_.string() + ": an encryption header this version does not read");
    key_ = derive_key(*passphrase, salt);
    nonce_base_ = base;
    sealed_ = true;
    std::string inner = read_line();
    if (inner + "\n" != kPlainMagic) throw InvalidInput(path_.string() + ": damaged (no backup inside)");
  }
  // Exactly n bytes, or InvalidInput (the backup is cut short).
  void read(char* out, size_t n) {
    while (n > 0) {
      if (at_ == buffer_.size()) fill();
      size_t take = std::min(n, buffer_.size() - at_);
      std::memcpy(out, buffer_.data() + at_, take);
      at_ += take, out += take, n -= take;
    }
  }
  std::string read_line() {
    std::string line;
    char c;
    for (;;) {
      read(&c, 1);
      if (c == '\n') return line;
      line += c;
      if (line.size() > (1 << 20)) throw InvalidInput(path_.string() + " is not an agora backup");
    }
  }
  // After the last file: nothing may follow, and a sealed file must have ended on its last chunk.
  void expect_end() {
    if (at_ != buffer_.size()) throw InvalidInput(path_.string() + ": damaged (bytes after the last file)");
    if (sealed_ && !last_seen_) {
      fill();  // the last chunk, empty; anything else is damage
      if (!buffer_.empty() || !last_seen_) throw InvalidInput(path_.string() + ": damaged (bytes after the last file)");
    }
    char c;
    if (read_some(fd_, &c, 1, path_) != 0) throw InvalidInput(path_.string() + ": damaged (bytes after the end)");
  }

 private:
  std::string raw_line() {
    std::string line;
    for (char c;;) {
      if (read_some(fd_, &c, 1, path_) != 1) throw InvalidInput(path_.string() + " is not an agora backup");
      if (c == '\n') return line;
      line += c;
      if (line.size() > 4096) throw InvalidInput(path_.string() + " is not an agora backup");
    }
  }

  void fill() {
    buffer_.clear();
    at_ = 0;
    if (!sealed_) {
      buffer_.resize(kChunk);
      buffer_.resize(read_some(fd_, buffer_.data(), kChunk, path_));
      if (buffer_.empty()) throw InvalidInput(path_.string() + ": cut short");
      return;
    }
    if (last_seen_) throw InvalidInput(path_.string() + ": cut short");
    uint8_t len[4];
    if (read_some(fd_, reinterpret_cast<char*>(len), 4, path_) != 4) throw InvalidInput(path_.string() + ": cut short");
    size_t n = (size_t{len[0]} << 24) | (size_t{len[1]} << 16) | (size_t{len[2]} << 8) | len[3];
    if (n > kChunk) throw InvalidInput(path_.string() + ": damaged (a chunk larger than the format allows)");
    std::string c(n, '\0');
    std::array<uint8_t, kTag> tag{};
    if (read_some(fd_, c.data(), n, path_) != n ||
        read_some(fd_, reinterpret_cast<char*>(tag.data()), kTag, path_) != kTag)
      throw InvalidInput(path_.string() + ": cut short");
    // The last chunk is the one shorter than a whole chunk (possibly empty): its flag is
    // authenticated, so a file cut at a chunk boundary does not pass for whole.
    bool last = n < kChunk;
    try {
      buffer_ = gcm(false, key_, chunk_nonce(nonce_base_, index_), header_, last, c.data(), n, tag.data(), nullptr);
    } catch (const BadChunk&) {
      // The first chunk opens with the right passphrase only; a later one that fails is damage.
      throw InvalidInput(path_.string() + (index_ == 0 ? ": wrong passphrase (or the file is damaged)"
                                                       : ": damaged (part " + std::to_string(index_ + 1) +
                                                             " does not match what was written)"));
    }
    ++index_;
    last_seen_ = last;
    if (buffer_.empty() && !last) throw InvalidInput(path_.string() + ": damaged");
  }

  int fd_;
  fs::path path_;
  bool sealed_ = false, last_seen_ = false;
  std::array<uint8_t, 32> key_{};
  std::string nonce_base_, header_, buffer_;
  size_t at_ = 0;
  uint64_t index_ = 0;
};

std::string file_sha256(const fs::path& p) {
  Fd f(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) io_error("cannot read", p);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(kChunk);
  for (size_t n; (n = read_some(f.fd, buf.data(), buf.size(), p)) > 0;) EVP_DigestUpdate(md.get(), buf.data(), n);
  std::array<uint8_t, 32> h{};
  unsigned len = 0;
  EVP_DigestFinal_ex(md.get(), h.data(), &len);
  return to_hex(h.data(), h.size());
}

void sync_fd_or_throw(int fd, const fs::path& p) {
  if (::fsync(fd) != 0) io_error("cannot sync", p);
}

void sync_dir(const fs::path& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.fd >= 0) ::fsync(d.fd);
}

}  // namespace

bool backup_is_encrypted(const fs::path& backup) {
  Fd f(::open(backup.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) return false;
  std::string head(kSealedMagic.size(), '\0');
  head.resize(read_some(f.fd, head.data(), head.size(), backup));
  return head == kSealedMagic;
}

BackupReport write_backup(DataDir& dir, const fs::path& out, const std::optional<std::string>& passphrase) {
  if (fs::exists(out)) throw InvalidInput(out.string() + " exists: name a new file (nothing was written)");
  if (passphrase && passphrase->empty()) throw InvalidInput("the passphrase is empty");
  BackupReport report;
  report.node = node_id(dir.id());
  report.encrypted = passphrase.has_value();
  // The store, compacted, as one read transaction sees it; beside the data dir's other files.
  fs::path work = dir.path() / "tmp" / ("backup-" + std::to_string(::getpid()));
  fs::create_directories(work.parent_path());
  // What a backup that was killed left here is of no use to anyone.
  for (const auto& e : fs::directory_iterator(work.parent_path())) {
    std::string name = e.path().filename().string();
    if (!name.starts_with("backup-")) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + 7));
    if (pid > 0 && ::kill(pid, 0) != 0) fs::remove_all(e.path());
  }
  fs::remove_all(work);
  fs::create_directories(work);
  ::chmod(work.c_str(), 0700);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{work};
  report.records = dir.store().read([](const storage::StoreReader& r) { return r.last_local(); });
  dir.store().env().copy_compacted(work);
  std::vector<std::pair<std::string, fs::path>> files;  // name in the backup, where it is now
  for (const char* name : kCarried)
    if (fs::exists(dir.path() / name)) files.emplace_back(name, dir.path() / name);
  files.emplace_back("store/data.mdb", work / "data.mdb");
  json manifest = {{"format", 1}, {"created", iso8601_utc(now_ms())}, {"node", report.node}, {"files", json::array()}};
  for (const auto& [name, path] : files) {
    uint64_t size = fs::file_size(path);
    if (name == "store/data.mdb") report.store_bytes = size;
    manifest["files"].push_back({{"name", name}, {"size", size}, {"sha256", file_sha256(path)}});
  }
  // .OUT.PID.partial beside OUT, then OUT: a backup that exists is whole. What a killed
  // backup left there (its process gone) is removed.
  fs::path out_dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  for (const auto& e : fs::directory_iterator(out_dir)) {
    std::string name = e.path().filename().string();
    auto dot = name.rfind(".agora-backup-");
    if (!name.starts_with(".") || dot == std::string::npos || !name.ends_with(".partial")) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + dot + 14));
    if (pid > 0 && ::kill(pid, 0) != 0) fs::remove(e.path());
  }
  fs::path partial =
      out_dir / ("." + out.filename().string() + ".agora-backup-" + std::to_string(::getpid()) + ".partial");
  Fd f(::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (f.fd < 0) io_error("cannot create", partial);
  try {
    Writer w(f.fd, partial, passphrase);
    std::string line = manifest.dump() + "\n";
    w.write(line.data(), line.size());
    std::vector<char> buf(kChunk);
    for (const auto& [name, path] : files) {
      Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (in.fd < 0) io_error("cannot read", path);
      uint64_t left = fs::file_size(path);
      while (left > 0) {
        size_t n = read_some(in.fd, buf.data(), std::min<uint64_t>(left, buf.size()), path);
        if (n == 0) throw std::runtime_error(path.string() + " changed while it was copied");
        w.write(buf.data(), n);
        left -= n;
      }
    }
    w.finish();
    sync_fd_or_throw(f.fd, partial);
  } catch (...) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw;
  }
  if (fs::exists(out)) throw InvalidInput(out.string() + " appeared while the backup was written: nothing replaced");
  fs::rename(partial, out);
  sync_dir(out.has_parent_path() ? out.parent_path() : fs::path("."));
  report.bytes = fs::file_size(out);
  return report;
}

RestoreReport restore_backup(const fs::path& backup, const fs::path& data_dir,
                             const std::optional<std::string>& passphrase) {
  if (fs::exists(data_dir) && (!fs::is_directory(data_dir) || !fs::is_empty(data_dir)))
    throw InvalidInput(data_dir.string() +
                       " exists and is not empty: restore into a new data dir (nothing was written)");
  Fd f(::open(backup.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) throw InvalidInput("cannot read " + backup.string() + ": " + std::strerror(errno));
  Reader r(f.fd, backup, passphrase);
  json manifest = json::parse(r.read_line(), nullptr, false);
  if (manifest.is_discarded() || manifest.value("format", 0) != 1 || !manifest.contains("files") ||
      !manifest["files"].is_array())
    throw InvalidInput(backup.string() + ": damaged, or of a format this version does not read");
  // Unpacked beside the target first, each file checked; moved in place only when all are.
  fs::path staging = data_dir.string() + ".restoring";
  fs::remove_all(staging);
  fs::create_directories(staging / "store");
  struct Cleanup {
    fs::path p;
    bool keep = false;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) fs::remove_all(p, ec);
    }
  } cleanup{staging};
  RestoreReport report;
  report.node = manifest.value("node", "");
  report.created = manifest.value("created", "");
  std::vector<char> buf(kChunk);
  for (const auto& file : manifest["files"]) {
    std::string name = file.value("name", "");
    if (name != "store/data.mdb" && std::find(std::begin(kCarried), std::end(kCarried), name) == std::end(kCarried))
      throw InvalidInput(backup.string() + ": names a file a backup never holds: " + name);
    uint64_t left = file.value("size", uint64_t{0});
    fs::path to = staging / name;
    {
      Fd o(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (o.fd < 0) io_error("cannot create", to);
      while (left > 0) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
        r.read(buf.data(), n);
        write_all(o.fd, buf.data(), n, to);
        left -= n;
      }
      sync_fd_or_throw(o.fd, to);
    }
    if (file_sha256(to) != file.value("sha256", ""))
      throw InvalidInput(backup.string() + ": damaged (" + name + " does not match its checksum)");
    ++report.files;
  }
  r.expect_end();
  if (!fs::exists(staging / "node.json") || !fs::exists(staging / "node.key") ||
      !fs::exists(staging / "store" / "data.mdb"))
    throw InvalidInput(backup.string() + ": incomplete (no node.json, node.key or store)");
  // A restored node holds its city's chain as of the backup; peers may hold more of it. It
  // publishes nothing until a peer has sent that back (as `init --restore`): signing the
  // next seq now would fork the chain. Without peers there is nothing to wait for.
  {
    storage::RecordStore store(staging / "store");
    bool has_peers = false;
    {
      storage::ReadTxn txn(store.env());
      has_peers = !load_peers(store, txn).empty();
    }
    if (has_peers) store.env().write([&](storage::WriteTxn& w) { store.put_meta(w, DataDir::kRestoringKey, "1"); });
    report.waits_for_peers = has_peers;
  }
  ::chmod(staging.c_str(), 0700);
  sync_dir(staging / "store");
  sync_dir(staging);
  if (fs::exists(data_dir)) fs::remove(data_dir);  // the empty directory named
  fs::rename(staging, data_dir);
  cleanup.keep = true;
  sync_dir(data_dir.has_parent_path() ? data_dir.parent_path() : fs::path("."));
  return report;
}

}  // namespace agora
