#include "consensus/raw_node.h"

#include <limits>
#include <string>
#include <utility>

#include "consensus/errors.h"
#include "consensus/raft.h"

namespace onebill::consensus {
namespace {

Status bad_message(const Message& m, const std::string& what) {
  return make_error(kErrBadMessage, std::string(to_string(m.type)) + " from " + std::to_string(m.from) + ": " + what);
}

// Checks what the core relies on and a decoder cannot: the message is for us and its entries are a consecutive
// run after (index, log_term) with terms that never decrease and never pass the message's term.
Status check_message(const Message& m, NodeId self) {
  if (m.to != self) return bad_message(m, "addressed to " + std::to_string(m.to));
  if (m.from == kNoNode) return bad_message(m, "from node 0");
  if (m.type == MessageType::kAppend) {
    if (m.index > std::numeric_limits<Index>::max() / 2) return bad_message(m, "index out of range");
    Term prev = m.log_term;
    for (std::size_t i = 0; i < m.entries.size(); ++i) {
      const Entry& e = m.entries[i];
      if (e.index != m.index + 1 + i) return bad_message(m, "entries not consecutive after the index");
      if (e.term < prev || e.term > m.term) return bad_message(m, "entry terms out of order");
      prev = e.term;
    }
    if (m.log_term > m.term) return bad_message(m, "log term after the message term");
  } else if (!m.entries.empty()) {
    return bad_message(m, "entries in a message that carries none");
  }
  if (m.type == MessageType::kSnapshot) {
    if (m.snapshot.index == 0) return bad_message(m, "snapshot at index 0");
    if (m.snapshot.term > m.term) return bad_message(m, "snapshot term after the message term");
    if (m.snapshot_offset > std::numeric_limits<std::uint64_t>::max() / 2) return bad_message(m, "offset out of range");
  }
  return Status::success();
}

}  // namespace

Result<RawNode> RawNode::create(const Config& config, const LogStorage& storage) {
  if (Status s = validate(config); !s) return s.error();
  SnapshotMeta meta = storage.snapshot_meta();
  if (config.applied < meta.index) {
    return make_error(kErrBadConfig, "applied " + std::to_string(config.applied) + " is before the snapshot at " +
                                         std::to_string(meta.index) + ": restore the state machine from it first");
  }
  if (config.applied > storage.last_index()) {
    return make_error(kErrBadConfig, "applied " + std::to_string(config.applied) + " is past the last index " +
                                         std::to_string(storage.last_index()));
  }
  return RawNode(std::make_unique<detail::Raft>(config, storage), config.max_committed_bytes_per_ready);
}

RawNode::RawNode(std::unique_ptr<detail::Raft> raft, std::uint64_t max_committed_bytes)
    : raft_(std::move(raft)), max_committed_bytes_(max_committed_bytes) {
  prev_soft_ = raft_->soft_state();
  prev_hard_ = raft_->hard_state();
}

RawNode::RawNode(RawNode&&) noexcept = default;
RawNode& RawNode::operator=(RawNode&&) noexcept = default;
RawNode::~RawNode() = default;

void RawNode::after_call() { raft_->check_invariants(); }

void RawNode::tick() {
  raft_->tick();
  after_call();
}

Status RawNode::campaign() {
  Status s = raft_->campaign();
  after_call();
  return s;
}

Status RawNode::propose(Bytes data) {
  std::vector<Bytes> one;
  one.push_back(std::move(data));
  return propose_batch(std::move(one));
}

Status RawNode::propose_batch(std::vector<Bytes> payloads) {
  for (const Bytes& p : payloads) {
    if (p.size() > kMaxEntryBytes) {
      return make_error(kErrProposalTooLarge, std::to_string(p.size()) + " bytes is over kMaxEntryBytes");
    }
  }
  Status s = raft_->propose(EntryType::kNormal, std::move(payloads));
  after_call();
  return s;
}

Status RawNode::propose_conf_change(const ConfChange& change) {
  std::vector<Bytes> one;
  one.push_back(encode_conf_change(change));
  Status s = raft_->propose(EntryType::kConfChange, std::move(one));
  after_call();
  return s;
}

Status RawNode::transfer_leadership(NodeId to) {
  Status s = raft_->transfer_leadership(to);
  after_call();
  return s;
}

Status RawNode::step(const Message& msg) {
  if (Status s = check_message(msg, raft_->id()); !s) return s;
  raft_->step(msg);
  after_call();
  return Status::success();
}

bool RawNode::has_ready() const {
  const detail::RaftLog& log = raft_->log();
  return raft_->soft_state() != prev_soft_ || raft_->hard_state() != prev_hard_ ||
         !log.unstable().entries().empty() || log.unstable().snapshot().has_value() ||
         !raft_->messages().empty() || log.has_next_committed_entries() || raft_->proposals_pending();
}

Ready RawNode::ready() {
  raft_->flush_proposals();
  detail::RaftLog& log = raft_->log();
  Ready rd;
  SoftState soft = raft_->soft_state();
  if (soft != prev_soft_) rd.soft_state = soft;
  HardState hard = raft_->hard_state();
  if (hard != prev_hard_) rd.hard_state = hard;
  if (log.unstable().snapshot()) rd.snapshot = *log.unstable().snapshot();
  rd.entries = log.unstable().entries();
  rd.committed_entries = log.next_committed_entries(max_committed_bytes_);
  rd.messages = std::move(raft_->messages());
  raft_->messages().clear();
  rd.must_sync = hard.term != prev_hard_.term || hard.vote != prev_hard_.vote || !rd.entries.empty() ||
                 rd.snapshot.has_value();

  prev_soft_ = soft;
  prev_hard_ = hard;
  ready_outstanding_ = true;
  ready_last_entry_index_ = rd.entries.empty() ? 0 : rd.entries.back().index;
  ready_last_entry_term_ = rd.entries.empty() ? 0 : rd.entries.back().term;
  ready_snapshot_index_ = rd.snapshot ? rd.snapshot->meta.index : 0;
  ready_last_committed_ = rd.committed_entries.empty() ? 0 : rd.committed_entries.back().index;
  after_call();
  return rd;
}

void RawNode::advance() {
  if (!ready_outstanding_) return;
  ready_outstanding_ = false;
  detail::RaftLog& log = raft_->log();
  if (ready_snapshot_index_ != 0) {
    log.stable_snapshot_to(ready_snapshot_index_);
    log.applied_to(ready_snapshot_index_);
  }
  if (ready_last_entry_index_ != 0) log.stable_to(ready_last_entry_index_, ready_last_entry_term_);
  if (ready_last_committed_ != 0) log.applied_to(ready_last_committed_);
  after_call();
}

RaftStatus RawNode::status() const {
  const detail::RaftLog& log = raft_->log();
  RaftStatus st;
  st.id = raft_->id();
  st.role = raft_->role();
  st.lead = raft_->lead();
  st.hard_state = raft_->hard_state();
  st.applied = log.applied();
  st.first_index = log.first_index();
  st.last_index = log.last_index();
  st.last_term = log.last_term();
  st.conf = raft_->conf();
  st.lead_transferee = raft_->lead_transferee();
  if (raft_->role() == Role::kLeader) {
    for (const auto& [id, pr] : raft_->tracker().progress()) {
      st.progress.emplace(id, PeerStatus{pr.match, pr.next, detail::to_string(pr.state), pr.is_learner,
                                         pr.inflights.count()});
    }
  }
  return st;
}

std::optional<ConfState> RawNode::conf_state_at(Index index) const { return raft_->conf_state_at(index); }

}  // namespace onebill::consensus
