// The document model: bills, warehouse receipts, pledges and governance proposals, with customs decisions,
// endorsements, surrenders and discrepancies kept inside the documents they concern.
//
// Every document has the common header of TRANSACTIONS.md "Document state" (id, kind, status, issuer, holder,
// version, head, height) and its kind's own fields. Documents are stored at keys::document(id) as canonical JSON in
// the form written by to_json() below, which is also the form GET /v1/documents/{id} returns; docs/model.md lists
// every field. The structs are plain aggregates (no invariants of their own: the rules in the apply code keep them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/money.h"
#include "crypto/hash.h"
#include "crypto/result.h"

namespace onebill::contracts {

namespace kind {
inline constexpr std::string_view kBill = "bill";
inline constexpr std::string_view kReceipt = "receipt";
inline constexpr std::string_view kPledge = "pledge";
inline constexpr std::string_view kProposal = "proposal";
}  // namespace kind

namespace bill_status {
inline constexpr std::string_view kIssued = "issued";
inline constexpr std::string_view kInTransit = "in_transit";
inline constexpr std::string_view kArrived = "arrived";
inline constexpr std::string_view kPendingDelivery = "pending_surrender_for_delivery";
inline constexpr std::string_view kSurrenderedDelivery = "surrendered_for_delivery";
inline constexpr std::string_view kAccomplished = "accomplished";
inline constexpr std::string_view kPendingAmendment = "pending_surrender_for_amendment";
inline constexpr std::string_view kSurrenderedAmendment = "surrendered_for_amendment";
inline constexpr std::string_view kSwitchedToPaper = "switched_to_paper";
inline constexpr std::string_view kVoided = "voided";
}  // namespace bill_status

// Per-leg status, advanced by the leg carrier's own events (docs/model.md, "Leg events").
namespace leg_status {
inline constexpr std::string_view kPlanned = "planned";
inline constexpr std::string_view kGatedIn = "gated_in";
inline constexpr std::string_view kLoaded = "loaded";
inline constexpr std::string_view kDeparted = "departed";
inline constexpr std::string_view kArrived = "arrived";
inline constexpr std::string_view kDischarged = "discharged";
inline constexpr std::string_view kGatedOut = "gated_out";
}  // namespace leg_status

namespace receipt_status {
inline constexpr std::string_view kLive = "live";
inline constexpr std::string_view kClosed = "closed";
}  // namespace receipt_status

namespace pledge_status {
inline constexpr std::string_view kRequested = "requested";
inline constexpr std::string_view kApproved = "approved";
inline constexpr std::string_view kActive = "active";
inline constexpr std::string_view kReleased = "released";
inline constexpr std::string_view kEnforced = "enforced";
inline constexpr std::string_view kDeclined = "declined";
inline constexpr std::string_view kCancelled = "cancelled";
}  // namespace pledge_status

namespace proposal_status {
inline constexpr std::string_view kOpen = "open";
inline constexpr std::string_view kExecuted = "executed";
inline constexpr std::string_view kFailed = "failed";
}  // namespace proposal_status

// The common header.
struct DocMeta {
  std::string id;
  std::string kind;
  std::string status;
  std::string issuer;        // organisation that created the document
  std::string holder;        // organisation entitled to act on it (for a pledge: the bank; for a proposal: proposer)
  std::int64_t version = 1;  // bills: +1 per bill.amend; other kinds stay 1
  std::string head;          // tx id of the last accepted entry that changed the document
  std::int64_t height = 0;   // height of that entry
  std::int64_t created = 0;  // height of the entry that created the document
};

struct CustomsDecision {
  std::int64_t n = 0;  // 1-based, per document
  std::string procedure;  // export | import | transit
  std::string declaration;
  std::string decision;  // released | held | inspection
  std::vector<std::string> equipment;  // containers concerned; empty = the whole document
  std::string by;                      // customs organisation
  std::int64_t height = 0;
  std::string tx;
};

struct Endorsement {
  std::string from;
  std::string to;
  std::string via;  // "endorse" (the holder's endorsement) or "pledge.enforce" (a bank took the collateral)
  std::int64_t height = 0;
  std::string tx;
};

// One report on a leg. Stored on its own, at keys::leg_event(bill, leg, n) (n = 1, 2, ... per leg), not inside the
// bill: a bill's stored size, and with it the cost of every later entry on it, does not grow with its events.
// bill_view() puts them back into the document for readers.
struct LegEvent {
  std::string event;
  std::string at;
  std::string by;  // organisation
  std::string as;  // "carrier" | "port"
  std::vector<std::string> equipment;
  std::optional<std::int64_t> gross_kg;
  std::optional<std::string> vehicle;
  std::int64_t height = 0;
  std::string tx;
};

// What cross-verification needs of a leg's past port-type reports (gate_in, loaded, discharged, gate_out): each
// party reports each of them at most once per place, so a leg holds at most a handful.
struct LegReport {
  std::string as;  // carrier | port
  std::string event;
  std::string at;
  std::string by;
  std::vector<std::string> equipment;  // sorted
};

// A leg's events_hash before its first event: 64 zeros.
inline constexpr std::string_view kNoEventsHash = "0000000000000000000000000000000000000000000000000000000000000000";

// A leg's events_hash after one more event: hex(H(previous digest's 32 bytes || the event's stored canonical
// JSON)), H the network's hash. `previous_hex` must be 64 hex digits (corrupt_state otherwise).
Result<std::string> next_events_hash(crypto::HashAlg alg, std::string_view previous_hex, std::string_view event_json);

struct Leg {
  std::string mode;  // sea | rail | road
  std::string carrier;
  std::string from;
  std::string to;
  std::optional<std::string> vehicle;
  std::string status = std::string(leg_status::kPlanned);
  std::int64_t event_count = 0;     // events stored at keys::leg_event(bill, leg index, 1 .. event_count)
  // The hash chain of those events (next_events_hash), so the separately stored records are as trustworthy as the
  // bill that counts them: a record changed, dropped or added no longer matches. kNoEventsHash before the first.
  std::string events_hash = std::string(kNoEventsHash);
  std::vector<LegReport> reports;  // in the order reported
};

// The most events one leg can hold (keys::leg_event numbers them with six digits).
inline constexpr std::int64_t kMaxLegEvents = 999'999;

struct Equipment {
  std::string ref;  // ISO 6346
  std::string iso_code;
  std::vector<std::string> seals;          // as issued
  std::vector<std::string> current_seals;  // last known (re-sealed at a gauge change, or as last reported), sorted
};

struct CargoLine {
  std::string description;
  std::string hs;
  std::int64_t packages = 0;
  std::int64_t gross_kg = 0;
  std::string equipment_ref;
};

struct Discrepancy {
  std::int64_t n = 0;  // 1-based, per bill
  std::string code;    // seal_mismatch | weight_mismatch | equipment_missing | equipment_mismatch
  std::string detail;
  std::string by;      // organisation whose report opened it
  std::int64_t height = 0;
  std::int64_t leg = 0;
  bool resolved = false;
  std::optional<std::string> note;  // the issuer's resolution note
  std::optional<std::string> resolved_by;
  std::optional<std::int64_t> resolved_height;
};

struct Surrender {
  std::string purpose;                // JSON "for": delivery | amendment
  std::optional<std::string> reason;  // COD | SWTP | SWI (amendment only)
  std::string by;                     // the holder who surrendered
  std::int64_t height = 0;
  std::string status;  // pending | accepted | rejected | amended
  std::optional<std::string> note;
  std::optional<std::int64_t> answered;
};

struct Parties {
  std::string shipper;
  std::optional<std::string> consignee;  // null only for to-order bills
  std::vector<std::string> notify;
};

struct Bill {
  DocMeta meta;
  std::string document_type;  // BOL | SWB
  bool to_order = false;
  Parties parties;
  std::string place_of_receipt;
  std::string place_of_delivery;
  std::vector<Leg> legs;
  std::vector<Equipment> equipment;
  std::vector<CargoLine> cargo;
  std::optional<Money> declared_value;
  std::vector<Endorsement> endorsements;
  std::optional<std::string> pledge;  // the active pledge, if any (the bill is locked)
  std::vector<std::string> pledges;   // every pledge that was ever active on it, in order
  std::vector<CustomsDecision> customs;
  std::vector<Discrepancy> discrepancies;
  std::vector<Surrender> surrenders;  // the last one is pending while status is pending_surrender_*
  std::optional<std::string> void_reason;
  std::optional<std::string> delivered_to;
};

struct Goods {
  std::string description;
  std::string hs;
  std::int64_t quantity = 0;
  std::string unit;
  std::int64_t gross_kg = 0;
  std::int64_t remaining = 0;  // quantity not yet released
};

struct Withdrawal {
  std::int64_t n = 0;  // 1-based, per receipt
  std::int64_t quantity = 0;
  std::string by;
  std::int64_t height = 0;
  std::string status;  // pending | released
  std::optional<std::int64_t> released;
};

struct Receipt {
  DocMeta meta;  // issuer = the warehouse
  Goods goods;
  std::string location;  // UN/LOCODE
  std::string lot;
  bool bonded = false;
  std::optional<std::string> source_bill;
  std::vector<Endorsement> endorsements;
  std::optional<std::string> pledge;
  std::vector<std::string> pledges;
  std::vector<CustomsDecision> customs;
  std::vector<Withdrawal> withdrawals;
};

struct PledgeApproval {
  std::string by;  // customs organisation
  bool approve = false;
  std::string reference;
  std::int64_t height = 0;
};

struct Pledge {
  DocMeta meta;  // issuer = pledgor, holder = bank
  std::string collateral;
  std::string collateral_kind;  // bill | receipt
  std::string bank;
  std::string pledgor;
  Money amount;
  std::string due;  // YYYY-MM-DD
  std::vector<PledgeApproval> approvals;
  std::optional<std::string> note;  // the bank's note on decline
  std::optional<std::int64_t> activated;
  std::optional<std::int64_t> closed;  // released, enforced, declined or cancelled at this height
};

struct ProposalApproval {
  std::string org;
  std::int64_t height = 0;
};

struct Proposal {
  DocMeta meta;  // issuer = holder = the proposing organisation
  std::string action;
  nlohmann::json params = nlohmann::json::object();
  std::vector<ProposalApproval> approvals;
  std::optional<std::int64_t> executed;
  std::optional<std::string> failure;  // why an approved action could not be applied (status failed)
};

nlohmann::json to_json(const Bill& doc);
nlohmann::json to_json(const LegEvent& event);
nlohmann::json to_json(const Receipt& doc);
nlohmann::json to_json(const Pledge& doc);
nlohmann::json to_json(const Proposal& doc);

// Decoding stored documents; "corrupt_state" if a field is missing or of the wrong type, "wrong_kind" if the
// document is of another kind.
Result<Bill> bill_from_json(const nlohmann::json& json);
// A bill's stored bytes, written without a JSON tree: exactly crypto::canonicalize(to_json(bill)) (corrupt_state
// for a bill outside the canonical subset, which the rules never make).
Result<std::string> canonical_bill(const Bill& bill);
// The same for a leg event record: canonicalize(to_json(event)), without the tree.
Result<std::string> canonical_event(const LegEvent& event);
Result<Receipt> receipt_from_json(const nlohmann::json& json);
Result<Pledge> pledge_from_json(const nlohmann::json& json);
Result<Proposal> proposal_from_json(const nlohmann::json& json);

class StateView;
// A document as readers see it (GET /v1/documents/{id}, the explorer, the CLI): the stored JSON, and for a bill each
// leg's events, read from their own keys, as `events` [...] beside `event_count`. Other kinds are returned as
// stored. Events that cannot be read, or whose chain does not give the leg's `events_hash` (`alg` is the network's
// hash), are a corrupt_state error. `state` must be one consistent view: the bill and its events as of one height.
Result<nlohmann::json> bill_view(nlohmann::json doc, const StateView& state, crypto::HashAlg alg);

}  // namespace onebill::contracts
