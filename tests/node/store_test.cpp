// Store: write failures are sticky (finding F1, docs/reliability.md §3; node/sticky_env.h). A write that fails
// half-way on a full disk (tests/support/fault_env.h) makes the store refuse every later write with that first
// error — through Store::write and through db(), where the Raft log storage writes — without touching the disk;
// opened again with space, the store holds every write reported successful, and the torn record is gone.
//
// Without the sticky layer the first case below is finding F1 itself: the later write lands after the torn record
// and the database refuses to open ("partial record without end"); tests/integration/leveldb_tail_test.cpp shows
// that behaviour of LevelDB on its own.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "node/store.h"
#include "tests/support/fault_env.h"

using namespace onebill;
using testing::FaultInjectionEnv;

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

Status put(node::Store& store, const std::string& key, std::size_t bytes, bool sync) {
  leveldb::WriteBatch b;
  b.Put(key, std::string(bytes, 'v'));
  return store.write(b, sync);
}

// The size of the database's newest log file.
std::uintmax_t log_size(const fs::path& dir) {
  fs::path newest;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".log" && f.path().filename() > newest.filename()) newest = f.path();
  }
  REQUIRE(!newest.empty());
  return fs::file_size(newest);
}

std::optional<std::size_t> value_size(const node::Store& store, const std::string& key) {
  auto v = store.get(key);
  REQUIRE(v.ok());
  if (!v->has_value()) return std::nullopt;
  return (*v)->size();
}

}  // namespace

TEST_CASE("store: after a write fails half-way, every later write is refused with the first error, and the store "
          "opens again with every write reported successful",
          "[node][store]") {
  // Where the disk fills: where a log fragment ends (as on the tmpfs that found F1: the batch's FIRST fragment
  // fills its 32 KiB block, the next fragment finds no room) or inside a fragment.
  bool at_boundary = GENERATE(true, false);
  INFO((at_boundary ? "the disk fills where a fragment ends" : "the disk fills inside a fragment"));
  TempDir dir("onebill-store-f1");
  FaultInjectionEnv disk;
  Error first;
  {
    auto opened = node::Store::open(dir.path, &disk);
    REQUIRE(opened.ok());
    node::Store& store = **opened;
    REQUIRE(put(store, "a/1", 200, false).ok());  // an attestation
    REQUIRE(put(store, "r/1", 300, true).ok());   // a Raft persist, synced
    CHECK_FALSE(store.write_failure());

    disk.set_free_bytes(at_boundary ? 32768 - log_size(dir.path) : 20000);
    Status torn = put(store, "s/block", 100000, false);  // a block's batch, larger than a log block
    REQUIRE_FALSE(torn.ok());
    first = torn.error();
    CHECK(first.code == "io_error");
    CHECK(first.message.find("No space left on device") != std::string::npos);
    CHECK(disk.enospc_appends() == 1);
    REQUIRE(store.write_failure());
    CHECK(*store.write_failure() == first);

    // The operator frees space; the node's other threads try to write again. Refused, with the first error, and
    // not a byte reaches the disk.
    disk.set_free_bytes(FaultInjectionEnv::kUnlimited);
    std::uint64_t appended = disk.appended_bytes();
    Status later = put(store, "r/later", 200, true);
    REQUIRE_FALSE(later.ok());
    CHECK(later.error() == first);
    leveldb::WriteOptions synced;
    synced.sync = true;
    leveldb::Status direct = store.db()->Put(synced, "r/direct", "v");  // as consensus::LevelDbStorage writes
    REQUIRE_FALSE(direct.ok());
    CHECK(direct.ToString() == first.message);
    CHECK(disk.appended_bytes() == appended);
    // Reads go on.
    CHECK(value_size(store, "r/1") == 300u);
  }

  // Restarted with space: the torn record is the log's tail, which recovery drops; everything reported successful
  // is there, nothing that was refused, and the new store takes writes.
  auto reopened = node::Store::open(dir.path, &disk);
  INFO((reopened.ok() ? std::string() : reopened.error().message));
  REQUIRE(reopened.ok());
  node::Store& store = **reopened;
  CHECK(value_size(store, "a/1") == 200u);
  CHECK(value_size(store, "r/1") == 300u);
  CHECK_FALSE(value_size(store, "s/block"));
  CHECK_FALSE(value_size(store, "r/later"));
  CHECK_FALSE(value_size(store, "r/direct"));
  CHECK_FALSE(store.write_failure());
  CHECK(put(store, "r/after", 100, true).ok());
  CHECK(value_size(store, "r/after") == 100u);
}

