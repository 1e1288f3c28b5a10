// The load engine of onebill-bench: one HTTP/1.1 keep-alive connection per lane, all on one thread (Boost.Asio
// coroutines), sending each lane's pre-signed entries in order.
//
// Closed loop (rate = 0): each lane sends its next request as soon as the previous one is answered; latency is
// measured from that send. Open loop (rate > 0): the k-th request of lane c is due at t0 + (k·lanes + c)·B / rate
// (B entries per request) and latency is measured from that due time, so a slow answer that holds a lane back is
// charged to every request it delays (no coordinated omission).
//
// Targets: onebill (POST /v1/transactions?wait=commit, or /v1/transactions/batch) or etcd (POST /v3/kv/put of the
// same bytes through its JSON gateway). Lanes are spread over the ports round-robin. A request answered
// "pending" (202), 503, or not at all is sent again, the same bytes, to the same port (to the next port when the
// connection failed): resending a signed entry is idempotent. Only entries answered as committed are counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/bench/bench_workload.h"

namespace onebill::bench {

enum class TargetKind { onebill, etcd };

struct LoadOptions {
  TargetKind kind = TargetKind::onebill;
  std::vector<std::uint16_t> ports;
  double rate = 0;  // entries per second; 0 = closed loop
  int batch = 1;    // entries per request (onebill: > 1 uses /v1/transactions/batch)
  std::chrono::milliseconds warmup{2000};
  std::chrono::milliseconds duration{10000};  // measured, after the warm-up
  int commit_timeout_ms = 10000;              // onebill ?timeout_ms
  std::vector<std::size_t> start;             // per lane: index of its first entry to send (default 0)
  // > 0: the lanes of one key slot (lane % key_slots, bench_workload.h) start on the same node, as one
  // organisation's submitting system would use its own node. Their nonces interleave inside one 1024-nonce window,
  // which lanes of one slot on different nodes — answered at different speeds (a follower forwards to the leader,
  // then waits for its own apply) — outran in runs of 15 s and more (stale_nonce). 0: lane % nodes.
  int key_slots = 0;
};

// One committed answer (kept for every request answered inside the measured window, and for the sample check).
struct Completion {
  double due_s = 0;   // seconds since the start of the run
  double done_s = 0;
  std::uint32_t lane = 0, first = 0, count = 0;  // entries [first, first + count) of the lane
  std::uint16_t port_index = 0;
  std::int64_t height = 0;  // onebill: the block of the first entry
};

struct LoadResult {
  double measured_s = 0;
  std::uint64_t committed = 0;                      // entries answered as committed in the window
  std::vector<double> latency_ms;                   // one per committed request in the window
  std::vector<Completion> completions;              // every committed request (window or not)
  std::map<std::string, std::uint64_t> unexpected;  // "rejected:reason", "http 409 nonce_used", ...
  std::map<std::string, std::uint64_t> resent;      // requests sent again, by cause ("202", "503 overloaded", ...)
  bool ran_out = false;                             // some lane used all its entries before the end
  double start_wall_s = 0;                          // steady-clock seconds at t0 (for failover timing)
};

// Runs the load until warm-up + duration have passed, then returns; requests still in flight are abandoned.
LoadResult run_load(const LoadOptions& o, const std::vector<std::vector<Entry>>& lanes);

// Seconds on the steady clock (the same clock as LoadResult::start_wall_s).
double steady_seconds();

// Percentile p (0..100) of sorted values.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace onebill::bench
