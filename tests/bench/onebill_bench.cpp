// onebill-bench: committed, signed entries per second and their latency, on a onebill network it starts itself
// (onebilld processes on 127.0.0.1, a fresh temp dir) — or, with --etcd, on an etcd cluster given by its client
// ports, with the same lanes, payloads and client, for a side-by-side figure (tests/bench/vs-etcd).
//
//   onebill-bench [flags] single | throughput | open-loop RATE | batch | failover
//
// Workloads: single (one connection, one entry in flight), throughput (closed loop, --connections), open-loop
// RATE (entries/s on a fixed schedule, latency from the scheduled time), batch (closed loop of
// /v1/transactions/batch with --batch-size entries), failover (throughput load; kill -9 the leader; time to the
// first entry committed in a block of the new leader, answered through a surviving node; --rounds times).
// Flags: see usage() below. The last line is machine-readable ("RESULT key=value ...").
#include <csignal>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "crypto/hash.h"
#include "tests/bench/bench_load.h"

using namespace onebill;
using namespace onebill::bench;
using nlohmann::json;

namespace {

struct Flags {
  std::string workload;
  double rate = 0;
  std::string onebilld = ONEBILLD;
  int nodes = 3;
  std::string alg = "ecdsa-p256";
  int connections = 64;
  int keys = 16;
  double seconds = 10, warmup = 2;
  int batch_size = 100;
  int block_max_entries = 0, block_max_delay_ms = -1;  // genesis params; absent = node defaults
  std::string etcd_ports, pids;
  std::size_t check = 100;
  int rounds = 10;
  double presign_rate = 0;  // entries/s to pre-sign for (0: a default per workload)
  bool keep = false;
};

void usage() {
  std::cout << R"(usage: onebill-bench [flags] single | throughput | open-loop RATE | batch | failover
  --connections C        lanes = keep-alive connections (default 64; single: 1)
  --seconds S            measured time (default 10), after --warmup S (default 2)
  --alg A                ecdsa-p256 | ed25519 | sm2 (default ecdsa-p256)
  --nodes N              voting nodes to start (default 3)
  --keys K               signing key slots per organisation (default 16)
  --batch-size B         entries per /v1/transactions/batch request (default 100)
  --block-max-entries N, --block-max-delay-ms MS   genesis params (default: the node's, 2000 and 50)
  --rounds R             failover rounds (default 10)
  --check N              committed entries read back afterwards (default 100)
  --presign-rate R       pre-sign for R entries/s over the run (default 12000 closed loop, 1.2 x RATE open
                         loop, 2000 single, 3000 failover); a lane that runs out stops and the result says so
  --onebilld PATH        the node binary (default: the one built with this tool)
  --etcd P1,P2,...       drive etcd's JSON gateway on these 127.0.0.1 client ports instead of onebill
  --pids P1,P2,...       processes to report CPU and RSS for (with --etcd)
  --keep                 keep the network's temp dir
)";
}

Flags parse(int argc, char** argv) {
  Flags f;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--connections") f.connections = std::stoi(value());
    else if (a == "--seconds") f.seconds = std::stod(value());
    else if (a == "--warmup") f.warmup = std::stod(value());
    else if (a == "--alg") f.alg = value();
    else if (a == "--nodes") f.nodes = std::stoi(value());
    else if (a == "--keys") f.keys = std::stoi(value());
    else if (a == "--batch-size") f.batch_size = std::stoi(value());
    else if (a == "--block-max-entries") f.block_max_entries = std::stoi(value());
    else if (a == "--block-max-delay-ms") f.block_max_delay_ms = std::stoi(value());
    else if (a == "--rounds") f.rounds = std::stoi(value());
    else if (a == "--check") f.check = std::stoul(value());
    else if (a == "--onebilld") f.onebilld = value();
    else if (a == "--etcd") f.etcd_ports = value();
    else if (a == "--pids") f.pids = value();
    else if (a == "--presign-rate") f.presign_rate = std::stod(value());
    else if (a == "--keep") f.keep = true;
    else if (a == "-h" || a == "--help") { usage(); std::exit(0); }
    else if (f.workload.empty()) f.workload = a;
    else if (f.workload == "open-loop" && f.rate == 0) f.rate = std::stod(a);
    else throw std::runtime_error("unexpected argument '" + a + "'");
  }
  static const std::set<std::string> kWorkloads = {"single", "throughput", "open-loop", "batch", "failover"};
  if (kWorkloads.count(f.workload) == 0) throw std::runtime_error("no workload named '" + f.workload + "'");
  if (f.workload == "open-loop" && f.rate <= 0) throw std::runtime_error("open-loop needs a RATE > 0");
  if (f.workload == "single") f.connections = 1;
  if (f.workload != "batch") f.batch_size = 1;
  if (f.connections < 1 || f.keys < 1 || f.seconds <= 0) throw std::runtime_error("bad flag value");
  return f;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string machine() {
  std::ifstream cpu("/proc/cpuinfo"), mem("/proc/meminfo");
  std::string line, model = "?", total = "?";
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) { model = line.substr(line.find(':') + 2); break; }
  }
  while (std::getline(mem, line)) {
    if (line.rfind("MemTotal:", 0) == 0) {
      total = std::to_string(std::stol(line.substr(9)) / 1024 / 1024) + " GiB";
      break;
    }
  }
  return std::to_string(std::thread::hardware_concurrency()) + " cores, " + model + ", " + total;
}

