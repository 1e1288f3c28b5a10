// Fuzz target: the offline verifier's reading of an audit bundle alone — audit::parse_bundle_text
// (clients/audit/verify.h): the text splitter, the strict bundle parser, the fast entry reader and the structural
// checks ("json", "format", "genesis", "order", "head"), with fuzz_net's genesis. No signature, proof or replay is
// checked, so it runs thousands of inputs a second where the `bundle` target, which verifies everything, runs tens.
//
// Input: the bundle's bytes; the genesis is loaded once (audit::load_genesis). Properties beyond "no crash":
//   - a failure names one of the structural checks, and then no bundle is given;
//   - a bundle read holds what the checks promise: blocks in increasing height ending at the head, whose header
//     hashes to head.header_hash; entries in ledger order, each once, each in one of the blocks;
//   - a bundle read, written again (ledger::Bundle::to_json), reads back to the same bundle;
//   - the entries the verifier's streaming run cuts in the same pass as the top level (text::split) are the
//     pieces the strict run read, one for one;
//   - the fast reader of an entry reads each element of `entries` as the strict parser does, or leaves it to it.
// Not checked here: one thread against two. The entries are handed to the threads 64 at a time, and an input of
// libFuzzer's size (the seeds' largest, 9 KB) holds a handful, so a second thread would never get one; the `bundle`
// target and tests/audit compare thread counts on bundles long enough.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clients/audit/bundle_text.h"
#include "clients/audit/verify.h"
#include "tests/fuzz/bundle_reading.h"
#include "tests/fuzz/fuzz_net.h"

namespace {

using onebill::fuzz::entry_text;
using onebill::fuzz::property_failed;
namespace audit = onebill::audit;
namespace ledger = onebill::ledger;
constexpr const char* kTarget = "bundle_parse";
constexpr auto kAlg = onebill::crypto::HashAlg::sha256;  // fuzz_net's genesis

const std::set<std::string> kChecks = {"json", "format", "genesis", "order", "head"};

// The whole answer as text, to compare two of them.
std::string answer(const audit::ParsedBundle& p) {
  if (p.failure) {
    const auto& f = *p.failure;
    return f.check + "\n" + f.where + "\n" + f.message + "\n" + f.expected + "\n" + f.found;
  }
  std::string out = p.bundle.to_json().dump();
  for (const auto& e : p.bundle.entries) out += "\n" + e.envelope.canonical_tx + "\n" + e.envelope.id;
  return out;
}

void check_structure(const ledger::Bundle& b) {
  std::set<std::int64_t> heights;
  std::int64_t last = -1;
  for (const auto& blk : b.blocks) {
    if (blk.header.height <= last) property_failed(kTarget, "blocks read out of height order");
    last = blk.header.height;
    heights.insert(last);
  }
  if (b.blocks.empty() || last != b.head_height) property_failed(kTarget, "a bundle read whose last block is not its head");
  if (b.blocks.back().header.hash_hex(kAlg) != b.head_hash) property_failed(kTarget, "a head read with another hash");
  std::optional<std::pair<std::int64_t, std::uint64_t>> prev;
  for (const auto& e : b.entries) {
    const std::pair<std::int64_t, std::uint64_t> pos{e.height, e.index};
    if (prev && !(*prev < pos)) property_failed(kTarget, "entries read out of ledger order");
    prev = pos;
    if (heights.count(e.height) == 0) property_failed(kTarget, "an entry read whose block is not in the bundle");
  }
}

// The streaming run's cut of `entries`, made in the same pass as the top level, gives the pieces the strict run
// cut from the value of `entries` (verify.cpp, Verifier::parse_text) and read.
void check_cut(const audit::text::Pieces& top, const std::optional<std::vector<std::string_view>>& cut,
               const ledger::Bundle& b) {
  if (!cut) property_failed(kTarget, "the streaming run would not cut the entries the strict run read");
  std::optional<audit::text::Pieces> pieces;
  for (const auto& [k, v] : top) {
    if (k == "entries") pieces = audit::text::split(v, false);
  }
  if (!pieces || pieces->size() != b.entries.size()) property_failed(kTarget, "the strict run's entries are not cut so");
  if (cut->size() != pieces->size()) property_failed(kTarget, "the streaming run cuts another number of entries");
  for (std::size_t i = 0; i < cut->size(); ++i) {
    if ((*cut)[i] != (*pieces)[i].second) property_failed(kTarget, "the streaming run cuts an entry differently");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const audit::TrustedGenesis genesis = *audit::load_genesis(onebill::fuzz::FuzzNet::get().genesis_text());
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto one = audit::parse_bundle_text(genesis, text, 1);
  if (one.failure) {
    if (kChecks.count(one.failure->check) == 0) property_failed(kTarget, "not a structural check: " + one.failure->check);
    if (!one.bundle.blocks.empty() || !one.bundle.entries.empty()) property_failed(kTarget, "a failure with a bundle");
  }
  std::optional<std::vector<std::string_view>> cut;
  const auto top = audit::text::split(text, true, "entries", &cut);
  if (cut) {
    for (const auto& e : *cut) onebill::fuzz::check_fast_reading(kTarget, e, kAlg);
  }
  if (one.failure) return 0;
  if (!top) property_failed(kTarget, "the streaming run would not split a bundle the strict run read");
  check_structure(one.bundle);
  check_cut(*top, cut, one.bundle);
  const auto again = audit::parse_bundle_text(genesis, one.bundle.to_json().dump(), 1);
  if (answer(again) != answer(one)) property_failed(kTarget, "a bundle read and written again reads back differently");
  return 0;
}
