// NodeImpl: the parts of a running node and how they share work (see node.h for the thread model). Internal to
// node/: the REST handlers (api.cpp), admission (admission.cpp) and the Raft loop (raft_loop.cpp) use it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "consensus/message.h"
#include "consensus/raw_node.h"
#include "consensus/storage/leveldb_storage.h"
#include "contracts/envelope.h"
#include "contracts/membership.h"
#include "crypto/keys.h"
#include "node/config.h"
#include "node/events.h"
#include "node/http/server.h"
#include "node/ledger/ledger.h"
#include "node/log.h"
#include "node/metrics.h"
#include "node/peer_network.h"
#include "node/snapshot.h"
#include "node/store.h"
#include "node/threads.h"
#include "node/worker_pool.h"

namespace onebill::node {

// Node ids are strings in genesis ("n1") and 64-bit numbers in Raft: the first 8 bytes of SHA-256("node:" + id).
consensus::NodeId raft_id(const std::string& node_id);

// The answer to a submission, as the API returns it.
struct TxAnswer {
  std::string id;
  std::string status;  // accepted | rejected | pending
  std::string reason;
  std::string message;
  std::int64_t height = 0;
  std::int64_t index = 0;
  nlohmann::json to_json() const;
};

// What the Raft thread publishes for /v1/status, /readyz and /metrics.
struct RaftView {
  std::string role = "follower";
  std::uint64_t term = 0;
  std::string leader;  // node id, empty if unknown
  std::uint64_t commit = 0;
  std::uint64_t applied = 0;
  std::uint64_t last_index = 0;
  std::map<std::string, std::uint64_t> match;  // leader only: node id → match index
  std::vector<std::string> voters;    // the Raft configuration in effect (node ids)
  std::vector<std::string> learners;
};

// A follower's own submissions, as it parsed them on admission, by signature, for decoding the blocks that hold
// them (ledger::decode_block's `known`): each is then parsed once on this node, not twice. The oldest are
// dropped past kMaxForwardedKept of them or kMaxForwardedBytes of signed bytes (entries the leader took but never
// proposed, or recorded already). One thread only.
class ForwardedEnvelopes {
 public:
  static constexpr std::size_t kMaxForwardedKept = 4096;
  static constexpr std::size_t kMaxForwardedBytes = std::size_t{8} << 20;  // their trees take a few times that
  void put(contracts::Envelope&& e) {
    std::string sig(e.sig.begin(), e.sig.end());
    if (by_sig_.contains(sig) || e.canonical_tx.size() > kMaxForwardedBytes) return;
    while (!order_.empty() &&
           (order_.size() >= kMaxForwardedKept || bytes_ + e.canonical_tx.size() > kMaxForwardedBytes)) {
      if (auto old = by_sig_.find(order_.front()); old != by_sig_.end()) drop(old);
      order_.pop_front();
    }
    order_.push_back(sig);
    bytes_ += e.canonical_tx.size();
    by_sig_.emplace(std::move(sig), std::move(e));
  }
  std::optional<contracts::Envelope> take(std::string_view tx, std::string_view sig) {
    auto it = by_sig_.find(std::string(sig));
    if (it == by_sig_.end() || it->second.canonical_tx != tx) return std::nullopt;
    contracts::Envelope e = std::move(it->second);
    bytes_ -= e.canonical_tx.size();
    by_sig_.erase(it);  // its order_ slot stays until it comes round (and then finds nothing, or a newer copy)
    return e;
  }
  bool empty() const { return by_sig_.empty(); }
  std::size_t size() const { return by_sig_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  void drop(std::unordered_map<std::string, contracts::Envelope>::iterator it) {
    bytes_ -= it->second.canonical_tx.size();
    by_sig_.erase(it);
  }
  std::unordered_map<std::string, contracts::Envelope> by_sig_;
  std::deque<std::string> order_;
  std::size_t bytes_ = 0;
};

class NodeImpl {
 public:
  NodeImpl(const NodeConfig& cfg, Logger& logger) : config(cfg), log(logger) {}

  Status init();   // everything that can fail before start
  Status start();
  void stop();

  // ---- shared, immutable after init ----
  NodeConfig config;
  Logger& log;
  std::string genesis_text;
  std::string genesis_hash;
  crypto::HashAlg alg = crypto::HashAlg::sha256;
  std::string network;
  std::string node_id;
  consensus::NodeId self = 0;
  std::optional<crypto::PrivateKey> tls_key;
  std::optional<crypto::PrivateKey> org_key;  // for `sign` tokens
  std::optional<contracts::Membership> genesis_membership;  // membership as genesis defines it
  std::int64_t block_max_entries = 2000;
  std::chrono::milliseconds block_max_delay{50};
  std::chrono::milliseconds tick{50};
  int election_ticks = 6;
  // State snapshots (genesis params, docs/operations.md §1): one every `snapshot_interval` applied Raft entries
  // (0: never), keeping `snapshot_keep_entries` entries before it in the log for followers a little behind.
  std::int64_t snapshot_interval = 10000;
  std::int64_t snapshot_keep_entries = 1000;
  consensus::Config raft_config;  // what the Raft core was created with (re-created after a refused snapshot)
  leveldb::Env* storage_env = nullptr;  // the store's Env (tests: fault injection); null: LevelDB's default

