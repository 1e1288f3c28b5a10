// The LevelDB log reader behind the fault harness's torn tails: on a real database, it finds where the bytes that
// may have been synced end, whatever unsynced batches follow.
#include <catch2/catch.hpp>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

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
