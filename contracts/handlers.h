// Internal to contracts: one handler per transaction type (docs/model.md has the rules of each). Each parses its
// body first (bad_body and identifier codes), then applies its rules; see tx_context.h for the calling convention.
#pragma once

#include "contracts/tx_context.h"

namespace onebill::contracts::handlers {

Status bill_issue(TxContext& c);      // bill_issue.cpp
Status bill_endorse(TxContext& c);    // bill_lifecycle.cpp
Status bill_resolve(TxContext& c);
Status bill_surrender(TxContext& c);
Status bill_answer(TxContext& c);
Status bill_amend(TxContext& c);
Status bill_deliver(TxContext& c);
Status bill_void(TxContext& c);
Status bill_event(TxContext& c);      // bill_events.cpp

Status receipt_issue(TxContext& c);   // receipt.cpp
Status receipt_endorse(TxContext& c);
Status receipt_withdraw(TxContext& c);
Status receipt_release(TxContext& c);

Status pledge_request(TxContext& c);  // pledge.cpp
Status pledge_approve(TxContext& c);
Status pledge_accept(TxContext& c);
Status pledge_decline(TxContext& c);
Status pledge_cancel(TxContext& c);
Status pledge_release(TxContext& c);
Status pledge_enforce(TxContext& c);

Status customs_decide(TxContext& c);  // customs.cpp

Status gov_propose(TxContext& c);     // governance.cpp
Status gov_approve(TxContext& c);

}  // namespace onebill::contracts::handlers
