// Reason codes of the transaction catalogue (/work/shared/design/TRANSACTIONS.md, docs/model.md).
//
// A rejected entry carries exactly one of these codes; they are a contract with users' systems and auditors, so
// they never change meaning. Discrepancy codes (kSealMismatch, ...) are not rejections: they name discrepancies
// that an accepted bill.event opens on a bill.
#pragma once

#include <array>
#include <string_view>

namespace onebill::contracts::reason {

// Common rules.
inline constexpr std::string_view kUnknownKey = "unknown_key";
inline constexpr std::string_view kRevokedKey = "revoked_key";
inline constexpr std::string_view kBadSignature = "bad_signature";  // recorded by the caller, never by apply()
inline constexpr std::string_view kStaleNonce = "stale_nonce";
inline constexpr std::string_view kNonceUsed = "nonce_used";
inline constexpr std::string_view kUnknownType = "unknown_type";
inline constexpr std::string_view kBadBody = "bad_body";
inline constexpr std::string_view kBadContainer = "bad_container";
inline constexpr std::string_view kBadLocode = "bad_locode";
inline constexpr std::string_view kBadHs = "bad_hs";
inline constexpr std::string_view kBadCurrency = "bad_currency";
inline constexpr std::string_view kWrongRole = "wrong_role";
inline constexpr std::string_view kDocNotFound = "doc_not_found";
inline constexpr std::string_view kDocExists = "doc_exists";
inline constexpr std::string_view kBadState = "bad_state";

// Bills.
inline constexpr std::string_view kBadRoute = "bad_route";
inline constexpr std::string_view kWrongCarrier = "wrong_carrier";
inline constexpr std::string_view kEquipmentInUse = "equipment_in_use";
inline constexpr std::string_view kUnknownEquipment = "unknown_equipment";
inline constexpr std::string_view kLegOutOfOrder = "leg_out_of_order";
inline constexpr std::string_view kNotArrived = "not_arrived";
inline constexpr std::string_view kCustomsNotReleased = "customs_not_released";
inline constexpr std::string_view kOpenDiscrepancy = "open_discrepancy";
inline constexpr std::string_view kNoPendingSurrender = "no_pending_surrender";

// Receipts.
inline constexpr std::string_view kLotInUse = "lot_in_use";
inline constexpr std::string_view kQuantityExceeded = "quantity_exceeded";
inline constexpr std::string_view kNoPendingWithdrawal = "no_pending_withdrawal";

// Pledges and customs.
inline constexpr std::string_view kNotHolder = "not_holder";
inline constexpr std::string_view kPledged = "pledged";
inline constexpr std::string_view kAlreadyPledged = "already_pledged";
inline constexpr std::string_view kCustomsApprovalRequired = "customs_approval_required";
inline constexpr std::string_view kCustomsHold = "customs_hold";

// Every rejection code, sorted (docs/model.md lists the same set; a test checks they agree).
inline constexpr std::array<std::string_view, 32> kAll = {
    kAlreadyPledged, kBadBody,          kBadContainer,       kBadCurrency,     kBadHs,
    kBadLocode,      kBadRoute,         kBadSignature,       kBadState,        kCustomsApprovalRequired,
    kCustomsHold,    kCustomsNotReleased, kDocExists,        kDocNotFound,     kEquipmentInUse,
    kLegOutOfOrder,  kLotInUse,         kNoPendingSurrender, kNoPendingWithdrawal, kNonceUsed,
    kNotArrived,     kNotHolder,        kOpenDiscrepancy,    kPledged,         kQuantityExceeded,
    kRevokedKey,     kStaleNonce,       kUnknownEquipment,   kUnknownKey,      kUnknownType,
    kWrongCarrier,   kWrongRole,
};

}  // namespace onebill::contracts::reason

namespace onebill::contracts::discrepancy {

inline constexpr std::string_view kSealMismatch = "seal_mismatch";
inline constexpr std::string_view kWeightMismatch = "weight_mismatch";
inline constexpr std::string_view kEquipmentMissing = "equipment_missing";
inline constexpr std::string_view kEquipmentMismatch = "equipment_mismatch";

}  // namespace onebill::contracts::discrepancy
