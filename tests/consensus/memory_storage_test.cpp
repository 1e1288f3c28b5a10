// MemoryStorage: the LogStorage contract (storage.h) that the LevelDB storage must also meet.
#include <catch2/catch.hpp>

#include "consensus/errors.h"
#include "consensus/memory_storage.h"

using namespace onebill::consensus;

namespace {

std::vector<Entry> entries(Index from, Index to, Term term) {
  std::vector<Entry> out;
  for (Index i = from; i <= to; ++i) out.push_back(Entry{term, i, EntryType::kNormal, {static_cast<std::uint8_t>(i)}});
  return out;
}

}  // namespace

TEST_CASE("storage: a new log is empty after the genesis snapshot", "[storage]") {
  MemoryStorage s(ConfState{{1, 2, 3}, {}});
  CHECK(s.first_index() == 1);
  CHECK(s.last_index() == 0);
  CHECK(*s.term(0) == 0);
  CHECK(s.term(1).error().code == kErrUnavailable);
  CHECK(s.snapshot_meta().conf_state.voters == std::vector<NodeId>{1, 2, 3});
  CHECK(s.hard_state() == HardState{});
}

TEST_CASE("storage: append replaces a conflicting suffix and refuses gaps", "[storage]") {
  MemoryStorage s;
  REQUIRE(s.append(entries(1, 5, 1)).ok());
  REQUIRE(s.append(entries(4, 6, 2)).ok());
  CHECK(s.last_index() == 6);
  CHECK(*s.term(3) == 1);
  CHECK(*s.term(4) == 2);
  CHECK(s.append(entries(8, 9, 2)).error().code == kErrUnavailable);
  auto e = s.entries(2, 7, UINT64_MAX);
  REQUIRE(e.ok());
  CHECK(e->size() == 5);
  // max_bytes bounds the batch but one entry always comes back.
  CHECK(s.entries(2, 7, 1)->size() == 1);
  CHECK(s.entries(2, 7, 2 * (kEntryOverheadBytes + 1))->size() == 2);
}

TEST_CASE("storage: snapshots and compaction", "[storage]") {
  MemoryStorage s(ConfState{{1}, {}});
  REQUIRE(s.append(entries(1, 10, 1)).ok());
  CHECK(s.create_snapshot(11, ConfState{{1}, {}}, {}).error().code == kErrUnavailable);
  REQUIRE(s.create_snapshot(8, ConfState{{1, 2}, {}}, {'s'}).ok());
  CHECK(s.create_snapshot(8, ConfState{{1}, {}}, {}).error().code == kErrSnapshotOutOfDate);
  CHECK(s.snapshot_meta().index == 8);
  CHECK(s.snapshot_meta().term == 1);
  // The log is kept until compacted, and never past the snapshot.
  CHECK(s.first_index() == 1);
  CHECK(s.compact(9).error().code == kErrUnavailable);
  REQUIRE(s.compact(5).ok());
  CHECK(s.first_index() == 6);
  CHECK(*s.term(5) == 1);
  CHECK(s.term(4).error().code == kErrCompacted);
  CHECK(s.entries(5, 7, UINT64_MAX).error().code == kErrCompacted);
  REQUIRE(s.compact(3).ok());  // already compacted: nothing to do
  CHECK(s.first_index() == 6);

  // A snapshot from the leader replaces the whole log.
  Snapshot leader{SnapshotMeta{20, 3, ConfState{{1, 2, 3}, {}}}, {'x'}};
  REQUIRE(s.apply_snapshot(leader).ok());
  CHECK(s.first_index() == 21);
  CHECK(s.last_index() == 20);
  CHECK(*s.term(20) == 3);
  CHECK(s.snapshot()->data == Bytes{'x'});
  CHECK(s.apply_snapshot(leader).error().code == kErrSnapshotOutOfDate);
  REQUIRE(s.append(entries(21, 22, 3)).ok());
  CHECK(s.last_index() == 22);
}
