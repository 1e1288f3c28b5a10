// The fault harness's workload: client threads submitting signed entries to any node over REST while faults are
// injected, and reading back with ?min_height=. Everything a client is told is recorded in a History, which the
// checker (checker.h) holds against what the nodes have at the end.
//
// Each client repeats rounds, each on documents of its own (ids carry the run's tag, the client and the round):
//   receipt round: tjwh issues a warehouse receipt of 10 units to trader; trader requests two pledges on it, to
//     bank1 and bank2; both banks accept at the same time through different nodes — the ledger must take exactly
//     one (already_pledged for the other); the winner releases it; trader asks for three withdrawals of 4, 5 and
//     6 units at once — at most 10 units can be pending (quantity_exceeded for the rest); tjwh releases the
//     withdrawals that were accepted. Invariants at the end: at most one active pledge per collateral,
//     remaining = quantity − released ≥ 0.
//   bill round: crct issues two bills on the same container at once through different nodes; the equipment index
//     allows one (the other is recorded as rejected).
// A step waits for the previous one's outcome. A submission is sent to a random node with ?timeout_ms=; an answer
// 200 with a height is an acknowledgement (recorded); 202, 503 or no answer means "not known yet" and the same
// bytes are sent again to another random node (idempotent, docs/api.md §3.5), until the step's deadline. A step
// that stays unknown ends its round. After an acknowledgement the client may read the document back from a
// random node with ?min_height= set to the highest height this client has seen: the answer must show the document
// at or after the client's own acknowledged writes and never older than it read before (read-your-writes and
// monotonic reads across nodes).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/timeline.h"
#include "tests/support/testnet.h"

namespace onebill::faults {

// An entry answered as committed: 200 with status accepted or rejected and a height.
struct Ack {
  std::string id, org, type, doc, status, reason;
  std::int64_t height = 0, index = 0;
  std::string node;  // the node that answered
};

struct ReceiptRound {
  std::string receipt, pledge_a, pledge_b;
};

struct History {
  std::mutex mu;
  std::vector<Ack> acks;
  std::vector<ReceiptRound> receipts;
  std::vector<std::pair<std::string, std::string>> bill_pairs;  // two bills issued on one container
  std::vector<std::string> violations;  // seen by the clients: a read that went backwards, two pledges taken...
  std::map<std::string, std::uint64_t> answers;  // "202", "503 leader_unreachable", "no answer", "409 stale_nonce"..
  std::map<std::string, std::uint64_t> unexpected;  // answers that should never come
  std::uint64_t submitted = 0, resent = 0, unresolved = 0, reads = 0, reads_not_ready = 0;

  void count(std::map<std::string, std::uint64_t>& m, const std::string& key) {
    std::lock_guard lock(mu);
    ++m[key];
  }
};

// Signs entries with TestNet's keys; thread-safe (TestNet keeps the nonces).
class Signer {
 public:
  explicit Signer(testing::TestNet& net) : net_(net) {}
  struct Signed {
    std::string id, org, type, doc, text;
  };
  Signed sign(const std::string& org, const std::string& type, const std::string& doc, const nlohmann::json& body);

 private:
  std::mutex mu_;
  testing::TestNet& net_;
};

struct WorkloadOptions {
  int clients = 4;
  std::uint64_t seed = 1;
  std::string tag;                          // in every document id of the run
  std::vector<std::uint16_t> ports;         // the nodes' API ports
  std::chrono::milliseconds commit_timeout{1500};  // ?timeout_ms=
  std::chrono::milliseconds http_timeout{3000};
  std::chrono::milliseconds step_deadline{15000};  // how long one entry is resent before its round gives up
};

class Workload {
 public:
  Workload(WorkloadOptions o, Signer& signer, History& history, Timeline& timeline);
  ~Workload();  // joins (hard stop)
  void start();
  // Clients finish their current round (bounded by the step deadline) and start no other.
  void finish();
  // Waits for the clients; after `grace` they stop resending and end. True when they ended within `grace`.
  bool join(std::chrono::milliseconds grace);

  // One entry sent until acknowledged, refused, or the deadline, on connections of its own (the harness's
  // barrier entry uses it too).
  static std::optional<Ack> submit(const WorkloadOptions& o, const Signer::Signed& s, History& h,
                                   std::uint64_t seed, const std::atomic<bool>& abort,
                                   std::chrono::steady_clock::time_point deadline);

 private:
  struct Session;
  std::optional<Ack> step(Session& s, const Signer::Signed& e);
  std::vector<std::optional<Ack>> together(Session& s, const std::vector<Signer::Signed>& entries);
  void check_read(Session& s, const std::string& doc);
  void receipt_round(Session& s, const std::string& tag);
  void bill_round(Session& s, const std::string& tag, int container);
  void client(int c);
  WorkloadOptions o_;
  Signer& signer_;
  History& history_;
  Timeline& timeline_;
  std::atomic<bool> finishing_{false}, abort_{false};
  std::atomic<int> running_{0};
  std::vector<std::thread> threads_;
};

// splitmix64: the harness's one source of pseudo-randomness (a seed gives the same sequence everywhere).
std::uint64_t next_random(std::uint64_t& state);
// Uniform in [lo, hi].
std::int64_t random_between(std::uint64_t& state, std::int64_t lo, std::int64_t hi);

}  // namespace onebill::faults
