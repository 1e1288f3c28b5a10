// keygen, sign, token new: the commands that need no node.
#include <ostream>

#include <nlohmann/json.hpp>

#include "clients/cli/cli.h"
#include "clients/cli/entry.h"
#include "clients/cli/render.h"
#include "clients/key_files.h"
#include "clients/signing.h"
#include "clients/token.h"
#include "crypto/keys.h"

namespace onebill::clients::cli {
namespace {

int keygen(Context& ctx) {
  auto alg_name = ctx.args.required("alg");
  auto alg = crypto::parse_sig_alg(alg_name);
  if (!alg) throw UsageError{"--alg: unknown algorithm '" + alg_name + "' (ed25519, ecdsa-p256 or sm2)"};
  const std::string out_file = ctx.args.required("out");
  const bool force = ctx.args.flag("force");
  auto keys = generate_key_files(*alg, out_file, force);
  if (!keys) {
    if (keys.error().code == "exists") throw UsageError{"--out: " + keys.error().message};
    return ctx.fail(keys.error());
  }
  if (ctx.json()) {
    ctx.out << nlohmann::json{{"alg", alg_name},
                              {"key_file", keys->private_file.string()},
                              {"pub_file", keys->public_file.string()},
                              {"pub", keys->public_pem},
                              {"fingerprint", keys->fingerprint}}
                   .dump()
            << "\n";
    return kOk;
  }
  ctx.err << "wrote " << keys->private_file.string() << " (private, mode 0600) and " << keys->public_file.string()
          << " (public)\n"
          << "algorithm " << alg_name << ", fingerprint " << keys->fingerprint << "\n";
  ctx.out << keys->public_pem;
  return kOk;
}

int sign(Context& ctx) {
  EntryArgs entry = read_entry_args(ctx);
  auto envelope = sign_entry(ctx, entry);
  if (!envelope) return ctx.fail(envelope.error());
  ctx.out << envelope_text(*envelope) << "\n";
  return kOk;
}

int token_new(Context& ctx) {
  auto t = new_token();
  if (!t) return ctx.fail(t.error());
  if (ctx.json()) {
    ctx.out << nlohmann::json{{"token", t->token}, {"sha256", t->sha256_hex}}.dump() << "\n";
    return kOk;
  }
  kv(ctx.out, "token", t->token, 7);
  kv(ctx.out, "sha256", t->sha256_hex, 7);
  ctx.err << "Give the token to its user; put only the sha256 in onebilld's config:\n"
          << "  \"tokens\": [{\"name\": \"...\", \"org\": \"...\", \"sha256\": \"" << t->sha256_hex
          << "\", \"scopes\": [\"submit\", \"read\"]}]\n";
  return kOk;
}

}  // namespace

std::vector<Command> key_commands() {
  std::vector<Command> out;
  out.push_back(Command{
      .name = "keygen",
      .synopsis = "--alg ed25519|ecdsa-p256|sm2 --out FILE [--force]",
      .summary =
          "Generate a signature key pair: FILE (private, PKCS#8 PEM, mode 0600) and FILE.pub (public, SPKI PEM).",
      .description =
          "Prints the public key (the text for genesis.json \"pub\", or a node's \"tls_pub\"). Refuses to replace an\n"
          "existing FILE or FILE.pub unless --force. The private key is not encrypted: keep the file private.",
      .options = {{"alg", "ALG", "ed25519, ecdsa-p256 (SHA-256) or sm2 (SM3)"},
                  {"out", "FILE", "where to write the private key; the public key goes to FILE.pub"},
                  {"force", "", "replace existing key files"}},
      .run = &keygen});
  std::vector<Option> sign_opts = entry_options();
  out.push_back(Command{
      .name = "sign",
      .synopsis = "--type T --doc D --body JSON|@FILE [--nonce N] [--ts ISO] --key FILE --signer KEYID",
      .summary = "Build and sign an entry; print its envelope {\"tx\": {...}, \"sig\": \"...\"} on one line.",
      .description =
          "The signature covers the RFC 8785 canonical form of tx. The nonce is the key's next one, from the\n"
          "state file FILE.nonce beside the key (the current time in milliseconds when it is missing; see\n"
          "docs/cli.md, Nonces), or --nonce. Submit the output with 'onebill submit FILE' or 'onebill submit -'.",
      .options = sign_opts,
      .uses_key = true,
      .run = &sign});
  out.push_back(Command{
      .name = "token new",
      .synopsis = "",
      .summary = "Print a new random API token (64 hex characters) and its SHA-256, which onebilld's config stores.",
      .run = &token_new});
  return out;
}

}  // namespace onebill::clients::cli
