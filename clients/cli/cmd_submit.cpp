// submit: send one entry to the node (POST /v1/transactions) and report its outcome.
#include <algorithm>
#include <ostream>

#include <nlohmann/json.hpp>

#include "clients/cli/cli.h"
#include "clients/cli/entry.h"
#include "clients/cli/render.h"
#include "clients/signing.h"
#include "crypto/canonical_json.h"

namespace onebill::clients::cli {
namespace {

using nlohmann::json;

struct Payload {
  std::string body;
  bool repeatable = false;  // a signed envelope: the node answers a repeat with the first answer
};

Payload payload_from_file(Context& ctx, const std::string& path) {
  const std::string what = path == "-" ? "standard input" : "FILE";
  std::string text = ctx.read_input(what, path, 2 << 20);
  auto j = crypto::parse_strict(text);
  if (!j) throw UsageError{what + ": " + j.error().code + ": " + j.error().message};
  if (!j->is_object() || !j->contains("tx")) {
    throw UsageError{what + ": expected an envelope {\"tx\": {...}, \"sig\": \"...\"} (see 'onebill sign')"};
  }
  if (j->contains("sig")) {
    auto e = contracts::envelope_from_json(*j, crypto::HashAlg::sha256);
    if (!e) throw UsageError{what + ": " + e.error().code + ": " + e.error().message};
    return {j->dump(), true};
  }
  if (j->size() != 1 || !(*j)["tx"].is_object()) {
    throw UsageError{what + ": an unsigned entry is {\"tx\": {...}} and nothing else"};
  }
  return {j->dump(), false};  // the node signs it (a token with the sign scope)
}

Payload payload_from_args(Context& ctx) {
  EntryArgs entry = read_entry_args(ctx);
  if (ctx.key_file()) {
    auto envelope = sign_entry(ctx, entry);
    if (!envelope) throw Error(envelope.error());  // a runtime failure: reported by submit()
    return {envelope_text(*envelope), true};
  }
  if (entry.nonce) throw UsageError{"--nonce needs --key: when the node signs, it picks the nonce"};
  json tx = {{"type", entry.type}, {"doc", entry.doc}, {"body", entry.body}};
  if (auto signer = ctx.signer()) tx["signer"] = *signer;
  if (entry.ts) tx["ts"] = *entry.ts;
  return {json{{"tx", tx}}.dump(), false};
}

int report(Context& ctx, const json& answer, const std::string& raw, bool no_wait) {
  const std::string status = string_at(answer, "status");
  if (ctx.json()) {
    ctx.out << raw << (raw.empty() || raw.back() != '\n' ? "\n" : "");
  } else {
    kv(ctx.out, "id", field(answer, "id"), 7);
    std::string shown = status.empty() ? "-" : status;
    if (status == "pending")
      shown += no_wait ? " (admitted; not waiting for the commit)" : " (not committed before the wait ended)";
    kv(ctx.out, "status", shown, 7);
    if (answer.contains("reason")) {
      std::string reason = field(answer, "reason");
      if (answer.contains("message")) reason += ": " + field(answer, "message");
      kv(ctx.out, "reason", reason, 7);
    }
    if (answer.contains("height"))
      kv(ctx.out, "height", field(answer, "height") + " (index " + field(answer, "index") + ")", 7);
  }
  if (status == "accepted") return kOk;
  if (status == "rejected") return kRejected;
  if (status == "pending") return no_wait ? kOk : kPending;
  ctx.err << "onebill submit: the node answered an unknown status '" << status << "'\n";
  return kError;
}

int submit(Context& ctx) {
  const bool has_file = !ctx.args.positionals().empty();
  const bool has_parts = ctx.args.flag("type") || ctx.args.flag("doc") || ctx.args.flag("body");
  if (has_file && has_parts) throw UsageError{"give an envelope FILE or --type/--doc/--body, not both"};
  if (!has_file && !has_parts)
    throw UsageError{"give an envelope FILE ('-' for standard input), or --type, --doc and --body"};
  if (has_file && (ctx.args.flag("nonce") || ctx.args.flag("ts"))) {
    throw UsageError{"--nonce and --ts are for entries built with --type/--doc/--body; FILE is already built"};
  }
  if (ctx.args.flag("wait") && ctx.args.flag("no-wait")) throw UsageError{"give --wait or --no-wait, not both"};
  const bool no_wait = ctx.args.flag("no-wait");
  auto timeout_ms = ctx.args.integer("timeout-ms", 1, 120000);
  if (no_wait && timeout_ms) throw UsageError{"--timeout-ms is for --wait"};

  RestClient& client = ctx.client();  // checks --node and the token before anything is signed
  Payload payload;
  try {
    payload = has_file ? payload_from_file(ctx, ctx.args.positionals()[0]) : payload_from_args(ctx);
  } catch (const Error& e) {
    return ctx.fail(e);
  }

  std::vector<std::pair<std::string, std::string>> query = {{"wait", no_wait ? "none" : "commit"}};
  if (timeout_ms) query.emplace_back("timeout_ms", std::to_string(*timeout_ms));
  // The node answers a commit wait within its own limit (10 s by default, at most 120 s); wait a little longer.
  client.options().timeout = std::chrono::milliseconds(std::max<std::int64_t>(30000, timeout_ms.value_or(0) + 15000));
  auto reply = client.request(Method::post, with_query("/v1/transactions", query), payload.body, payload.repeatable);
  if (!reply) {
    if (reply.error().code == "timeout" && !no_wait) {
      ctx.err << "onebill submit: no answer in time; the entry may or may not be committed: " << reply.error().message
              << "\n";
      return kPending;
    }
    return ctx.fail(reply.error());
  }
  if (!reply->ok()) {
    Error e = problem_error(*reply);
    if (ctx.json()) ctx.out << reply->body << "\n";
    ctx.fail(e);
    return e.code == "timeout" ? kPending : kError;
  }
  auto answer = json::parse(reply->body, nullptr, false);
  if (!answer.is_object()) return ctx.fail(make_error("bad_response", "the node's answer is not a JSON object"));
  return report(ctx, answer, reply->body, no_wait);
}

}  // namespace

std::vector<Command> submit_commands() {
  std::vector<Option> opts = entry_options();
  opts.push_back({"wait", "", "wait until the entry is committed and applied (the default; ?wait=commit)"});
  opts.push_back({"no-wait", "", "return once the node has admitted the entry (?wait=none)"});
  opts.push_back({"timeout-ms", "N", "how long the node waits for the commit (1 to 120000; node default 10000)"});
  return {Command{
      .name = "submit",
      .synopsis =
          "FILE|- | --type T --doc D --body JSON|@FILE [--nonce N] [--ts ISO] [--wait|--no-wait] [--timeout-ms N]",
      .summary = "Submit one entry and print its id, status (accepted, rejected or pending), reason and height.",
      .description =
          "FILE is a signed envelope from 'onebill sign' ('-' reads standard input). Or build the entry here\n"
          "with --type/--doc/--body: signed with --key/--signer, or, without --key, sent unsigned for the node\n"
          "to sign with its organisation's key (the token needs the sign scope; the node picks signer, nonce, ts).\n"
          "Exit code: 0 accepted (with --no-wait: admitted), 3 rejected (on the ledger with a reason), 4 pending\n"
          "or no answer in time, 1 the node refused it before the ledger (its problem code is printed, e.g.\n"
          "stale_nonce).",
      .options = opts,
      .max_positionals = 1,
      .uses_node = true,
      .uses_key = true,
      .run = &submit}};
}

}  // namespace onebill::clients::cli
