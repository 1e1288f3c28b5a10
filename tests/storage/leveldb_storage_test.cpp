// LevelDbStorage: the durable Raft log. Behaves like MemoryStorage, survives reopen, detects and truncates a torn
// tail that was never acknowledged, refuses to lose a committed entry, and keeps exactly what was synced across a
// power cut (FaultInjectionEnv).
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include <leveldb/db.h>

#include "consensus/errors.h"
#include "consensus/memory_storage.h"
#include "consensus/storage/crc32c.h"
#include "consensus/storage/leveldb_storage.h"
#include "tests/support/fault_env.h"

using namespace onebill::consensus;
namespace fs = std::filesystem;

namespace {

struct TempDb {
  fs::path dir;
  onebill::testing::FaultInjectionEnv env;
  std::unique_ptr<leveldb::DB> db;

  TempDb() {
    dir = fs::temp_directory_path() / ("onebill-storage-" + std::to_string(std::random_device{}()));
    fs::remove_all(dir);
    open();
  }
  ~TempDb() {
    db.reset();
    fs::remove_all(dir);
  }
  void open() {
    leveldb::Options o;
    o.create_if_missing = true;
    o.env = &env;
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(o, dir.string(), &raw).ok());
    db.reset(raw);
  }
  void close() { db.reset(); }
};

ConfState genesis() { return ConfState{{1, 2, 3}, {}}; }

Entry entry(Index i, Term t, std::string data = "x") {
  return Entry{t, i, EntryType::kNormal, Bytes(data.begin(), data.end())};
}

std::unique_ptr<LevelDbStorage> open_storage(TempDb& t) {
  auto s = LevelDbStorage::open(t.db.get(), "r/", genesis());
  REQUIRE(s.ok());
  return std::move(*s);
}

Ready persist(std::vector<Entry> entries, std::optional<HardState> hs = {}, bool sync = true) {
  Ready r;
  r.entries = std::move(entries);
  r.hard_state = hs;
  r.must_sync = sync;
  return r;
}

}  // namespace

TEST_CASE("a new log is empty with the genesis configuration", "[storage]") {
  TempDb t;
  auto s = open_storage(t);
  CHECK(s->first_index() == 1);
  CHECK(s->last_index() == 0);
  CHECK(s->hard_state() == HardState{});
  CHECK(s->snapshot_meta().conf_state == genesis());
  CHECK(*s->term(0) == 0);
  CHECK(s->term(1).error().code == kErrUnavailable);
}

TEST_CASE("entries, hard state and snapshot survive reopening", "[storage]") {
  TempDb t;
  {
    auto s = open_storage(t);
    REQUIRE(s->save(persist({entry(1, 1), entry(2, 1), entry(3, 2, "three")}, HardState{2, 1, 2})).ok());
  }
  t.close();
  t.open();
  auto s = open_storage(t);
  CHECK(s->last_index() == 3);
  CHECK(s->hard_state() == HardState{2, 1, 2});
  CHECK(*s->term(3) == 2);
  auto es = s->entries(1, 4, 1 << 20);
  REQUIRE(es.ok());
  REQUIRE(es->size() == 3);
  CHECK((*es)[2] == entry(3, 2, "three"));
  CHECK(s->recovery().dropped == 0);
}

TEST_CASE("entries() stops at max_bytes but returns at least one entry", "[storage]") {
  TempDb t;
  auto s = open_storage(t);
  REQUIRE(s->append({entry(1, 1, std::string(100, 'a')), entry(2, 1, std::string(100, 'b')),
                     entry(3, 1, std::string(100, 'c'))}).ok());
  CHECK(s->entries(1, 4, 1)->size() == 1);
  CHECK(s->entries(1, 4, 2 * (100 + kEntryOverheadBytes))->size() == 2);
  CHECK(s->entries(1, 4, 1 << 20)->size() == 3);
  CHECK(s->entries(2, 5, 1 << 20).error().code == kErrUnavailable);
}

TEST_CASE("a follower's repair replaces conflicting entries (§5.3)", "[storage]") {
  TempDb t;
  auto s = open_storage(t);
  REQUIRE(s->append({entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)}).ok());
  REQUIRE(s->append({entry(3, 2, "new")}).ok());
  CHECK(s->last_index() == 3);
  CHECK(*s->term(3) == 2);
  CHECK(s->entries(3, 4, 1 << 20)->front() == entry(3, 2, "new"));
  CHECK(s->append({entry(6, 2)}).error().code == kErrUnavailable);  // a gap is refused
  t.close();
  t.open();
  auto again = open_storage(t);
  CHECK(again->last_index() == 3);
  CHECK(*again->term(3) == 2);
}

