// What one node does with a committed block, without the network: the work of the node's Raft thread on apply
// (node::Ledger::apply — decoding the block, the rules, the state tree, the Merkle log and the block's one LevelDB
// batch), measured in one process on onebill-bench's entry mix, against a reference measured in the same run.
//
// Passes, each on a fresh database in a temp folder (nothing else runs; the numbers are CPU time of this process):
//
//   verify    one signature verification per entry with the signer's key (the reference: the part of a node's
//             work per entry that the cost model fixes)
//   apply     Ledger::apply of every block, the signatures already verified (as on the node that admitted them,
//             whose verification cache lets apply skip them): everything else the Raft thread does per entry
//   full      Ledger::apply with every signature verified on apply (as on a node that did not see the entries
//             before: the verifications run on the worker pool and the applying thread)
//
// Prints microseconds of CPU per entry for each pass and its ratio to `verify`, and checks that every entry was
// recorded as accepted (the mix is one every rule accepts).
//
//   apply_bench [--entries N] [--block B] [--lanes L] [--keys K] [--only apply|full] [--keep DIR]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "contracts/envelope.h"
#include "contracts/membership.h"
#include "node/ledger/format.h"
#include "node/ledger/ledger.h"
#include "node/store.h"
#include "node/worker_pool.h"
#include "tests/bench/bench_cluster.h"
#include "tests/bench/bench_workload.h"

using namespace onebill;

namespace {

double cpu_seconds() { return bench::cpu_seconds(::getpid()); }  // this process, every thread (bench_cluster.h)

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "apply_bench: " << what << "\n";
  std::exit(1);
}