TEST_CASE("store: writers racing with a full disk never write after the torn record", "[node][store]") {
  // Several threads write (some synced, as the Raft thread, some not, as the I/O thread) until the disk is full;
  // the first to see a failure gives the space back at once (as an operator would, later), and every thread goes
  // on writing a little. Each remembers which of its writes were reported successful. Opened again, the store
  // must hold exactly those: no write after the failure — not even one that was queued in LevelDB right behind
  // the failing one — got through.
  TempDir dir("onebill-store-race");
  FaultInjectionEnv disk;
  std::mutex mu;
  std::map<std::string, std::size_t> succeeded;
  std::vector<std::string> failed;
  {
    auto opened = node::Store::open(dir.path, &disk);
    REQUIRE(opened.ok());
    node::Store& store = **opened;
    disk.set_free_bytes(300000);
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        int after_failure = 0;
        for (int i = 0; i < 2000 && after_failure < 20; ++i) {
          std::string key = "k/" + std::to_string(t) + "/" + std::to_string(i);
          std::size_t bytes = 50 + static_cast<std::size_t>((i * 7919 + t * 104729) % 9000);
          Status s = put(store, key, bytes, (i + t) % 3 == 0);
          if (!s.ok()) {
            disk.set_free_bytes(FaultInjectionEnv::kUnlimited);
            ++after_failure;
          }
          std::lock_guard lock(mu);
          if (s.ok()) {
            succeeded[key] = bytes;
          } else {
            failed.push_back(key);
          }
        }
      });
    }
    for (auto& w : writers) w.join();
    REQUIRE(store.write_failure());
  }
  REQUIRE(disk.enospc_appends() == 1);
  CHECK(failed.size() == 4 * 20);  // every thread stopped after its 20th refused write
  REQUIRE_FALSE(succeeded.empty());

  auto reopened = node::Store::open(dir.path, &disk);
  INFO((reopened.ok() ? std::string() : reopened.error().message));
  REQUIRE(reopened.ok());
  std::size_t missing = 0, present_but_failed = 0;
  for (const auto& [key, bytes] : succeeded) missing += value_size(**reopened, key) == bytes ? 0 : 1;
  for (const auto& key : failed) present_but_failed += value_size(**reopened, key) ? 1 : 0;
  CHECK(missing == 0);
  CHECK(present_but_failed == 0);
}