// The height a onebill node reports (GET /v1/status); -1 when it does not answer.
long status_height(std::uint16_t port) {
  json j = node_status(port);
  if (j.is_null() || !j.contains("height") || !j["height"].is_number_integer()) return -1;
  return j["height"].get<long>();
}

// CPU use of each process over the measured window (a thread samples /proc at its start and end), and the blocks
// a onebill node applied meanwhile (when height_port is set).
struct CpuWatch {
  std::vector<pid_t> pids;
  std::vector<std::string> names;
  std::vector<double> before, after;
  std::vector<long> rss_before, rss_after, anon_before, anon_after;
  std::uint16_t height_port = 0;
  long height_before = -1, height_after = -1;
  std::thread t;
  void start(double warmup_s, double measured_s) {
    before.assign(pids.size(), 0);
    after.assign(pids.size(), 0);
    rss_before.assign(pids.size(), 0);
    rss_after.assign(pids.size(), 0);
    anon_before.assign(pids.size(), 0);
    anon_after.assign(pids.size(), 0);
    t = std::thread([=, this] {
      std::this_thread::sleep_for(std::chrono::duration<double>(warmup_s + 0.05));
      for (std::size_t i = 0; i < pids.size(); ++i) {
        before[i] = cpu_seconds(pids[i]);
        rss_before[i] = rss_kib(pids[i]);
        anon_before[i] = rss_kib(pids[i], "RssAnon:");
      }
      if (height_port != 0) height_before = status_height(height_port);
      std::this_thread::sleep_for(std::chrono::duration<double>(measured_s));
      if (height_port != 0) height_after = status_height(height_port);
      for (std::size_t i = 0; i < pids.size(); ++i) {
        after[i] = cpu_seconds(pids[i]);
        rss_after[i] = rss_kib(pids[i]);
        anon_after[i] = rss_kib(pids[i], "RssAnon:");
      }
    });
  }
  std::string report(double measured_s) {
    t.join();
    std::ostringstream out;
    for (std::size_t i = 0; i < pids.size(); ++i) {
      if (i) out << ", ";
      out << names[i] << " " << static_cast<int>(100 * (after[i] - before[i]) / measured_s) << "% (rss "
          << rss_before[i] / 1024 << "→" << rss_after[i] / 1024 << " MiB, anon " << anon_before[i] / 1024 << "→"
          << anon_after[i] / 1024 << ")";
    }
    return out.str();
  }
  // "N blocks in the window, B/s, E entries a block" (empty unless both heights were read).
  std::string blocks(double measured_s, std::size_t committed) const {
    if (height_before < 0 || height_after <= height_before) return "";
    const double n = static_cast<double>(height_after - height_before);
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << (height_after - height_before) << " blocks in " << measured_s
        << " s = " << n / measured_s << "/s, " << static_cast<double>(committed) / n
        << " committed entries a block (" << names.front() << "'s height)";
    return out.str();
  }
};