TEST_CASE("snapshots and compaction", "[storage]") {
  TempDb t;
  {
    auto s = open_storage(t);
    REQUIRE(s->append({entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)}).ok());
    REQUIRE(s->create_snapshot(3, ConfState{{1, 2}, {4}}, Bytes{9, 9}).ok());
    CHECK(s->first_index() == 1);  // creating a snapshot keeps the log
    REQUIRE(s->compact(3).ok());
    CHECK(s->first_index() == 4);
    CHECK(*s->term(3) == 2);
    CHECK(s->term(2).error().code == kErrCompacted);
    CHECK(s->entries(3, 5, 1 << 20).error().code == kErrCompacted);
    CHECK(s->compact(4).error().code == kErrUnavailable);  // not past the snapshot
  }
  t.close();
  t.open();
  auto s = open_storage(t);
  CHECK(s->first_index() == 4);
  CHECK(s->last_index() == 4);
  CHECK(s->snapshot_meta() == SnapshotMeta{3, 2, ConfState{{1, 2}, {4}}});
  CHECK(s->snapshot()->data == Bytes{9, 9});
}

TEST_CASE("a snapshot from the leader replaces the whole log", "[storage]") {
  TempDb t;
  auto s = open_storage(t);
  REQUIRE(s->append({entry(1, 1), entry(2, 1)}).ok());
  Ready r;
  r.snapshot = Snapshot{SnapshotMeta{10, 3, genesis()}, Bytes{1, 2, 3}};
  r.entries = {entry(11, 3)};
  r.hard_state = HardState{3, 0, 10};
  r.must_sync = true;
  REQUIRE(s->save(r).ok());
  CHECK(s->first_index() == 11);
  CHECK(s->last_index() == 11);
  CHECK(*s->term(10) == 3);
  t.close();
  t.open();
  auto again = open_storage(t);
  CHECK(again->first_index() == 11);
  CHECK(again->last_index() == 11);
  CHECK(again->snapshot()->data == Bytes{1, 2, 3});
  Ready old;
  old.snapshot = Snapshot{SnapshotMeta{5, 2, genesis()}, {}};
  CHECK(again->save(old).error().code == kErrSnapshotOutOfDate);
}

TEST_CASE("a torn tail beyond the commit index is truncated on open", "[storage]") {
  TempDb t;
  {
    auto s = open_storage(t);
    REQUIRE(s->save(persist({entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1), entry(5, 1)}, HardState{1, 1, 3}))
                .ok());
  }
  // Entry 4 half-written: its record no longer matches its checksum.
  std::string key = "r/e" + std::string("\0\0\0\0\0\0\0\x04", 8);
  std::string value;
  REQUIRE(t.db->Get(leveldb::ReadOptions(), key, &value).ok());
  value.resize(value.size() - 1);
  REQUIRE(t.db->Put(leveldb::WriteOptions(), key, value).ok());
  t.close();
  t.open();
  auto s = open_storage(t);
  CHECK(s->last_index() == 3);
  CHECK(s->recovery().truncated_from == 4);
  CHECK(s->recovery().dropped == 2);
  // The dropped records are gone from disk too, and new entries can be appended in their place.
  REQUIRE(s->append({entry(4, 2)}).ok());
  t.close();
  t.open();
  CHECK(open_storage(t)->last_index() == 4);
}

TEST_CASE("a missing or corrupt committed entry is refused, never dropped", "[storage]") {
  TempDb t;
  {
    auto s = open_storage(t);
    REQUIRE(s->save(persist({entry(1, 1), entry(2, 1), entry(3, 1)}, HardState{1, 1, 3})).ok());
  }
  std::string key = "r/e" + std::string("\0\0\0\0\0\0\0\x02", 8);
  REQUIRE(t.db->Put(leveldb::WriteOptions(), key, "garbage").ok());
  t.close();
  t.open();
  auto s = LevelDbStorage::open(t.db.get(), "r/", genesis());
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == "corruption");
}

