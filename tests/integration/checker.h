// The checks at the end of a fault run, on a healed network that has converged (the harness waits for that
// first), all through the REST API of every node:
//   - blocks: every node has the same block hash at every height (GET /v1/blocks listing), and no transaction id
//     is in two blocks or twice in one (GET /v1/blocks/{h} results, on every node);
//   - acknowledged entries: every entry a client was answered as committed (accepted or rejected, with a height)
//     is on every node with that outcome, height and index (GET /v1/transactions/{id}) and in that block;
//   - certified heads: every node's GET /v1/log/head has the same height and header hash;
//   - documents: every document the workload touched is the same JSON on every node; a receipt's remaining
//     quantity is never negative and equals its quantity minus its released withdrawals, and the withdrawals
//     never add up to more than the quantity; at most one pledge per collateral is active, and it is the one the
//     collateral names; of two bills issued on one container at most one exists;
//   - what the clients saw during the run (reads that went backwards, two pledges both accepted…).
// Each failed check is one line in `failures`; `stats` collects figures for the report.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/fault_cluster.h"
#include "tests/integration/workload.h"

namespace onebill::faults {

struct CheckResult {
  std::vector<std::string> failures;
  std::int64_t height = 0;       // the converged height
  std::uint64_t entries = 0;     // transaction ids in the chain
  std::uint64_t acked = 0;       // acknowledged entries checked
  std::uint64_t lost = 0;        // acknowledged entries missing on some node
  std::uint64_t docs = 0;        // documents compared
};

CheckResult check_run(FaultCluster& c, History& h);

}  // namespace onebill::faults
