// verify (the offline verifier, clients/audit) and monitor (the tree-head monitor).
#include <unistd.h>

#include <iostream>
#include <ostream>
#include <set>

#include <chrono>
#include <fstream>
#include <thread>

#include "clients/audit/monitor.h"
#include "clients/audit/verify.h"
#include "clients/files.h"
#include "contracts/membership.h"
#include "node/ledger/format.h"
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
  t.row({"result proofs", std::to_string(c.result_proofs), "each entry, its outcome and reads are in its block"});
  t.row({"log proofs", std::to_string(c.log_proofs), "each accepted entry is in the head's append-only log"});
  t.row({"replayed", std::to_string(c.replayed), "the contracts reproduce every recorded outcome"});
  t.row({"chained reads", std::to_string(c.chained_reads), "no entry on these documents is missing between two"});
  t.row({"membership", std::to_string(c.membership), "roles and keys rebuilt from genesis match each block"});
  t.row({"attestations", std::to_string(c.attestations), "valid signatures of voting nodes over headers"});
  t.row({"certified", std::to_string(c.certified) + " + " + std::to_string(c.linked) + " linked",
         "every header certified by a quorum, or chained to one"});
  t.row({"state proofs", std::to_string(c.state_proofs), "each document's replayed state is its state at the head"});
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
  ProgressBar bar(ctx);
  const audit::Report report = audit::verify_bundle_text(genesis, text, bar.callback());
  if (report.failure && report.failure->check == "json") {
    throw UsageError{"the bundle " + bundle_path + " is not JSON (" + report.failure->message + ")"};
  }
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

// One watched node: "URL" or "URL,TOKEN_FILE" (a node's own token, when tokens differ per node).
struct Watched {
  std::string url;
  std::unique_ptr<RestClient> client;
};

std::vector<Watched> watched_nodes(Context& ctx) {
  std::vector<Watched> out;
  for (const auto& spec : ctx.args.values("node")) {
    const auto comma = spec.find(',');
    const std::string url = spec.substr(0, comma);
    auto parsed = parse_node_url(url);
    if (!parsed) throw UsageError{"--node " + spec + ": " + parsed.error().message};
    RestOptions options;
    options.token = ctx.token();
    options.timeout = std::chrono::seconds(10);
    if (comma != std::string::npos) {
      std::string token = ctx.read_input("the token file", spec.substr(comma + 1), 4096);
      token = token.substr(0, token.find_first_of("\r\n"));
      options.token = token;
    }
    out.push_back(Watched{parsed->text(), std::make_unique<RestClient>(*parsed, options)});
  }
  if (out.empty()) throw UsageError{"name at least one --node to watch"};
  return out;
}

// The head's log_size and log_root are those of the header its attestations sign (GET /v1/blocks/{height}).
Status bound_to_header(RestClient& client, const audit::Head& h) {
  auto j = client.get_json("/v1/blocks/" + std::to_string(h.height));
  if (!j) return j.error();
  auto header = j->is_object() && j->contains("header") ? ledger::BlockHeader::from_json((*j)["header"])
                                                        : Result<ledger::BlockHeader>(make_error("bad_head", ""));
  if (!header) return make_error("bad_head", "the node's block " + std::to_string(h.height) + " has no valid header");
  // The hash algorithm does not matter for the comparison: both sides hash the same way if they agree.
  for (auto alg : {crypto::HashAlg::sha256, crypto::HashAlg::sm3}) {
    if (header->hash_hex(alg) == h.header_hash) {
      if (header->log_size != h.log_size || header->log_root != h.log_root) {
        return make_error("bad_head", "the head's log size/root are not those of the header its attestations sign");
      }
      return {};
    }
  }
  return make_error("bad_head", "block " + std::to_string(h.height) + " does not hash to the head's header hash");
}