// LevelDB's background work (memtable flushes, compactions) runs below the node's own threads' CPU priority
// (node/store.h, NiceBackgroundEnv): after a forced compaction, the thread that ran it has nice kBackgroundNice.
TEST_CASE("store: LevelDB's background work runs at a lower CPU priority, on a thread per database", "[node][store]") {
  const fs::path dir = fs::temp_directory_path() / ("onebill-store-nice-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  {
    auto store = node::Store::open(dir);
    REQUIRE(store.ok());
    leveldb::WriteBatch batch;
    for (int i = 0; i < 1000; ++i) batch.Put("s/k" + std::to_string(i), std::string(100, 'v'));
    REQUIRE((*store)->write(batch, false).ok());
    (*store)->db()->CompactRange(nullptr, nullptr);  // flushes the memtable on LevelDB's background thread
    REQUIRE((*store)->raft_db()->Put(leveldb::WriteOptions(), "r/h", "v").ok());
    (*store)->raft_db()->CompactRange(nullptr, nullptr);
    // The name and nice value of every thread of this process (field 19 of /proc/self/task/{tid}/stat).
    std::vector<std::pair<std::string, int>> threads;
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
      std::ifstream in(task.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
      std::string f;
      for (int i = 3; i <= 19 && fields >> f; ++i) {
        if (i == 19) threads.emplace_back(stat.substr(stat.find('(') + 1, stat.rfind(')') - stat.find('(') - 1), std::stoi(f));
      }
    }
    // One thread per database, named for top -H and perf (node/threads.h), and only they run lowered.
    for (const char* name : {"ob-leveldb", "ob-leveldb-arch", "ob-leveldb-raft"}) {
      INFO(name);
      CHECK(std::count_if(threads.begin(), threads.end(), [&](const auto& t) {
              return t.first == name && t.second >= node::kBackgroundNice;
            }) == 1);
    }
    CHECK(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())) == own);  // this thread untouched
  }
  fs::remove_all(dir);
}

// A block's batch is written in key order, split by database: several operations on one key, in either database,
// leave what the last of them says, as LevelDB applies a batch in order.
TEST_CASE("store: a batch in key order keeps the last operation on each key, in both databases", "[node][store]") {
  TempDir dir("onebill-store-key-order");
  auto store = node::Store::open(dir.path);
  REQUIRE(store.ok());
  node::Store& s = **store;
  namespace key = node::key;
  const std::string p1 = key::position(3, 0), p2 = key::position(3, 1);
  {
    leveldb::WriteBatch first;
    first.Put(key::state("doc/A"), "old");
    first.Put(key::entry(p1), "old entry");
    REQUIRE(s.write_in_key_order(first, false).ok());
  }
  leveldb::WriteBatch batch;
  batch.Put(key::entry(p2), "e2 first");
  batch.Put(key::state("doc/A"), "a1");
  batch.Delete(key::entry(p1));              // archive: a delete of a record written before
  batch.Put(key::entry(p2), "e2 second");    // archive: the later put wins
  batch.Delete(key::state("doc/A"));
  batch.Put(key::state("doc/A"), "a2");      // state: the put after the delete wins
  batch.Put(key::state("doc/Z"), "z");
  batch.Delete(key::state("doc/Z"));         // state: the delete after the put wins
  REQUIRE(s.write_in_key_order(batch, false).ok());
  const std::map<std::string, std::string> want = {{key::entry(p1), "<absent>"},
                                                   {key::entry(p2), "e2 second"},
                                                   {key::state("doc/A"), "a2"},
                                                   {key::state("doc/Z"), "<absent>"}};
  for (const auto& [k, v] : want) {
    auto got = s.get(k);
    REQUIRE(got.ok());
    INFO(k);
    CHECK(got->value_or("<absent>") == v);
  }
}

