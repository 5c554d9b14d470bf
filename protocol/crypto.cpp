#include "protocol/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>

namespace agora {

namespace {
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
}  // namespace

Hash sha256(std::string_view data) {
  Hash out;
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) || len != out.size())
    throw std::runtime_error("SHA-256 failed");
  return out;
}

struct SigningKey::Impl {
  PkeyPtr pkey;
};

SigningKey::SigningKey(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {
  size_t len = public_key_.size();
  if (!EVP_PKEY_get_raw_public_key(impl_->pkey.get(), public_key_.data(), &len) || len != 32)
    throw std::runtime_error("cannot read Ed25519 public key");
}

SigningKey SigningKey::generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!raw) throw std::runtime_error("Ed25519 key generation failed");
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(raw);
  return SigningKey(std::move(impl));
}

SigningKey SigningKey::from_seed(const std::array<uint8_t, 32>& seed) {
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (!raw) throw std::runtime_error("Ed25519 key from seed failed");
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(raw);
  return SigningKey(std::move(impl));
}

std::optional<SigningKey> SigningKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return std::nullopt;
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!raw) return std::nullopt;
  PkeyPtr pkey(raw);
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) return std::nullopt;
  auto impl = std::make_shared<Impl>();
  impl->pkey = std::move(pkey);
  return SigningKey(std::move(impl));
}

std::string SigningKey::to_pem() const {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr))
    throw std::runtime_error("cannot encode private key");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Signature SigningKey::sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Signature sig;
  size_t len = sig.size();
  if (!ctx || !EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) ||
      !EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                      message.size()) ||
      len != sig.size())
    throw std::runtime_error("Ed25519 signing failed");
  return sig;
}

bool verify_signature(const PublicKey& key, std::string_view message, const Signature& sig) {
  // Records come in runs from one origin: keep the last key's verify context per thread.
  // An Ed25519 one-shot verify leaves the context reusable, which saves OpenSSL 3's
  // per-init algorithm fetch on every record.
  thread_local PublicKey cached_key{};
  thread_local PkeyPtr cached_pkey;
  thread_local MdCtxPtr cached_ctx;
  if (!cached_ctx || cached_key != key) {
    cached_ctx.reset();
    cached_pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
    if (!cached_pkey) return false;
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || !EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, cached_pkey.get())) return false;
    cached_ctx = std::move(ctx);
    cached_key = key;
  }
  return EVP_DigestVerify(cached_ctx.get(), sig.data(), sig.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

}  // namespace agora
