// onebill-faults: the real-process fault harness (issue 9). Run it through tests/faults, which builds it.
//
//   onebill-faults --runs N --seed S [--nodes 3|5] [--duration SEC] [--clients C] [--only KIND,...]
//                  [--workdir DIR] [--onebilld PATH] [--keep] [--verbose]
//
// Run k (0-based) uses seed S + k, so `--runs 1 --seed S+k` repeats it. Each run starts a fresh network of
// onebilld processes on 127.0.0.1 (schedule.h decides its shape), drives the workload (workload.h) while it
// injects the seed's faults, heals everything, waits for the network to converge (bounded), and checks it
// (checker.h). A run that fails prints its seed and keeps its folder (node logs, data dirs, harness.log); a run
// that passes removes it. The last line is "N passed, M failed"; the exit code is 1 if any run failed, 130 when
// interrupted, 2 for bad arguments. Every wait is bounded, and every node is killed when the harness ends,
// including on SIGINT/SIGTERM (and, through PR_SET_PDEATHSIG, if the harness itself is killed).
#include <csignal>
#include <sys/wait.h>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "tests/integration/checker.h"
#include "tests/integration/schedule.h"

using namespace onebill::faults;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_abort{false};
extern "C" void on_signal(int) { g_abort = true; }

struct Flags {
  int runs = 1;
  std::uint64_t seed = 1;
  int nodes = 0;  // 0: from the seed
  double duration = 10;
  int clients = 4;
  std::vector<FaultKind> only;
  std::filesystem::path workdir = std::filesystem::temp_directory_path() / "onebill-faults";
  std::string onebilld = ONEBILLD;
  bool keep = false, verbose = false, self_check = false;
};

void usage() {
  std::cout << R"(usage: tests/faults [flags]
  --runs N          runs (default 1)
  --seed S          seed of the first run; run k uses S + k (default 1)
  --nodes 3|5       voting nodes (default: 3 or 5, from each run's seed)
  --duration SEC    seconds of workload and faults per run (default 10)
  --clients C       client threads (default 4)
  --only K,...      only these faults: kill pause partition isolate bridge one_way torn_tail disk_full mixed
  --workdir DIR     where runs keep their files (default /tmp/onebill-faults)
  --onebilld PATH   the node binary (default: the one built with the harness)
  --keep            keep every run's folder, not only the failed ones
  --verbose         print each run's timeline as it happens
  --self-check      test the checker: add to each run's history an acknowledgement of an entry that was never
                    sent; the run passes only if the checker reports that entry lost on every node
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
    if (a == "--runs") f.runs = std::stoi(value());
    else if (a == "--seed") f.seed = std::stoull(value());
    else if (a == "--nodes") f.nodes = std::stoi(value());
    else if (a == "--duration") f.duration = std::stod(value());
    else if (a == "--clients") f.clients = std::stoi(value());
    else if (a == "--workdir") f.workdir = std::filesystem::absolute(value());
    else if (a == "--onebilld") f.onebilld = value();
    else if (a == "--keep") f.keep = true;
    else if (a == "--verbose") f.verbose = true;
    else if (a == "--self-check") f.self_check = true;

    else if (a == "--only") {
      std::stringstream list(value());
      for (std::string k; std::getline(list, k, ',');) {
        bool found = false;
        for (int x = 0; x < kFaultKinds; ++x) {
          if (k == fault_name(static_cast<FaultKind>(x))) f.only.push_back(static_cast<FaultKind>(x)), found = true;
        }
        if (!found) throw std::runtime_error("no fault named '" + k + "'");
      }
    } else if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    } else {
      throw std::runtime_error("unexpected argument '" + a + "'");
    }
  }
  if (f.runs < 1 || (f.nodes != 0 && f.nodes != 3 && f.nodes != 5) || f.duration < 3 || f.clients < 1 ||
      f.clients > 24) {
    throw std::runtime_error("bad flag value (runs >= 1, nodes 3 or 5, duration >= 3, clients 1..24)");
  }
  return f;
}

