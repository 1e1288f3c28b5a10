// Who may lead a voter, ask for its vote or raise its term (consensus/raft_admission.cpp): only voters. A learner,
// or a node outside the configuration, could otherwise depose a working leader with one message of a higher term
// (docs/security.md §4.6). And the three ways a legitimate leader can be unknown to a voter as a voter — all of
// which the filter must not turn into a follower that never catches up.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "consensus/conf_change.h"
#include "consensus/errors.h"
#include "tests/consensus/cluster.h"
#include "tests/consensus/raft_test_util.h"

using namespace onebill::consensus;
using namespace onebill::consensus::testing;

namespace {

const ConfState kWithLearner{{1, 2, 3}, {4}};
constexpr NodeId kLearner = 4;
constexpr NodeId kStranger = 9;

// A well-formed message of `type` from `from` to `to` in `term`, as a peer whose log is {1: term 1} would send it:
// an append carries one entry after index 1, a snapshot one chunk of a snapshot at index 5, vote requests a log as
// up to date as the receiver's (so only the sender's standing can decide the answer).
Message claim(MessageType type, NodeId from, NodeId to, Term term) {
  Message m = msg(type, from, to, term);
  switch (type) {
    case MessageType::kAppend:
      m.index = 1;
      m.log_term = 1;
      m.entries = {Entry{term, 2, EntryType::kNormal, Bytes{'x'}}};
      m.commit = 2;
      break;
    case MessageType::kSnapshot:
      m.snapshot = SnapshotMeta{5, term, ConfState{{from}, {}}};
      m.snapshot_data = Bytes{'s'};
      m.snapshot_done = true;
      break;
    case MessageType::kVote:
    case MessageType::kPreVote:
      m.index = 1;
      m.log_term = 1;
      break;
    default:
      break;
  }
  return m;
}

const MessageType kLeaderOrVoteTraffic[] = {MessageType::kAppend, MessageType::kHeartbeat, MessageType::kSnapshot,
                                            MessageType::kTimeoutNow, MessageType::kVote, MessageType::kPreVote};

// An append from `from` in `term` to `to`: `entries` after (index, log_term), the leader's commit `commit`.
Message append_to(NodeId to, NodeId from, Term term, Index index, Term log_term, std::vector<Entry> entries,
                  Index commit) {
  Message m = msg(MessageType::kAppend, from, to, term);
  m.index = index;
  m.log_term = log_term;
  m.entries = std::move(entries);
  m.commit = commit;
  return m;
}

Entry conf_entry(Term term, Index index, ConfChangeType type, NodeId node) {
  return Entry{term, index, EntryType::kConfChange, encode_conf_change({type, node})};
}

// Nodes 1-4 of kWithLearner (pre-vote and check-quorum on), node 1 elected.
void elect_1_with_learner(Cluster& c) {
  c.add_nodes(4, kWithLearner, NodeOptions{});
  REQUIRE(c.raw(1).campaign().ok());
  c.stabilize();
  REQUIRE(c.raw(1).status().role == Role::kLeader);
}

// Makes `n` (node 1 of kWithLearner, log {1}) leader of term 2 with node 2's vote, its first entry committed.
void lead(TestNode& n) {
  REQUIRE(n->campaign().ok());
  n.flush();
  if (n.status().role == Role::kPreCandidate) {
    REQUIRE(n->step(msg(MessageType::kPreVoteResponse, 2, 1, 2)).ok());
    n.flush();
  }
  REQUIRE(n->step(msg(MessageType::kVoteResponse, 2, 1, 2)).ok());
  REQUIRE(n.status().role == Role::kLeader);
  n.flush();
  Message ack = msg(MessageType::kAppendResponse, 2, 1, 2);
  ack.index = 2;
  REQUIRE(n->step(ack).ok());
  REQUIRE(n.status().hard_state.commit == 2);
  n.flush();
}

}  // namespace