  Metrics metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<WorkerPool> pool;
  // Audit bundles are built on this thread, not the I/O thread: a large one takes long enough to hold up every
  // other request. At most config.bundles requests are in it (building or waiting) at once.
  boost::asio::thread_pool bundle_pool{1};
  // Peers' attestations are verified on this thread (ob-attest), not the I/O thread: with small blocks each node
  // verifies two per block (about 0.2 ms), and requests would wait behind them (docs/performance.md, session 13).
  boost::asio::thread_pool attest_pool{1};
  std::atomic<std::size_t> bundles_in_flight{0};
  VerifiedCache verified;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<consensus::LevelDbStorage> raft_storage;
  std::optional<consensus::RawNode> raft;  // Raft thread only

  boost::asio::io_context io{1};
  PeerNetworkFactory network_factory;  // how start() joins the peer network (default: TLS)
  std::unique_ptr<PeerNetwork> transport;
  std::unique_ptr<http::Server> server;
  http::Handler api_handler;
  std::unique_ptr<EventHub> events;
  std::thread io_thread;
  std::thread raft_thread;
  std::atomic<bool> stopping{false};

  // ---- membership as of the last applied block, for admission on the I/O thread ----
  std::shared_ptr<const contracts::Membership> membership_view() const;
  // Also remembers the nodes' names and, once the peer network runs, gives it the new peer table.
  void publish_membership(const contracts::Membership& m);
  // The node id of a Raft id, for any node that was ever in the membership; "" if unknown. Any thread.
  std::string node_name(consensus::NodeId id) const;
  // The peer network's table: every node of `m` with its address and pinned key (unreadable keys skipped).
  std::vector<consensus::PeerInfo> peer_table(const contracts::Membership& m) const;
  // A node's TLS public key from its genesis/governance PEM, parsed once (attestations arrive several per block,
  // and parsing a PEM costs more than verifying the signature). nullptr if the PEM does not parse. Any thread.
  std::shared_ptr<const crypto::PublicKey> node_public_key(const std::string& pem) const;

  // ---- the inbox: I/O thread → Raft thread ----
  struct RaftInput {
    consensus::NodeId from;
    consensus::Bytes payload;
  };
  // An entry this node admitted and forwarded to the leader, which took it: kept parsed for when its block is
  // decoded here (ForwardedEnvelopes). Queued without waking the Raft thread: nothing waits on it.
  struct Forwarded {
    contracts::Envelope envelope;
  };
  using Input = std::variant<RaftInput, contracts::Envelope, Forwarded>;
  void post_to_raft(Input input);

  // ---- submissions (admission.cpp), I/O thread ----
  // Checks an envelope can go into a block: shape, key, signature, nonce window. Errors carry the HTTP-facing
  // code. Already-recorded entries return their recorded answer instead.
  Result<std::optional<TxAnswer>> precheck(const contracts::Envelope& e);
  // Hands checked entries to the leader: this node's queue when it leads, else one forward to the leader whose
  // answer is awaited (kForwardTimeout). One Status per entry. Errors: diverged, not_ready, no_leader,
  // overloaded, leader_unreachable (no answer: the entry may or may not have been admitted; resubmitting it is
  // safe), or what the leader's admission refused it with.
  boost::asio::awaitable<std::vector<Status>> route(std::vector<contracts::Envelope> entries);
  // This node's own admission queue (the leader's half of route). Errors: diverged, not_ready, overloaded.
  Status admit_local(contracts::Envelope&& e);  // moved from only when admitted
  // The peer channel `forward` (I/O thread): a follower's request, or the leader's answer to ours.
  void on_forward(consensus::NodeId from, const consensus::Bytes& payload);
  // Waits on the I/O thread until the entry is applied or the timeout passes.
  boost::asio::awaitable<TxAnswer> wait_for(const std::string& id, std::chrono::milliseconds timeout);
  // The same wait for a submission, in two steps: watch() before the entry is handed on (route), so an outcome
  // applied while it is being routed is kept for the waiter instead of read back from the ledger, then
  // wait_watched(). A watch not waited on must be dropped with unwatch() (CommitWatch below does it).
  class CommitWatch;
  CommitWatch watch(const std::string& id);
  Result<std::optional<TxAnswer>> recorded(const std::string& id) const;
  // Signs a tx for a `sign` token: fills signer and nonce. Errors: no_org_key, forbidden.
  Result<contracts::Envelope> sign_for(const Principal& who, nlohmann::json tx);