TEST_CASE("a power cut keeps exactly what was synced", "[storage]") {
  TempDb t;
  {
    auto s = open_storage(t);
    REQUIRE(s->save(persist({entry(1, 1), entry(2, 1)}, HardState{1, 1, 1}, true)).ok());
    // A commit-index update that the Ready allows without sync, then the machine loses power.
    REQUIRE(s->save(persist({}, HardState{1, 1, 2}, false)).ok());
  }
  t.close();
  t.env.drop_unsynced_data();
  t.open();
  auto s = open_storage(t);
  CHECK(s->last_index() == 2);
  CHECK(s->hard_state() == HardState{1, 1, 1});  // the unsynced commit index is lost, as allowed
}

TEST_CASE("an I/O error is reported and leaves the storage unchanged", "[storage]") {
  TempDb t;
  auto s = open_storage(t);
  REQUIRE(s->append({entry(1, 1)}).ok());
  t.env.set_write_error(true);
  onebill::Status st = s->save(persist({entry(2, 1)}, HardState{1, 1, 1}));
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "io_error");
  CHECK(s->last_index() == 1);
  CHECK(s->hard_state() == HardState{});
  t.env.set_write_error(false);
}

TEST_CASE("LevelDbStorage behaves like MemoryStorage under random operations", "[storage][property]") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    TempDb t;
    auto disk = open_storage(t);
    MemoryStorage mem(genesis());
    std::mt19937 rng(seed);
    Term term = 1;
    for (int step = 0; step < 60; ++step) {
      int op = static_cast<int>(rng() % 10);
      if (op < 6) {  // append, sometimes overwriting a suffix
        Index last = mem.last_index();
        Index first = mem.first_index();
        Index from = last + 1;
        if (op == 0 && last >= first) from = first + rng() % (last - first + 1);
        if (op == 1) ++term;
        std::vector<Entry> es;
        for (Index i = from; i < from + 1 + rng() % 4; ++i) es.push_back(entry(i, term, std::to_string(rng())));
        REQUIRE(mem.append(es).ok() == disk->append(es).ok());
      } else if (op < 8 && mem.last_index() > mem.snapshot_meta().index) {  // snapshot then compact
        Index at = mem.snapshot_meta().index + 1 + rng() % (mem.last_index() - mem.snapshot_meta().index);
        REQUIRE(mem.create_snapshot(at, genesis(), Bytes{1}).ok());
        REQUIRE(disk->create_snapshot(at, genesis(), Bytes{1}).ok());
        REQUIRE(mem.compact(at).ok());
        REQUIRE(disk->compact(at).ok());
      } else if (op == 9) {  // reopen
        disk.reset();
        t.close();
        t.open();
        disk = open_storage(t);
      }
      REQUIRE(disk->first_index() == mem.first_index());
      REQUIRE(disk->last_index() == mem.last_index());
      for (Index i = mem.first_index() - 1; i <= mem.last_index(); ++i) REQUIRE(*disk->term(i) == *mem.term(i));
      if (mem.last_index() >= mem.first_index()) {
        REQUIRE(*disk->entries(mem.first_index(), mem.last_index() + 1, 1 << 20) ==
                *mem.entries(mem.first_index(), mem.last_index() + 1, 1 << 20));
      }
    }
  }
}

TEST_CASE("CRC-32C gives RFC 3720's test values, by instruction and by table, whole or in pieces", "[storage]") {
  std::array<std::uint8_t, 32> zeros{}, ones{}, up{}, down{};
  ones.fill(0xff);
  for (std::size_t i = 0; i < 32; ++i) {
    up[i] = static_cast<std::uint8_t>(i);
    down[i] = static_cast<std::uint8_t>(31 - i);
  }
  // RFC 3720 §B.4 (the iSCSI CRC examples).
  const std::pair<const std::array<std::uint8_t, 32>*, std::uint32_t> vectors[] = {
      {&zeros, 0x8A9136AAu}, {&ones, 0x62A8AB43u}, {&up, 0x46DD794Eu}, {&down, 0x113FDB5Cu}};
  for (const auto& [data, expected] : vectors) {
    CHECK(crc32c(0, data->data(), data->size()) == expected);
    CHECK(crc32c_portable(0, data->data(), data->size()) == expected);
  }
  CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);  // the customary check value
  // Any length and any split: the two forms agree, and a CRC continues across pieces.
  std::mt19937 rng(7);
  std::vector<std::uint8_t> buf(1000);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 65u, 1000u}) {
    const std::uint32_t whole = crc32c(0, buf.data(), n);
    CHECK(whole == crc32c_portable(0, buf.data(), n));
    for (std::size_t cut = 0; cut <= n; cut += 13) {
      CHECK(crc32c(crc32c(0, buf.data(), cut), buf.data() + cut, n - cut) == whole);
    }
  }
}
