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
      "verify", "BUNDLE --genesis FILE",
      "Check an audit bundle offline, trusting no node. NOT AVAILABLE IN THIS BUILD (exits 1).",
      "Will check every signature, signer role and key validity at its height, nonce, Merkle inclusion proof, the\n"
      "tree head's quorum certificate, and replay the contracts to reproduce each recorded outcome.",
      {{"genesis", "FILE", "the network's genesis.json"}},
      0, 1, false, false, &unavailable});
  out.push_back(Command{
      "monitor", "--node URL...",
      "Watch several nodes' tree heads for consistency. NOT AVAILABLE IN THIS BUILD (exits 1).",
      "",
      {{"node", "URL", "a node to watch", true}},
      0, 0, false, false, &unavailable});
  return out;
}

}  // namespace onebill::clients::cli
