#include "tests/sim/node.h"

#include <utility>

namespace onebill::sim {
namespace {

void put_u64(consensus::Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_u64(const consensus::Bytes& in, std::size_t pos) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in[pos + static_cast<std::size_t>(i)]) << (8 * i);
  return v;
}

}  // namespace

consensus::Bytes encode_app_state(const AppState& app, std::uint64_t filler_seed) {
  consensus::Bytes out;
  put_u64(out, app.applied);
  put_u64(out, app.hash);
  Rng filler(filler_seed);
  std::uint64_t n = filler.below(200);
  for (std::uint64_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(filler.next()));
  return out;
}

AppState decode_app_state(const consensus::Bytes& data) {
  if (data.size() < 16) throw SimFailure("snapshot data is not an application state");
  return AppState{get_u64(data, 0), get_u64(data, 8)};
}

SimNode::SimNode(NodeId id, const ConfState& genesis, const Config& base_config, std::uint64_t seed)
    : id_(id), genesis_(genesis), config_(base_config), durable_(genesis) {
  config_.id = id;
  config_.random_seed = seed;
  Checker unused;
  start(unused);
}

void SimNode::start(Checker& checker) {
  live_ = std::make_unique<MemoryStorage>(durable_);
  consensus::SnapshotMeta meta = live_->snapshot_meta();
  if (meta.index > app_.applied) {
    // The snapshot reached the disk but the state machine had not loaded it: load it now.
    auto snap = live_->snapshot();
    AppState restored = decode_app_state(snap->data);
    checker.on_restore(id_, app_, restored);
    app_ = restored;
  }
  config_.applied = app_.applied;
  auto raw = RawNode::create(config_, *live_);
  if (!raw) throw SimFailure("node " + std::to_string(id_) + " cannot restart: " + raw.error().message);
  raw_.emplace(std::move(*raw));
  consensus::RaftStatus st = raw_->status();
  role_ = st.role;
  lead_ = st.lead;
  term_ = st.hard_state.term;
  Index persisted = durable_.hard_state().commit;
  if (st.hard_state.commit < persisted) {
    throw SimFailure("node " + std::to_string(id_) + " restarted with commit " + std::to_string(st.hard_state.commit) +
                     " below the persisted " + std::to_string(persisted));
  }
  commit_ = st.hard_state.commit;
}

void SimNode::apply_write(MemoryStorage& storage, const Write& w) {
  if (w.snapshot) {
    if (onebill::Status s = storage.apply_snapshot(*w.snapshot); !s) throw SimFailure("disk: " + s.error().message);
  }
  if (onebill::Status s = storage.append(w.entries); !s) throw SimFailure("disk: " + s.error().message);
  if (w.hard_state) storage.set_hard_state(*w.hard_state);
}

void SimNode::sync(Checker& checker) {
  for (const Write& w : pending_) {
    apply_write(durable_, w);
    if (w.hard_state) checker.on_hard_state_synced(id_, *w.hard_state);
  }
  pending_.clear();
}

void SimNode::check_promise(const consensus::Message& m) const {
  // What a message promises must already be on this node's disk (only synced writes survive a crash here):
  // an acknowledged append the entries it acknowledges, a granted vote the vote, an announced commit index the
  // entries it covers, any message its term. Pre-votes promise nothing and carry a term not yet taken.
  using consensus::MessageType;
  auto broken = [&](const std::string& what) {
    throw SimFailure("node " + std::to_string(id_) + " sent " + consensus::to_string(m.type) + " of term " +
                     std::to_string(m.term) + " before " + what + " was on disk");
  };
  const consensus::HardState& hs = durable_.hard_state();
  if (m.type != MessageType::kPreVote && m.type != MessageType::kPreVoteResponse && m.term > hs.term) {
    broken("its term");
  }
  if (m.type == MessageType::kAppendResponse && !m.reject && m.index > durable_.snapshot_meta().index) {
    auto durable_term = durable_.term(m.index);
    auto live_term = live_->term(m.index);
    if (durable_.last_index() < m.index || !durable_term || !live_term || *durable_term != *live_term) {
      broken("the entries up to " + std::to_string(m.index));
    }
  }
  // A commit index announced to followers (which then apply up to it) covers only entries on the leader's disk.
  if ((m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat) && m.commit > durable_.last_index()) {
    broken("the entries up to its commit index " + std::to_string(m.commit));
  }
  if (m.type == MessageType::kVoteResponse && !m.reject && (hs.term != m.term || hs.vote != m.to)) {
    broken("the vote");
  }
}