// The archive (storage.md §1.4): well-formed e/, w/ and v/ records go to the second database, keyed position
// first; reads, scans and cursors give one store in the layout's key order, and a StoreSnapshot covers both.
TEST_CASE("store: the archive holds entries, read sets and versions, and the store reads as one", "[node][store]") {
  TempDir dir("onebill-store-archive");
  auto store = node::Store::open(dir.path);
  REQUIRE(store.ok());
  node::Store& s = **store;
  namespace key = node::key;
  const std::string p1 = key::position(7, 0), p2 = key::position(7, 1), p3 = key::position(8, 0);
  std::map<std::string, std::string> want = {
      {key::entry(p1), "e1"},       {key::reads(p1), "w1"},  {key::version(p1, "doc/A"), "A@1"},
      {key::entry(p2), "e2"},       {key::reads(p2), "w2"},  {key::version(p2, "doc/B"), "B@2"},
      {key::state("doc/A"), p1},    {key::state("doc/B"), p2}, {key::tx("id1"), p1}, {key::tx("id2"), p2},
      {"e/2", "malformed: stays in the state database"},       {"x/applied", "{}"}};
  leveldb::WriteBatch batch;
  for (const auto& [k, v] : want) batch.Put(k, v);
  REQUIRE(s.write_in_key_order(batch, false).ok());

  // Where each went: the state database holds no well-formed archive key; the archive holds them position first.
  std::set<std::string> in_state;
  std::unique_ptr<leveldb::Iterator> it(s.db()->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) in_state.insert(it->key().ToString());
  CHECK(in_state == std::set<std::string>{key::state("doc/A"), key::state("doc/B"), key::tx("id1"), key::tx("id2"),
                                          "e/2", "x/applied"});
  CHECK(fs::exists(dir.path / "archive" / "CURRENT"));
  CHECK(key::archive_key(key::version(p2, "doc/B")) == p2 + "v" + "doc/B");
  CHECK(key::from_archive_key(p2 + "v" + "doc/B") == key::version(p2, "doc/B"));

  for (const auto& [k, v] : want) {
    auto got = s.get(k);
    REQUIRE(got.ok());
    CHECK(got->value_or("<absent>") == v);
  }
  auto doc = s.get_state("doc/B");
  REQUIRE(doc.ok());
  CHECK(doc->value_or("") == "B@2");

  // A whole scan is the union, in key order; a prefix scan of the archive too.
  std::vector<std::pair<std::string, std::string>> all;
  REQUIRE(s.scan("", "", SIZE_MAX, [&](std::string_view k, std::string_view v) {
    all.emplace_back(k, v);
    return true;
  }).ok());
  CHECK(all == std::vector<std::pair<std::string, std::string>>(want.begin(), want.end()));
  std::vector<std::string> entries;
  REQUIRE(s.scan("e/", "", SIZE_MAX, [&](std::string_view k, std::string_view) {
    entries.emplace_back(k);
    return true;
  }).ok());
  CHECK(entries == std::vector<std::string>{key::entry(p1), key::entry(p2), "e/2"});

  // A cursor seeks into a prefix, at a whole key or at the beginning of a position.
  node::Store::Cursor c(s, nullptr);
  c.seek(key::entry(p2));
  REQUIRE(c.valid());
  CHECK(c.key() == key::entry(p2));
  CHECK(c.value() == "e2");
  c.seek("v/" + p1.substr(0, 8));
  REQUIRE(c.valid());
  CHECK(c.key() == key::version(p1, "doc/A"));
  c.next();
  REQUIRE(c.valid());
  CHECK(c.key() == key::version(p2, "doc/B"));
  c.next();
  REQUIRE(c.valid());
  CHECK(c.key() == key::reads(p1));
  c.seek(key::reads(p2) + "~");
  REQUIRE(c.valid());
  CHECK(c.key() == "x/applied");
  c.next();
  CHECK_FALSE(c.valid());
  CHECK(c.status().ok());

  // A StoreSnapshot covers the archive too: a record written after it is not in it.
  {
    node::StoreSnapshot snap(s);
    leveldb::WriteBatch later;
    later.Put(key::entry(p3), "e3");
    later.Put(key::tx("id3"), p3);
    REQUIRE(s.write(later, false).ok());
    auto old = s.get(key::entry(p3), snap.get());
    REQUIRE(old.ok());
    CHECK_FALSE(old->has_value());
    std::size_t n = 0;
    REQUIRE(s.scan("e/", "", SIZE_MAX, [&](std::string_view, std::string_view) { return ++n > 0; }, snap.get()).ok());
    CHECK(n == 3);
    auto now = s.get(key::entry(p3));
    REQUIRE(now.ok());
    CHECK(now->value_or("") == "e3");
  }
}

