// Tests of what the core adds to the paper's basic algorithm, citing Ongaro's thesis ("Consensus: Bridging
// Theory and Practice"): pre-vote, leases and check-quorum, leadership transfer, membership changes and learners;
// plus the RawNode contract (Ready, validation, invariant checks).
#include <catch2/catch.hpp>

#include <stdexcept>

#include "consensus/errors.h"
#include "tests/consensus/raft_test_util.h"

using namespace onebill::consensus;
using namespace onebill::consensus::testing;

TEST_CASE("thesis §9.6: a pre-vote changes no term, binds no vote and needs an up-to-date log", "[feature]") {
  TestNode candidate(1, kThree, {1}, HardState{1, 0, 0}, true, false);
  REQUIRE(candidate->campaign().ok());
  CHECK(candidate.status().role == Role::kPreCandidate);
  CHECK(candidate.status().hard_state.term == 1);
  auto pre = of_type(candidate.flush(), MessageType::kPreVote);
  REQUIRE(pre.size() == 2);
  CHECK(pre[0].term == 2);

  // A voter that already voted in term 1 still answers a pre-vote for term 2, and keeps its term and vote.
  TestNode voter(2, kThree, {1}, HardState{1, 3, 0}, true, false);
  REQUIRE(voter->step(pre[0]).ok());
  auto answer = voter.flush();
  REQUIRE(answer.size() == 1);
  CHECK_FALSE(answer[0].reject);
  CHECK(answer[0].term == 2);
  CHECK(voter.status().hard_state == HardState{1, 3, 0});

  // Winning the pre-vote starts the real election.
  REQUIRE(candidate->step(answer[0]).ok());
  CHECK(candidate.status().role == Role::kCandidate);
  CHECK(candidate.status().hard_state.term == 2);

  // A voter whose log is ahead refuses the pre-vote.
  TestNode ahead(3, kThree, {1, 1}, HardState{1, 0, 0}, true, false);
  REQUIRE(ahead->step(pre[1]).ok());
  CHECK(ahead.flush()[0].reject);
}

TEST_CASE("thesis §4.2.3, §6.2: a follower in its leader's lease ignores vote requests", "[feature]") {
  TestNode f(1, kThree, {}, HardState{}, false, true);
  REQUIRE(f->step(msg(MessageType::kHeartbeat, 2, 1, 1)).ok());
  f.flush();
  Message vote = msg(MessageType::kVote, 3, 1, 5);
  REQUIRE(f->step(vote).ok());
  CHECK(f.flush().empty());
  CHECK(f.status().hard_state.term == 1);
  // ... unless the leader itself asked for the election (transfer).
  vote.context = kCampaignTransfer;
  REQUIRE(f->step(vote).ok());
  auto out = f.flush();
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].reject);
  CHECK(f.status().hard_state.term == 5);
  // Once the lease runs out (an election timeout without the leader) votes count again.
  TestNode g(1, kThree, {}, HardState{}, false, true);
  g.config.random = [] { return std::uint64_t{9}; };  // its own timeout is 19 ticks: it will not campaign first
  g.start();
  REQUIRE(g->step(msg(MessageType::kHeartbeat, 2, 1, 1)).ok());
  for (int i = 0; i < g.config.election_tick; ++i) g->tick();
  g.flush();
  REQUIRE(g.status().role == Role::kFollower);
  REQUIRE(g->step(msg(MessageType::kVote, 3, 1, 5)).ok());
  CHECK(g.status().hard_state.term == 5);
  CHECK_FALSE(g.flush()[0].reject);
}

TEST_CASE("thesis §6.2: a leader that hears from no majority for an election timeout steps down", "[feature]") {
  TestNode a(1, kThree, {}, HardState{}, false, true), b(2, kThree, {}, HardState{}, false, true),
      c(3, kThree, {}, HardState{}, false, true);
  REQUIRE(a->campaign().ok());
  pump({{1, &a}, {2, &b}, {3, &c}});
  REQUIRE(a.status().role == Role::kLeader);
  int ticks = 0;
  while (a.status().role == Role::kLeader && ticks < 100) {
    a->tick();
    a.flush();  // nobody answers
    ++ticks;
  }
  CHECK(a.status().role == Role::kFollower);
  CHECK(ticks <= 2 * a.config.election_tick);
  CHECK(a.status().hard_state.term == 1);
}

