// The entry mix onebill-bench sends, pre-signed before the clock starts.
//
// Each lane (one per connection) works on documents of its own, in an order every rule accepts, so every entry is
// expected to be recorded as "accepted" whatever the interleaving of lanes. A lane repeats one cycle:
//   2 × (bill.issue, then 13 bill.event: both rail legs from gate_in to discharged, each listing the bill's 4 containers)
//   1 × (receipt.issue, pledge.request, pledge.accept, pledge.release, receipt.withdraw, receipt.release)
// = 34 entries: 76 % bill.event, 6 % bill.issue, 9 % receipt.*, 9 % pledge.*; about 700 bytes per envelope.
// Signers: lane l uses key slot l % K of "rail" (bills, events, receipts, pledge requests) and of "bank" (pledge
// accept and release). Nonces are per key and increase along each lane; lanes sharing a slot interleave theirs
// (lane-in-slot + j × lanes-per-slot), which stays inside the node's 1024-nonce window as long as no lane falls more
// than 1024 / lanes-per-slot entries behind another of its slot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/bench/bench_cluster.h"

namespace onebill::bench {

struct Entry {
  std::string id;        // tx id (hex)
  std::string type;      // tx.type
  std::string envelope;  // {"tx","sig"} as compact JSON, the bytes sent
};

// `per_lane` entries for each of `lanes` lanes, signed on `threads` threads with the keys of `net`.
std::vector<std::vector<Entry>> make_entries(const BenchNet& net, int keys, int lanes, std::size_t per_lane,
                                             unsigned threads);

}  // namespace onebill::bench