struct Options {
  std::size_t entries = 40000;
  std::size_t block = 500;
  int lanes = 256;
  int keys = 16;
  std::string only;
  std::filesystem::path keep;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](long lo, long hi) -> long {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo || n > hi) {
        fail(a + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], not '" + v + "'");
      }
      return n;
    };
    if (a == "--entries") o.entries = static_cast<std::size_t>(number(1, 10'000'000));
    else if (a == "--block") o.block = static_cast<std::size_t>(number(1, 2000));
    else if (a == "--lanes") o.lanes = static_cast<int>(number(1, 100000));
    else if (a == "--keys") o.keys = static_cast<int>(number(1, 1024));
    else if (a == "--only") {
      o.only = value();
      if (o.only != "apply" && o.only != "full") fail("--only takes apply or full");
    } else if (a == "--keep") o.keep = value();
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: apply_bench [--entries N] [--block B] [--lanes L] [--keys K] [--only apply|full] [--keep DIR]\n"
                   "  Times node::Ledger::apply over onebill-bench's entry mix in one process (no network): CPU\n"
                   "  microseconds per entry of one signature verification (the reference), of apply with the\n"
                   "  signatures already verified, and of apply verifying them; each as a ratio to the reference.\n"
                   "  --entries: entries in all (default 40000); --block: entries per block (default 500, the size\n"
                   "  of blocks under onebill-bench's 256-connection load); --lanes/--keys as onebill-bench's\n"
                   "  --connections/--keys (defaults 256, 16); --only: run that pass alone after the reference (for\n"
                   "  a profiler); --keep DIR: keep the last pass's database there instead of a temp folder.\n";
      std::exit(0);
    } else fail("unknown argument '" + a + "' (--help)");
  }
  return o;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Pass {
  double cpu = 0;
  double wall = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto tmp = std::filesystem::temp_directory_path() / ("onebill-apply-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(tmp);

  // The benchmark network's genesis and keys (no node is started), and onebill-bench's pre-signed entries.
  bench::NetOptions net_opt;
  net_opt.dir = tmp / "net";
  net_opt.nodes = 3;
  net_opt.keys = o.keys;
  bench::BenchNet net(net_opt);
  const std::string genesis = read_file(net_opt.dir / "genesis.json");
  auto members = contracts::Membership::from_genesis(genesis);
  if (!members) fail("the genesis does not load: " + members.error().message);
  const crypto::HashAlg alg = members->hash_alg();
  auto genesis_hash = ledger::genesis_hash(genesis, alg);
  if (!genesis_hash) fail("the genesis does not hash");

  const std::size_t per_lane = (o.entries + static_cast<std::size_t>(o.lanes) - 1) / static_cast<std::size_t>(o.lanes);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::cerr << "signing " << per_lane * static_cast<std::size_t>(o.lanes) << " entries...\n";
  const auto lanes = bench::make_entries(net, o.keys, o.lanes, per_lane, threads);

  // Lanes interleaved (entry j of every lane, then j + 1), each lane's order kept, as the load interleaves them.
  std::vector<contracts::Envelope> entries;
  for (std::size_t j = 0; j < per_lane && entries.size() < o.entries; ++j) {
    for (const auto& lane : lanes) {
      if (j >= lane.size() || entries.size() >= o.entries) continue;
      auto env = contracts::parse_envelope(lane[j].envelope, alg);
      if (!env) fail("a pre-signed entry does not parse: " + env.error().message);
      entries.push_back(std::move(*env));
    }
  }
  std::vector<std::string> blocks;
  for (std::size_t i = 0; i < entries.size(); i += o.block) {
    ledger::BlockProposal b;
    b.time = 1795000000000 + static_cast<std::int64_t>(i);
    b.proposer = "n1";
    for (std::size_t k = i; k < std::min(entries.size(), i + o.block); ++k) b.entries.push_back(entries[k]);
    blocks.push_back(ledger::encode_block(b));
  }

  // The reference: one verification per entry, with the key the membership lists for its signer.
  Pass verify;
  {
    std::vector<crypto::PublicKey> keys;
    keys.reserve(entries.size());
    for (const auto& e : entries) {
      const contracts::Key* k = members->key(e.tx.signer);
      if (!k) fail("no key for " + e.tx.signer);
      auto pk = crypto::PublicKey::from_pem_any(k->pub);
      if (!pk) fail("the key of " + e.tx.signer + " does not parse");
      keys.push_back(std::move(*pk));
    }
    const double c0 = cpu_seconds();
    const auto w0 = std::chrono::steady_clock::now();
    std::size_t bad = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!keys[i].verify(entries[i].canonical_tx, entries[i].sig)) ++bad;
    }
    verify.cpu = cpu_seconds() - c0;
    verify.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    if (bad != 0) fail(std::to_string(bad) + " signatures do not verify");
  }

  auto run = [&](bool preverified, const std::filesystem::path& dir) {
    std::filesystem::remove_all(dir);
    auto store = node::Store::open(dir);
    if (!store) fail("cannot open a store in " + dir.string() + ": " + store.error().message);
    node::WorkerPool pool;
    node::VerifiedCache cache(entries.size() + 1);
    if (preverified) {
      for (const auto& e : entries) cache.add(e.id, e.sig);
    }
    node::Ledger ledger(**store, *members, *genesis_hash, pool, cache);
    if (Status s = ledger.open(); !s) fail("ledger open: " + s.error().message);
    std::size_t accepted = 0, included = 0;
    const double c0 = cpu_seconds();
    const auto w0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < blocks.size(); ++i) {
      auto r = ledger.apply(i + 1, blocks[i]);
      if (!r) fail("apply of block " + std::to_string(i + 1) + ": " + r.error().message);
      if (!*r) fail("block " + std::to_string(i + 1) + " was not applied");
      for (const auto& out : (*r)->outcomes) {
        ++included;
        if (out.accepted) ++accepted;
        else if (accepted + 1 == included) {
          std::cerr << "first rejected entry: " << out.tx_id << " " << out.reason << ": " << out.message << "\n";
        }
      }
    }
    Pass p;
    p.cpu = cpu_seconds() - c0;
    p.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    if (included != entries.size() || accepted != entries.size()) {
      fail(std::to_string(accepted) + " of " + std::to_string(entries.size()) + " entries accepted (" +
           std::to_string(included) + " included)");
    }
    return p;
  };

  const double n = static_cast<double>(entries.size());
  std::printf("apply_bench: %zu entries in %zu blocks of %zu (onebill-bench's mix, %d lanes, %d key slots, %s)\n",
              entries.size(), blocks.size(), o.block, o.lanes, o.keys, members->key(entries.front().tx.signer)->alg.c_str());
  std::printf("%-8s %12s %12s %14s\n", "pass", "cpu µs/entry", "wall µs/entry", "ratio to verify");
  auto line = [&](const char* name, const Pass& p) {
    std::printf("%-8s %12.1f %12.1f %14.2f\n", name, 1e6 * p.cpu / n, 1e6 * p.wall / n, p.cpu / verify.cpu);
  };
  line("verify", verify);
  const auto db_dir = o.keep.empty() ? tmp / "db" : o.keep;
  if (o.only.empty() || o.only == "apply") line("apply", run(true, db_dir));
  if (o.only.empty() || o.only == "full") line("full", run(false, db_dir));
  std::fflush(stdout);
  std::filesystem::remove_all(tmp);
  return 0;
}