  // ---- Raft thread (raft_loop.cpp) ----
  void raft_main();
  void handle_ready();
  void send_messages(const consensus::Ready& rd);
  void apply_committed(const std::vector<consensus::Entry>& entries);
  void maybe_propose(std::chrono::steady_clock::time_point now);
  void publish_view();
  // Leader only: proposes the next Raft configuration change that brings the Raft voters and learners to the
  // membership's nodes (governance node.add / node.remove): add a learner, promote it once caught up, remove.
  void reconcile_conf(std::chrono::steady_clock::time_point now);
  void on_applied(AppliedBlock block);  // Raft thread → posts to the I/O thread

  // ---- state snapshots (snapshot_loop.cpp) ----
  // Raft thread: takes a snapshot and compacts the log when `snapshot_interval` entries were applied since the
  // last one (or `force`).
  void maybe_snapshot(bool force);
  // Raft thread: fetches, checks and installs the snapshot a Ready carries. False if it was refused or could not
  // be fetched (the Raft core is then re-created from storage; the leader sends it again); halts on I/O errors.
  bool install_from_leader(const consensus::Ready& rd);
  // Raft thread: re-reads the ledger, membership and certified head after an install.
  void reload_after_install();
  // I/O thread: a peer's request for content, or a response to ours.
  void on_snapshot_message(consensus::NodeId from, const consensus::Bytes& payload);
  // Recovers the certified head from the stored attestations (at start and after an install).
  void reload_certified_head();
  std::shared_ptr<const SnapshotSource> snapshot_source(std::uint64_t index) const;

  // ---- storage failures (any thread) ----
  // A write to the store failed, or was refused because an earlier one failed (the store takes no writes after
  // its first failure: store.h, finding F1). Halts the node as a failed Raft persist does: it stops voting,
  // appending and applying, and refuses submissions with 503 not_ready. Unless the node was halted already (its
  // own log line said why), logs `storage write failed; this node stops taking part` with `during` (what was being
  // written) and the store's first failure. Freeing space and restarting the node is the remedy
  // (docs/operations.md §12): reopening the store drops the torn record the failed write may have left.
  void storage_failed(std::string_view during, const Error& e);

  // ---- attestations (I/O thread) ----
  // A peer's attestation: checked against the membership here, its signature verified on attest_pool, then
  // recorded by on_attestation back on the I/O thread. I/O thread.
  void check_attestation(ledger::Attestation a);
  // Records an attestation (this node's own, or a peer's whose signature was verified) and evaluates its height.
  void on_attestation(const ledger::Attestation& a);
  void evaluate_height(std::int64_t height);
  std::optional<CertifiedHead> certified() const;
  bool diverged() const { return diverged_.load(); }
  std::string diverged_reason() const;

  RaftView view() const;
  std::size_t pending_count() const { return pending_count_.load(); }

 private:
  mutable std::mutex membership_mu_;
  mutable std::map<std::string, std::shared_ptr<const crypto::PublicKey>, std::less<>> node_keys_;  // by PEM
  std::shared_ptr<const contracts::Membership> membership_;
  std::map<consensus::NodeId, std::string> node_names_;  // raft id → node id, of every node ever a member
  std::chrono::steady_clock::time_point next_conf_attempt_{};  // Raft thread: reconcile_conf's pace

  std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::deque<Input> inbox_;

  // Raft thread only: entries waiting for a block (leader) or for a leader to forward to.
  std::deque<contracts::Envelope> pending_;
  std::set<std::string> pending_ids_;
  std::chrono::steady_clock::time_point oldest_pending_{};
  // Raft index of the last block this node proposed as leader: while it is not applied a block is in flight, and
  // new entries wait (up to block_max_delay) to share the next block; with none in flight they are proposed at once.
  consensus::Index proposed_through_ = 0;
  bool block_in_flight() const;
  // The blocks this node proposed as leader and has not applied yet, by Raft index, with the bytes proposed: when
  // the entry committed at that index is those bytes, its entries are applied as they are instead of decoded again.
  struct OwnProposal {
    std::string bytes;
    ledger::BlockProposal block;
  };
  std::map<consensus::Index, OwnProposal> own_proposals_;
  ForwardedEnvelopes forwarded_;  // the Raft thread's (ForwardedEnvelopes above)
  std::size_t cache_hits_seen_ = 0, cache_misses_seen_ = 0;  // the ledger's document cache, as last exported
  std::atomic<std::size_t> pending_count_{0};
  consensus::NodeId leader_ = 0;
  std::chrono::steady_clock::time_point next_tick_{};
  std::atomic<consensus::NodeId> leader_seen_{0};
  std::atomic<bool> halted_{false};

