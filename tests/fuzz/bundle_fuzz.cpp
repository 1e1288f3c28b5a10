// Fuzz target: the offline verifier reading an audit bundle (clients/audit/verify.h, docs/formats/bundle.md) — the
// text splitter, the strict bundle parser and every check after it, on the fixed network of fuzz_net.h.
//
// Input: the bundle's bytes. Properties beyond "no crash":
//   - a report either holds (ok, no failure) or names a failure whose check is one of the documented names;
//   - one thread and two threads give the same answer (the first failure does not depend on the thread count);
//   - a bundle that verifies replayed and proved every one of its entries;
//   - the fast reader of an entry (clients/audit/bundle_text.h) reads each element of `entries` as the strict
//     parser does, or leaves it to it.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "clients/audit/bundle_text.h"
#include "clients/audit/verify.h"
#include "tests/fuzz/bundle_reading.h"
#include "tests/fuzz/fuzz_net.h"

namespace {

using onebill::fuzz::property_failed;
constexpr const char* kTarget = "bundle";

const std::set<std::string> kChecks = {"json",   "format",    "genesis",    "order",      "head",
                                       "result_proof", "log_proof", "signature", "nonce", "replay",
                                       "history", "membership", "certificate", "state"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string genesis = onebill::fuzz::FuzzNet::get().genesis_text();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto one = onebill::audit::verify_bundle_text(genesis, text, {}, 1);
  if (one.ok == one.failure.has_value()) property_failed(kTarget, "a report must hold or name one failure");
  if (one.failure && kChecks.count(one.failure->check) == 0) {
    property_failed(kTarget, "undocumented check name " + one.failure->check);
  }
  const auto two = onebill::audit::verify_bundle_text(genesis, text, {}, 2);
  if (one.to_json() != two.to_json()) property_failed(kTarget, "one thread and two threads disagree");
  if (one.ok && (one.counts.replayed != one.counts.entries || one.counts.result_proofs != one.counts.entries)) {
    property_failed(kTarget, "a verified bundle left entries unchecked");
  }
  std::optional<std::vector<std::string_view>> entries;
  if (onebill::audit::text::split(text, true, "entries", &entries) && entries) {
    for (const auto& e : *entries) onebill::fuzz::check_fast_reading(kTarget, e, onebill::crypto::HashAlg::sha256);
  }
  return 0;
}
