// Offline verification speed: builds an audit bundle of N entries the way nodes certify them (contracts applied
// block by block, headers with tx/result roots, the transparency log, attestations), then times `onebill verify`'s
// work on it — audit::verify_bundle_text on the JSON text, on every core (--threads). Prints one line:
//
//   entries=N alg=ecdsa-p256 threads=T bytes=B seconds=S cpu_seconds=C entries_per_s=R entries_per_cpu_s=Q
//
// tests/bench/verify-vs-openssl runs it beside `openssl speed` and reports the ratio (docs/performance.md).
//
//   verify_bench [--entries N] [--alg ecdsa-p256|ed25519|sm2] [--block B] [--threads T (0 = all)]
//                [--out FILE (and FILE.genesis.json)] [--in FILE (a bundle saved with --out: no signing, no building)]
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include "clients/audit/verify.h"
#include "contracts/membership.h"
#include "node/ledger/bundle.h"
#include "node/ledger/format.h"
#include "tests/support/bundle_builder.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;

namespace {

// The entries of group g (4 per group): a bonded receipt issued, a pledge on it requested, approved by customs and
// accepted by the bank.
std::vector<json> group(testing::TestNet& net, std::size_t g) {
  const std::string wr = "WR-" + std::to_string(g);
  const std::string pl = "PL-" + std::to_string(g);
  json receipt = {{"holder", "trader"},
                  {"goods",
                   {{"description", "Copper cathodes"}, {"hs", "740311"}, {"quantity", 25}, {"unit", "TNE"}, {"gross_kg", 25000}}},
                  {"location", "CNTSN"},
                  {"lot", "LOT-" + std::to_string(g)},
                  {"bonded", true}};
  json pledge = {{"collateral", wr}, {"bank", "bank1"}, {"amount", {{"value", 30000000}, {"ccy", "CNY"}}}, {"due", "2027-06-30"}};
  return {net.envelope("tjwh", "receipt.issue", wr, receipt), net.envelope("trader", "pledge.request", pl, pledge),
          net.envelope("customs", "pledge.approve", pl, {{"approve", true}, {"reference", "PA-" + std::to_string(g)}}),
          net.envelope("bank1", "pledge.accept", pl, json::object())};
}

// The genesis and the bundle's text: n entries signed with `sig_alg`, certified in blocks of block_size.
Result<std::pair<std::string, std::string>> build(std::size_t n, std::size_t block_size, crypto::SigAlg sig_alg,
                                                  const std::string& alg_name) {
  const auto dir = std::filesystem::temp_directory_path() / ("onebill-verify-bench-" + std::to_string(::getpid()));
  testing::TestNet net(dir, 1, 0, sig_alg);
  const std::string genesis = testing::read_text(net.genesis_path());
  auto members = contracts::Membership::from_genesis(genesis);
  auto node_key = crypto::PrivateKey::from_pem_any(testing::read_text(net.nodes()[0].dir / "tls.pem"));
  std::filesystem::remove_all(dir);
  if (!members || !node_key) return make_error("bench", "the test network does not load");
  const auto alg = members->hash_alg();

  std::cerr << "signing " << n << " entries (" << alg_name << ")...\n";
  std::vector<contracts::Envelope> entries;
  entries.reserve(n);
  for (std::size_t g = 0; g < n / 4; ++g) {
    for (const auto& e : group(net, g)) {
      auto env = contracts::envelope_from_json(e, alg);
      if (!env) return make_error("bench", "an entry does not parse: " + env.error().message);
      entries.push_back(std::move(*env));
    }
  }

  std::cerr << "applying and certifying...\n";
  auto bundle = testing::certify_as_bundle(genesis, entries, *node_key, "n1", {.block_size = block_size});
  if (!bundle) return make_error("bench", "building the bundle: " + bundle.error().message);
  for (const auto& e : bundle->entries) {
    if (!e.accepted) return make_error("bench", "an entry was rejected: " + e.reason);
  }
  return std::pair{genesis, bundle->to_json().dump()};
}

int fail(const std::string& what) {
  std::cerr << "verify_bench: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 100000;
  std::size_t block_size = 500;
  std::string alg_name = "ecdsa-p256";
  std::string out_file;
  std::string in_file;
  unsigned threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--entries" && has_value) {
      n = std::stoul(argv[++i]);
    } else if (a == "--block" && has_value) {
      block_size = std::stoul(argv[++i]);
    } else if (a == "--alg" && has_value) {
      alg_name = argv[++i];
    } else if (a == "--threads" && has_value) {
      threads = static_cast<unsigned>(std::stoul(argv[++i]));
    } else if (a == "--out" && has_value) {
      out_file = argv[++i];
    } else if (a == "--in" && has_value) {
      in_file = argv[++i];
    } else {
      std::cerr << "usage: verify_bench [--entries N] [--alg ecdsa-p256|ed25519|sm2] [--block B] [--threads T] [--out FILE] [--in FILE]\n";
      return 2;
    }
  }
  auto sig_alg = crypto::parse_sig_alg(alg_name);
  if (!sig_alg) return fail("unknown --alg " + alg_name);
  n -= n % 4;
  if (n == 0 || block_size == 0) return fail("--entries must be at least 4 and --block at least 1");

  std::string genesis;
  std::string text;
  if (!in_file.empty()) {
    genesis = testing::read_text(in_file + ".genesis.json");
    text = testing::read_text(in_file);
    n = 0;  // every entry of the file
  } else {
    auto built = build(n, block_size, *sig_alg, alg_name);
    if (!built) return fail(built.error().message);
    genesis = std::move(built->first);
    text = std::move(built->second);
  }
  if (!out_file.empty()) {  // the bundle, and its genesis beside it (FILE.genesis.json), for 'onebill verify'
    std::ofstream(out_file) << text;
    std::ofstream(out_file + ".genesis.json") << genesis;
  }

  std::cerr << "verifying " << text.size() << " bytes...\n";
  using Clock = std::chrono::steady_clock;
  // As 'onebill verify' does: from the text, entries parsed and signatures checked on every core.
  const auto cpu = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  };
  const double cpu0 = cpu();
  const auto t1 = Clock::now();
  const audit::Report report = audit::verify_bundle_text(genesis, text, {}, threads);
  const auto t2 = Clock::now();
  if (!report.ok) return fail("the bundle does not verify: " + report.to_json().dump());
  if (n == 0) n = report.counts.entries;
  if (report.counts.entries != n || report.counts.replayed != n || report.counts.signatures != n) {
    return fail("not every entry was checked");
  }
  const double seconds = std::chrono::duration<double>(t2 - t1).count();
  const double cpu_seconds = cpu() - cpu0;
  std::cout << "entries=" << n << " alg=" << alg_name << " threads=" << (threads == 0 ? std::thread::hardware_concurrency() : threads)
            << " bytes=" << text.size() << " seconds=" << seconds << " cpu_seconds=" << cpu_seconds
            << " entries_per_s=" << static_cast<double>(n) / seconds
            << " entries_per_cpu_s=" << static_cast<double>(n) / cpu_seconds << "\n";
  return 0;
}
