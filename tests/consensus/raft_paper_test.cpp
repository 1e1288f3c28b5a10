// Tests of the Raft core against the paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", extended version); each names the section it checks.
#include <catch2/catch.hpp>

#include <set>

#include "tests/consensus/raft_test_util.h"

using namespace onebill::consensus;
using namespace onebill::consensus::testing;

namespace {

// Makes node `n` (1 of three) leader: it campaigns and node 2 grants its vote.
void elect(TestNode& n) {
  REQUIRE(n->campaign().ok());
  n.flush();
  Message yes = msg(MessageType::kVoteResponse, 2, n.config.id, n.status().hard_state.term);
  REQUIRE(n->step(yes).ok());
  REQUIRE(n.status().role == Role::kLeader);
}

std::vector<Term> log_terms(const TestNode& n) {
  std::vector<Term> out;
  for (Index i = n.storage.first_index(); i <= n.storage.last_index(); ++i) out.push_back(*n.storage.term(i));
  return out;
}

}  // namespace

TEST_CASE("§5.1: a server that sees a larger term adopts it and becomes a follower", "[paper]") {
  TestNode follower(1, kThree, {}, HardState{1, 0, 0});
  REQUIRE(follower->step(msg(MessageType::kHeartbeat, 2, 1, 3)).ok());
  CHECK(follower.status().hard_state.term == 3);
  CHECK(follower.status().lead == 2);

  TestNode leader(1, kThree);
  elect(leader);
  Term t = leader.status().hard_state.term;
  REQUIRE(leader->step(msg(MessageType::kAppendResponse, 3, 1, t + 4)).ok());
  CHECK(leader.status().role == Role::kFollower);
  CHECK(leader.status().hard_state.term == t + 4);
  CHECK(leader.status().lead == kNoNode);
}

TEST_CASE("§5.1: a request with a stale term is rejected", "[paper]") {
  // Figure 2: "reply false if term < currentTerm". The answer carries our term, so the stale leader or candidate
  // steps down; nothing of the request is taken.
  SECTION("an append, in plain Raft as with pre-vote") {
    for (bool pre_vote : {false, true}) {
      TestNode n(1, kThree, {1}, HardState{3, 0, 0}, pre_vote, false);
      Message stale = msg(MessageType::kAppend, 2, 1, 2);
      stale.entries = {Entry{2, 2, EntryType::kNormal, {}}};
      stale.index = 1;
      stale.log_term = 1;
      REQUIRE(n->step(stale).ok());
      auto out = n.flush();
      REQUIRE(out.size() == 1);
      CHECK(out[0].type == MessageType::kAppendResponse);
      CHECK(out[0].term == 3);
      CHECK(n.status().last_index == 1);
      CHECK(n.status().hard_state.term == 3);
    }
  }
  SECTION("a heartbeat") {
    TestNode n(1, kThree, {1}, HardState{3, 0, 0}, true, false);
    REQUIRE(n->step(msg(MessageType::kHeartbeat, 2, 1, 2)).ok());
    auto out = n.flush();
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == MessageType::kAppendResponse);
    CHECK(out[0].term == 3);
  }
  SECTION("a vote request") {
    TestNode n(1, kThree, {1}, HardState{3, 0, 0});
    REQUIRE(n->step(msg(MessageType::kVote, 2, 1, 2)).ok());
    auto out = n.flush();
    REQUIRE(out.size() == 1);
    CHECK(out[0].type == MessageType::kVoteResponse);
    CHECK(out[0].reject);
    CHECK(out[0].term == 3);
    CHECK(n.status().hard_state == HardState{3, 0, 0});
  }
}

TEST_CASE("§5.2: a follower that hears from its leader stays a follower", "[paper]") {
  TestNode n(1, kThree);
  for (int t = 0; t < 100; ++t) {
    n->tick();
    REQUIRE(n->step(msg(MessageType::kHeartbeat, 2, 1, 1)).ok());
    n.flush();
  }
  CHECK(n.status().role == Role::kFollower);
  CHECK(n.status().lead == 2);
  CHECK(n.status().hard_state.term == 1);
}

