// The Raft thread: ticks, steps, builds blocks (leader), and carries out each Ready in the order ready.h gives —
// persist (one synced batch), send, apply, advance.
#include <boost/asio/post.hpp>

#include "consensus/codec.h"
#include "node/node_impl.h"

namespace onebill::node {
namespace {

using Clock = std::chrono::steady_clock;

// Well under the peer frame limit (16 MiB) and Raft's entry limit, with room for JSON overhead.
constexpr std::size_t kMaxBlockProposalBytes = 8u << 20;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void NodeImpl::raft_main() {
  next_tick_ = Clock::now() + tick;
  // A snapshot recorded before a restart can be served only if the state is still exactly at it; otherwise take
  // a new one now.
  if (raft_storage->snapshot_meta().index > 0 && !snapshot_source(raft_storage->snapshot_meta().index)) {
    maybe_snapshot(true);
  }
  while (!stopping.load() && !halted_) {
    std::deque<Input> batch;
    {
      std::unique_lock lock(inbox_mu_);
      auto deadline = next_tick_;
      if (!pending_.empty() && leader_ == self) deadline = std::min(deadline, oldest_pending_ + block_max_delay);
      inbox_cv_.wait_until(lock, deadline, [&] { return stopping.load() || halted_.load() || !inbox_.empty(); });
      batch.swap(inbox_);
    }
    if (halted_) break;  // another thread met a storage failure (storage_failed)
    // A write that failed outside this thread's checked writes (a LevelDB compaction): stop before writing again.
    if (auto failure = store->write_failure()) {
      storage_failed("other", *failure);
      break;
    }
    auto now = Clock::now();
    for (auto& in : batch) {
      if (auto* m = std::get_if<RaftInput>(&in)) {
        auto msg = consensus::decode(m->payload);
        if (msg && msg->from == m->from) (void)raft->step(*msg);  // a peer cannot speak for another
      } else if (auto* f = std::get_if<Forwarded>(&in)) {
        forwarded_.put(std::move(f->envelope));
      } else {
        auto& e = std::get<contracts::Envelope>(in);
        if (pending_ids_.insert(e.id).second) {
          if (pending_.empty()) oldest_pending_ = now;
          pending_.push_back(std::move(e));
        }
      }
    }
    // At most one tick per pass, and ticks missed while this thread was held up (a slow apply, an fsync, a starved
    // CPU) are dropped, as Go's time.Ticker drops them for etcd: charging them all at once would make a follower
    // that just heard from the leader campaign anyway, and under load cost the cluster its leader.
    if (now >= next_tick_) {
      raft->tick();
      next_tick_ += tick;
      if (next_tick_ <= now) next_tick_ = now + tick;
    }
    maybe_propose(now);
    pending_count_.store(pending_.size());  // before the persist below, which may take a while
    reconcile_conf(now);
    while (!halted_ && raft->has_ready()) handle_ready();
    // The block in flight may have been applied just now: what waits goes out at once, not at the delay.
    if (!halted_ && !pending_.empty() && leader_ == self && !block_in_flight()) {
      maybe_propose(now);
      while (!halted_ && raft->has_ready()) handle_ready();
    }
    if (!halted_) maybe_snapshot(false);
    pending_count_.store(pending_.size());
    publish_view();
  }
  publish_view();  // shows "halted" if that is why the loop ended
}

bool NodeImpl::block_in_flight() const { return proposed_through_ > ledger->last().raft_index; }

void NodeImpl::maybe_propose(Clock::time_point now) {
  if (pending_.empty()) return;
  if (leader_ != self) {
    if (leader_ == 0) return;  // kept until a leader is known (bounded by the admission queue)
    // Entries this node admitted as leader and did not propose before losing the lead: handed on to the new
    // leader without waiting for its answer (request id 0). Their clients were answered when they were admitted.
    std::vector<contracts::Envelope> list(std::make_move_iterator(pending_.begin()),
                                          std::make_move_iterator(pending_.end()));
    std::string body = ledger::encode_forward(0, list);
    (void)transport->send(leader_, consensus::Channel::forward, consensus::Bytes(body.begin(), body.end()));
    pending_.clear();
    pending_ids_.clear();
    return;
  }
  // A full block goes at once; otherwise entries wait for more to join them only while a block is in flight
  // (group commit: one block per round trip under load, no added delay for a lone entry), and never longer than
  // block_max_delay.
  while (!pending_.empty() &&
         (static_cast<std::int64_t>(pending_.size()) >= block_max_entries || now - oldest_pending_ >= block_max_delay ||
          !block_in_flight())) {
    ledger::BlockProposal block;
    block.time = wall_ms();
    block.proposer = node_id;
    // Bounded in entries and in bytes, so a block always fits one peer frame and one Raft entry.
    std::size_t n = std::min<std::size_t>(pending_.size(), static_cast<std::size_t>(block_max_entries));
    std::size_t block_bytes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t size = pending_.front().canonical_tx.size() + 2 * pending_.front().sig.size() + 64;
      if (!block.entries.empty() && block_bytes + size > kMaxBlockProposalBytes) break;
      block_bytes += size;
      pending_ids_.erase(pending_.front().id);
      block.entries.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    std::string bytes = ledger::encode_block(block);
    Status s = raft->propose(consensus::Bytes(bytes.begin(), bytes.end()));
    if (!s) {
      // Lost the lead or a transfer is under way: the entries wait for the next leader.
      for (auto it = block.entries.rbegin(); it != block.entries.rend(); ++it) {
        pending_ids_.insert(it->id);
        pending_.push_front(std::move(*it));
      }
      return;
    }
    metrics.counter("onebill_blocks_proposed_total", "Blocks this node proposed as leader").inc();
    proposed_through_ = raft->status().last_index;
    own_proposals_[proposed_through_] = OwnProposal{std::move(bytes), std::move(block)};
    oldest_pending_ = now;
  }
}

void NodeImpl::handle_ready() {
  consensus::Ready rd = raft->ready();
  if (rd.soft_state) {
    const bool changed = rd.soft_state->lead != leader_;
    leader_ = rd.soft_state->lead;
    leader_seen_.store(leader_);
    // After the store: a forward started once the sweep has run already sees the new leader.
    if (changed) boost::asio::post(io, [this, lead = leader_] { leader_changed(lead); });
    if (rd.soft_state->role == consensus::Role::kLeader) {
      log.info("became leader", {{"term", std::to_string(raft->status().hard_state.term)}});
    } else {
      own_proposals_.clear();  // what it proposed may yet commit, but is decoded like any other block
    }
  }
  // The leader's messages (appends and heartbeats to its followers) go out before it persists, so its own write
  // runs alongside theirs instead of before them (Raft thesis §10.2.1; etcd's leader does the same). They promise
  // nothing that is not on its disk yet: its term (unchanged since it was synced), and commit indexes that count
  // its entries only after followers acknowledged them, that is after a Ready of its own that persisted them.
  // Never when the term or the vote changed (a vote request or answer is a promise), nor with a snapshot.
  // raft_sim runs the same rule and checks every message it sends against what is synced (tests/sim/node.cpp).
  const consensus::HardState stored = raft_storage->hard_state();
  const bool send_first = leader_ == self && !rd.snapshot &&
                          (!rd.hard_state || (rd.hard_state->term == stored.term && rd.hard_state->vote == stored.vote));
  if (send_first) send_messages(rd);
  // 1. Persist: snapshot, entries, hard state in one batch, synced when the Ready says so. A snapshot is fetched,
  // checked and installed first; its install's last batch is that Ready's persist.
  if (rd.snapshot) {
    bool installed = install_from_leader(rd);
    next_tick_ = Clock::now() + tick;  // the fetch took time no tick should be charged for
    if (halted_) return;
    if (!installed) {
      // Forget this Ready (nothing of it was persisted or sent): the core restarts from storage, and the leader
      // sends the snapshot again.
      raft_config.applied = std::max(ledger->last().raft_index, raft_storage->snapshot_meta().index);
      auto rn = consensus::RawNode::create(raft_config, *raft_storage);
      if (!rn) {
        log.error("cannot restart the Raft core; this node stops taking part", {{"detail", rn.error().message}});
        halted_ = true;
        return;
      }
      raft.reset();
      raft.emplace(std::move(*rn));
      leader_ = 0;
      return;
    }
  } else if (Status s = raft_storage->save(rd); !s) {
    log.error("cannot persist the Raft log; this node stops taking part", {{"code", s.error().code},
                                                                            {"detail", s.error().message}});
    halted_ = true;
    return;
  }
  // 2. Send.
  if (!send_first) send_messages(rd);
  // 3. Apply.
  apply_committed(rd.committed_entries);
  // 4. Advance.
  if (!halted_) raft->advance();
}

void NodeImpl::send_messages(const consensus::Ready& rd) {
  for (const auto& m : rd.messages) {
    (void)transport->send(m.to, consensus::Channel::raft, consensus::encode(m));
  }
}

void NodeImpl::apply_committed(const std::vector<consensus::Entry>& entries) {
  for (const auto& e : entries) {
    if (diverged_.load()) {  // a quorum certified a different header: never apply on top of it
      halted_ = true;
      return;
    }
    if (e.type != consensus::EntryType::kNormal || e.data.empty()) {
      own_proposals_.erase(own_proposals_.begin(), own_proposals_.upper_bound(e.index));
      if (Status s = ledger->skip(e.index); !s) {
        log.error("cannot record the applied index", {{"detail", s.error().message}});
        halted_ = true;
        return;
      }
      continue;
    }
    std::string_view data(reinterpret_cast<const char*>(e.data.data()), e.data.size());
    std::optional<ledger::BlockProposal> decoded;
    if (auto own = own_proposals_.find(e.index); own != own_proposals_.end() && own->second.bytes == data) {
      decoded = std::move(own->second.block);
    }
    own_proposals_.erase(own_proposals_.begin(), own_proposals_.upper_bound(e.index));
    const ledger::KnownEnvelopes known = [this](std::string_view tx, std::string_view sig) {
      return forwarded_.take(tx, sig);
    };
    auto applied = ledger->apply(e.index, data, std::move(decoded), forwarded_.empty() ? nullptr : &known);
    if (!applied) {
      log.error("cannot apply a committed block; this node stops applying",
                {{"raft_index", std::to_string(e.index)}, {"code", applied.error().code},
                 {"detail", applied.error().message}});
      halted_ = true;
      return;
    }
    if (*applied) on_applied(std::move(**applied));
  }
}

void NodeImpl::storage_failed(std::string_view during, const Error& e) {
  bool was_halted;
  {
    std::lock_guard lock(inbox_mu_);  // the Raft thread waits on inbox_cv_ for halted_ too
    was_halted = halted_.exchange(true);
  }
  inbox_cv_.notify_all();
  if (was_halted) return;
  Error first = store->write_failure().value_or(e);
  log.error("storage write failed; this node stops taking part",
            {{"during", std::string(during)}, {"code", first.code}, {"detail", first.message}});
}

void NodeImpl::on_applied(AppliedBlock block) {
  auto membership = membership_view();
  std::string before;
  if (auto h = membership->hash()) before = crypto::hex(*h);
  if (before != block.header.membership_hash) publish_membership(ledger->membership());

  // Attest: voting nodes sign the header hash (recorded with the answers below, sent to the peers after them).
  std::optional<ledger::Attestation> own;
  const contracts::Node* me = ledger->membership().node(node_id);
  if (me != nullptr && me->voter) {
    auto a = ledger::attest(*tls_key, node_id, network, block.header.height, block.header_hash);
    if (a) own = std::move(*a);
  }
  {
    std::lock_guard lock(attest_mu_);
    own_headers_[block.header.height] = {block.header_hash, block.header.log_size};
    own_log_roots_[block.header.height] = block.header.log_root;
  }
  // Counted before the answers go out, so a client that reads /metrics after its answer sees its block there.
  std::size_t accepted = 0;
  for (const auto& o : block.outcomes) {
    if (o.accepted) {
      ++accepted;
    } else {
      metrics.counter("onebill_entries_rejected_total", "Entries rejected on apply, by reason", {{"reason", o.reason}})
          .inc();
    }
  }
  metrics.counter("onebill_blocks_applied_total", "Blocks applied").inc();
  const auto& cache = ledger->document_cache();
  metrics.counter("onebill_document_cache_hits_total", "Documents the rules loaded from the parsed-document cache")
      .inc(cache.hits() - cache_hits_seen_);
  metrics.counter("onebill_document_cache_misses_total", "Documents the rules had to parse from their stored bytes")
      .inc(cache.misses() - cache_misses_seen_);
  cache_hits_seen_ = cache.hits();
  cache_misses_seen_ = cache.misses();
  metrics.counter("onebill_entries_accepted_total", "Entries accepted on apply").inc(accepted);

  // The answers go out before the attestation is sent: that waits on nothing of theirs.
  auto shared = std::make_shared<AppliedBlock>(std::move(block));
  boost::asio::post(io, [this, shared, own] {
    if (own) {
      on_attestation(*own);
    } else {
      evaluate_height(shared->header.height);  // a learner: certify from the voters' attestations
    }
    for (std::size_t i = 0; i < shared->entries.size(); ++i) {
      const auto& e = shared->entries[i];
      const auto& o = shared->outcomes[i];
      inflight_nonces_.erase({e.tx.signer, e.tx.nonce});
      TxAnswer answer{e.id, o.accepted ? "accepted" : "rejected", o.reason, o.message, shared->header.height,
                      static_cast<std::int64_t>(i)};
      auto it = waiters_.find(e.id);
      if (it != waiters_.end()) {
        for (auto& w : it->second) {
          w->answer = answer;
          w->timer.cancel();
        }
        waiters_.erase(it);
      }
    }
    events->publish_block(*shared);
  });
  if (own) {
    std::string body = own->to_json().dump();
    for (const auto& [id, n] : ledger->membership().nodes()) {
      if (id == node_id) continue;
      (void)transport->send(raft_id(id), consensus::Channel::attest, consensus::Bytes(body.begin(), body.end()));
    }
  }
}

void NodeImpl::reconcile_conf(Clock::time_point now) {
  if (halted_ || now < next_conf_attempt_) return;
  auto st = raft->status();
  if (st.role != consensus::Role::kLeader) return;
  // Only from a membership that has caught up with the log: a new leader still applying would otherwise undo a
  // change its predecessor made for a governance entry it has not applied yet.
  if (ledger->last().raft_index < st.hard_state.commit) return;
  next_conf_attempt_ = now + tick;  // at most one attempt per tick; the core allows one pending change anyway
  const contracts::Membership& m = ledger->membership();
  std::map<consensus::NodeId, bool> want;  // raft id → voter
  for (const auto& [id, n] : m.nodes()) want[raft_id(id)] = n.voter;
  std::optional<consensus::ConfChange> change;
  // Removals first (another member before this leader itself), then additions, then promotions of caught-up
  // learners. A voter the membership lists as a learner is left alone: governance has no demotion.
  for (auto id : st.conf.voters) {
    if (want.count(id) == 0 && (!change || change->node == self)) change = {consensus::ConfChangeType::kRemoveVoter, id};
  }
  for (auto id : st.conf.learners) {
    if (want.count(id) == 0 && (!change || change->node == self)) change = {consensus::ConfChangeType::kRemoveVoter, id};
  }
  for (const auto& [id, voter] : want) {
    if (change) break;
    if (!st.conf.is_member(id)) {
      change = {consensus::ConfChangeType::kAddLearner, id};
    } else if (voter && st.conf.is_learner(id)) {
      auto p = st.progress.find(id);
      // Caught up: it holds everything committed (a new voter that lags would stall commits it must count in).
      if (p != st.progress.end() && p->second.match >= st.hard_state.commit) {
        change = {consensus::ConfChangeType::kPromoteLearner, id};
      }
    }
  }
  if (!change) return;
  Status s = raft->propose_conf_change(*change);
  if (!s) {
    if (s.error().code != "conf_change_pending") {
      log.debug("configuration change not proposed", {{"code", s.error().code}, {"detail", s.error().message}});
    }
    return;
  }
  std::string name = node_name(change->node);
  log.info("proposed a Raft configuration change for a governance membership change",
           {{"change", consensus::to_string(change->type)}, {"node", name.empty() ? std::to_string(change->node) : name}});
  metrics.counter("onebill_conf_changes_proposed_total", "Raft configuration changes proposed for governance").inc();
}

void NodeImpl::publish_view() {
  auto st = raft->status();
  RaftView v;
  switch (st.role) {
    case consensus::Role::kLeader: v.role = "leader"; break;
    case consensus::Role::kCandidate: v.role = "candidate"; break;
    case consensus::Role::kPreCandidate: v.role = "pre_candidate"; break;
    case consensus::Role::kFollower: v.role = "follower"; break;
  }
  if (halted_) v.role = "halted";
  v.term = st.hard_state.term;
  v.leader = node_name(st.lead);
  v.commit = st.hard_state.commit;
  v.applied = ledger->last().raft_index;
  v.last_index = st.last_index;
  auto name_of = [&](consensus::NodeId id) {
    std::string n = node_name(id);
    return n.empty() ? std::to_string(id) : n;
  };
  for (auto id : st.conf.voters) v.voters.push_back(name_of(id));
  for (auto id : st.conf.learners) v.learners.push_back(name_of(id));
  for (const auto& [id, p] : st.progress) {
    std::string n = node_name(id);
    if (!n.empty()) v.match[n] = p.match;
  }
  std::lock_guard lock(view_mu_);
  view_ = std::move(v);
}

}  // namespace onebill::node
