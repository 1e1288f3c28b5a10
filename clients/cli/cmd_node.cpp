// status and watch: the node itself, and its stream of applied entries.
#include <algorithm>
#include <chrono>
#include <ostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "clients/cli/cli.h"
#include "clients/cli/render.h"
#include "clients/sse.h"
#include "contracts/apply.h"
#include "contracts/identifiers.h"
#include "crypto/canonical_json.h"

namespace onebill::clients::cli {
namespace {

using nlohmann::json;

int status(Context& ctx) {
  int code = kOk;
  std::string raw;
  auto j = ctx.get_json("/v1/status", code, &raw);
  if (!j) return code;
  if (ctx.json()) {
    ctx.out << raw << "\n";
    return kOk;
  }
  const json& s = *j;
  std::ostream& out = ctx.out;
  kv(out, "node",
     field(s, "node") + " (org " + field(s, "org") + ", " + (flag(s, "voter") ? "voter" : "learner") + ")");
  kv(out, "network", field(s, "network"));
  kv(out, "genesis", field(s, "genesis_hash"));
  kv(out, "raft", field(s, "role") + ", term " + field(s, "term") + ", leader " + field(s, "leader"));
  kv(out, "index", "commit " + field(s, "commit_index") + ", applied " + field(s, "applied_index"));
  kv(out, "height",
     field(s, "height") + " (header " + short_id(field(s, "header_hash"), 16) + ", log size " + field(s, "log_size") +
         ")");
  if (s.contains("certified")) {
    kv(out, "certified",
       "height " + field(s["certified"], "height") + " (" + short_id(field(s["certified"], "header_hash"), 16) + ")");
  } else {
    kv(out, "certified", "none yet");
  }
  kv(out, "pending", field(s, "pending"));
  kv(out, "diverged", flag(s, "diverged") ? "YES: " + field(s, "diverged_reason") : "no");
  const json& peers = list(s, "peers");
  section(out, "Peers");
  if (peers.empty()) {
    out << "  (none)\n";
    return kOk;
  }
  Table t({"NODE", "ADDRESS", "CONNECTED", "INBOUND", "MATCH", "LAG", "DROPPED"});
  for (const auto& p : peers) {
    t.row({field(p, "node"), field(p, "address"), field(p, "connected"), field(p, "inbound"), field(p, "match"),
           field(p, "lag"), field(p, "dropped_messages")});
  }
  t.print(out, "  ");
  return kOk;
}

std::string pad(std::string s, std::size_t width) {
  if (display_width(s) < width) s += std::string(width - display_width(s), ' ');
  return s;
}

void print_event(std::ostream& out, const json& ev) {
  std::string line = pad(field(ev, "height") + "." + field(ev, "index"), 9) + " " + pad(field(ev, "status"), 8) + " " +
                     pad(field(ev, "type"), 16) + " " + pad(field(ev, "doc"), 18) + " " + pad(field(ev, "signer"), 16) +
                     " " + short_id(field(ev, "id"));
  if (ev.contains("reason")) line += "  " + field(ev, "reason");
  out << line << "\n";
  out.flush();
}

// Errors after which following again cannot help (the node said no).
bool is_final(const Error& e) {
  return e.code != "io_error" && e.code != "timeout" && e.code != "unreachable" && e.code != "no_leader" &&
         e.code != "not_ready" && e.code != "overloaded" && e.code.rfind("http_5", 0) != 0;
}

int watch(Context& ctx) {
  auto doc = ctx.args.value("doc");
  if (doc && !contracts::is_doc_id(*doc)) throw UsageError{"--doc: '" + *doc + "' is not a document id"};
  auto type = ctx.args.value("type");
  if (type) {
    const auto types = contracts::known_types();
    if (std::find(types.begin(), types.end(), *type) == types.end())
      throw UsageError{"--type: unknown entry type '" + *type + "'"};
  }
  const auto from = ctx.args.integer("from-height", 1, crypto::kMaxSafeInteger);
  const auto limit = ctx.args.integer("limit", 1, crypto::kMaxSafeInteger);
  const auto retries = ctx.args.integer("retries", 0, 1000).value_or(5);
  const auto idle = std::chrono::milliseconds(ctx.args.integer("idle-timeout-ms", 100, 3'600'000).value_or(45'000));
  RestClient& client = ctx.client();

  std::optional<std::pair<std::int64_t, std::int64_t>> last;  // (height, index) of the last event printed
  std::int64_t printed = 0;
  std::int64_t failures = 0;
  for (;;) {
    std::string from_height;
    if (last) {
      from_height = std::to_string(last->first);  // replays that block; events already printed are skipped
    } else if (from) {
      from_height = std::to_string(*from);
    }
    const std::string target = with_query(
        "/v1/events", {{"doc", doc.value_or("")}, {"type", type.value_or("")}, {"from_height", from_height}});
    SseParser parser;
    bool done = false;
    bool dropped = false;
    bool too_long = false;
    auto on_event = [&](const SseEvent& e) {
      if (e.event == "dropped") {
        dropped = true;
        return false;
      }
      if (e.event != "entry") return true;
      auto ev = json::parse(e.data, nullptr, false);
      if (!ev.is_object()) {
        ctx.err << "onebill watch: skipped an event that is not JSON\n";
        return true;
      }
      std::pair<std::int64_t, std::int64_t> at{integer_at(ev, "height"), integer_at(ev, "index")};
      if (last && at <= *last) return true;
      last = at;
      failures = 0;
      if (ctx.json()) {
        ctx.out << e.data << "\n";
        ctx.out.flush();
      } else {
        print_event(ctx.out, ev);
      }
      if (limit && ++printed >= *limit) {
        done = true;
        return false;
      }
      return true;
    };
    Status s = client.stream(target, idle, [&](std::string_view bytes) {
      auto r = parser.feed(bytes, on_event);
      too_long = r == SseParser::Feed::line_too_long;
      return r == SseParser::Feed::more;
    });
    if (done) return kOk;
    if (too_long) return ctx.fail(make_error("bad_response", "the event stream has a line over 4 MiB"));
    std::string why = dropped ? "the node dropped this stream (too slow a consumer)"
                      : s     ? "the node ended the stream"
                              : s.error().code + ": " + s.error().message;
    if (!s && is_final(s.error())) return ctx.fail(s.error());
    if (++failures > retries) return ctx.fail(s ? make_error("stream_ended", why) : s.error());
    const auto backoff =
        std::chrono::milliseconds(std::min<std::int64_t>(5000, 250LL << std::min<std::int64_t>(failures - 1, 5)));
    ctx.err << "onebill watch: " << why << "; following again";
    if (last) ctx.err << " from height " << last->first;
    ctx.err << " in " << backoff.count() << " ms\n";
    std::this_thread::sleep_for(backoff);
  }
}

}  // namespace

std::vector<Command> node_commands() {
  std::vector<Command> out;
  out.push_back(Command{
      .name = "status",
      .synopsis = "",
      .summary =
          "Show the node: id, organisation, Raft role, term, leader, commit and applied index, height, peers and lag.",
      .description = "GET /v1/status (no token needed).",
      .uses_node = true,
      .run = &status});
  out.push_back(Command{
      .name = "watch",
      .synopsis = "[--doc D] [--type T] [--from-height H] [--limit N]",
      .summary = "Follow applied entries (GET /v1/events, server-sent events), one line each, until interrupted.",
      .description =
          "Each line: height.index, status, type, document, signer, entry id, and the reason of a rejection.\n"
          "With --json, one JSON object per line (the node's event). When the stream breaks or the node drops\n"
          "it, watch follows again from the last height it printed (no event is printed twice), up to --retries\n"
          "times in a row. Following every document needs a customs or auditor token; others name one with --doc.",
      .options = {{"doc", "D", "only entries on document D"},
                  {"type", "T", "only entries of type T"},
                  {"from-height", "H", "first replay the entries applied from height H on"},
                  {"limit", "N", "stop after N entries (exit 0)"},
                  {"retries", "N", "reconnections in a row before giving up (default 5)"},
                  {"idle-timeout-ms", "N",
                   "reconnect when nothing, not even a keep-alive, arrives for N ms (default 45000)"}},
      .uses_node = true,
      .run = &watch});
  return out;
}

}  // namespace onebill::clients::cli