TEST_CASE("§5.2: after an election timeout a follower votes for itself and asks every other voter", "[paper]") {
  TestNode n(1, kThree, {1, 1, 2}, HardState{2, 0, 0});
  int ticks = 0;
  while (n.status().role == Role::kFollower && ticks < 100) {
    n->tick();
    ++ticks;
  }
  CHECK(ticks >= n.config.election_tick);
  CHECK(ticks < 2 * n.config.election_tick);
  RaftStatus st = n.status();
  CHECK(st.role == Role::kCandidate);
  CHECK(st.hard_state.term == 3);
  CHECK(st.hard_state.vote == 1);
  auto votes = of_type(n.flush(), MessageType::kVote);
  REQUIRE(votes.size() == 2);
  std::set<NodeId> to;
  for (const Message& v : votes) {
    to.insert(v.to);
    CHECK(v.term == 3);
    CHECK(v.index == 3);
    CHECK(v.log_term == 2);
  }
  CHECK(to == std::set<NodeId>{2, 3});
  CHECK(n.storage.hard_state().vote == 1);  // persisted before the requests go out
}

TEST_CASE("§5.2: election timeouts are randomized from election_tick to 2 * election_tick - 1", "[paper]") {
  std::set<int> seen;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    TestNode n(1, kThree);
    n.config.random_seed = seed;
    n.start();
    int ticks = 0;
    while (n.status().role == Role::kFollower) {
      n->tick();
      ++ticks;
    }
    CHECK(ticks >= 10);
    CHECK(ticks < 20);
    seen.insert(ticks);
  }
  CHECK(seen.size() >= 5);
}

TEST_CASE("§5.2: a candidate with a majority of votes becomes leader and asserts itself", "[paper]") {
  TestNode n(1, kThree);
  elect(n);
  auto appends = of_type(n.flush(), MessageType::kAppend);
  REQUIRE(appends.size() == 2);
  for (const Message& a : appends) {
    REQUIRE(a.entries.size() == 1);
    CHECK(a.entries[0].term == 1);  // the leader's empty entry of its own term (§8)
    CHECK(a.entries[0].data.empty());
  }
}

TEST_CASE("§5.2: a candidate that hears from a leader of its term steps back", "[paper]") {
  TestNode n(1, kThree);
  REQUIRE(n->campaign().ok());
  n.flush();
  Message append = msg(MessageType::kAppend, 3, 1, 1);
  REQUIRE(n->step(append).ok());
  CHECK(n.status().role == Role::kFollower);
  CHECK(n.status().lead == 3);
}

TEST_CASE("§5.2: a split vote leads to a new election in a later term", "[paper]") {
  TestNode n(1, kThree);
  REQUIRE(n->campaign().ok());
  n.flush();
  for (int t = 0; t < 20; ++t) n->tick();
  CHECK(n.status().role == Role::kCandidate);
  CHECK(n.status().hard_state.term == 2);
  // A majority refusing ends the candidacy.
  REQUIRE(n->step([] { Message m = msg(MessageType::kVoteResponse, 2, 1, 2); m.reject = true; return m; }()).ok());
  REQUIRE(n->step([] { Message m = msg(MessageType::kVoteResponse, 3, 1, 2); m.reject = true; return m; }()).ok());
  CHECK(n.status().role == Role::kFollower);
}

TEST_CASE("§5.2: one vote per term, first come first served, kept across a restart", "[paper]") {
  TestNode voter(1, kThree);
  auto request = [](NodeId from) {
    Message m = msg(MessageType::kVote, from, 1, 1);
    return m;
  };
  REQUIRE(voter->step(request(2)).ok());
  auto out = voter.flush();
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].reject);
  REQUIRE(voter->step(request(3)).ok());
  out = voter.flush();
  REQUIRE(out.size() == 1);
  CHECK(out[0].reject);
  REQUIRE(voter->step(request(2)).ok());  // the same candidate asking again gets the same answer
  CHECK_FALSE(voter.flush()[0].reject);

  voter.start();  // restart from storage
  REQUIRE(voter->step(request(3)).ok());
  CHECK(voter.flush()[0].reject);
}

TEST_CASE("§5.3: the leader replicates an entry, commits it once a majority has it, and says so", "[paper]") {
  TestNode a(1, kThree), b(2, kThree), c(3, kThree);
  REQUIRE(a->campaign().ok());
  pump({{1, &a}, {2, &b}, {3, &c}});
  REQUIRE(a.status().role == Role::kLeader);
  REQUIRE(a->propose(Bytes{'x'}).ok());
  auto appends = of_type(a.flush(), MessageType::kAppend);
  REQUIRE(appends.size() == 2);
  CHECK(appends[0].index == 1);  // after the leader's empty entry
  CHECK(appends[0].log_term == 1);
  CHECK(appends[0].entries.size() == 1);
  // Only node 2 answers: with the leader that is a majority.
  pump({{1, &a}, {2, &b}}, {appends[0].to == 2 ? appends[0] : appends[1]});
  CHECK(a.status().hard_state.commit == 2);
  REQUIRE(!a.applied.empty());
  CHECK(a.applied.back().data == Bytes{'x'});
  // The commit index reaches followers with the next message.
  CHECK(b.status().hard_state.commit == 2);
  pump({{1, &a}, {2, &b}, {3, &c}}, {appends[0].to == 3 ? appends[0] : appends[1]});
  CHECK(c.storage.last_index() == 2);
}