TEST_CASE("thesis §3.10: leadership transfer", "[feature]") {
  TestNode a(1, kThree), b(2, kThree), c(3, kThree);
  REQUIRE(a->campaign().ok());
  pump({{1, &a}, {2, &b}, {3, &c}});
  REQUIRE(a->propose(Bytes{'p'}).ok());
  pump({{1, &a}, {2, &b}});  // node 3 misses the entry
  REQUIRE(a->transfer_leadership(3).ok());
  CHECK(a->propose(Bytes{'q'}).error().code == kErrTransferring);
  auto out = a.flush();
  CHECK(of_type(out, MessageType::kTimeoutNow).empty());  // first it catches node 3 up
  REQUIRE(of_type(out, MessageType::kAppend).size() == 1);
  pump({{1, &a}, {2, &b}, {3, &c}}, out);
  CHECK(c.status().role == Role::kLeader);
  CHECK(c.status().hard_state.term == 2);
  CHECK(a.status().lead == 3);
  CHECK(a->transfer_leadership(2).error().code == kErrNotLeader);
  CHECK(c->transfer_leadership(7).error().code == kErrUnknownPeer);
}

TEST_CASE("thesis §4.1: a configuration takes effect when appended and is undone when truncated", "[feature]") {
  TestNode f(2, kThree, {1}, HardState{1, 0, 1});
  Message add = msg(MessageType::kAppend, 1, 2, 1);
  add.index = 1;
  add.log_term = 1;
  add.entries = {Entry{1, 2, EntryType::kConfChange, encode_conf_change({ConfChangeType::kAddLearner, 4})}};
  REQUIRE(f->step(add).ok());
  CHECK(f.status().conf == ConfState{{1, 2, 3}, {4}});  // uncommitted, already in effect
  CHECK(f.status().hard_state.commit == 1);
  f.flush();
  // A new leader overwrites the uncommitted entry: the configuration goes back.
  Message replace = msg(MessageType::kAppend, 3, 2, 2);
  replace.index = 1;
  replace.log_term = 1;
  replace.entries = {Entry{2, 2, EntryType::kNormal, {}}};
  REQUIRE(f->step(replace).ok());
  CHECK(f.status().conf == kThree);
  f.flush();
  // And a restart rebuilds the configuration from the log.
  REQUIRE(f->step([] {
    Message m = msg(MessageType::kAppend, 3, 2, 2);
    m.index = 2;
    m.log_term = 2;
    m.entries = {Entry{2, 3, EntryType::kConfChange, encode_conf_change({ConfChangeType::kRemoveVoter, 1})}};
    return m;
  }()).ok());
  f.flush();
  f.start();
  CHECK(f.status().conf == ConfState{{2, 3}, {}});
  CHECK(f->conf_state_at(2) == kThree);
  CHECK(f->conf_state_at(3) == ConfState{{2, 3}, {}});
}

TEST_CASE("thesis §4.1: one change at a time, and not before the leader's first entry commits", "[feature]") {
  TestNode a(1, ConfState{{1, 2, 3}, {}}), b(2, kThree), c(3, kThree);
  REQUIRE(a->campaign().ok());
  a.flush();
  REQUIRE(a->step(msg(MessageType::kVoteResponse, 2, 1, 1)).ok());
  CHECK(a->propose_conf_change({ConfChangeType::kAddLearner, 4}).error().code == kErrConfChangePending);
  pump({{1, &a}, {2, &b}, {3, &c}});
  REQUIRE(a->propose_conf_change({ConfChangeType::kAddLearner, 4}).ok());
  CHECK(a.status().conf == ConfState{{1, 2, 3}, {4}});
  CHECK(a->propose_conf_change({ConfChangeType::kPromoteLearner, 4}).error().code == kErrConfChangePending);
  pump({{1, &a}, {2, &b}, {3, &c}});
  CHECK(a->propose_conf_change({ConfChangeType::kPromoteLearner, 4}).ok());
}

TEST_CASE("learners receive the log but never count or campaign", "[feature]") {
  ConfState conf{{1, 2, 3}, {4}};
  TestNode a(1, conf), l(4, conf);
  REQUIRE(a->campaign().ok());
  a.flush();
  // The learner's vote does not count.
  REQUIRE(a->step(msg(MessageType::kVoteResponse, 4, 1, 1)).ok());
  CHECK(a.status().role == Role::kCandidate);
  REQUIRE(a->step(msg(MessageType::kVoteResponse, 2, 1, 1)).ok());
  REQUIRE(a.status().role == Role::kLeader);
  // Replicated to the learner only, nothing commits.
  REQUIRE(a->propose(Bytes{'z'}).ok());
  pump({{1, &a}, {4, &l}});
  CHECK(l.storage.last_index() == 2);
  CHECK(a.status().hard_state.commit == 0);
  CHECK(l->campaign().error().code == kErrNotVoter);
  for (int i = 0; i < 100; ++i) l->tick();
  CHECK(l.status().role == Role::kFollower);
}

