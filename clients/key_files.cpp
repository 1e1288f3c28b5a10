#include "clients/key_files.h"

#include "clients/files.h"
#include "crypto/hash.h"

namespace onebill::clients {

std::filesystem::path public_key_path(const std::filesystem::path& private_file) {
  std::filesystem::path p = private_file;
  p += ".pub";
  return p;
}

std::string key_fingerprint(const crypto::PublicKey& key) {
  return "sha256:" + crypto::hex(crypto::hash(crypto::HashAlg::sha256, key.to_der()));
}

Result<KeyPairFiles> generate_key_files(crypto::SigAlg alg, const std::filesystem::path& private_file, bool force) {
  KeyPairFiles out;
  out.private_file = private_file;
  out.public_file = public_key_path(private_file);
  out.alg = alg;
  if (!force) {
    for (const auto& p : {out.private_file, out.public_file}) {
      if (files::exists(p)) return make_error("exists", p.string() + " already exists (use --force to replace it)");
    }
  }
  auto key = crypto::PrivateKey::generate(alg);
  if (!key) return key.error();
  const crypto::PublicKey pub = key->public_key();
  out.public_pem = pub.to_pem();
  out.fingerprint = key_fingerprint(pub);
  const auto overwrite = force ? files::Overwrite::yes : files::Overwrite::no;
  if (Status s = files::write_atomic(out.private_file, key->to_pem(), 0600, overwrite); !s) return s.error();
  if (Status s = files::write_atomic(out.public_file, out.public_pem, 0644, overwrite); !s) {
    // Never leave a private key without its public half from this run (a stale .pub would be misleading).
    if (!force) std::filesystem::remove(out.private_file);
    return s.error();
  }
  return out;
}

Result<crypto::PrivateKey> load_private_key(const std::filesystem::path& file) {
  auto text = files::read(file, 1 << 20);
  if (!text) return text.error();
  auto key = crypto::PrivateKey::from_pem_any(*text);
  if (!key) return make_error(key.error().code, file.string() + ": " + key.error().message);
  return key;
}

Result<crypto::PublicKey> load_public_key(const std::filesystem::path& file) {
  auto text = files::read(file, 1 << 20);
  if (!text) return text.error();
  auto key = crypto::PublicKey::from_pem_any(*text);
  if (!key) return make_error(key.error().code, file.string() + ": " + key.error().message);
  return key;
}

}  // namespace onebill::clients
