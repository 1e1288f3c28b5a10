// State snapshot speed: takes a snapshot of a stopped node's database (for instance one of the network that
// `onebill-bench --keep` leaves behind) and times, over the same content, what the serving node and a node catching
// up do with it. Passes, each reading the content afresh through the source (1 MiB requests, as peers ask):
//
//   source   SnapshotSource::build: the serving node's pass, reading the content and hashing it (the reference)
//   read     reading the content only
//   receive  SnapshotReceiver: every check a receiving node makes, with the content written to a staging file
//   state    StateSnapshotCheck alone (documents, state tree, events, listing and contract indexes)
//   history  HistorySnapshotCheck alone (blocks from genesis, entries, the log's nodes, nonce windows, t/, h/, w/)
//
// Prints one line per pass (seconds, CPU seconds, ratio to `source`) and the content's size.
//
//   snapshot_bench --db DIR --genesis FILE [--staging FILE] [--only PASS (source and PASS: for a profiler)]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>

#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "contracts/membership.h"
#include "node/ledger/format.h"
#include "node/ledger/history_check.h"
#include "node/ledger/ledger.h"
#include "node/ledger/state_store.h"
#include "node/snapshot.h"
#include "node/store.h"

using namespace onebill;
using nlohmann::json;

namespace {

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Timing {
  double seconds = 0;
  double cpu = 0;
};

Timing timed(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu = cpu_seconds();
  f();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), cpu_seconds() - cpu};
}

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "snapshot_bench: " << what << "\n";
  std::exit(1);
}

// Every chunk of `source`'s content, in order.
void each_chunk(const node::SnapshotSource& source, const std::function<void(std::string_view)>& f) {
  std::string after;
  for (;;) {
    auto chunk = source.read(after, 1 << 20);
    if (!chunk) fail("reading the snapshot: " + chunk.error().message);
    if (!chunk->records.empty()) f(chunk->records);
    if (chunk->done) return;
    after = chunk->last_key;
  }
}

std::uint32_t u32le(std::string_view s) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(s[static_cast<std::size_t>(i)]);
  return v;
}

// The records of a chunk: u32le key length ‖ key ‖ u32le value length ‖ value (storage.md §6).
void each_record(std::string_view chunk, const std::function<void(std::string_view, std::string_view)>& f) {
  while (chunk.size() >= 4) {
    const std::uint32_t kl = u32le(chunk);
    const std::string_view k = chunk.substr(4, kl);
    chunk.remove_prefix(4 + kl);
    const std::uint32_t vl = u32le(chunk);
    const std::string_view v = chunk.substr(4, vl);
    chunk.remove_prefix(4 + vl);
    f(k, v);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, genesis_path, only, staging = (std::filesystem::temp_directory_path() / "onebill-snapshot-bench.staging").string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--db") db = value();
    else if (a == "--genesis") genesis_path = value();
    else if (a == "--staging") staging = value();
    else if (a == "--only") only = value();
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: snapshot_bench --db DIR --genesis FILE [--staging FILE] [--only read|receive|state|history]\n"
                   "  times a state snapshot of a stopped node's database: the serving pass (the reference), the\n"
                   "  receiving node's checks, and each check alone (tests/bench/snapshot_bench.cpp)\n";
      return 0;
    } else fail("unknown argument " + a + " (--help)");
  }
  if (db.empty() || genesis_path.empty()) fail("--db and --genesis are required (--help)");
  std::ifstream in(genesis_path, std::ios::binary);
  const std::string genesis((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto members = contracts::Membership::from_genesis(genesis);
  if (!members) fail("the genesis does not load: " + members.error().message);
  const crypto::HashAlg alg = members->hash_alg();
  auto genesis_hash = ledger::genesis_hash(genesis, alg);
  if (!genesis_hash) fail("the genesis does not hash");
  auto store = node::Store::open(db);
  if (!store) fail("cannot open " + db + ": " + store.error().message);
  auto applied_raw = (*store)->get(std::string(node::key::kApplied));
  if (!applied_raw || !applied_raw->has_value()) fail("the database has no applied point");
  auto applied = node::AppliedPoint::from_json(json::parse(**applied_raw, nullptr, false));
  if (!applied) fail("the applied point does not parse");
  auto cert = node::load_certified_head(**store, *members, members->network(), alg, applied->height, 1000);
  if (!cert) fail("no certified head: " + cert.error().message);

  std::shared_ptr<const node::SnapshotSource> source;
  const Timing t_source = timed([&] {
    auto s = node::SnapshotSource::build(**store, *genesis_hash, *cert);
    if (!s) fail("building the snapshot: " + s.error().message);
    source = *s;
  });
  const node::SnapshotManifest& m = source->manifest();
  std::uint64_t entries = 0;
  const Timing t_read = !only.empty() && only != "read" ? Timing{} : timed([&] {
    each_chunk(*source, [&](std::string_view c) {
      each_record(c, [&](std::string_view k, std::string_view) { entries += k.starts_with("e/") ? 1 : 0; });
    });
  });
  const node::SnapshotTrust trust{*genesis_hash, members->network(), alg, *members, std::nullopt};
  const Timing t_receive = !only.empty() && only != "receive" ? Timing{} : timed([&] {
    auto r = node::SnapshotReceiver::create(leveldb::Env::Default(), staging, m, trust);
    if (!r) fail("receiver: " + r.error().message);
    each_chunk(*source, [&](std::string_view c) {
      if (Status s = (*r)->add(c); !s) fail("the snapshot was refused: " + s.error().message);
    });
    if (Status s = (*r)->finish(); !s) fail("the snapshot was refused: " + s.error().message);
  });
  std::filesystem::remove(staging);
  const Timing t_state = !only.empty() && only != "state" ? Timing{} : timed([&] {
    node::StateSnapshotCheck check(alg, m.point.state_size, m.point.height);
    each_chunk(*source, [&](std::string_view c) {
      each_record(c, [&](std::string_view k, std::string_view v) {
        if (Status s = check.take(k, v); !s) fail(s.error().message);
      });
    });
  });
  const Timing t_history = !only.empty() && only != "history" ? Timing{} : timed([&] {
    node::HistorySnapshotCheck check(alg, *genesis_hash, m.point.height, m.point.header_hash, m.point.log_size);
    each_chunk(*source, [&](std::string_view c) { each_record(c, [&](std::string_view k, std::string_view v) { check.take(k, v); }); });
    if (Status s = check.finish(); !s) fail(s.error().message);
  });
  std::printf("content: %llu records, %.1f MB, %llu entries, height %lld\n", static_cast<unsigned long long>(m.records),
              static_cast<double>(m.bytes) / 1e6, static_cast<unsigned long long>(entries),
              static_cast<long long>(m.point.height));
  for (const auto& [name, t] : {std::pair{"source", t_source}, std::pair{"read", t_read}, std::pair{"receive", t_receive},
                                std::pair{"state", t_state}, std::pair{"history", t_history}}) {
    std::printf("%-8s %7.2f s  cpu %7.2f s  ratio to source %.2f  (%.1f us per entry)\n", name, t.seconds, t.cpu,
                t.seconds / t_source.seconds, entries ? t.seconds * 1e6 / static_cast<double>(entries) : 0.0);
  }
  return 0;
}