TEST_CASE("thesis §4.2.2: a leader that removes itself steps down once the change commits", "[feature]") {
  TestNode a(1, kThree), b(2, kThree), c(3, kThree);
  REQUIRE(a->campaign().ok());
  pump({{1, &a}, {2, &b}, {3, &c}});
  REQUIRE(a->propose_conf_change({ConfChangeType::kRemoveVoter, 1}).ok());
  CHECK(a.status().role == Role::kLeader);  // leads, without counting itself, until the change commits
  pump({{1, &a}, {2, &b}, {3, &c}});
  CHECK(a.status().role == Role::kFollower);
  CHECK((b.status().role == Role::kLeader || c.status().role == Role::kLeader));  // handed over with TimeoutNow
}

TEST_CASE("Ready: what to persist, send and apply, and when to sync", "[ready]") {
  TestNode n(1, ConfState{{1}, {}});
  REQUIRE(n->campaign().ok());  // a single voter wins at once
  Ready rd = n->ready();
  REQUIRE(rd.soft_state);
  CHECK(rd.soft_state->role == Role::kLeader);
  REQUIRE(rd.hard_state);
  CHECK(rd.hard_state->term == 1);
  CHECK(rd.hard_state->vote == 1);
  CHECK(rd.must_sync);
  REQUIRE(rd.entries.size() == 1);
  // Committed at once (one voter), so the same entry is also to be applied — after it is persisted.
  REQUIRE(rd.committed_entries.size() == 1);
  REQUIRE(n.storage.append(rd.entries).ok());
  n.storage.set_hard_state(*rd.hard_state);
  n->advance();
  CHECK_FALSE(n->has_ready());

  REQUIRE(n->propose(Bytes{'a'}).ok());
  REQUIRE(n->propose(Bytes{'b'}).ok());
  rd = n->ready();
  CHECK_FALSE(rd.soft_state);
  CHECK(rd.entries.size() == 2);
  CHECK(rd.committed_entries.size() == 2);
  CHECK(rd.must_sync);
  REQUIRE(rd.hard_state);
  CHECK(rd.hard_state->commit == 3);
  REQUIRE(n.storage.append(rd.entries).ok());
  n->advance();
  CHECK(n.status().applied == 3);
}

TEST_CASE("Ready: a commit-only change need not be synced", "[ready]") {
  TestNode f(2, kThree, {1, 1}, HardState{1, 1, 0});
  Message hb = msg(MessageType::kHeartbeat, 1, 2, 1);
  hb.commit = 2;
  REQUIRE(f->step(hb).ok());
  Ready rd = f->ready();
  REQUIRE(rd.hard_state);
  CHECK(rd.hard_state->commit == 2);
  CHECK_FALSE(rd.must_sync);
  CHECK(rd.committed_entries.size() == 2);
}

TEST_CASE("RawNode: bad configurations and messages are refused cleanly", "[rawnode]") {
  MemoryStorage storage(kThree);
  Config c;
  CHECK(RawNode::create(c, storage).error().code == kErrBadConfig);  // id 0
  c.id = 1;
  c.election_tick = 1;
  CHECK(RawNode::create(c, storage).error().code == kErrBadConfig);
  c.election_tick = 10;
  c.applied = 5;
  CHECK(RawNode::create(c, storage).error().code == kErrBadConfig);  // applied past the log
  c.applied = 0;
  auto node = RawNode::create(c, storage);
  REQUIRE(node.ok());

  Message wrong_to = msg(MessageType::kHeartbeat, 2, 9, 1);
  CHECK(node->step(wrong_to).error().code == kErrBadMessage);
  Message gap = msg(MessageType::kAppend, 2, 1, 1);
  gap.entries = {Entry{1, 5, EntryType::kNormal, {}}};
  CHECK(node->step(gap).error().code == kErrBadMessage);
  Message backwards = msg(MessageType::kAppend, 2, 1, 2);
  backwards.entries = {Entry{2, 1, EntryType::kNormal, {}}, Entry{1, 2, EntryType::kNormal, {}}};
  CHECK(node->step(backwards).error().code == kErrBadMessage);
  CHECK(node->propose(Bytes(kMaxEntryBytes + 1)).error().code == kErrProposalTooLarge);
  CHECK(node->status().hard_state.term == 0);
}

TEST_CASE("invariants: a storage whose commit passes its log is fatal", "[rawnode]") {
  MemoryStorage storage(kThree);
  storage.set_hard_state(HardState{1, 0, 5});
  Config c;
  c.id = 1;
  c.on_fatal = [](const onebill::Error& e) { throw std::runtime_error(e.message); };
  CHECK_THROWS_WITH(RawNode::create(c, storage), Catch::Contains("past the last index"));
}

TEST_CASE("invariants: advancing past entries that were never persisted is caught", "[rawnode]") {
  TestNode n(1, ConfState{{1}, {}});
  REQUIRE(n->campaign().ok());
  n.flush();
  REQUIRE(n->propose(Bytes{'a'}).ok());
  n->ready();
  // The caller "forgets" to persist the entries: the commit index now points past the log.
  CHECK_THROWS_WITH(n->advance(), Catch::Contains("past the last index"));
}