// A block's write puts the archive's records on disk (synced) before the state that refers to them is written: a
// power cut after an unsynced block write leaves its archive records, never state without them.
TEST_CASE("store: a power cut never leaves the state referring to archive records the disk lost", "[node][store]") {
  TempDir dir("onebill-store-archive-cut");
  FaultInjectionEnv env;
  namespace key = node::key;
  const std::string p1 = key::position(1, 0), p2 = key::position(2, 0);
  {
    auto store = node::Store::open(dir.path, &env);
    REQUIRE(store.ok());
    leveldb::WriteBatch b1;
    b1.Put(key::entry(p1), "e1");
    b1.Put(key::tx("id1"), p1);
    REQUIRE((*store)->write(b1, true).ok());
    leveldb::WriteBatch b2;
    b2.Put(key::entry(p2), "e2");
    b2.Put(key::tx("id2"), p2);
    REQUIRE((*store)->write_in_key_order(b2, false).ok());  // a block's write: the state's part not synced
  }
  env.drop_unsynced_data();
  auto store = node::Store::open(dir.path, &env);
  REQUIRE(store.ok());
  const auto value = [&](const std::string& k) {
    auto v = (*store)->get(k);
    REQUIRE(v.ok());
    return v->value_or("<absent>");
  };
  CHECK(value(key::tx("id1")) == p1);
  CHECK(value(key::entry(p1)) == "e1");
  CHECK(value(key::tx("id2")) == "<absent>");  // the state's part was lost: the block is applied again
  CHECK(value(key::entry(p2)) == "e2");          // and its archive records were on disk before it
}

// The Raft log has a database of its own (storage format 7): a synced write there says nothing about the state
// database's unsynced block batches, so the node syncs the state (sync_state) before the Raft snapshot record
// behind which it compacts the log (node/snapshot_loop.cpp).
TEST_CASE("store: the Raft log's database is synced apart from the state's, and sync_state makes the state durable",
          "[node][store]") {
  TempDir dir("onebill-store-raft-db");
  FaultInjectionEnv env;
  leveldb::WriteOptions synced;
  synced.sync = true;
  {
    auto store = node::Store::open(dir.path, &env);
    REQUIRE(store.ok());
    REQUIRE(put(**store, "s/block1", 10, false).ok());                      // a block's state, not synced
    REQUIRE((*store)->raft_db()->Put(synced, "r/e1", "entry").ok());          // the Raft log's synced write
    CHECK(fs::exists(dir.path / "raft" / "CURRENT"));
  }
  env.drop_unsynced_data();
  {
    auto store = node::Store::open(dir.path, &env);
    REQUIRE(store.ok());
    CHECK_FALSE(value_size(**store, "s/block1"));  // lost: the Raft log's sync did not cover it
    std::string v;
    CHECK((*store)->raft_db()->Get(leveldb::ReadOptions(), "r/e1", &v).ok());
    CHECK(v == "entry");
    CHECK_FALSE((*store)->get("r/e1")->has_value());  // not in the state database
    REQUIRE(put(**store, "s/block1", 10, false).ok());
    REQUIRE((*store)->sync_state().ok());
    REQUIRE((*store)->raft_db()->Put(synced, "r/s", "snapshot").ok());
  }
  env.drop_unsynced_data();
  auto store = node::Store::open(dir.path, &env);
  REQUIRE(store.ok());
  CHECK(value_size(**store, "s/block1") == 10u);  // kept: synced before the Raft record
}

