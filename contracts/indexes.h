// The contracts' indexes (idx/… in state.h) as a function of the documents alone. The rules keep them as they
// change documents; this states what they must hold, so a state snapshot can be checked against its documents
// (node/ledger/state_store.h) and a test can check that the rules keep them so (tests/contracts).
//
//   idx/equipment/{container}       -> a live bill's id, for each container the bill lists (live: not accomplished,
//                                      voided or switched to paper)
//   idx/lot/{warehouse org}/{lot}   -> a live receipt's id, under the warehouse that issued it
//   idx/pledge/{collateral doc id}  -> an active pledge's id
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/result.h"

namespace onebill::contracts {

// The index records (contract key, value) `doc` calls for, in no particular order; none for documents of other
// kinds. "corrupt_state" when a bill, receipt or pledge does not decode.
Result<std::vector<std::pair<std::string, std::string>>> index_records(const nlohmann::json& doc);

}  // namespace onebill::contracts