 public:
  // I/O thread only: commit waiters by tx id.
  struct Waiter {
    explicit Waiter(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    std::optional<TxAnswer> answer;
  };
  // A registered waiter for one entry's outcome; unregistered when it goes out of scope unless answered.
  class CommitWatch {
   public:
    CommitWatch(NodeImpl& node, std::string id, std::shared_ptr<Waiter> w)
        : node_(&node), alive_(node.watch_token_), id_(std::move(id)), w_(std::move(w)) {}
    CommitWatch(CommitWatch&& o) noexcept
        : node_(o.node_), alive_(std::move(o.alive_)), id_(std::move(o.id_)), w_(std::move(o.w_)) {}
    CommitWatch(const CommitWatch&) = delete;
    CommitWatch& operator=(const CommitWatch&) = delete;
    CommitWatch& operator=(CommitWatch&&) = delete;
    ~CommitWatch() {
      // A coroutine still suspended when the node is destroyed is destroyed with its io_context, after the
      // node's waiters: then there is nothing left to unregister from.
      if (w_ && !alive_.expired()) node_->unwatch(id_, w_);
    }
    // The outcome, or "pending" after `timeout` (once; I/O thread).
    boost::asio::awaitable<TxAnswer> wait(std::chrono::milliseconds timeout);

   private:
    NodeImpl* node_;
    std::weak_ptr<void> alive_;
    std::string id_;
    std::shared_ptr<Waiter> w_;
  };

 private:
  void unwatch(const std::string& id, const std::shared_ptr<Waiter>& w);
  std::unordered_map<std::string, std::vector<std::shared_ptr<Waiter>>> waiters_;
  // Expires before waiters_ is destroyed (declared after it): what CommitWatch checks (I/O thread).
  std::shared_ptr<void> watch_token_ = std::make_shared<int>(0);
  // I/O thread only: forwards to the leader waiting for its answer, by request id.
  struct ForwardWait {
    explicit ForwardWait(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    consensus::NodeId leader = 0;
    std::optional<std::vector<Status>> answer;
    bool leader_gone = false;  // this node stopped seeing `leader` as the leader before it answered
  };
  std::map<std::uint64_t, std::shared_ptr<ForwardWait>> forwards_;
  // I/O thread: ends the forwards waiting on a leader other than `lead` (the Raft thread saw the leader change).
  void leader_changed(consensus::NodeId lead);
  std::uint64_t next_forward_ = 1;

  // (key id, nonce) of entries admitted but not yet applied, so two different entries cannot race for one nonce
  // (I/O thread only).
  struct NonceSlot {
    std::string id;                              // the entry holding the nonce
    std::chrono::steady_clock::time_point since;  // last checked
    bool admitted = false;                        // in this node's admission queue already (a retry skips the limit)
  };
  std::map<std::pair<std::string, std::int64_t>, NonceSlot> inflight_nonces_;
  void release_nonce(const contracts::Envelope& e);  // an entry not admitted after all gives its nonce back

  mutable std::mutex view_mu_;
  RaftView view_;

  mutable std::mutex attest_mu_;
  std::map<std::int64_t, std::map<std::string, ledger::Attestation>> attestations_;  // height → node → att
  std::map<std::int64_t, std::pair<std::string, std::uint64_t>> own_headers_;          // height → hash, log
  std::map<std::int64_t, std::string> own_log_roots_;
  std::optional<CertifiedHead> certified_;
  std::atomic<bool> diverged_{false};
  std::string diverged_reason_;

  std::mutex signer_mu_;

  // Snapshots this node can serve: the latest two (a fetch that straddles a new snapshot still completes).
  mutable std::mutex source_mu_;
  std::deque<std::shared_ptr<const SnapshotSource>> sources_;
  std::uint64_t snapshot_retry_at_ = 0;  // Raft thread: no certified head last time; retry at this index
  // A snapshot being hashed on a thread of its own (a pass over the whole ledger: seconds for a large one, which
  // the Raft thread must not spend — a leader that stops heartbeating loses the lead). Started and finished by the
  // Raft thread (maybe_snapshot), joined by stop().
  struct SnapshotBuild {
    std::shared_ptr<SnapshotSource> source;
    AppliedPoint point;
    consensus::ConfState conf;
    Status status;
    std::atomic<bool> done{false};
    std::atomic<bool> cancel{false};
    std::thread thread;
  };
  std::unique_ptr<SnapshotBuild> snapshot_build_;
  void finish_snapshot();  // Raft thread: records the finished build's snapshot and compacts the log
  // Responses to this node's content requests (I/O thread → the Raft thread waiting in install_from_leader).
  std::mutex fetch_mu_;
  std::condition_variable fetch_cv_;
  std::deque<std::pair<consensus::NodeId, SnapshotResponse>> fetch_inbox_;
  friend class Api;
};

}  // namespace onebill::node