void sleep_for(int ms) {
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (!g_abort && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// Figures over all runs, for the report and docs/reliability.md.
struct Totals {
  std::map<std::string, int> faults, skipped;
  std::uint64_t acked = 0, accepted = 0, rejected = 0, lost = 0, entries = 0, reads = 0, not_ready = 0;
  std::uint64_t resent = 0, unresolved = 0;
  std::map<std::string, std::uint64_t> answers, unexpected;
};

// Nodes that exited without being told to: each is a failure. A node that cannot start after its disk was full,
// because its LevelDB log has a torn record in the middle, is labelled as finding F1 (docs/reliability.md).
void handle_exits(FaultCluster& c, const std::set<std::size_t>& filled, const std::string& context,
                  std::vector<std::string>& failures, Timeline& tl) {
  for (const auto& e : c.reap_unexpected()) {
    std::string start_error = c.last_start_error(e.node);
    bool f1 = WIFEXITED(e.status) && WEXITSTATUS(e.status) == 1 && filled.count(e.node) &&
              start_error.find("code=corruption") != std::string::npos;
    tl.say("CRASH: " + e.text + (start_error.empty() ? "" : ": " + start_error) + (f1 ? " [finding F1]" : ""));
    failures.push_back("CRASH: " + e.text + " (" + context + ")" + (start_error.empty() ? "" : ": " + start_error) +
                       (f1 ? " — finding F1 in docs/reliability.md (after a full disk, a torn record in the middle "
                             "of the LevelDB log)" : ""));
  }
}

// Every node running, unpaused, answering /v1/status with a leader known; false after `timeout`.
bool wait_ready(FaultCluster& c, std::chrono::seconds timeout) {
  auto until = Clock::now() + timeout;
  while (!g_abort && Clock::now() < until) {
    bool all = true;
    for (std::size_t i = 0; i < c.size(); ++i) {
      json s = c.status(i);
      if (!s.is_object() || text_field(s, "leader").empty()) all = false;
    }
    if (all) return true;
    sleep_for(100);
  }
  return false;
}

// After healing: entries keep being committed until every node has applied the same height and certified the
// same head. A barrier entry makes a block that every (healed) node attests. False when it does not happen in
// about 45 s; `why` says what was last seen.
bool converge(FaultCluster& c, Signer& signer, const WorkloadOptions& wo, std::uint64_t seed,
              Timeline& tl, std::string& why) {
  for (int barrier = 0; barrier < 3 && !g_abort; ++barrier) {
    auto s = signer.sign("crct", "bill.issue", "OB-" + wo.tag + "-barrier" + std::to_string(barrier),
                         onebill::testing::bill(onebill::testing::container(990000 + barrier)));
    History scratch;  // the barrier is not part of the workload's figures
    auto ack = Workload::submit(wo, s, scratch, seed + static_cast<std::uint64_t>(barrier), g_abort,
                                Clock::now() + std::chrono::seconds(15));
    if (!ack) {
      why = "the barrier entry was not committed within 15 s";
      tl.say(why);
      continue;
    }
    tl.say("barrier " + std::to_string(barrier) + " committed at height " + std::to_string(ack->height));
    auto until = Clock::now() + std::chrono::seconds(10);
    while (!g_abort && Clock::now() < until) {
      // Converged: every node at the same applied block, and certified exactly that block.
      std::set<std::string> states;
      std::string seen;
      bool done = true;
      for (std::size_t i = 0; i < c.size(); ++i) {
        json st = c.status(i, std::chrono::milliseconds(2000));
        auto height = st.is_object() ? int_field(st, "height", -1) : -1;
        json cert = st.is_object() && st.contains("certified") ? st["certified"] : json::object();
        auto certified = int_field(cert, "height", -1);
        if (height < ack->height || certified != height) done = false;
        states.insert(std::to_string(height) + " " + (st.is_object() ? text_field(st, "header_hash") : "") + " " +
                      text_field(cert, "header_hash"));
        seen += " " + c.id(i) + ":" + std::to_string(height) + "/" + std::to_string(certified);
      }
      why = "applied/certified height per node:" + seen;
      if (done && states.size() == 1) {
        tl.say("converged:" + seen);
        return true;
      }
      sleep_for(200);
    }
    tl.say("not converged yet: " + why);
  }
  return false;
}

bool fatal_line(const std::string& line, bool disk_node) {
  for (const char* p : {"raft fatal error", "diverged from the network"}) {
    if (line.find(p) != std::string::npos) return true;
  }
  if (disk_node) return false;  // a full disk makes these, as documented
  for (const char* p : {"cannot persist the Raft log", "cannot apply a committed block", "cannot record the applied",
                        "cannot install a state snapshot", "storage write failed"}) {
    if (line.find(p) != std::string::npos) return true;
  }
  return false;
}

enum class Outcome { passed, failed, interrupted };

// One run.
Outcome run_one(const Flags& f, std::uint64_t seed, int number, Totals& totals) {
  Plan plan = make_plan(seed, f.nodes, f.clients, f.only);
  auto run_dir = f.workdir / ("seed-" + std::to_string(seed) + "." + std::to_string(::getpid()));
  std::filesystem::remove_all(run_dir);
  std::filesystem::create_directories(run_dir);
  Timeline tl(run_dir / "harness.log", f.verbose);
  std::cout << "run " << number << "/" << f.runs << " seed " << seed << ": " << plan.nodes << " nodes, "
            << plan.clients << " clients" << (plan.snapshot_interval ? ", snapshots every 60 entries" : "") << "\n"
            << std::flush;
  tl.say("seed " + std::to_string(seed) + ", " + std::to_string(plan.nodes) + " nodes");

  json params = {{"block_max_entries", 500}, {"block_max_delay_ms", 2}, {"election_timeout_ms", {300, 600}}};
  if (plan.snapshot_interval) params["snapshot_interval"] = plan.snapshot_interval, params["snapshot_keep_entries"] = 20;
  std::vector<std::string> failures;
  Totals run;
  CheckResult checked;
  std::string disk_id;
  std::set<std::size_t> filled;  // nodes whose disk was full in this run
  {
    FaultCluster c({run_dir / "net", plan.nodes, params, f.onebilld, plan.disk_node}, tl);
    if (!c.mount_error().empty()) {
      std::cout << "  notice: no tmpfs for the full-disk fault (" << c.mount_error() << "); disk_full is skipped\n";
    }
    if (c.tmpfs_node()) disk_id = c.id(*c.tmpfs_node());
    for (std::size_t i = 0; i < c.size(); ++i) c.start(i);
    if (!wait_ready(c, std::chrono::seconds(30))) failures.push_back("the network did not become ready in 30 s");

    History h;
    Signer signer(c.net());
    WorkloadOptions wo;
    wo.clients = plan.clients;
    wo.seed = seed;
    wo.tag = "S" + std::to_string(seed);
    for (std::size_t i = 0; i < c.size(); ++i) wo.ports.push_back(c.api_port(i));
    Workload w(wo, signer, h, tl);
    if (failures.empty()) {
      w.start();
      auto start = Clock::now();
      auto elapsed_ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      };
      const auto total_ms = static_cast<std::int64_t>(f.duration * 1000);
      sleep_for(1000);
      for (const auto& step : plan.steps) {
        if (g_abort || elapsed_ms() > total_ms - 1500) break;
        if (elapsed_ms() + step.hold_ms > total_ms - 500) continue;  // a shorter one may still fit
        Injected done = inject(c, step, tl, g_abort);
        (done.skipped ? run.skipped : run.faults)[fault_name(step.kind)]++;
        if (step.kind == FaultKind::disk_full && !done.skipped) filled.insert(*c.tmpfs_node());
        handle_exits(c, filled, "during or after: " + done.what, failures, tl);
        sleep_for(step.gap_ms);
        handle_exits(c, filled, "after: " + done.what, failures, tl);
      }
      sleep_for(static_cast<int>(std::max<std::int64_t>(0, total_ms - elapsed_ms())));
      w.finish();
      // Heal whatever is left (every step heals itself; this is for an interrupted one).
      c.heal_links();
      for (std::size_t i = 0; i < c.size(); ++i) {
        c.resume(i);
        if (!c.running(i)) c.start(i);
      }
      sleep_for(300);
      handle_exits(c, filled, "after the last fault", failures, tl);
      tl.say("workload finishing; all faults healed");
      if (!w.join(std::chrono::seconds(20))) tl.say("clients were still resending after 20 s; stopped them");
      std::string why;
      if (!g_abort && !converge(c, signer, wo, seed * 31 + 7, tl, why)) {
        failures.push_back("the network did not converge after healing: " + why);
      }
      std::string bogus;
      if (f.self_check) {
        auto never = signer.sign("crct", "bill.issue", "OB-" + wo.tag + "-never-sent", onebill::testing::bill("X"));
        bogus = never.id;
        std::lock_guard lock(h.mu);
        h.acks.push_back(Ack{never.id, "crct", "bill.issue", never.doc, "accepted", "", 1, 0, "self-check"});
      }
      if (!g_abort) checked = check_run(c, h);
      if (!bogus.empty()) {
        // The fabricated entry must be reported lost on every node; those lines are then not failures.
        std::size_t lost_lines = 0;
        std::vector<std::string> rest;
        for (const auto& line : checked.failures) {
          if (line.find(bogus) == std::string::npos) rest.push_back(line);
          else if (line.rfind("LOST", 0) == 0) ++lost_lines;
        }
        tl.say("self-check: the fabricated acknowledgement was reported lost on " + std::to_string(lost_lines) + " of " +
               std::to_string(c.size()) + " nodes");
        std::cout << "  self-check: the fabricated acknowledgement was reported lost on " << lost_lines << " of "
                  << c.size() << " nodes\n";
        if (lost_lines != c.size()) rest.push_back("self-check: the checker missed the fabricated acknowledgement");
        checked.failures = rest;
        checked.lost -= lost_lines == c.size() ? 1 : 0;
        --checked.acked;
      }
      handle_exits(c, filled, "at the end", failures, tl);
    }
    for (const auto& line : c.error_lines()) {
      tl.say("node error: " + line);
      if (fatal_line(line, !disk_id.empty() && line.rfind(disk_id + ":", 0) == 0)) failures.push_back("LOG: " + line);
    }
    failures.insert(failures.end(), checked.failures.begin(), checked.failures.end());
    run.lost = checked.lost;
    run.entries = checked.entries;
    {
      std::lock_guard lock(h.mu);
      std::set<std::string> ids;
      for (const auto& a : h.acks) {
        if (a.node != "self-check" && ids.insert(a.id).second) ++(a.status == "accepted" ? run.accepted : run.rejected);
      }
      run.acked = run.accepted + run.rejected;
      run.reads = h.reads;
      run.not_ready = h.reads_not_ready;
      run.resent = h.resent;
      run.unresolved = h.unresolved;
      run.answers = h.answers;
      run.unexpected = h.unexpected;
    }
    for (const auto& [k, v] : run.unexpected) tl.say("unexpected answer: " + k + " x" + std::to_string(v));
    if (!failures.empty() || f.keep) c.keep();
  }

  std::ostringstream faults;
  for (const auto& [k, v] : run.faults) faults << " " << k << "×" << v;
  for (const auto& [k, v] : run.skipped) faults << " " << k << "×" << v << "(skipped)";
  std::cout << "  faults:" << (faults.str().empty() ? " none" : faults.str()) << "\n"
            << "  acknowledged " << run.acked << " (" << run.accepted << " accepted, " << run.rejected
            << " rejected), lost " << run.lost << "; height " << checked.height << ", " << checked.entries
            << " entries in the chain; " << run.reads << " reads with min_height (" << run.not_ready
            << " not ready); " << run.resent << " resends, " << run.unresolved << " given up\n";

  for (const auto& [k, v] : run.faults) totals.faults[k] += v;
  for (const auto& [k, v] : run.skipped) totals.skipped[k] += v;
  totals.acked += run.acked, totals.accepted += run.accepted, totals.rejected += run.rejected;
  totals.lost += run.lost, totals.entries += run.entries, totals.reads += run.reads;
  totals.not_ready += run.not_ready, totals.resent += run.resent, totals.unresolved += run.unresolved;
  for (const auto& [k, v] : run.answers) totals.answers[k] += v;
  for (const auto& [k, v] : run.unexpected) totals.unexpected[k] += v;

  if (g_abort) {
    std::cout << "  INTERRUPTED; kept " << run_dir << "\n" << std::flush;
    return Outcome::interrupted;
  }
  if (failures.empty()) {
    std::cout << "  PASS\n" << std::flush;
    if (!f.keep) std::filesystem::remove_all(run_dir);
    return Outcome::passed;
  }
  std::cout << "  FAIL seed " << seed << " (repeat: tests/faults --runs 1 --seed " << seed
            << (f.nodes ? " --nodes " + std::to_string(f.nodes) : "") << "); kept " << run_dir << "\n";
  for (const auto& line : failures) std::cout << "    " << line << "\n";
  std::cout << std::flush;
  return Outcome::failed;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  try {
    f = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "faults: " << e.what() << "\n";
    usage();
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::filesystem::create_directories(f.workdir);
  unmount_stale(f.workdir);

  Totals totals;
  int passed = 0, failed = 0;
  auto started = Clock::now();
  for (int k = 0; k < f.runs && !g_abort; ++k) {
    Outcome o = run_one(f, f.seed + static_cast<std::uint64_t>(k), k + 1, totals);
    if (o == Outcome::passed) ++passed;
    if (o == Outcome::failed) ++failed;
  }
  double wall = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << "\nfaults injected:";
  for (const auto& [k, v] : totals.faults) std::cout << " " << k << " " << v;
  for (const auto& [k, v] : totals.skipped) std::cout << ", " << k << " skipped " << v;
  std::cout << "\nentries acknowledged: " << totals.acked << " (" << totals.accepted << " accepted, " << totals.rejected
            << " rejected), lost: " << totals.lost << "; " << totals.entries << " entries in the chains\n"
            << "reads with min_height: " << totals.reads << " (" << totals.not_ready << " answered 503 not_ready)\n"
            << "resends: " << totals.resent << ", entries given up: " << totals.unresolved << "\nanswers:";
  for (const auto& [k, v] : totals.answers) std::cout << " [" << k << "] " << v;
  if (!totals.unexpected.empty()) {
    std::cout << "\nunexpected answers:";
    for (const auto& [k, v] : totals.unexpected) std::cout << " [" << k << "] " << v;
  }
  std::cout << "\nwall time: " << static_cast<int>(wall) << " s\n";
  if (g_abort) std::cout << "interrupted\n";
  std::cout << passed << " passed, " << failed << " failed\n";
  if (g_abort) return 130;
  return failed == 0 ? 0 : 1;
}
