// What the bundle targets (bundle_fuzz.cpp, bundle_parse_fuzz.cpp) both check of the way the verifier reads a
// bundle's entries (clients/audit/bundle_text.h).
#pragma once

#include <string>
#include <string_view>

#include "clients/audit/bundle_text.h"
#include "crypto/canonical_json.h"
#include "node/ledger/bundle.h"
#include "tests/fuzz/fuzz_net.h"

namespace onebill::fuzz {

// An entry as text: its JSON, its signed bytes and its id (two entries are the same when these are).
inline std::string entry_text(const ledger::BundleEntry& e) {
  ledger::Bundle b;
  b.entries = {e};
  return b.to_json()["entries"][0].dump() + "\n" + e.envelope.canonical_tx + "\n" + e.envelope.id;
}

// The fast reader of an entry reads an element of `entries` as the strict parser does, or leaves it to it.
inline void check_fast_reading(const char* target, std::string_view entry, crypto::HashAlg alg) {
  auto fast = audit::text::parse_entry_fast(entry, alg);
  if (!fast) return;
  auto j = crypto::parse_strict(entry, audit::text::kPieceLimits);
  if (!j) property_failed(target, "the fast reader read an entry the strict parser refuses: " + j.error().message);
  auto strict = ledger::BundleEntry::from_json(*j, "e", alg);
  if (!strict) property_failed(target, "the fast reader read a malformed entry: " + strict.error().message);
  if (entry_text(*fast) != entry_text(*strict)) property_failed(target, "the fast reader read an entry differently");
}

}  // namespace onebill::fuzz
