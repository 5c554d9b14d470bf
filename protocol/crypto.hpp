// Ed25519 keys and signatures and SHA-256, through OpenSSL 3. Pure functions; no files.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace agora {

using Hash = std::array<uint8_t, 32>;
using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

Hash sha256(std::string_view data);

// An Ed25519 private key. Safe to use from several threads at once for signing.
class SigningKey {
 public:
  static SigningKey generate();
  // Parses a PKCS#8 PEM private key; nullopt if it is not an Ed25519 key.
  static std::optional<SigningKey> from_pem(std::string_view pem);
  // The key of a 32-byte RFC 8032 seed (fixed test keys, e.g. the conformance transcripts).
  static SigningKey from_seed(const std::array<uint8_t, 32>& seed);

  std::string to_pem() const;  // PKCS#8 PEM, the key file format
  const PublicKey& public_key() const { return public_key_; }
  Signature sign(std::string_view message) const;

 private:
  struct Impl;
  explicit SigningKey(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
  PublicKey public_key_{};
};

bool verify_signature(const PublicKey& key, std::string_view message, const Signature& sig);

}  // namespace agora