TEST_CASE("admission: a voter takes no term, leader or vote from a learner or a node outside the configuration",
          "[admission]") {
  // Plain Raft (no lease to hide behind) and with pre-vote and check-quorum; from the learner and from a stranger;
  // in the follower's own term and in a later one.
  for (bool protections : {false, true}) {
    for (NodeId from : {kLearner, kStranger}) {
      for (Term term : {Term{1}, Term{5}}) {
        for (MessageType type : kLeaderOrVoteTraffic) {
          INFO("protections " << protections << ", " << to_string(type) << " from " << from << " in term " << term);
          TestNode f(2, kWithLearner, {1}, HardState{1, 0, 1}, protections, protections);
          REQUIRE(f->step(msg(MessageType::kHeartbeat, 1, 2, 1)).ok());
          f.flush();
          REQUIRE(f.status().lead == 1);

          REQUIRE(f->step(claim(type, from, 2, term)).ok());
          std::vector<Message> out = f.flush();
          CHECK(f.status().hard_state == HardState{1, 0, 1});
          CHECK(f.status().role == Role::kFollower);
          CHECK(f.status().lead == 1);
          CHECK(f.status().last_index == 1);
          CHECK(f.storage.snapshot_meta().index == 0);
          if (type == MessageType::kVote || type == MessageType::kPreVote) {
            // Refused, with our term and our leader, and nothing changed here.
            REQUIRE(out.size() == 1);
            CHECK(out[0].to == from);
            CHECK(out[0].reject);
            CHECK(out[0].term == 1);
            CHECK(out[0].reject_hint == 1);
          } else {
            CHECK(out.empty());
          }
        }
      }
    }
  }
}

TEST_CASE("admission: a leader is not deposed by a learner or a node outside the configuration", "[admission]") {
  for (bool protections : {false, true}) {
    for (NodeId from : {kLearner, kStranger}) {
      for (MessageType type : kLeaderOrVoteTraffic) {
        INFO("protections " << protections << ", " << to_string(type) << " from " << from);
        TestNode a(1, kWithLearner, {1}, HardState{1, 0, 1}, protections, protections);
        lead(a);
        REQUIRE(a->step(claim(type, from, 1, 9)).ok());
        a.flush();
        CHECK(a.status().role == Role::kLeader);
        CHECK(a.status().hard_state.term == 2);
        CHECK(a.status().lead == 1);
      }
    }
    // A stranger's answers of a later term too (a learner's are the next test's subject).
    for (MessageType type : {MessageType::kAppendResponse, MessageType::kHeartbeatResponse,
                             MessageType::kSnapshotResponse, MessageType::kVoteResponse,
                             MessageType::kPreVoteResponse}) {
      INFO("protections " << protections << ", " << to_string(type));
      TestNode a(1, kWithLearner, {1}, HardState{1, 0, 1}, protections, protections);
      lead(a);
      Message answer = msg(type, kStranger, 1, 9);
      answer.reject = true;
      REQUIRE(a->step(answer).ok());
      CHECK(a.status().role == Role::kLeader);
      CHECK(a.status().hard_state.term == 2);
    }
  }
}

TEST_CASE("admission: a learner of a later term is brought back by its leader re-electing itself", "[admission]") {
  // Node 4 was a voter, was removed without learning it, campaigned alone up to term 7 and was added back as a
  // learner. It refuses the leader's appends as stale (§5.1); the leader may not step down for a learner, so it
  // starts a term past 7 itself, as in a leadership transfer to itself, and keeps the leadership.
  TestNode a(1, kWithLearner, {1}, HardState{1, 0, 1}, true, true);
  TestNode b(2, kWithLearner, {1}, HardState{1, 0, 1}, true, true);
  TestNode c(3, kWithLearner, {1}, HardState{1, 0, 1}, true, true);
  TestNode l(kLearner, ConfState{{1, 2, 3, 4}, {}}, {1}, HardState{7, 4, 1}, true, true);
  REQUIRE(a->campaign().ok());
  pump({{1, &a}, {2, &b}, {3, &c}});
  REQUIRE(a.status().role == Role::kLeader);
  REQUIRE(a.status().hard_state.term == 2);

  REQUIRE(a->propose(Bytes{'p'}).ok());
  for (int i = 0; i < a.config.heartbeat_tick; ++i) a->tick();  // the learner's first message from the leader
  pump({{1, &a}, {2, &b}, {3, &c}, {kLearner, &l}});
  CHECK(a.status().role == Role::kLeader);
  CHECK(a.status().hard_state.term == 8);
  CHECK(b.status().lead == 1);
  CHECK(c.status().lead == 1);
  CHECK(l.status().lead == 1);
  CHECK(l.status().hard_state.term == 8);
  CHECK(l.status().last_index == a.status().last_index);
}

