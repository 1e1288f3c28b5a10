// The LevelDB log reader behind the fault harness's torn tails: on a real database, it finds where the bytes that
// may have been synced end, whatever unsynced batches follow. And finding F1 of the harness (docs/reliability.md)
// reproduced at the LevelDB level: after a write that failed half-way (a full disk), one more write that succeeds
// makes the database refuse to open. That is LevelDB's behaviour and stays so; the node guards against it (its
// Store refuses every write after the first failure: node/sticky_env.h; tests/node/store_test.cpp and the
// in-process "disk fills up" test check it).
#include <catch2/catch.hpp>

#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/write_batch.h>

#include <atomic>
#include <functional>
#include <limits>
#include <memory>
#include <unistd.h>

#include "tests/integration/leveldb_tail.h"

using onebill::faults::find_unsynced_tail;

namespace {

std::string hard_state(std::uint64_t term, std::uint64_t vote, std::uint64_t commit) {
  std::string h(1, '\1');
  for (std::uint64_t v : {term, vote, commit}) {
    for (int i = 0; i < 8; ++i) h.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  return h;
}

struct Db {
  std::filesystem::path dir;
  std::unique_ptr<leveldb::DB> db;
  explicit Db(const std::string& name)
      : dir(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir);
    leveldb::Options o;
    o.create_if_missing = true;
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(o, dir.string(), &raw).ok());
    db.reset(raw);
  }
  ~Db() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  void write(std::initializer_list<std::pair<std::string, std::string>> puts, bool sync) {
    leveldb::WriteBatch b;
    for (const auto& [k, v] : puts) b.Put(k, v);
    leveldb::WriteOptions wo;
    wo.sync = sync;
    REQUIRE(db->Write(wo, &b).ok());
  }
  std::uintmax_t log_size() { return std::filesystem::file_size(find_unsynced_tail(dir).file); }
};

// A disk of `free` bytes: an append that does not fit writes what fits and fails, as write(2) does with ENOSPC.
class SmallDisk final : public leveldb::EnvWrapper {
 public:
  SmallDisk() : leveldb::EnvWrapper(leveldb::Env::Default()) {}
  std::atomic<std::uint64_t> free{std::numeric_limits<std::uint64_t>::max()};

  leveldb::Status NewWritableFile(const std::string& name, leveldb::WritableFile** result) override {
    leveldb::WritableFile* base = nullptr;
    leveldb::Status s = target()->NewWritableFile(name, &base);
    if (s.ok()) *result = new File(this, base);
    return s;
  }

 private:
  class File final : public leveldb::WritableFile {
   public:
    File(SmallDisk* disk, leveldb::WritableFile* base) : disk_(disk), base_(base) {}
    leveldb::Status Append(const leveldb::Slice& data) override {
      std::uint64_t room = disk_->free;
      std::size_t n = data.size() <= room ? data.size() : static_cast<std::size_t>(room);
      leveldb::Status s = base_->Append(leveldb::Slice(data.data(), n));
      if (room != std::numeric_limits<std::uint64_t>::max()) disk_->free -= n;
      if (s.ok() && n < data.size()) return leveldb::Status::IOError("append", "No space left on device");
      return s;
    }
    leveldb::Status Close() override { return base_->Close(); }
    leveldb::Status Flush() override { return base_->Flush(); }
    leveldb::Status Sync() override { return base_->Sync(); }

   private:
    SmallDisk* disk_;
    std::unique_ptr<leveldb::WritableFile> base_;
  };
};

// Opens a fresh database in `dir` (paranoid checks, as the node does) on the disk `disk`, runs `fill`, closes it,
// opens it again from the real disk and returns that status and whether `probe` is found in it.
struct Reopened {
  leveldb::Status status;
  bool found = false;
};
Reopened reopen_after(const std::filesystem::path& dir, SmallDisk& disk, const std::string& probe,
                      const std::function<void(leveldb::DB&)>& fill) {
  std::filesystem::remove_all(dir);
  leveldb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  o.env = &disk;
  leveldb::DB* raw = nullptr;
  REQUIRE(leveldb::DB::Open(o, dir.string(), &raw).ok());
  fill(*raw);
  delete raw;
  o.env = leveldb::Env::Default();
  Reopened r;
  r.status = leveldb::DB::Open(o, dir.string(), &raw);
  if (r.status.ok()) {
    std::string value;
    r.found = raw->Get(leveldb::ReadOptions(), probe, &value).ok();
    delete raw;
  }
  std::filesystem::remove_all(dir);
  return r;
}
}  // namespace

