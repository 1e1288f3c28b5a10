// Internal to contracts: what customs decisions on a document mean for the other rules (customs.cpp).
//
// Decisions are kept in order on the bill or receipt. For a procedure (export, import, transit) and a container,
// the decision in force is the latest one of that procedure that names the container or names no container (then
// it covers the whole document). A receipt has no containers: the latest decision of the procedure is in force.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/documents.h"

namespace onebill::contracts {

// The decision in force for `procedure` and container `ref` (any decision when ref is empty), or nullptr.
const CustomsDecision* decision_in_force(const std::vector<CustomsDecision>& decisions, std::string_view procedure,
                                         std::string_view ref);

// A description of a customs hold in force ("import held (declaration D1) on CSQU3054383"), if any: some
// procedure whose decision in force, for some container, is held or inspection.
std::optional<std::string> customs_hold(const std::vector<CustomsDecision>& decisions,
                                        const std::vector<std::string>& containers);
std::optional<std::string> customs_hold(const Bill& bill);
std::optional<std::string> customs_hold(const Receipt& receipt);

// Every container of the bill has an import decision in force that is `released`.
bool released_for_import(const Bill& bill);
// Goods may leave the warehouse as far as customs is concerned: not bonded (or no longer, after an import release),
// or an export or transit release in force.
bool cleared_to_leave(const Receipt& receipt);
// Collateral that needs a customs pledge.approve before the bank may accept (TRANSACTIONS.md, pledge.approve).
bool pledge_needs_customs(const Bill& bill);
bool pledge_needs_customs(const Receipt& receipt);

}  // namespace onebill::contracts