TEST_CASE("admission: the legitimate leader still leads voters and learners, and a promoted learner can lead",
          "[admission]") {
  Cluster c;
  elect_1_with_learner(c);
  const Term term = c.raw(1).status().hard_state.term;

  // The learner claims leadership of a far later term, to every voter, and asks for their votes.
  for (NodeId voter : {1, 2, 3}) {
    for (MessageType type : kLeaderOrVoteTraffic) {
      REQUIRE(c.raw(voter).step(claim(type, kLearner, voter, term + 50)).ok());
    }
  }
  c.stabilize();
  for (NodeId voter : {1, 2, 3}) {
    CHECK(c.raw(voter).status().hard_state.term == term);
    CHECK(c.raw(voter).status().lead == 1);
  }

  // The leader still commits, and the learner still follows it (a learner takes leader traffic from anyone).
  REQUIRE(c.raw(1).propose(to_bytes("a")).ok());
  c.stabilize();
  for (NodeId id : {1, 2, 3, 4}) CHECK(c.node(id).app.entries == std::vector<std::pair<Index, std::string>>{{2, "a"}});

  // Promoted, the learner is a voter to everyone who has the change: it can be elected and lead.
  REQUIRE(c.raw(1).propose_conf_change({ConfChangeType::kPromoteLearner, kLearner}).ok());
  c.stabilize();
  for (NodeId id : {1, 2, 3, 4}) REQUIRE(c.raw(id).status().conf == ConfState{{1, 2, 3, 4}, {}});
  REQUIRE(c.raw(1).transfer_leadership(kLearner).ok());
  c.stabilize();
  REQUIRE(c.raw(kLearner).status().role == Role::kLeader);
  for (NodeId id : {1, 2, 3}) CHECK(c.raw(id).status().lead == kLearner);
  REQUIRE(c.raw(kLearner).propose(to_bytes("b")).ok());
  c.stabilize();
  for (NodeId id : {1, 2, 3, 4}) {
    REQUIRE_FALSE(c.node(id).app.entries.empty());
    CHECK(c.node(id).app.entries.back().second == "b");
  }
}

TEST_CASE("admission: a learner takes its leader's traffic, of a later term too", "[admission]") {
  // A learner filters nothing: it may know only an old configuration, and what it does deposes nobody.
  TestNode l(kLearner, kWithLearner, {1}, HardState{1, 0, 1}, true, true);
  REQUIRE(l->step(msg(MessageType::kHeartbeat, 1, kLearner, 3)).ok());
  CHECK(l.status().hard_state.term == 3);
  CHECK(l.status().lead == 1);
  REQUIRE(l->step(claim(MessageType::kAppend, 2, kLearner, 4)).ok());
  CHECK(l.status().hard_state.term == 4);
  CHECK(l.status().lead == 2);
  CHECK(l.status().last_index == 2);
}