// Valid attestations of a head by genesis's voting nodes, and the quorum.
std::pair<std::size_t, std::size_t> certificate(const contracts::Membership& members, const audit::Head& h) {
  std::size_t voters = 0;
  std::size_t valid = 0;
  for (const auto& [id, n] : members.nodes()) voters += n.voter ? 1 : 0;
  std::set<std::string> counted;
  const json atts = h.raw.is_object() && h.raw.contains("attestations") && h.raw["attestations"].is_array()
                        ? h.raw["attestations"]
                        : json::array();
  for (const auto& a : atts) {
    auto att = ledger::Attestation::from_json(a);
    if (!att || att->header_hash != h.header_hash || att->height != h.height || counted.count(att->node) != 0) continue;
    const contracts::Node* n = members.node(att->node);
    if (n == nullptr || !n->voter) continue;
    auto pub = crypto::PublicKey::from_pem_any(n->tls_pub);
    if (pub && ledger::verify_attestation(*pub, members.network(), *att)) {
      counted.insert(att->node);
      ++valid;
    }
  }
  return {valid, voters / 2 + 1};
}

int monitor(Context& ctx) {
  auto nodes = watched_nodes(ctx);
  std::optional<contracts::Membership> members;
  crypto::HashAlg alg = crypto::HashAlg::sha256;
  if (auto g = ctx.args.value("genesis")) {
    auto m = contracts::Membership::from_genesis(ctx.read_input("the genesis file", *g));
    if (!m) throw UsageError{"--genesis " + *g + ": " + m.error().message};
    members = std::move(*m);
    alg = members->hash_alg();
  }
  const bool once = ctx.args.flag("once");
  const auto polls = ctx.args.integer("polls", 1, 1'000'000'000);
  const auto interval = ctx.args.integer("interval", 1, 86'400).value_or(5);
  const auto state_file = ctx.args.value("state");
  audit::HeadTracker tracker(alg);
  if (state_file && std::filesystem::exists(*state_file)) {
    json j = json::parse(ctx.read_input("the state file", *state_file), nullptr, false);
    auto t = audit::HeadTracker::from_json(j, alg);
    if (!t) throw UsageError{"--state " + *state_file + ": " + t.error().message};
    tracker = std::move(*t);
  }
  std::map<std::string, RestClient*> by_url;
  for (auto& n : nodes) by_url[n.url] = n.client.get();
  const audit::HeadTracker::ProofFn proof = [&](const std::string& node, std::uint64_t from, std::uint64_t to)
      -> Result<std::vector<crypto::Digest>> {
    auto it = by_url.find(node);
    if (it == by_url.end()) return make_error("unreachable", node + " is not watched in this run");
    auto j = it->second->get_json("/v1/log/consistency?from=" + std::to_string(from) + "&to=" + std::to_string(to));
    if (!j) return j.error();
    if (!j->is_object() || !j->contains("proof") || !(*j)["proof"].is_array()) {
      return make_error("bad_response", node + " sent a consistency proof that is not {proof: [...]}");
    }
    std::vector<crypto::Digest> path;
    for (const auto& d : (*j)["proof"]) {
      auto digest = crypto::digest_from_hex(d.is_string() ? d.get<std::string>() : "");
      if (!digest) return make_error("bad_response", node + " sent a consistency proof that is not a list of digests");
      path.push_back(*digest);
    }
    return path;
  };

  const std::int64_t rounds = once ? 1 : polls.value_or(-1);
  for (std::int64_t round = 0; rounds < 0 || round < rounds; ++round) {
    if (round > 0) std::this_thread::sleep_for(std::chrono::seconds(interval));
    std::size_t answered = 0;
    json lines = json::array();
    for (auto& n : nodes) {
      json line = {{"node", n.url}};
      auto j = n.client->get_json("/v1/log/head");
      auto head = j ? audit::Head::from_json(n.url, *j) : Result<audit::Head>(j.error());
      // The attestations sign the header hash only: take the log's size and root from that header.
      if (head) {
        if (Status s = bound_to_header(*n.client, *head); !s) head = s.error();
      }
      if (!head) {
        line["error"] = head.error().code + ": " + head.error().message;
      } else {
        ++answered;
        line["height"] = head->height;
        line["log_size"] = head->log_size;
        line["log_root"] = head->log_root;
        if (members) {
          auto [valid, quorum] = certificate(*members, *head);
          line["attestations"] = valid;
          if (valid < quorum) {
            line["error"] = "uncertified: " + std::to_string(valid) + " valid attestations by genesis voters, " +
                            std::to_string(quorum) + " needed";
            lines.push_back(line);
            continue;
          }
        }
        auto fork = tracker.observe(*head, proof);
        if (!fork) {
          line["error"] = fork.error().code + ": " + fork.error().message;
        } else if (*fork) {
          if (ctx.json()) {
            ctx.out << json{{"fork", (*fork)->to_json()}}.dump(2) << "\n";
          } else {
            ctx.out << "FORK (" << (*fork)->kind << "): " << (*fork)->detail << "\nEvidence (both signed heads):\n"
                    << (*fork)->to_json().dump(2) << "\n";
          }
          if (state_file) (void)files::write_atomic(*state_file, tracker.to_json().dump(2) + "\n", 0644, files::Overwrite::yes);
          return kInvalid;
        } else {
          line["consistent"] = true;
        }
      }
      lines.push_back(line);
    }
    if (ctx.json()) {
      ctx.out << json{{"round", round + 1}, {"nodes", lines}}.dump() << "\n";
    } else {
      for (const auto& l : lines) {
        ctx.out << field(l, "node") << "  ";
        if (l.contains("error")) {
          ctx.out << "error: " << string_at(l, "error") << "\n";
          continue;
        }
        ctx.out << "height " << field(l, "height") << "  log " << field(l, "log_size") << "  root "
                << short_id(string_at(l, "log_root"), 16) << "  consistent";
        if (l.contains("attestations")) ctx.out << "  (" << field(l, "attestations") << " attestations)";
        ctx.out << "\n";
      }
    }
    ctx.out.flush();
    if (state_file) {
      if (Status s = files::write_atomic(*state_file, tracker.to_json().dump(2) + "\n", 0644, files::Overwrite::yes); !s) return ctx.fail(s.error());
    }
    if (once && answered == 0) return ctx.fail(make_error("unreachable", "no node answered with a tree head"));
  }
  return kOk;
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
  out.push_back(Command{
      .name = "monitor",
      .synopsis = "--node URL[,TOKEN_FILE]... [--once | --polls N] [--interval S] [--genesis FILE] [--state FILE]",
      .summary = "Watch nodes' certified tree heads: one append-only log, no forks (CT-style monitor).",
      .description =
          "Each round asks every node for its certified head (GET /v1/log/head) and checks it against the largest\n"
          "head verified so far with an RFC 6962 consistency proof (GET /v1/log/consistency), and that no two heads\n"
          "of the same size have different roots. With --genesis, each head must also carry a quorum of valid\n"
          "attestations by genesis's voting nodes. A fork is printed with both signed heads as evidence (exit 5).\n"
          "--state keeps what was verified between runs, so a rolled-back or rewritten log is caught by a later run\n"
          "(e.g. --once from cron). Runs until interrupted unless --once or --polls.",
      .options = {{"node", "URL[,TOKEN_FILE]", "a node to watch, with its own token file if tokens differ per node", true},
                  {"once", "", "one round, then exit"},
                  {"polls", "N", "N rounds, then exit"},
                  {"interval", "S", "seconds between rounds (default 5)"},
                  {"genesis", "FILE", "check each head's attestations against genesis's voting nodes"},
                  {"state", "FILE", "load and save the verified heads here"},
                  {"json", "", "one JSON line per round"}},
      .uses_node = true,
      .run = &monitor});
  return out;
}

}  // namespace onebill::clients::cli
