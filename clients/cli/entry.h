// Entries built from the command line (--type, --doc, --body, --nonce, --ts), shared by `sign` and `submit`.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "clients/cli/cli.h"
#include "contracts/envelope.h"

namespace onebill::clients::cli {

// The options an entry is built from.
std::vector<Option> entry_options();

struct EntryArgs {
  std::string type;
  std::string doc;
  nlohmann::json body;
  std::optional<std::int64_t> nonce;
  std::optional<std::string> ts;
};

// Reads and checks --type (a type of the catalogue), --doc (a document id), --body (JSON object or @file, @- for
// stdin, inside the canonical-JSON subset), --nonce, --ts. Throws UsageError naming the argument.
EntryArgs read_entry_args(Context& ctx);

// Checks --key/--signer, loads the key (UsageError if it cannot be read), reserves the nonce (the key's nonce state,
// or --nonce) and signs. Runtime failures (nonce state locked or unreadable, signing) are returned as errors.
Result<contracts::Envelope> sign_entry(Context& ctx, const EntryArgs& entry);

}  // namespace onebill::clients::cli