// Reads back a sample of committed entries, each from a node chosen round-robin (not necessarily the one that
// answered): onebill GET /v1/transactions/{id}, etcd POST /v3/kv/range.
std::pair<std::size_t, std::size_t> check_sample(const LoadResult& r, const std::vector<std::vector<Entry>>& lanes,
                                                 const std::vector<std::uint16_t>& ports, bool etcd, std::size_t n) {
  std::size_t tried = 0, ok = 0;
  if (r.completions.empty() || n == 0) return {0, 0};
  std::size_t step = std::max<std::size_t>(1, r.completions.size() / n);
  for (std::size_t i = 0; i < r.completions.size() && tried < n; i += step, ++tried) {
    const auto& c = r.completions[i];
    const Entry& e = lanes[c.lane][c.first];
    std::uint16_t port = ports[tried % ports.size()];
    if (etcd) {
      std::string key = "onebill-bench/" + std::to_string(c.lane) + "/" + std::to_string(c.first);
      auto a = http_request(port, "POST", "/v3/kv/range",
                            R"({"key":")" + crypto::base64_encode(crypto::as_bytes(key)) + "\"}");
      if (a.status == 200 && a.body.find(crypto::base64_encode(crypto::as_bytes(e.envelope))) != std::string::npos) ++ok;
    } else {
      // Another node may not have applied that block yet: a few tries, 100 ms apart.
      for (int attempt = 0; attempt < 20; ++attempt) {
        auto a = http_request(port, "GET", "/v1/transactions/" + e.id, "", kBenchToken);
        json j = json::parse(a.body, nullptr, false);
        if (a.status == 200 && j.is_object() && j.value("status", "") == "accepted" && j.value("id", "") == e.id) {
          ++ok;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  return {ok, tried};
}

std::string fmt(double v, int digits = 1) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(digits);
  o << v;
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  try {
    f = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "onebill-bench: " << e.what() << "\n";
    usage();
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  bool etcd = !f.etcd_ports.empty();
  auto alg = crypto::parse_sig_alg(f.alg);
  if (!alg) {
    std::cerr << "onebill-bench: unknown --alg " << f.alg << "\n";
    return 2;
  }
  json params = json::object();
  if (f.block_max_entries > 0) params["block_max_entries"] = f.block_max_entries;
  if (f.block_max_delay_ms >= 0) params["block_max_delay_ms"] = f.block_max_delay_ms;
  int keys = std::min(f.keys, f.connections);
  NetOptions no{std::filesystem::temp_directory_path() / ("onebill-bench-" + std::to_string(::getpid())),
                etcd ? 0 : f.nodes, keys, *alg, params};
  BenchNet net(no);  // with --etcd: keys only, no nodes

  // Pre-sign enough entries for the run (closed loop: a generous bound; the result says if a lane ran out).
  double total_s = f.seconds + f.warmup;
  double per_s = f.workload == "open-loop" ? f.rate * 1.2 : f.workload == "single" ? 2000 : 12000;
  if (f.workload == "failover") total_s = f.rounds * 5.0, per_s = 3000;
  if (f.presign_rate > 0) per_s = f.presign_rate;
  auto per_lane = static_cast<std::size_t>(per_s * total_s / f.connections) + 40;
  auto t_sign = steady_seconds();
  auto lanes = make_entries(net, keys, f.connections, per_lane, std::max(1u, std::thread::hardware_concurrency()));
  t_sign = steady_seconds() - t_sign;
  std::size_t bytes = 0, count = 0;
  std::map<std::string, std::size_t> mix;
  for (const auto& l : lanes) {
    for (const auto& e : l) bytes += e.envelope.size(), ++count, ++mix[e.type.substr(0, e.type.find('.'))];
  }

  auto cleanup = [&] {
    for (std::size_t i = 0; i < net.nodes().size(); ++i) net.stop(i, SIGTERM);
    if (f.keep) std::cout << "kept:        " << no.dir << "\n";
    else std::filesystem::remove_all(no.dir);
  };
  std::vector<std::uint16_t> ports;
  CpuWatch cpu;
  int leader_at_start = -1;  // index of the leader the network elected before the load (onebill only)
  if (etcd) {
    for (const auto& p : split(f.etcd_ports)) ports.push_back(static_cast<std::uint16_t>(std::stoi(p)));
    for (const auto& p : split(f.pids)) {
      cpu.pids.push_back(std::stoi(p));
      cpu.names.push_back("etcd" + std::to_string(cpu.pids.size()));
    }
  } else {
    for (std::size_t i = 0; i < net.nodes().size(); ++i) net.start(i, f.onebilld);
    leader_at_start = net.wait_ready(std::chrono::seconds(30));
    if (leader_at_start < 0) {
      std::cerr << "onebill-bench: the network did not become ready in 30 s (see " << no.dir << "/n*/node.log)\n";
      return 1;
    }
    for (const auto& n : net.nodes()) {
      ports.push_back(n.api_port);
      cpu.pids.push_back(n.pid);
      cpu.names.push_back(n.id);
    }
    cpu.height_port = net.nodes().front().api_port;
  }
  cpu.pids.push_back(::getpid());
  cpu.names.push_back("bench");

  const auto& gp = net.genesis()["params"];
  std::cout << "onebill-bench " << f.workload << (f.rate > 0 ? " " + fmt(f.rate, 0) : "") << "\n"
            << "target:      " << (etcd ? "etcd JSON gateway, ports " + f.etcd_ports
                                        : "onebill, " + std::to_string(f.nodes) + " voting nodes (" + f.onebilld + ")")
            << ", 127.0.0.1\n";
  if (!etcd) {
    std::cout << "signatures:  " << f.alg << ", verified by every node on admission (the receiving node) and on apply"
              << (f.alg == "ecdsa-p256" ? "; a key's verification table built after its 32nd" : "") << "\n"
              << "blocks:      block_max_entries " << gp.value("block_max_entries", 2000) << ", block_max_delay_ms "
              << gp.value("block_max_delay_ms", 50) << " (genesis params)\n"
              << "leveldb:     node defaults (node/store.cpp: a state, an archive and a Raft-log database, 32 MiB "
                 "write buffers (16 MiB for the Raft log's) and 16 MiB tables, 64 MiB block cache, bloom filters, 512 "
                 "files); the Raft log synced once per Ready; per block, the archive's batch synced, then the "
                 "state's unsynced\n"
              << "leader:      " << net.nodes()[static_cast<std::size_t>(leader_at_start)].id
              << " when the load starts (lane l submits to the node of its key slot, n(l mod keys mod nodes + 1): a "
                 "single client to n1)\n";
  }
  if (f.workload == "failover") {
    std::cout << "load:        closed loop, " << f.connections << " connections, " << f.rounds
              << " rounds of 5 s: kill -9 the leader 2 s in, restart it after; ?timeout_ms=1000, 202/503 resent\n";
  } else {
    std::cout << "load:        " << (f.rate > 0 ? "open loop at " + fmt(f.rate, 0) + " entries/s" : std::string("closed loop"))
              << ", " << f.connections << " connections, " << f.batch_size << " entr" << (f.batch_size > 1 ? "ies" : "y")
              << "/request, " << fmt(f.warmup) << " s warm-up + " << fmt(f.seconds)
              << " s measured; the lanes of one key slot on one node\n";
  }
  std::cout << "entries:     " << count << " pre-signed in " << fmt(t_sign) << " s, mean " << bytes / std::max<std::size_t>(1, count)
            << " bytes, mix";
  for (const auto& [k, v] : mix) std::cout << " " << k << " " << 100 * v / count << "%";
  std::cout << " (bill = 2 issue + 26 event per cycle), " << keys << " key slots\n"
            << "machine:     " << machine() << "\n";

  LoadOptions lo;
  lo.kind = etcd ? TargetKind::etcd : TargetKind::onebill;
  lo.ports = ports;
  lo.key_slots = keys;
  lo.rate = f.rate;
  lo.batch = f.batch_size;
  lo.warmup = std::chrono::milliseconds(static_cast<int>(f.warmup * 1000));
  lo.duration = std::chrono::milliseconds(static_cast<int>(f.seconds * 1000));

  if (f.workload == "failover") {
    if (etcd) {
      std::cerr << "onebill-bench: failover is for onebill only\n";
      return 2;
    }
    lo.commit_timeout_ms = 1000;
    lo.warmup = std::chrono::milliseconds(1000);
    lo.duration = std::chrono::milliseconds(4000);
    std::vector<double> times;
    std::vector<std::size_t> start(lanes.size(), 0);
    for (int round = 1; round <= f.rounds; ++round) {
      int leader = net.wait_ready(std::chrono::seconds(30));
      if (leader < 0) {
        std::cout << "round " << round << ": no leader within 30 s; stopping\n";
        break;
      }
      lo.start = start;
      double kill_at = 0;
      std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1050 + 1000));
        int l = net.wait_ready(std::chrono::seconds(2));
        if (l < 0) return;
        leader = l;
        kill_at = steady_seconds();
        ::kill(net.nodes()[static_cast<std::size_t>(l)].pid, SIGKILL);
      });
      LoadResult r = run_load(lo, lanes);
      killer.join();
      net.stop(static_cast<std::size_t>(leader), SIGKILL);  // reaps it
      std::sort(r.completions.begin(), r.completions.end(),
                [](const Completion& a, const Completion& b) { return a.done_s < b.done_s; });
      std::map<std::int64_t, std::string> proposer;
      double t = -1;
      std::string dead = net.nodes()[static_cast<std::size_t>(leader)].id;
      for (const auto& c : r.completions) {
        double at = r.start_wall_s + c.done_s;
        if (kill_at == 0 || at <= kill_at || c.port_index == leader) continue;
        if (!proposer.count(c.height)) {
          auto a = http_request(ports[c.port_index], "GET", "/v1/blocks/" + std::to_string(c.height), "", kBenchToken);
          json j = json::parse(a.body, nullptr, false);
          proposer[c.height] = j.is_object() ? j.value("proposer", "?") : "?";
        }
        if (proposer[c.height] != dead && proposer[c.height] != "?") {
          t = at - kill_at;
          break;
        }
      }
      for (const auto& c : r.completions) start[c.lane] = std::max<std::size_t>(start[c.lane], c.first + c.count);
      std::cout << "round " << round << ": killed " << dead << " (leader); "
                << (t < 0 ? std::string("no entry committed by a new leader within the run") : "next committed entry after " + fmt(t * 1000, 0) + " ms")
                << " (" << r.committed << " committed in the measured window)\n" << std::flush;
      if (t >= 0) times.push_back(t * 1000);
      net.start(static_cast<std::size_t>(leader), f.onebilld);
    }
    std::sort(times.begin(), times.end());
    std::cout << "failover:    median " << fmt(percentile(times, 50), 0) << " ms, min "
              << fmt(times.empty() ? 0 : times.front(), 0) << ", max " << fmt(times.empty() ? 0 : times.back(), 0)
              << " over " << times.size() << " rounds\n"
              << "RESULT workload=failover rounds=" << times.size() << " median_ms=" << fmt(percentile(times, 50), 0) << "\n";
    cleanup();
    return times.empty() ? 1 : 0;
  }

  cpu.start(f.warmup, f.seconds);
  LoadResult r = run_load(lo, lanes);
  std::string cpu_line = cpu.report(f.seconds);
  double tps = static_cast<double>(r.committed) / r.measured_s;
  const auto& l = r.latency_ms;
  std::cout << "committed:   " << r.committed << " entries in " << fmt(r.measured_s) << " s = " << fmt(tps, 0)
            << " tx/s" << (r.ran_out ? "  (WARNING: a lane ran out of pre-signed entries)" : "") << "\n"
            << "latency ms:  p50 " << fmt(percentile(l, 50), 2) << "  p90 " << fmt(percentile(l, 90), 2) << "  p99 "
            << fmt(percentile(l, 99), 2) << "  p99.9 " << fmt(percentile(l, 99.9), 2) << "  max "
            << fmt(l.empty() ? 0 : l.back(), 2) << "  (" << l.size() << " requests)\n"
            << "resent:      ";
  if (r.resent.empty()) std::cout << "none";
  for (const auto& [k, v] : r.resent) std::cout << k << " ×" << v << "  ";
  std::cout << "\nunexpected:  ";
  if (r.unexpected.empty()) std::cout << "none";
  for (const auto& [k, v] : r.unexpected) std::cout << k << " ×" << v << "  ";
  std::cout << "\ncpu:         " << cpu_line << " (100% = one core)\n";
  if (std::string b = cpu.blocks(r.measured_s, r.committed); !b.empty()) std::cout << "applied:     " << b << "\n";
  auto [ok, tried] = check_sample(r, lanes, ports, etcd, f.check);
  std::cout << "check:       " << ok << "/" << tried << " sampled committed entries read back"
            << (etcd ? " (POST /v3/kv/range)" : " as accepted (GET /v1/transactions/{id})") << "\n";
  std::cout << "RESULT workload=" << f.workload << " target=" << (etcd ? "etcd" : "onebill") << " tx_s=" << fmt(tps, 0)
            << " p50_ms=" << fmt(percentile(l, 50), 2) << " p99_ms=" << fmt(percentile(l, 99), 2)
            << " p999_ms=" << fmt(percentile(l, 99.9), 2) << " check=" << ok << "/" << tried
            << " unexpected=" << r.unexpected.size() << "\n";
  cleanup();
  return ok == tried ? 0 : 1;
}