bool SimNode::handle_ready(Network& net, Checker& checker, std::uint64_t now, Stop stop, Rng* rng) {
  Ready rd = raw_->ready();
  // As the node does (node/raft_loop.cpp): a leader sends before it persists unless the term or the vote changed
  // or there is a snapshot — so a crash below may come after those messages went out.
  const Role role_now = rd.soft_state ? rd.soft_state->role : role_;
  const consensus::HardState synced = durable_.hard_state();
  const bool send_first = role_now == Role::kLeader && !rd.snapshot &&
                          (!rd.hard_state || (rd.hard_state->term == synced.term && rd.hard_state->vote == synced.vote));
  if (send_first) {
    for (const consensus::Message& m : rd.messages) {
      check_promise(m);
      net.send(m, now);
    }
  }
  Write w{rd.snapshot, rd.entries, rd.hard_state};
  apply_write(*live_, w);
  if (!rd.entries.empty()) checker.on_entries_written(id_, rd.entries, *live_);
  pending_.push_back(std::move(w));
  if (stop == Stop::kBeforeSync) {
    // Torn write: the disk kept some prefix of what was pending — a snapshot, entries one by one, a hard state.
    std::vector<Write> parts;
    for (Write& p : pending_) {
      if (p.snapshot) parts.push_back(Write{std::move(p.snapshot), {}, std::nullopt});
      for (consensus::Entry& e : p.entries) parts.push_back(Write{std::nullopt, {std::move(e)}, std::nullopt});
      if (p.hard_state) parts.push_back(Write{std::nullopt, {}, p.hard_state});
    }
    pending_ = std::move(parts);
    pending_.resize(rng->below(pending_.size() + 1));
    sync(checker);
    return false;
  }
  if (rd.must_sync) sync(checker);
  if (rd.soft_state) {
    role_ = rd.soft_state->role;
    lead_ = rd.soft_state->lead;
  }
  if (rd.hard_state) {
    term_ = rd.hard_state->term;
    if (rd.hard_state->commit != commit_) {
      checker.on_commit(id_, commit_, rd.hard_state->commit, *live_);
      commit_ = rd.hard_state->commit;
    }
  }
  if (rd.soft_state && rd.soft_state->role == Role::kLeader) checker.on_leader(id_, term_, *live_);
  if (!send_first) {
    for (const consensus::Message& m : rd.messages) {
      check_promise(m);
      net.send(m, now);
    }
  }
  if (stop == Stop::kAfterSend) return false;
  if (rd.snapshot) {
    AppState restored = decode_app_state(rd.snapshot->data);
    checker.on_restore(id_, app_, restored);
    app_ = restored;
  }
  for (const consensus::Entry& e : rd.committed_entries) checker.on_apply(id_, app_, e, commit_);
  raw_->advance();
  return true;
}

void SimNode::handle_readies(Network& net, Checker& checker, std::uint64_t now) {
  for (int guard = 0; raw_ && raw_->has_ready(); ++guard) {
    if (guard > 1000) throw SimFailure("node " + std::to_string(id_) + " never runs out of Readys");
    handle_ready(net, checker, now, Stop::kNone, nullptr);
  }
}

void SimNode::crash(CrashPoint point, Network& net, Checker& checker, std::uint64_t now, Rng& rng) {
  if (!raw_) return;
  if (point != CrashPoint::kBetweenReadies && raw_->has_ready()) {
    handle_ready(net, checker, now, point == CrashPoint::kBeforeSync ? Stop::kBeforeSync : Stop::kAfterSend, &rng);
  }
  if (!pending_.empty()) {  // unsynced commit-only writes: a prefix survives
    pending_.resize(rng.below(pending_.size() + 1));
    sync(checker);
  }
  raw_.reset();
  live_.reset();
}

void SimNode::restart(Checker& checker, std::uint64_t seed) {
  config_.random_seed = seed;
  ++restarts_;
  start(checker);
}

void SimNode::snapshot_and_compact(Index compact_to, std::uint64_t filler_seed) {
  if (!raw_ || app_.applied <= live_->snapshot_meta().index) return;
  std::optional<ConfState> conf = raw_->conf_state_at(app_.applied);
  if (!conf) return;
  consensus::Bytes data = encode_app_state(app_, filler_seed);
  // The application's snapshot is its own durable state: it goes to both images at once (pending writes are at
  // most commit-only hard states, so the durable log already holds every applied entry).
  for (MemoryStorage* storage : {live_.get(), &durable_}) {
    if (onebill::Status s = storage->create_snapshot(app_.applied, *conf, data); !s) {
      throw SimFailure("snapshot: " + s.error().message);
    }
    if (onebill::Status s = storage->compact(std::min(compact_to, app_.applied)); !s) {
      throw SimFailure("compact: " + s.error().message);
    }
  }
}

}  // namespace onebill::sim