TEST_CASE("§5.3 Figure 7: the leader brings every kind of divergent follower in line", "[paper]") {
  const std::vector<Term> leader_log{1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::vector<Term>> followers{
      {1, 1, 1, 4, 4, 5, 5, 6, 6},              // (a) missing one entry
      {1, 1, 1, 4},                             // (b) missing many
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},        // (c) an extra uncommitted entry
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},     // (d) extra entries of a later term
      {1, 1, 1, 4, 4, 4, 4},                    // (e) missing and extra
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},        // (f) a different history since index 4
  };
  for (const auto& f : followers) {
    TestNode leader(1, kThree, leader_log, HardState{7, 0, 0});
    TestNode helper(3, kThree, leader_log, HardState{7, 0, 0});
    TestNode follower(2, kThree, f, HardState{7, 0, 0});
    REQUIRE(leader->campaign().ok());
    pump({{1, &leader}, {2, &follower}, {3, &helper}});
    REQUIRE(leader.status().role == Role::kLeader);
    std::vector<Term> want = leader_log;
    want.push_back(8);
    CHECK(log_terms(follower) == want);
    CHECK(follower.status().hard_state.commit == 11);
  }
}

TEST_CASE("§5.4.1: a voter refuses a candidate whose log is less up to date", "[paper]") {
  struct Case {
    Index index;
    Term term;
    bool granted;
  };
  for (Case c : {Case{3, 2, true}, Case{4, 2, true}, Case{1, 3, true}, Case{2, 2, false}, Case{9, 1, false}}) {
    TestNode voter(1, kThree, {1, 1, 2}, HardState{2, 0, 0});
    Message m = msg(MessageType::kVote, 2, 1, 3);
    m.index = c.index;
    m.log_term = c.term;
    REQUIRE(voter->step(m).ok());
    auto out = voter.flush();
    REQUIRE(out.size() == 1);
    CHECK(out[0].reject == !c.granted);
  }
}

TEST_CASE("§5.4.2: a leader never commits an entry of an earlier term by counting replicas", "[paper]") {
  // Figure 8 (c): the leader of term 3 holds entry 2 from term 2 and replicates it to a majority; that alone
  // must not commit it. Only when its own entry 3 is on a majority are both committed.
  TestNode leader(1, kThree, {1, 2}, HardState{2, 0, 1});
  REQUIRE(leader->campaign().ok());
  leader.flush();
  REQUIRE(leader->step(msg(MessageType::kVoteResponse, 2, 1, 3)).ok());
  REQUIRE(leader.status().role == Role::kLeader);
  REQUIRE(leader.status().last_index == 3);
  leader.flush();
  Message ack = msg(MessageType::kAppendResponse, 2, 1, 3);
  ack.index = 2;
  REQUIRE(leader->step(ack).ok());
  CHECK(leader.status().hard_state.commit == 1);
  ack.index = 3;
  REQUIRE(leader->step(ack).ok());
  CHECK(leader.status().hard_state.commit == 3);
}

TEST_CASE("§5.5: a leader keeps retrying a follower whose messages were lost", "[paper]") {
  TestNode a(1, kThree), b(2, kThree), c(3, kThree);
  REQUIRE(a->campaign().ok());
  pump({{1, &a}, {2, &b}, {3, &c}});
  REQUIRE(a->propose(Bytes{'y'}).ok());
  pump({{1, &a}, {2, &b}});  // everything to node 3 is lost
  CHECK(c.storage.last_index() == 1);
  a->tick();  // heartbeat
  pump({{1, &a}, {2, &b}, {3, &c}});
  CHECK(c.storage.last_index() == 2);
  CHECK(c.status().hard_state.commit == 2);
}

