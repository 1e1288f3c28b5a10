// verify (the offline verifier, clients/audit) and monitor (the tree-head monitor).
#include <unistd.h>

#include <iostream>
#include <ostream>

#include "clients/audit/verify.h"
#include "clients/cli/cli.h"
#include "clients/cli/render.h"

namespace onebill::clients::cli {
namespace {

using nlohmann::json;

// A one-line progress bar on stderr, only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(Context& ctx) : enabled_(&ctx.err == &std::cerr && ::isatty(2) == 1) {}
  audit::Progress callback() {
    if (!enabled_) return {};
    return [this](std::size_t done, std::size_t total) {
      const std::size_t pct = total == 0 ? 100 : done * 100 / total;
      if (pct == last_ && done != total) return;
      last_ = pct;
      std::cerr << "\rverifying " << done << "/" << total << " entries [" << std::string(pct / 4, '#')
                << std::string(25 - pct / 4, ' ') << "] " << pct << "%" << (done == total ? "\n" : "") << std::flush;
    };
  }

 private:
  bool enabled_;
  std::size_t last_ = 101;
};

void print_report(std::ostream& out, const audit::Report& r) {
  const auto& c = r.counts;
  kv(out, "network", r.network, 14);
  kv(out, "document", r.document, 14);
  kv(out, "head", "height " + std::to_string(r.head_height) + ", log size " + std::to_string(r.log_size) + ", " +
                      short_id(r.head_hash, 16),
     14);
  section(out, "CHECKS");
  Table t({"check", "held", "what it proves"});
  t.row({"signatures", std::to_string(c.signatures), "signed by a key genesis or governance gave the signer"});
  t.row({"signer rejections", std::to_string(c.signer_rejections), "unknown/revoked key or bad signature, as recorded"});
  t.row({"nonces", std::to_string(c.nonces), "no accepted entry reuses a key's nonce"});
  t.row({"tx proofs", std::to_string(c.tx_proofs), "each entry is in its block, at its position"});
  t.row({"result proofs", std::to_string(c.result_proofs), "each outcome and its reads are what the block certified"});
  t.row({"log proofs", std::to_string(c.log_proofs), "each accepted entry is in the head's append-only log"});
  t.row({"replayed", std::to_string(c.replayed), "the contracts reproduce every recorded outcome"});
  t.row({"chained reads", std::to_string(c.chained_reads), "no entry on these documents is missing between two"});
  t.row({"membership", std::to_string(c.membership), "roles and keys rebuilt from genesis match each block"});
  t.row({"attestations", std::to_string(c.attestations), "valid signatures of voting nodes over headers"});
  t.row({"certified", std::to_string(c.certified) + " + " + std::to_string(c.linked) + " linked",
         "every header certified by a quorum, or chained to one"});
  t.print(out, "  ");
}

void print_documents(std::ostream& out, const audit::Report& r) {
  section(out, "DOCUMENTS (state replayed from the entries)");
  Table t({"document", "kind", "status", "holder", "last entry"});
  for (const auto& [id, doc] : r.documents) {
    t.row({id, field(doc, "kind"), field(doc, "status"), field(doc, "holder"), short_id(string_at(doc, "head"))});
  }
  t.print(out, "  ");
}

int verify(Context& ctx) {
  const std::string bundle_path = ctx.args.positionals().at(0);
  const std::string genesis_path = ctx.args.required("genesis");
  const std::string genesis = ctx.read_input("the genesis file", genesis_path);
  const std::string text = ctx.read_input("the bundle", bundle_path, std::size_t{4} << 30);
  json bundle = json::parse(text, nullptr, false);
  if (bundle.is_discarded()) throw UsageError{"the bundle " + bundle_path + " is not JSON"};
  ProgressBar bar(ctx);
  const audit::Report report = audit::verify_bundle(genesis, bundle, bar.callback());
  if (ctx.json()) {
    ctx.out << report.to_json().dump(2) << "\n";
    return report.ok ? kOk : kInvalid;
  }
  if (!report.ok) {
    const auto& f = *report.failure;
    ctx.out << "NOT VERIFIED: " << f.check << " check failed at " << f.where << "\n  " << f.message << "\n";
    if (!f.expected.empty()) ctx.out << "  expected: " << f.expected << "\n";
    if (!f.found.empty()) ctx.out << "  found:    " << f.found << "\n";
    ctx.out << "\nWhat held before it:\n";
    print_report(ctx.out, report);
    return kInvalid;
  }
  ctx.out << "VERIFIED: " << report.counts.entries << " entries on " << report.documents.size()
          << " documents, trusting only " << genesis_path << "\n\n";
  print_report(ctx.out, report);
  print_documents(ctx.out, report);
  return kOk;
}

int unavailable(Context& ctx) {
  return ctx.fail(make_error("not_available", "'onebill " + ctx.command.name + "' is not available in this build"));
}

}  // namespace

std::vector<Command> audit_commands() {
  std::vector<Command> out;
  out.push_back(Command{
      .name = "verify",
      .synopsis = "BUNDLE --genesis FILE",
      .summary = "Check an audit bundle offline, trusting nothing but the genesis file.",
      .description =
          "Checks every signature against the key in force at its height (membership rebuilt from genesis and the\n"
          "bundle's governance entries), nonces, each entry's proofs in its block (tx_root, result_root) and in the\n"
          "head's log, the quorum certificate of every header (or its prev-hash chain to a certified one), and replays\n"
          "the contracts over each entry's certified reads to reproduce every recorded outcome and the documents' state.\n"
          "Prints what it checked; on the first check that fails, which one, where, expected and found (exit 5).\n"
          "A progress bar goes to stderr when it is a terminal. What it proves and assumes: docs/audit.md.",
      .options = {{"genesis", "FILE", "the network's genesis.json (the only thing trusted)"},
                  {"json", "", "machine-readable report"}},
      .min_positionals = 1,
      .max_positionals = 1,
      .run = &verify});
  out.push_back(
      Command{.name = "monitor",
              .synopsis = "--node URL...",
              .summary = "Watch several nodes' tree heads for consistency. NOT AVAILABLE IN THIS BUILD (exits 1).",
              .options = {{"node", "URL", "a node to watch", true}},
              .run = &unavailable});
  return out;
}

}  // namespace onebill::clients::cli
