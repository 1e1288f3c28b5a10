// RaftLog (raft_log.h): §5.3's log operations over storage plus unpersisted entries.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "consensus/memory_storage.h"
#include "consensus/raft_log.h"

using namespace onebill::consensus;
using namespace onebill::consensus::detail;

namespace {

const FatalHandler kThrow = [](const onebill::Error& e) { throw std::logic_error(e.message); };

std::vector<Entry> terms(Index from, std::initializer_list<Term> ts) {
  std::vector<Entry> out;
  for (Term t : ts) out.push_back(Entry{t, from++, EntryType::kNormal, {}});
  return out;
}

std::vector<Term> all_terms(const RaftLog& log) {
  std::vector<Term> out;
  for (Index i = log.first_index(); i <= log.last_index(); ++i) out.push_back(*log.term(i));
  return out;
}

}  // namespace

TEST_CASE("§5.3: an append is accepted only after a matching entry, and replaces conflicts", "[log]") {
  MemoryStorage storage;
  REQUIRE(storage.append(terms(1, {1, 1, 2, 2})).ok());
  RaftLog log(storage, kThrow, 0);
  CHECK(log.last_index() == 4);

  // No entry 5 / wrong term at 4: rejected.
  CHECK_FALSE(log.maybe_append(5, 2, 0, terms(6, {3})));
  CHECK_FALSE(log.maybe_append(4, 3, 0, terms(5, {3})));

  // Entries it already holds change nothing.
  auto same = log.maybe_append(2, 1, 0, terms(3, {2}));
  REQUIRE(same);
  CHECK(same->first_written == 0);
  CHECK(same->last_new == 3);
  CHECK(log.last_index() == 4);

  // "If an existing entry conflicts with a new one (same index but different terms), delete the existing entry
  // and all that follow it" (Figure 2).
  auto repaired = log.maybe_append(2, 1, 3, terms(3, {3, 3, 3}));
  REQUIRE(repaired);
  CHECK(repaired->first_written == 3);
  CHECK(all_terms(log) == std::vector<Term>{1, 1, 3, 3, 3});
  CHECK(log.committed() == 3);  // min(leader commit, last new)
  CHECK(log.unstable().entries().size() == 3);
}

TEST_CASE("§5.3: conflicting with a committed entry is fatal", "[log]") {
  MemoryStorage storage;
  REQUIRE(storage.append(terms(1, {1, 1, 1})).ok());
  RaftLog log(storage, kThrow, 0);
  log.commit_to(3);
  CHECK_THROWS(log.maybe_append(1, 1, 3, terms(2, {2})));
  CHECK_THROWS(log.commit_to(4));  // past the last index
}

TEST_CASE("§5.3 fast back-off: the last index whose term is at most the leader's", "[log]") {
  MemoryStorage storage;
  REQUIRE(storage.append(terms(1, {1, 1, 2, 2, 4, 4, 4})).ok());
  RaftLog log(storage, kThrow, 0);
  CHECK(log.find_conflict_by_term(7, 3) == std::make_pair(Index{4}, Term{2}));
  CHECK(log.find_conflict_by_term(7, 4) == std::make_pair(Index{7}, Term{4}));
  CHECK(log.find_conflict_by_term(4, 1) == std::make_pair(Index{2}, Term{1}));
  CHECK(log.find_conflict_by_term(3, 0) == std::make_pair(Index{0}, Term{0}));
}

TEST_CASE("§5.4.1: which log is more up to date", "[log]") {
  MemoryStorage storage;
  REQUIRE(storage.append(terms(1, {1, 2, 2})).ok());
  RaftLog log(storage, kThrow, 0);
  CHECK(log.is_up_to_date(3, 2));
  CHECK(log.is_up_to_date(1, 3));  // later last term wins regardless of length
  CHECK_FALSE(log.is_up_to_date(2, 2));
  CHECK_FALSE(log.is_up_to_date(10, 1));
}

TEST_CASE("the log reads across storage and unpersisted entries, and snapshots replace it", "[log]") {
  MemoryStorage storage;
  REQUIRE(storage.append(terms(1, {1, 1, 1})).ok());
  REQUIRE(storage.create_snapshot(2, ConfState{{1}, {}}, {}).ok());
  REQUIRE(storage.compact(2).ok());
  RaftLog log(storage, kThrow, 2);
  log.append(terms(4, {2, 2}));
  CHECK(log.first_index() == 3);
  CHECK(log.last_index() == 5);
  CHECK(*log.term(2) == 1);  // the compaction point still answers
  CHECK_FALSE(log.term(1));
  CHECK_FALSE(log.slice(2, 4, UINT64_MAX));  // compacted
  auto s = log.slice(3, 6, UINT64_MAX);
  REQUIRE(s);
  CHECK(s->size() == 3);
  CHECK(log.slice(3, 6, 1)->size() == 1);

  log.commit_to(4);
  CHECK(log.next_committed_entries(UINT64_MAX).size() == 2);  // 3 and 4
  log.stable_to(5, 2);
  CHECK(log.unstable().entries().empty());

  log.restore(Snapshot{SnapshotMeta{9, 3, ConfState{{1}, {}}}, {}});
  CHECK(log.committed() == 9);
  CHECK(log.last_index() == 9);
  CHECK(log.first_index() == 10);
  CHECK_FALSE(log.has_next_committed_entries());  // the snapshot itself carries the state
}
