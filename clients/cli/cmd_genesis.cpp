// genesis init | add-org | add-node | params: build genesis.json step by step (clients/genesis_builder.h).
#include <ostream>

#include <nlohmann/json.hpp>

#include "clients/cli/cli.h"
#include "clients/genesis_builder.h"

namespace onebill::clients::cli {
namespace {

using nlohmann::json;

// A refused step: argument errors are usage errors (exit 2), a result Membership rejects is an error (exit 1).
int refuse(Context& ctx, const Error& e) {
  if (e.code == "bad_argument") throw UsageError{"--" + e.message};
  ctx.err << "onebill " << ctx.command.name << ": the file is unchanged\n";
  return ctx.fail(e);
}

json load(const std::string& file) {
  auto g = genesis::load(file);
  if (!g) throw UsageError{"FILE: " + g.error().message};
  return *g;
}

int saved(Context& ctx, const std::string& file, const json& g, bool overwrite) {
  if (Status s = genesis::save(file, g, overwrite); !s) {
    if (s.error().code == "exists") throw UsageError{"--out: " + s.error().message + " (use --force to replace it)"};
    return refuse(ctx, s.error());
  }
  auto hash = genesis::genesis_hash(g);
  const std::size_t orgs = g["orgs"].size(), nodes = g["nodes"].size();
  if (ctx.json()) {
    ctx.out
        << json{{"file", file},   {"network", g.value("network", "")}, {"hash", g.value("hash", "")}, {"orgs", orgs},
                {"nodes", nodes}, {"genesis_hash", hash ? *hash : ""}}
               .dump()
        << "\n";
    return kOk;
  }
  ctx.out << file << ": network " << g.value("network", "") << " (" << g.value("hash", "") << "), " << orgs
          << (orgs == 1 ? " organisation, " : " organisations, ") << nodes << (nodes == 1 ? " node" : " nodes") << "\n";
  if (hash) ctx.out << "genesis hash " << *hash << "\n";
  if (orgs == 0) ctx.out << "(a draft: add an organisation with 'onebill genesis add-org')\n";
  if (orgs > 0 && nodes == 0) ctx.out << "(no nodes yet: add them with 'onebill genesis add-node')\n";
  return kOk;
}

int init(Context& ctx) {
  const std::string network = ctx.args.required("network");
  const std::string hash = ctx.args.value("hash").value_or("sha256");
  const std::string out = ctx.args.required("out");
  auto g = genesis::init(network, hash);
  if (!g) return refuse(ctx, g.error());
  return saved(ctx, out, *g, ctx.args.flag("force"));
}

int add_org(Context& ctx) {
  const std::string file = ctx.args.positionals().at(0);
  genesis::OrgSpec org;
  org.id = ctx.args.required("id");
  org.name = ctx.args.required("name");
  org.roles = parse_list("--roles", ctx.args.required("roles"));
  if (auto l = ctx.args.value("locations")) org.locations = parse_list("--locations", *l);
  org.key_id = ctx.args.value("key-id");
  if (auto pub = ctx.args.value("pub")) org.pub_pem = ctx.read_input("--pub", *pub, 64 << 10);
  json g = load(file);
  if (Status s = genesis::add_org(g, org); !s) return refuse(ctx, s.error());
  return saved(ctx, file, g, true);
}

int add_node(Context& ctx) {
  const std::string file = ctx.args.positionals().at(0);
  genesis::NodeSpec node;
  node.id = ctx.args.required("id");
  node.org = ctx.args.required("org");
  node.raft = ctx.args.required("raft");
  node.api = ctx.args.required("api");
  node.tls_pub_pem = ctx.read_input("--tls-pub", ctx.args.required("tls-pub"), 64 << 10);
  node.voter = !ctx.args.flag("learner");
  json g = load(file);
  if (Status s = genesis::add_node(g, node); !s) return refuse(ctx, s.error());
  return saved(ctx, file, g, true);
}

int params(Context& ctx) {
  const std::string file = ctx.args.positionals().at(0);
  genesis::Params p;
  p.block_max_entries = ctx.args.integer("block-max-entries", 1, 100000);
  p.block_max_delay_ms = ctx.args.integer("block-max-delay-ms", 0, 10000);
  if (auto e = ctx.args.value("election-timeout-ms")) {
    auto parts = parse_list("--election-timeout-ms", *e);
    if (parts.size() != 2) throw UsageError{"--election-timeout-ms: expected LO,HI (e.g. 300,600)"};
    p.election_timeout_ms = std::make_pair(parse_integer("--election-timeout-ms", parts[0], 1, 60000),
                                           parse_integer("--election-timeout-ms", parts[1], 1, 60000));
  }
  if (!p.block_max_entries && !p.block_max_delay_ms && !p.election_timeout_ms) {
    throw UsageError{"nothing to set: give --block-max-entries, --block-max-delay-ms or --election-timeout-ms"};
  }
  json g = load(file);
  if (Status s = genesis::set_params(g, p); !s) return refuse(ctx, s.error());
  return saved(ctx, file, g, true);
}

}  // namespace

std::vector<Command> genesis_commands() {
  const char* const kCommon =
      "Every step is checked with the same code a node runs on start (contracts::Membership) before the file is\n"
      "replaced, atomically: a refused step leaves the file as it was.";
  std::vector<Command> out;
  out.push_back(Command{
      .name = "genesis init",
      .synopsis = "--network NAME [--hash sha256|sm3] --out FILE [--force]",
      .summary = "Start a genesis.json: network name, hash algorithm and default parameters, no organisations yet.",
      .description =
          std::string("The hash (sha256 or sm3) names tx ids, blocks and the log for the network's whole life.\n") +
          kCommon,
      .options = {{"network", "NAME", "the network's name, e.g. tianjin-eurasia-devnet"},
                  {"hash", "ALG", "sha256 (default) or sm3"},
                  {"out", "FILE", "the genesis file to create"},
                  {"force", "", "replace an existing FILE"}},
      .run = &init});
  out.push_back(Command{
      .name = "genesis add-org",
      .synopsis = "FILE --id ORG --name NAME --roles R1,R2 [--key-id ORG/K --pub PEMFILE] [--locations L1,L2]",
      .summary = "Add an organisation with its roles and (optionally) its first signature key.",
      .description =
          std::string("Roles: auditor, bank, customs, mto, port, rail_carrier, road_carrier, sea_carrier, trader,\n"
                      "warehouse. The key's algorithm is read from the PEM (from 'onebill keygen').\n") +
          kCommon,
      .options = {{"id", "ORG", "organisation id ([a-z0-9][a-z0-9_-]{0,31})"},
                  {"name", "NAME", "the organisation's name"},
                  {"roles", "R1,R2", "its roles, comma-separated"},
                  {"key-id", "ORG/K", "the id of its key, ORG/NAME"},
                  {"pub", "PEMFILE", "the key's public PEM (FILE.pub from keygen)"},
                  {"locations", "L1,L2", "UN/LOCODEs where the organisation operates as a port"}},
      .min_positionals = 1,
      .max_positionals = 1,
      .run = &add_org});
  out.push_back(
      Command{.name = "genesis add-node",
              .synopsis = "FILE --id N --org ORG --raft HOST:PORT --api HOST:PORT --tls-pub PEMFILE [--learner]",
              .summary = "Add a node: its organisation, Raft and API addresses, and the TLS public key its peers pin.",
              .description = kCommon,
              .options = {{"id", "N", "node id ([a-z0-9][a-z0-9_-]{0,31})"},
                          {"org", "ORG", "the organisation that runs it (add-org first)"},
                          {"raft", "HOST:PORT", "address of its Raft peer channel"},
                          {"api", "HOST:PORT", "address of its REST API"},
                          {"tls-pub", "PEMFILE", "its TLS public key (from 'onebill keygen')"},
                          {"learner", "", "a non-voting node (e.g. an auditor's)"}},
              .min_positionals = 1,
              .max_positionals = 1,
              .run = &add_node});
  out.push_back(
      Command{.name = "genesis params",
              .synopsis = "FILE [--block-max-entries N] [--block-max-delay-ms N] [--election-timeout-ms LO,HI]",
              .summary = "Set network parameters: block size and delay, Raft election timeout range.",
              .description = kCommon,
              .options = {{"block-max-entries", "N", "entries per block at most (1 to 100000; default 2000)"},
                          {"block-max-delay-ms", "N", "how long a block waits to fill (0 to 10000; default 50)"},
                          {"election-timeout-ms", "LO,HI",
                           "Raft election timeout range (50 <= LO <= HI <= 60000; default 300,600)"}},
              .min_positionals = 1,
              .max_positionals = 1,
              .run = &params});
  return out;
}

}  // namespace onebill::clients::cli