TEST_CASE("admission: a voter that missed the new leader's promotion follows it on the word of a voter it knows",
          "[admission]") {
  Cluster c;
  elect_1_with_learner(c);
  // Node 3 is cut off while the learner is promoted and the leadership moves to it.
  c.partition({{1, 2, 4}, {3}});
  REQUIRE(c.raw(1).propose_conf_change({ConfChangeType::kPromoteLearner, kLearner}).ok());
  c.stabilize();
  REQUIRE(c.raw(1).transfer_leadership(kLearner).ok());
  c.stabilize();
  REQUIRE(c.raw(kLearner).status().role == Role::kLeader);
  REQUIRE(c.raw(kLearner).propose(to_bytes("after")).ok());
  c.stabilize();
  const Term term = c.raw(kLearner).status().hard_state.term;

  // Healed, node 3 still knows node 4 as a learner only: it cannot tell its heartbeats from a learner's forgery.
  c.heal();
  c.tick(kLearner, 1);
  c.stabilize();
  CHECK(c.raw(3).status().lead != kLearner);
  CHECK(c.raw(3).status().conf == kWithLearner);
  // Without a leader it knows, it times out and asks for a pre-vote. Nodes 1 and 2, in node 4's lease, refuse and
  // say whom they follow; node 3 takes that leader's next heartbeat and catches up.
  c.tick(3, 2 * NodeOptions{}.election_tick);
  c.stabilize();
  c.tick(kLearner, 1);
  c.stabilize();
  CHECK(c.raw(3).status().lead == kLearner);
  CHECK(c.raw(3).status().hard_state.term == term);
  CHECK(c.raw(3).status().conf == ConfState{{1, 2, 3, 4}, {}});
  REQUIRE_FALSE(c.node(3).app.entries.empty());
  CHECK(c.node(3).app.entries.back().second == "after");
  CHECK(c.raw(kLearner).status().role == Role::kLeader);
}

TEST_CASE("admission: a voter votes for a candidate it does not know as a voter on the word of a voter it knows",
          "[admission]") {
  // Node 4 is added as a voter while node 3 is cut off; then node 4 leads, writes an entry that only node 2 gets,
  // and node 2 stops. With 1, 3 and 4 left (four voters, a majority is three), only node 4 can win — node 1 lacks
  // its entry — and node 4 needs node 3, which does not know it as a voter. Node 3, campaigning in vain, asks node
  // 1, whose refusal names the candidate node 1 backs: node 4. Node 3 then counts node 4 as a voter.
  Cluster c;
  c.add_nodes(3, ConfState{}, NodeOptions{});
  c.add_nodes(1, kThree, NodeOptions{});
  REQUIRE(c.raw(1).campaign().ok());
  c.stabilize();
  c.partition({{1, 2, 4}, {3}});
  REQUIRE(c.raw(1).propose_conf_change({ConfChangeType::kAddVoter, 4}).ok());
  c.stabilize();
  REQUIRE(c.raw(1).transfer_leadership(4).ok());
  c.stabilize();
  REQUIRE(c.raw(4).status().role == Role::kLeader);
  c.partition({{2, 4}, {1}, {3}});
  REQUIRE(c.raw(4).propose(to_bytes("x")).ok());
  c.stabilize();
  c.crash(2);
  c.tick(4, 2 * NodeOptions{}.election_tick);  // check-quorum: alone, it steps down
  c.stabilize();
  REQUIRE(c.raw(4).status().role != Role::kLeader);
  c.heal();
  REQUIRE(c.raw(3).status().conf == kThree);

  bool done = false;
  for (int round = 0; round < 500 && !done; ++round) {
    for (NodeId id : {1, 3, 4}) c.tick(id, 1);
    c.stabilize();
    done = c.raw(4).status().role == Role::kLeader && !c.node(3).app.entries.empty();
  }
  REQUIRE(done);
  CHECK(c.node(3).app.entries.back().second == "x");
  CHECK(c.raw(3).status().lead == 4);
  CHECK(c.raw(3).status().conf == ConfState{{1, 2, 3, 4}, {}});
}

