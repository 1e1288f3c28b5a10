#include "clients/cli/entry.h"

#include <algorithm>

#include "clients/key_files.h"
#include "clients/nonce_state.h"
#include "clients/signing.h"
#include "contracts/apply.h"
#include "contracts/identifiers.h"
#include "crypto/canonical_json.h"

namespace onebill::clients::cli {

std::vector<Option> entry_options() {
  return {
      {"type", "T", "entry type from the catalogue, e.g. bill.issue (an unknown one lists them all)"},
      {"doc", "D", "the document it acts on, e.g. OB-2026-000001"},
      {"body", "JSON|@FILE", "the body: a JSON object, or @FILE to read it (@- = standard input)"},
      {"nonce", "N", "use this nonce instead of the key's next one (see docs/cli.md, Nonces)"},
      {"ts", "ISO", "the signer's claimed time (default: now, UTC); informational only"},
  };
}

EntryArgs read_entry_args(Context& ctx) {
  EntryArgs e;
  e.type = ctx.args.required("type");
  const auto types = contracts::known_types();
  if (std::find(types.begin(), types.end(), e.type) == types.end()) {
    std::string known;
    for (auto t : types) known += (known.empty() ? "" : ", ") + std::string(t);
    throw UsageError{"--type: unknown entry type '" + e.type + "' (known: " + known + ")"};
  }
  e.doc = ctx.args.required("doc");
  if (!contracts::is_doc_id(e.doc)) {
    throw UsageError{"--doc: '" + e.doc + "' is not a document id ([A-Za-z0-9][A-Za-z0-9._:-]{0,63})"};
  }
  std::string body_text = ctx.args.required("body");
  if (body_text.front() == '@') body_text = ctx.read_input("--body", body_text.substr(1), 1 << 20);
  auto body = crypto::parse_strict(body_text);
  if (!body) throw UsageError{"--body: " + body.error().code + ": " + body.error().message};
  if (!body->is_object()) throw UsageError{"--body: expected a JSON object"};
  e.body = std::move(*body);
  e.nonce = ctx.args.integer("nonce", 0, crypto::kMaxSafeInteger);
  e.ts = ctx.args.value("ts");
  if (e.ts) {
    if (e.ts->size() > 64 || std::any_of(e.ts->begin(), e.ts->end(), [](char c) {
          auto u = static_cast<unsigned char>(c);
          return u < 0x21 || u > 0x7e;
        })) {
      throw UsageError{"--ts: expected a time such as 2026-11-25T10:00:00Z"};
    }
  }
  return e;
}

Result<contracts::Envelope> sign_entry(Context& ctx, const EntryArgs& entry) {
  auto key_file = ctx.key_file();
  if (!key_file) throw UsageError{"--key is required to sign"};
  auto signer = ctx.signer();
  if (!signer) throw UsageError{"--signer is required with --key (the key's id in genesis, ORG/NAME)"};
  if (!contracts::is_key_id(*signer)) throw UsageError{"--signer: '" + *signer + "' is not a key id ORG/NAME"};
  auto key = load_private_key(*key_file);
  if (!key) throw UsageError{"--key: " + key.error().message};

  NonceState nonces(*key_file);
  auto nonce = nonces.reserve(entry.nonce);
  if (!nonce) return nonce.error();
  contracts::Tx tx;
  tx.type = entry.type;
  tx.doc = entry.doc;
  tx.signer = *signer;
  tx.nonce = *nonce;
  tx.ts = entry.ts.value_or(iso_now());
  tx.body = entry.body;
  return sign_tx(*key, std::move(tx));
}

}  // namespace onebill::clients::cli
