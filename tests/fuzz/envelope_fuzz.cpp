// Fuzz target: a signed entry as a node receives it — decoding (contracts::parse_envelope), the signer and its
// signature (resolve_signer, then the key's verify, as admission does), and the contracts applied to it
// (apply_block) over the fixed network and state of fuzz_net.h.
//
// Input: the bytes of an envelope {"tx": {...}, "sig": "..."}. Properties beyond "no crash":
//   - refusals carry a documented code;
//   - the id is the hash of canonical(tx), and the envelope survives envelope_to_json -> envelope_from_json and
//     canonical(tx) -> tx_from_json with the same id and signature;
//   - applying the entry is deterministic (twice: the same result and writes), a rejection writes nothing and has
//     a reason, an acceptance has no reason and writes the signer's nonce window.
// The contracts are applied with the signature check stubbed to "valid", so mutated entries reach the rules; the
// real check runs before and is what admission would answer.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "contracts/apply.h"
#include "crypto/canonical_json.h"
#include "tests/fuzz/fuzz_net.h"

namespace {

using nlohmann::json;
using onebill::fuzz::property_failed;
namespace contracts = onebill::contracts;
namespace crypto = onebill::crypto;

constexpr const char* kTarget = "envelope";

const std::set<std::string>& parse_codes() {
  static const std::set<std::string> codes = {"too_large",     "too_deep", "bad_json",      "duplicate_key",
                                              "non_ascii_key", "float",    "integer_range", "bad_envelope"};
  return codes;
}

void check_round_trips(const contracts::Envelope& e) {
  if (e.id != crypto::hex(crypto::hash(crypto::HashAlg::sha256, e.canonical_tx))) {
    property_failed(kTarget, "the id is not the hash of canonical(tx)");
  }
  auto back = contracts::envelope_from_json(contracts::envelope_to_json(e), crypto::HashAlg::sha256);
  if (!back) property_failed(kTarget, "envelope_to_json output does not parse: " + back.error().message);
  if (back->id != e.id || back->sig != e.sig || back->canonical_tx != e.canonical_tx) {
    property_failed(kTarget, "envelope_to_json -> envelope_from_json changes the entry");
  }
  auto tx_json = crypto::parse_strict(e.canonical_tx);
  if (!tx_json) property_failed(kTarget, "canonical(tx) does not parse: " + tx_json.error().message);
  auto tx = contracts::tx_from_json(*tx_json);
  if (!tx) property_failed(kTarget, "canonical(tx) is not a tx: " + tx.error().message);
  auto id = contracts::tx_id(crypto::HashAlg::sha256, *tx);
  if (!id || *id != e.id) property_failed(kTarget, "canonical(tx) -> tx gives another id");
}

void check_apply(const contracts::Envelope& e) {
  const auto& net = onebill::fuzz::FuzzNet::get();
  auto run = [&] {
    contracts::Membership membership = net.membership();
    return contracts::apply_block(std::span(&e, 1), net.height() + 1, net.time_ms() + 1000, net.state(), membership,
                                  [](const contracts::Envelope&, const contracts::Key&) { return true; });
  };
  auto first = run();
  if (!first) property_failed(kTarget, "apply_block failed on an in-memory state: " + first.error().message);
  auto second = run();
  if (!second) property_failed(kTarget, "apply_block failed the second time");
  const contracts::Outcome& a = first->outcomes.at(0);
  const contracts::Outcome& b = second->outcomes.at(0);
  if (a.result_json() != b.result_json() || a.writes != b.writes || a.documents != b.documents ||
      first->writes != second->writes) {
    property_failed(kTarget, "apply is not deterministic");
  }
  if (a.tx_id != e.id) property_failed(kTarget, "the outcome names another tx id");
  if (!a.accepted) {
    if (a.reason.empty()) property_failed(kTarget, "a rejection without a reason");
    if (!a.writes.empty() || !first->writes.empty()) property_failed(kTarget, "a rejected entry wrote state");
    if (a.membership_change) property_failed(kTarget, "a rejected entry changed the membership");
  } else {
    if (!a.reason.empty()) property_failed(kTarget, "an acceptance with a reason");
    if (a.writes.empty()) property_failed(kTarget, "an accepted entry wrote nothing (not even its nonce)");
  }
  // The result is what a block records: it must canonicalize.
  if (!crypto::canonicalize(a.result_json())) property_failed(kTarget, "the result does not canonicalize");
}

// The submission's fast path (envelope_from_canonical) reads an envelope only when parse_envelope reads the same
// one, and every canonical envelope parse_envelope reads.
void check_fast_path(std::string_view text, const onebill::Result<contracts::Envelope>& e) {
  auto fast = contracts::envelope_from_canonical(text, crypto::HashAlg::sha256);
  if (fast) {
    if (!e) property_failed(kTarget, "envelope_from_canonical read what parse_envelope refuses: " + e.error().message);
    const contracts::Tx& a = fast->tx;
    const contracts::Tx& b = e->tx;
    if (fast->id != e->id || fast->sig != e->sig || fast->canonical_tx != e->canonical_tx || a.body != b.body ||
        a.type != b.type || a.doc != b.doc || a.signer != b.signer || a.nonce != b.nonce || a.ts != b.ts) {
      property_failed(kTarget, "envelope_from_canonical and parse_envelope read different envelopes");
    }
  } else if (e && text == contracts::envelope_to_json(*e).dump()) {
    property_failed(kTarget, "envelope_from_canonical refused a canonical envelope");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& net = onebill::fuzz::FuzzNet::get();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = contracts::parse_envelope(text, crypto::HashAlg::sha256);
  check_fast_path(text, e);
  if (!e) {
    if (parse_codes().count(e.error().code) == 0) {
      property_failed(kTarget, "undocumented error code " + e.error().code);
    }
    return 0;
  }
  check_round_trips(*e);
  // Verification as admission does it: the key in force, then the signature with that key's PEM.
  auto key = contracts::resolve_signer(*e, net.membership());
  if (key) {
    auto pub = crypto::PublicKey::from_pem_any((*key)->pub);
    if (!pub) property_failed(kTarget, "a genesis key does not load");
    bool valid = pub->verify(e->canonical_tx, e->sig);
    const crypto::PublicKey* fixed = net.public_key((*key)->id);
    if (fixed == nullptr || fixed->verify(e->canonical_tx, e->sig) != valid) {
      property_failed(kTarget, "two loads of one key disagree on a signature");
    }
  } else if (key.error().code != "unknown_key" && key.error().code != "revoked_key") {
    property_failed(kTarget, "resolve_signer: undocumented code " + key.error().code);
  }
  check_apply(*e);
  return 0;
}