TEST_CASE("the unsynced tail starts after the last batch that may have been synced", "[faults]") {
  Db d("onebill-leveldb-tail");
  d.write({{"x/genesis", "abc"}}, true);
  d.write({{"r/e12345678", std::string(100, 'e')}, {"r/h", hard_state(1, 1, 0)}}, true);
  std::uintmax_t synced = d.log_size();
  // A block apply, an attestation, a commit-only hard state: none of them synced by the node.
  d.write({{"s/doc/A", std::string(5000, 'a')}, {"b/00000001", "block"}, {"x/applied", "{}"}}, false);
  d.write({{"a/00000001/n2", "attestation"}}, false);
  d.write({{"r/h", hard_state(1, 1, 7)}}, false);
  auto t = find_unsynced_tail(d.dir);
  REQUIRE(t.error.empty());
  CHECK(t.synced_end == synced);
  CHECK(t.size == d.log_size());
  CHECK(t.batches == 5);
  CHECK(t.unsynced_batches == 3);

  // A new term is synced: the tail starts after it.
  d.write({{"r/h", hard_state(2, 3, 7)}}, true);
  t = find_unsynced_tail(d.dir);
  CHECK(t.synced_end == d.log_size());
  CHECK(t.unsynced_batches == 0);

  // The state database's sync before a Raft snapshot record (Store::sync_state): the deletion of x/sync, seen even
  // when LevelDB folded another thread's unsynced write (an attestation) into the same log record.
  d.write({{"s/doc/B", std::string(300, 'b')}}, false);
  leveldb::WriteBatch sync_and_attestation;
  sync_and_attestation.Delete("x/sync");
  sync_and_attestation.Put("a/00000002/n3", "attestation");
  leveldb::WriteOptions synced_write;
  synced_write.sync = true;
  REQUIRE(d.db->Write(synced_write, &sync_and_attestation).ok());
  t = find_unsynced_tail(d.dir);
  CHECK(t.synced_end == d.log_size());
  CHECK(t.unsynced_batches == 0);
}

TEST_CASE("a batch larger than a log block is read whole, and a record cut short ends the log", "[faults]") {
  Db d("onebill-leveldb-tail-big");
  d.write({{"r/e00000001", std::string(100000, 'e')}}, true);  // fragments over four 32 KiB blocks
  std::uintmax_t synced = d.log_size();
  d.write({{"s/doc/B", std::string(70000, 'b')}}, false);
  auto t = find_unsynced_tail(d.dir);
  CHECK(t.synced_end == synced);
  CHECK(t.unsynced_batches == 1);
  // Cut into the unsynced batch: it no longer counts, and what may have been synced is unchanged.
  d.db.reset();
  std::filesystem::resize_file(t.file, t.size - 100);
  auto cut = find_unsynced_tail(d.dir);
  CHECK(cut.synced_end == synced);
  CHECK(cut.batches == 1);
  CHECK(cut.unsynced_batches == 0);
}

TEST_CASE("finding F1: after a write that failed half-way on a full disk, the next write that succeeds is "
          "either refused at the next open or silently lost", "[faults]") {
  auto dir = std::filesystem::temp_directory_path() / ("onebill-leveldb-f1-" + std::to_string(::getpid()));
  leveldb::WriteOptions synced;
  synced.sync = true;
  auto put = [&](leveldb::DB& db, const std::string& key, std::size_t bytes) {
    return db.Put(synced, key, std::string(bytes, 'v'));
  };
  // A block's batch (larger than a 32 KiB log block) meets a full disk; LevelDB does not remember the failure
  // (only a failed sync is sticky), so the next write — once the operator has freed space — succeeds, and it is
  // written after the torn record. This documents LevelDB alone: onebilld's Store makes the first failure sticky
  // (node/sticky_env.h), so in the node the later write is refused and the last case below is what happens.
  SmallDisk disk;
  auto unlimited = std::numeric_limits<std::uint64_t>::max();
  auto log_size = [&] { return find_unsynced_tail(dir).size; };

  // The disk is full exactly where the batch's second fragment starts (what onebilld met on tmpfs, where the
  // next page could not be allocated): the log holds a FIRST fragment, then a whole record.
  Reopened at_boundary = reopen_after(dir, disk, "r/later", [&](leveldb::DB& db) {
    REQUIRE(put(db, "a/1", 200).ok());
    disk.free = 32768 - log_size();
    CHECK_FALSE(put(db, "s/block", 100000).ok());
    disk.free = unlimited;
    CHECK(put(db, "r/later", 200).ok());  // synced, acknowledged
  });
  INFO(at_boundary.status.ToString());
  CHECK(at_boundary.status.IsCorruption());
  CHECK(at_boundary.status.ToString().find("partial record without end") != std::string::npos);

  // The disk is full inside a fragment: the torn record's length covers the later record, so recovery reads it
  // as part of a record cut off by a crash and drops both: the database opens, without a write it acknowledged.
  Reopened inside = reopen_after(dir, disk, "r/later", [&](leveldb::DB& db) {
    REQUIRE(put(db, "a/1", 200).ok());
    disk.free = 20000;
    CHECK_FALSE(put(db, "s/block", 100000).ok());
    disk.free = unlimited;
    CHECK(put(db, "r/later", 200).ok());  // synced, acknowledged
  });
  CHECK(inside.status.ok());
  CHECK_FALSE(inside.found);

  // Nothing written after the failure: the torn record is the log's tail, which recovery drops; the rest is there.
  Reopened alone = reopen_after(dir, disk, "a/1", [&](leveldb::DB& db) {
    REQUIRE(put(db, "a/1", 200).ok());
    disk.free = 20000;
    CHECK_FALSE(put(db, "s/block", 100000).ok());
    disk.free = unlimited;
  });
  CHECK(alone.status.ok());
  CHECK(alone.found);
}