namespace {

constexpr int kBigCount = 40;  // MiB: more than the state database's 32 MiB memtable, so its log switches

// Writes s/first, then kBigCount MiB, unsynced, while the fault Env holds memtable flushes back (the first log is
// closed by then, its memtable not flushed); runs `then`; cuts the power before the flush completes; reopens the
// store and checks that every batch written before `then` is there, and the key `synced` (10 bytes) if given.
void power_cut_after_a_switch(const std::string& name, const std::function<void(node::Store&)>& then,
                              const std::string& synced = "") {
  TempDir dir(name);
  FaultInjectionEnv env;
  {
    auto store = node::Store::open(dir.path, &env);
    REQUIRE(store.ok());
    env.hold_tables(true);
    REQUIRE(put(**store, "s/first", 10, false).ok());
    for (int i = 0; i < kBigCount; ++i) REQUIRE(put(**store, "s/big/" + std::to_string(100 + i), 1 << 20, false).ok());
    int logs = 0;
    for (const auto& f : fs::directory_iterator(dir.path)) logs += f.path().extension() == ".log";
    REQUIRE(logs >= 2);  // the closed log and the new one
    then(**store);
    env.fail_tables(true);  // the flush fails: the power went first
    env.hold_tables(false);
  }
  env.fail_tables(false);
  env.drop_unsynced_data();
  auto store = node::Store::open(dir.path, &env);
  REQUIRE(store.ok());
  CHECK(value_size(**store, "s/first") == 10u);
  int kept = 0;
  for (int i = 0; i < kBigCount; ++i) kept += value_size(**store, "s/big/" + std::to_string(100 + i)) == (1u << 20);
  CHECK(kept == kBigCount);
  if (!synced.empty()) CHECK(value_size(**store, synced) == 10u);
}

}  // namespace

// LevelDB closes a write-ahead log without syncing it when its memtable fills and a new log starts, and a synced
// write to the new log covers only the new file. Until the old memtable is flushed to a table, the closed log holds
// the only copy of its unsynced block batches: sync_state (before a Raft snapshot record, behind which the log is
// compacted) must sync it too.
TEST_CASE("store: sync_state also makes durable a write-ahead log LevelDB closed unsynced at a memtable switch",
          "[node][store]") {
  power_cut_after_a_switch("onebill-store-closed-log", [](node::Store& store) { REQUIRE(store.sync_state().ok()); });
}

// The same without sync_state: any synced write to the new log (x/signer before the node signs, a marker) must not
// reach the disk without the batches in the log LevelDB closed before it. Otherwise a power cut that cuts the old
// log short would leave the new log's writes — x/applied among them — over a hole in the state the Raft log would
// never fill again (the node's x/applied points past it). So every sync of a log first syncs the logs its database
// closed before it.
TEST_CASE("store: a synced write never reaches the disk without the unsynced batches of an older, closed log",
          "[node][store]") {
  power_cut_after_a_switch(
      "onebill-store-closed-log-hole", [](node::Store& store) { REQUIRE(put(store, "s/synced", 10, true).ok()); },
      "s/synced");
}

// The Store keeps a closed log's file open until LevelDB removes it (after its memtable's flush), so that
// sync_state can sync it: no file of a removed log stays open.
TEST_CASE("store: no removed write-ahead log stays open", "[node][store]") {
  TempDir dir("onebill-store-log-files");
  auto store = node::Store::open(dir.path);
  REQUIRE(store.ok());
  for (int i = 0; i < 100; ++i) REQUIRE(put(**store, "s/big/" + std::to_string(100 + i), 1 << 20, false).ok());
  (*store)->db()->CompactRange(nullptr, nullptr);  // flushes the memtables: their logs are removed
  // No sync here (it would close every kept log): only LevelDB's removal of a log may release it. The removal runs
  // just after the flush, outside LevelDB's lock: a few tries.
  int open_logs = 0, removed = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    open_logs = removed = 0;
    for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      std::string target = fs::read_symlink(fd.path(), ec).string();
      if (ec || !target.starts_with(dir.path.string())) continue;
      if (target.find(".log") != std::string::npos && target.find("/LOG") == std::string::npos) ++open_logs;
      if (target.ends_with("(deleted)")) ++removed;
    }
    if (removed == 0 && open_logs <= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(removed == 0);
  CHECK(open_logs <= 3);  // one current log per database
}
