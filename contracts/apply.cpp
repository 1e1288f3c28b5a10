// The dispatcher: common rules of every entry, then the type's handler (apply.h states the contract).
#include "contracts/apply.h"

#include <algorithm>
#include <array>

#include "contracts/handlers.h"
#include "contracts/identifiers.h"
#include "contracts/nonce.h"
#include "contracts/reasons.h"

namespace onebill::contracts {
namespace {

struct TypeEntry {
  std::string_view type;
  Status (*handler)(TxContext&);
};

constexpr std::array kTypes = {
    TypeEntry{"bill.amend", handlers::bill_amend},
    TypeEntry{"bill.answer", handlers::bill_answer},
    TypeEntry{"bill.deliver", handlers::bill_deliver},
    TypeEntry{"bill.endorse", handlers::bill_endorse},
    TypeEntry{"bill.event", handlers::bill_event},
    TypeEntry{"bill.issue", handlers::bill_issue},
    TypeEntry{"bill.resolve", handlers::bill_resolve},
    TypeEntry{"bill.surrender", handlers::bill_surrender},
    TypeEntry{"bill.void", handlers::bill_void},
    TypeEntry{"customs.decide", handlers::customs_decide},
    TypeEntry{"gov.approve", handlers::gov_approve},
    TypeEntry{"gov.propose", handlers::gov_propose},
    TypeEntry{"pledge.accept", handlers::pledge_accept},
    TypeEntry{"pledge.approve", handlers::pledge_approve},
    TypeEntry{"pledge.cancel", handlers::pledge_cancel},
    TypeEntry{"pledge.decline", handlers::pledge_decline},
    TypeEntry{"pledge.enforce", handlers::pledge_enforce},
    TypeEntry{"pledge.release", handlers::pledge_release},
    TypeEntry{"pledge.request", handlers::pledge_request},
    TypeEntry{"receipt.endorse", handlers::receipt_endorse},
    TypeEntry{"receipt.issue", handlers::receipt_issue},
    TypeEntry{"receipt.release", handlers::receipt_release},
    TypeEntry{"receipt.withdraw", handlers::receipt_withdraw},
};
static_assert(std::is_sorted(kTypes.begin(), kTypes.end(),
                             [](const TypeEntry& a, const TypeEntry& b) { return a.type < b.type; }));

constexpr auto kTypeNames = [] {
  std::array<std::string_view, kTypes.size()> names{};
  for (std::size_t i = 0; i < kTypes.size(); ++i) names[i] = kTypes[i].type;
  return names;
}();

const TypeEntry* find_type(std::string_view type) {
  const auto it = std::lower_bound(kTypes.begin(), kTypes.end(), type,
                                   [](const TypeEntry& e, std::string_view t) { return e.type < t; });
  return it != kTypes.end() && it->type == type ? &*it : nullptr;
}

bool is_reason(std::string_view code) {
  return std::binary_search(reason::kAll.begin(), reason::kAll.end(), code);
}

// A rejection of `entry`; its history entry goes to tx.doc when that is a well-formed id.
Outcome rejection(const Envelope& entry, std::string_view code, std::string message) {
  Outcome o = Outcome::rejected(entry.id, code, std::move(message));
  if (is_doc_id(entry.tx.doc)) o.documents.push_back(entry.tx.doc);
  return o;
}

}  // namespace

Outcome Outcome::rejected(std::string tx_id, std::string_view reason, std::string message) {
  Outcome o;
  o.tx_id = std::move(tx_id);
  o.reason = std::string(reason);
  o.message = std::move(message);
  return o;
}

nlohmann::json Outcome::result_json() const {
  nlohmann::json j{{"id", tx_id}, {"status", accepted ? "accepted" : "rejected"}};
  if (!accepted) j["reason"] = reason;
  return j;
}

std::span<const std::string_view> known_types() { return kTypeNames; }

Result<const Key*> resolve_signer(const Envelope& entry, const Membership& membership) {
  const std::string& id = entry.tx.signer;
  const Key* key = is_key_id(id) ? membership.key(id) : nullptr;
  if (key == nullptr) return reject(reason::kUnknownKey, "no key " + id.substr(0, 128));
  if (key->revoked) return reject(reason::kRevokedKey, "key " + id + " was revoked at height " + std::to_string(*key->revoked));
  const Org* org = membership.org(key->org);
  if (org == nullptr || !org->active) return reject(reason::kRevokedKey, "organisation " + key->org + " was removed");
  return key;
}

namespace {

Result<Outcome> apply_recorded(const Envelope& entry, const BlockContext& block, const StateView& state,
                               const Membership& membership, DocumentCache* cache) {
  const Tx& tx = entry.tx;
  // 1. The signer (2, the signature, is the caller's).
  auto key = resolve_signer(entry, membership);
  if (!key) return rejection(entry, key.error().code, key.error().message);

  // 3. The nonce window.
  const std::string nonce_key = keys::nonce((*key)->id);
  auto stored = state.get(nonce_key);
  if (!stored) return stored.error();
  NonceWindow window;
  if (stored->has_value()) {
    auto parsed = NonceWindow::parse(**stored);
    if (!parsed) return parsed.error();
    window = parsed.value();
  }
  switch (window.check(tx.nonce)) {
    case NonceWindow::Check::stale:
      return rejection(entry, reason::kStaleNonce, "nonce " + std::to_string(tx.nonce) + " is below the window of " +
                                               (*key)->id + " (highest " + std::to_string(*window.highest()) + ")");
    case NonceWindow::Check::used:
      return rejection(entry, reason::kNonceUsed, "nonce " + std::to_string(tx.nonce) + " was already used by " + (*key)->id);
    case NonceWindow::Check::fresh:
      break;
  }

  // 4. Type and document id; the handler checks its body first.
  const TypeEntry* type = find_type(tx.type);
  if (type == nullptr) return rejection(entry, reason::kUnknownType, "unknown type \"" + tx.type.substr(0, 64) + "\"");
  if (!is_doc_id(tx.doc)) return rejection(entry, reason::kBadBody, "doc: expected a document id");

  // 5. The rules.
  TxContext ctx(entry, block, state, membership, (*key)->org, cache);
  const Status status = type->handler(ctx);
  if (ctx.fault()) return *ctx.fault();
  if (!status) {
    if (!is_reason(status.error().code)) {
      return make_error("internal", tx.type + " rejected with a code outside the catalogue: " + status.error().code);
    }
    return rejection(entry, status.error().code, status.error().message);
  }
  window.mark(tx.nonce);
  ctx.put(nonce_key, window.canonical());
  ctx.note_document(tx.doc);
  if (ctx.fault()) return *ctx.fault();

  Outcome out;
  out.tx_id = entry.id;
  out.accepted = true;
  out.writes = std::move(ctx.writes());
  out.documents = ctx.documents();
  out.membership_change = std::move(ctx.membership_change());
  return out;
}

}  // namespace

Result<Outcome> apply(const Envelope& entry, const BlockContext& block, const StateView& state,
                      const Membership& membership, DocumentCache* cache) {
  RecordingState recording(state);
  auto out = apply_recorded(entry, block, recording, membership, cache);
  if (out) out->reads = recording.take();
  return out;
}

Result<BlockResult> apply_block(std::span<const Envelope> entries, std::int64_t height, std::int64_t time_ms,
                                const StateView& state, Membership& membership,
                                const SignatureCheck& check_signature, DocumentCache* cache) {
  OverlayState overlay(state);
  BlockResult result;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Envelope& entry = entries[i];
    const BlockContext block{height, time_ms, static_cast<std::int64_t>(i)};
    if (check_signature) {
      auto key = resolve_signer(entry, membership);
      if (key && !check_signature(entry, **key)) {
        result.outcomes.push_back(
            rejection(entry, reason::kBadSignature, "signature does not verify with " + (*key)->id));
        continue;
      }
    }
    auto outcome = apply(entry, block, overlay, membership, cache);
    if (!outcome) return outcome.error();
    if (outcome->accepted) {
      overlay.apply(outcome->writes);
      if (outcome->membership_change) {
        if (auto s = membership.apply(*outcome->membership_change); !s) return s.error();
      }
    }
    result.outcomes.push_back(std::move(outcome.value()));
  }
  result.writes = overlay.writes();
  return result;
}

}  // namespace onebill::contracts
