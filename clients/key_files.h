// Signature key files as the CLI keeps them: FILE holds the private key as unencrypted PKCS#8 PEM (mode 0600),
// FILE.pub the public key as SubjectPublicKeyInfo PEM (mode 0644) — the text that goes into genesis.json.
//
// Errors: the codes of files.h ("exists" when a key file is there and `force` is not set, "not_found", "io_error")
// and of crypto/keys.h ("bad_pem", "wrong_key_type").
#pragma once

#include <filesystem>
#include <string>

#include "crypto/keys.h"
#include "crypto/result.h"

namespace onebill::clients {

struct KeyPairFiles {
  std::filesystem::path private_file;
  std::filesystem::path public_file;
  crypto::SigAlg alg = crypto::SigAlg::ed25519;
  std::string public_pem;
  std::string fingerprint;  // key_fingerprint() of the public key
};

// FILE.pub for a key file FILE.
std::filesystem::path public_key_path(const std::filesystem::path& private_file);

// Generates a key pair and writes both files, each atomically. Without `force`, nothing is written if either file
// exists; with it, both are replaced.
Result<KeyPairFiles> generate_key_files(crypto::SigAlg alg, const std::filesystem::path& private_file, bool force);

Result<crypto::PrivateKey> load_private_key(const std::filesystem::path& file);
Result<crypto::PublicKey> load_public_key(const std::filesystem::path& file);

// "sha256:" + hex SHA-256 of the DER SubjectPublicKeyInfo: a short name for comparing keys by eye.
std::string key_fingerprint(const crypto::PublicKey& key);

}  // namespace onebill::clients