TEST_CASE("thesis §4.2.2: a voter whose own removal is not committed still stands for election", "[admission]") {
  // It may hold the only copy of entries that must commit. It does not count itself, and once the removal commits
  // it steps down (handing over) and never campaigns again.
  TestNode n(1, kThree, {1}, HardState{1, 0, 1});
  REQUIRE(n->step(append_to(1, 2, 2, 1, 1, {conf_entry(2, 2, ConfChangeType::kRemoveVoter, 1)}, 1)).ok());
  n.flush();
  REQUIRE(n.status().conf == ConfState{{2, 3}, {}});
  REQUIRE(n->campaign().ok());
  auto votes = of_type(n.flush(), MessageType::kVote);
  REQUIRE(votes.size() == 2);
  CHECK(votes[0].to == 2);
  CHECK(votes[1].to == 3);
  REQUIRE(n->step(msg(MessageType::kVoteResponse, 2, 1, 3)).ok());
  CHECK(n.status().role == Role::kCandidate);  // its own vote does not count: it needs both of {2, 3}
  REQUIRE(n->step(msg(MessageType::kVoteResponse, 3, 1, 3)).ok());
  REQUIRE(n.status().role == Role::kLeader);
  n.flush();
  for (NodeId peer : {2, 3}) {
    Message ack = msg(MessageType::kAppendResponse, peer, 1, 3);
    ack.index = 3;
    REQUIRE(n->step(ack).ok());
  }
  CHECK(n.status().hard_state.commit == 3);
  CHECK(n.status().role == Role::kFollower);
  CHECK(n->campaign().error().code == kErrNotVoter);
}

TEST_CASE("admission: the leader a voter accepted keeps it while the log it appends removes and re-adds that leader",
          "[admission]") {
  // Node 2 catches up from leader 3 (term 2) through history written by leader 1 in term 1: node 3 removed, an
  // entry, node 3 added back. In between, node 2's configuration, committed too, has no node 3.
  TestNode f(2, kThree, {1}, HardState{1, 0, 1});
  std::vector<Entry> removal{conf_entry(1, 2, ConfChangeType::kRemoveVoter, 3), Entry{1, 3, EntryType::kNormal, {}}};
  REQUIRE(f->step(append_to(2, 3, 2, 1, 1, removal, 3)).ok());
  f.flush();
  REQUIRE(f.status().conf == ConfState{{1, 2}, {}});
  REQUIRE(f.status().hard_state.commit == 3);
  REQUIRE(f.status().lead == 3);

  std::vector<Entry> readded{conf_entry(1, 4, ConfChangeType::kAddVoter, 3), Entry{2, 5, EntryType::kNormal, {}}};
  REQUIRE(f->step(append_to(2, 3, 2, 3, 1, readded, 5)).ok());
  CHECK(f.status().last_index == 5);
  CHECK(f.status().hard_state.commit == 5);
  CHECK(f.status().conf == kThree);
  CHECK(f.status().lead == 3);

  // Someone else that is no voter to it gets nothing of the kind in that term.
  REQUIRE(f->step(msg(MessageType::kHeartbeat, kStranger, 2, 2)).ok());
  CHECK(f.status().lead == 3);
}

TEST_CASE("admission: an uncommitted entry that removed the new leader does not keep a voter from following it",
          "[admission]") {
  // Leader 1 (term 1) appended "remove 3" on node 2 only and failed; node 3 won term 2 without it. To node 2, node 3
  // is no voter in the configuration in effect, but is in the committed one: it follows node 3, whose append
  // truncates the entry and with it the change.
  TestNode f(2, kThree, {1}, HardState{1, 0, 1});
  REQUIRE(f->step(append_to(2, 1, 1, 1, 1, {conf_entry(1, 2, ConfChangeType::kRemoveVoter, 3)}, 1)).ok());
  f.flush();
  REQUIRE(f.status().conf == ConfState{{1, 2}, {}});

  REQUIRE(f->step(append_to(2, 3, 2, 1, 1, {Entry{2, 2, EntryType::kNormal, {}}}, 2)).ok());
  CHECK(f.status().hard_state.term == 2);
  CHECK(f.status().lead == 3);
  CHECK(f.status().hard_state.commit == 2);
  CHECK(f.status().conf == kThree);
}
