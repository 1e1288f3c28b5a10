// verify and monitor: registered so scripts and --help know them; the offline verifier and the monitor come with
// the audit work (ARCHITECTURE.md, "Clients and devnet") and are not in this build.
#include <ostream>

#include "clients/cli/cli.h"

namespace onebill::clients::cli {
namespace {

int unavailable(Context& ctx) {
  return ctx.fail(make_error("not_available", "'onebill " + ctx.command.name +
                                                  "' is not available in this build (it comes with the audit tools)"));
}

}  // namespace

std::vector<Command> audit_commands() {
  std::vector<Command> out;
  out.push_back(Command{
      .name = "verify",
      .synopsis = "BUNDLE --genesis FILE",
      .summary = "Check an audit bundle offline, trusting no node. NOT AVAILABLE IN THIS BUILD (exits 1).",
      .description =
          "Will check every signature, signer role and key validity at its height, nonce, Merkle inclusion proof, the\n"
          "tree head's quorum certificate, and replay the contracts to reproduce each recorded outcome.",
      .options = {{"genesis", "FILE", "the network's genesis.json"}},
      .max_positionals = 1,
      .run = &unavailable});
  out.push_back(
      Command{.name = "monitor",
              .synopsis = "--node URL...",
              .summary = "Watch several nodes' tree heads for consistency. NOT AVAILABLE IN THIS BUILD (exits 1).",
              .options = {{"node", "URL", "a node to watch", true}},
              .run = &unavailable});
  return out;
}

}  // namespace onebill::clients::cli
