// Progress tracking and flow control (progress.h, tracker.h): how a leader bounds what it sends a follower, and
// the quorum arithmetic of §5.3 and §5.2.
#include <catch2/catch.hpp>

#include "consensus/progress.h"
#include "consensus/tracker.h"

using namespace onebill::consensus;
using namespace onebill::consensus::detail;

TEST_CASE("flow control: the in-flight window bounds messages and bytes", "[progress]") {
  Inflights by_count(3, 0);
  by_count.add(1, 100);
  by_count.add(2, 100);
  CHECK_FALSE(by_count.full());
  by_count.add(3, 100);
  CHECK(by_count.full());
  by_count.free_le(2);
  CHECK(by_count.count() == 1);
  CHECK_FALSE(by_count.full());

  Inflights by_bytes(100, 250);
  CHECK_FALSE(by_bytes.full());  // an empty window is never full, so one large append can always go
  by_bytes.add(5, 1000);
  CHECK(by_bytes.full());
  by_bytes.free_first();
  CHECK(by_bytes.bytes() == 0);
  by_bytes.add(6, 100);
  by_bytes.add(7, 100);
  CHECK_FALSE(by_bytes.full());
  by_bytes.add(8, 100);
  CHECK(by_bytes.full());
}

TEST_CASE("§5.3: probing, replicating and backing off", "[progress]") {
  Progress pr(11, 2, 0, false);
  CHECK(pr.state == ProgressState::kProbe);
  CHECK_FALSE(pr.is_paused());
  pr.sent_entries(12, 10);  // probe: one message, then wait
  CHECK(pr.is_paused());

  SECTION("a rejection moves next back to the follower's hint") {
    CHECK(pr.maybe_decr_to(10, 4));
    CHECK(pr.next == 5);
    CHECK_FALSE(pr.is_paused());
    CHECK_FALSE(pr.maybe_decr_to(10, 4));  // stale: not an answer to next - 1
  }
  SECTION("an acknowledgement switches to pipelined replication") {
    CHECK(pr.maybe_update(12));
    pr.become_replicate();
    CHECK(pr.next == 13);
    pr.sent_entries(14, 10);
    pr.sent_entries(16, 10);
    CHECK(pr.next == 17);
    CHECK(pr.is_paused());  // window of 2
    CHECK_FALSE(pr.maybe_decr_to(12, 0));  // stale rejection below match
    CHECK(pr.maybe_decr_to(14, 0));
    CHECK(pr.next == 13);
  }
}

TEST_CASE("§5.3: a leader commits what a majority of voters holds, learners aside", "[progress]") {
  ProgressTracker t(8, 0);
  t.set_conf(ConfState{{1, 2, 3, 4, 5}, {6}}, 1);
  Index matches[] = {9, 7, 7, 3, 1};
  for (NodeId id = 1; id <= 5; ++id) t.get(id)->match = matches[id - 1];
  t.get(6)->match = 100;
  CHECK(t.quorum_match_index() == 7);
  t.set_conf(ConfState{{1, 2}, {}}, 1);
  CHECK(t.quorum_match_index() == 7);  // both voters hold 7
  CHECK(t.get(6) == nullptr);
}

TEST_CASE("§5.2: a candidate needs a majority of voters", "[progress]") {
  ProgressTracker t(8, 0);
  t.set_conf(ConfState{{1, 2, 3, 4, 5}, {6}}, 1);
  t.record_vote(1, true);
  t.record_vote(6, true);  // a learner's vote does not count
  t.record_vote(2, true);
  CHECK(t.tally_votes() == VoteResult::kPending);
  t.record_vote(2, false);  // only the first answer counts
  t.record_vote(3, true);
  CHECK(t.tally_votes() == VoteResult::kWon);
  t.reset_votes();
  t.record_vote(1, true);
  t.record_vote(2, false);
  t.record_vote(3, false);
  CHECK(t.tally_votes() == VoteResult::kPending);
  t.record_vote(4, false);
  CHECK(t.tally_votes() == VoteResult::kLost);
}
