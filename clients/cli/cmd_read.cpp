// get, history, bundle, status: reads from the node's REST API.
#include <ostream>

#include <nlohmann/json.hpp>

#include "clients/cli/cli.h"
#include "clients/cli/doc_view.h"
#include "clients/cli/render.h"
#include "clients/files.h"
#include "contracts/identifiers.h"
#include "crypto/canonical_json.h"

namespace onebill::clients::cli {
namespace {

using nlohmann::json;

std::string doc_arg(Context& ctx) {
  const std::string& doc = ctx.args.positionals().at(0);
  if (!contracts::is_doc_id(doc)) {
    throw UsageError{"DOC: '" + doc + "' is not a document id ([A-Za-z0-9][A-Za-z0-9._:-]{0,63})"};
  }
  return doc;
}

std::string min_height(Context& ctx) {
  auto h = ctx.args.integer("min-height", 0, crypto::kMaxSafeInteger);
  return h ? std::to_string(*h) : "";
}

int get(Context& ctx) {
  const std::string doc = doc_arg(ctx);
  std::string target = with_query("/v1/documents/" + url_encode(doc), {{"min_height", min_height(ctx)}});
  int code = kOk;
  std::string raw;
  auto j = ctx.get_json(target, code, &raw);
  if (!j) return code;
  if (ctx.json()) {
    ctx.out << raw << "\n";
  } else {
    render_document(ctx.out, *j);
  }
  return kOk;
}

int history(Context& ctx) {
  const std::string doc = doc_arg(ctx);
  auto limit = ctx.args.integer("limit", 1, 1'000'000'000);
  auto page_size = ctx.args.integer("page-size", 1, 5000).value_or(500);
  std::string cursor = ctx.args.value("after").value_or("");
  const std::string min_h = min_height(ctx);
  json items = json::array();
  std::string next;
  for (;;) {
    std::int64_t want = page_size;
    if (limit) want = std::min<std::int64_t>(want, *limit - static_cast<std::int64_t>(items.size()));
    std::string target = with_query("/v1/documents/" + url_encode(doc) + "/history",
                                    {{"limit", std::to_string(want)}, {"after", cursor}, {"min_height", min_h}});
    int code = kOk;
    auto page = ctx.get_json(target, code);
    if (!page) return code;
    const json& page_items = list(*page, "items");
    for (const auto& item : page_items) items.push_back(item);
    next = string_at(*page, "next");
    if (next.empty() || next == cursor || page_items.empty()) break;
    if (limit && static_cast<std::int64_t>(items.size()) >= *limit) break;
    cursor = next;
  }
  if (ctx.json()) {
    json out = {{"doc", doc}, {"items", items}};
    if (!next.empty()) out["next"] = next;
    ctx.out << out.dump() << "\n";
    return kOk;
  }
  render_history(ctx.out, doc, items);
  if (!next.empty()) ctx.out << "(more: --after " << next << ")\n";
  return kOk;
}

int bundle(Context& ctx) {
  const std::string doc = doc_arg(ctx);
  const std::string out_file = ctx.args.required("out");
  const bool force = ctx.args.flag("force");
  if (!force && files::exists(out_file))
    throw UsageError{"--out: " + out_file + " already exists (use --force to replace it)"};
  std::string target = with_query("/v1/documents/" + url_encode(doc) + "/bundle", {{"min_height", min_height(ctx)}});
  RestClient& client = ctx.client();
  client.options().timeout = std::chrono::minutes(2);  // a bundle can be large
  auto reply = client.get(target);
  if (!reply) return ctx.fail(reply.error());
  if (!reply->ok()) {
    Error e = problem_error(*reply);
    e.message += " (HTTP " + std::to_string(reply->status) + " from " + client.url().text() + "; nothing written)";
    return ctx.fail(e);
  }
  if (json::parse(reply->body, nullptr, false).is_discarded()) {
    return ctx.fail(make_error("bad_response", "the bundle from the node is not JSON; nothing written"));
  }
  if (Status s = files::write_atomic(out_file, reply->body, 0644, force ? files::Overwrite::yes : files::Overwrite::no);
      !s) {
    return ctx.fail(s.error());
  }
  if (ctx.json()) {
    ctx.out << json{{"doc", doc}, {"file", out_file}, {"bytes", reply->body.size()}}.dump() << "\n";
  } else {
    ctx.out << "saved the bundle of " << doc << " to " << out_file << " (" << reply->body.size() << " bytes)\n"
            << "check it offline with: onebill verify " << out_file << " --genesis genesis.json\n";
  }
  return kOk;
}

Option min_height_option() {
  return {"min-height", "H", "wait (up to 10 s) until the node has applied height H: read your own writes"};
}

}  // namespace

std::vector<Command> document_commands() {
  std::vector<Command> out;
  out.push_back(Command{.name = "get",
                        .synopsis = "DOC [--min-height H]",
                        .summary = "Show a document's current state: GET /v1/documents/{id}.",
                        .description = "A bill shows its parties, legs with per-leg status and events (who signed\n"
                                       "each, where), equipment and seals, cargo, endorsements, pledge, customs\n"
                                       "decisions, discrepancies and surrenders; receipts and pledges likewise.",
                        .options = {min_height_option()},
                        .min_positionals = 1,
                        .max_positionals = 1,
                        .uses_node = true,
                        .run = &get});
  out.push_back(Command{.name = "history",
                        .synopsis = "DOC [--limit N] [--after CURSOR] [--page-size N] [--min-height H]",
                        .summary = "Show every entry on a document, in ledger order: GET /v1/documents/{id}/history.",
                        .description = "Follows the node's pages ('next' cursors) to the end, or until --limit\n"
                                       "entries. Rejected entries are part of the history: they happened, with\n"
                                       "their reason.",
                        .options = {{"limit", "N", "show at most N entries"},
                                    {"after", "CURSOR", "start after this cursor (printed when --limit stopped early)"},
                                    {"page-size", "N", "entries per request (1 to 5000, default 500)"},
                                    min_height_option()},
                        .min_positionals = 1,
                        .max_positionals = 1,
                        .uses_node = true,
                        .run = &history});
  out.push_back(Command{
      .name = "bundle",
      .synopsis = "DOC --out FILE [--force] [--min-height H]",
      .summary = "Save a document's audit bundle (GET /v1/documents/{id}/bundle) to FILE, for 'onebill verify'.",
      .description =
          "Nothing is written when the node answers with an error (its problem code is printed). Refuses to replace\n"
          "an existing FILE unless --force.",
      .options = {{"out", "FILE", "where to save the bundle"},
                  {"force", "", "replace an existing FILE"},
                  min_height_option()},
      .min_positionals = 1,
      .max_positionals = 1,
      .uses_node = true,
      .run = &bundle});
  return out;
}

}  // namespace onebill::clients::cli