TEST_CASE("§7: a follower installs a snapshot in chunks, whatever order they arrive in", "[paper]") {
  TestNode f(2, kThree, {1}, HardState{1, 0, 1});
  Message chunk = msg(MessageType::kSnapshot, 1, 2, 2);
  chunk.snapshot = SnapshotMeta{10, 2, ConfState{{1, 2, 3}, {4}}};
  Bytes data{'a', 'b', 'c', 'd', 'e'};
  auto send = [&](std::uint64_t offset, std::uint64_t len) {
    Message m = chunk;
    m.snapshot_offset = offset;
    m.snapshot_data.assign(data.begin() + static_cast<long>(offset), data.begin() + static_cast<long>(offset + len));
    m.snapshot_done = offset + len == data.size();
    REQUIRE(f->step(m).ok());
    auto out = f.flush();
    REQUIRE(out.size() == 1);
    return out[0];
  };
  Message r = send(2, 2);  // ahead of what it has: it says it holds nothing
  CHECK(r.type == MessageType::kSnapshotResponse);
  CHECK(r.snapshot_offset == 0);
  CHECK(send(0, 2).snapshot_offset == 2);
  CHECK(send(0, 2).snapshot_offset == 2);  // a duplicate changes nothing
  CHECK(send(2, 2).snapshot_offset == 4);
  r = send(4, 1);
  CHECK(r.type == MessageType::kAppendResponse);
  CHECK(r.index == 10);
  CHECK(f.storage.snapshot_meta().index == 10);
  CHECK(f.storage.snapshot()->data == data);
  CHECK(f.status().conf == ConfState{{1, 2, 3}, {4}});
  CHECK(f.status().hard_state.commit == 10);
  // A snapshot it already covers is answered with its commit index.
  r = send(0, 5);
  CHECK(r.type == MessageType::kAppendResponse);
  CHECK(r.index == 10);
}

// A follower offered a snapshot it cannot use (the node refuses it when no peer serves its content: a node serves
// only its latest snapshots, and none from before a restart) never acknowledges it, and the leader used to offer
// the same one again at every heartbeat, forever. Once the leader holds a newer snapshot, it offers that one.
TEST_CASE("§7: a leader offers its newer snapshot to a follower that did not take an older one", "[paper]") {
  TestNode a(1, kThree), b(2, kThree), c(3, kThree);
  REQUIRE(a->campaign().ok());
  pump({{1, &a}, {2, &b}, {3, &c}});
  // Node 3 is cut off while entries commit, and the leader compacts its log behind a snapshot.
  const auto grow_and_compact = [&](Bytes data) {
    for (int i = 0; i < 3; ++i) {
      REQUIRE(a->propose(Bytes{'x'}).ok());
      pump({{1, &a}, {2, &b}});
    }
    const Index at = a.storage.last_index();
    REQUIRE(a.storage.create_snapshot(at, kThree, std::move(data)).ok());
    REQUIRE(a.storage.compact(at).ok());
    return at;
  };
  const Index first = grow_and_compact(Bytes{'1'});
  // Node 3 is back: a heartbeat, its answers, the leader's appends it rejects, until the leader finds its entries
  // compacted and offers the snapshot.
  a->tick();
  std::vector<Message> to_c = a.flush();
  std::vector<Message> offered;
  for (int round = 0; round < 10 && offered.empty(); ++round) {
    std::vector<Message> next;
    for (const Message& m : to_c) {
      if (m.to != 3) continue;
      REQUIRE(c->step(m).ok());
      for (const Message& answer : c.flush()) REQUIRE(a->step(answer).ok());
      for (Message& out : a.flush()) {
        if (out.type == MessageType::kSnapshot && out.to == 3) offered.push_back(out);
        else next.push_back(std::move(out));
      }
    }
    to_c = std::move(next);
  }
  REQUIRE(offered.size() == 1);
  CHECK(offered[0].snapshot.index == first);
  // That offer is lost (or refused). Meanwhile the leader takes a newer snapshot.
  const Index second = grow_and_compact(Bytes{'2'});
  REQUIRE(second > first);
  a->tick();
  auto again = of_type(a.flush(), MessageType::kSnapshot);
  REQUIRE(again.size() == 1);
  CHECK(again[0].to == 3);
  CHECK(again[0].snapshot.index == second);
  CHECK(again[0].snapshot_offset == 0);
  // Node 3 takes it and catches up.
  pump({{1, &a}, {2, &b}, {3, &c}}, again);
  CHECK(c.storage.snapshot_meta().index == second);
  CHECK(c.status().hard_state.commit == a.status().hard_state.commit);
}
