// raft_sim: runs many seeded simulations of a Raft cluster (simulation.h) and reports the seeds that fail.
//
//   raft_sim --seeds N --start S [--nodes 3|5] [--steps K] [--liveness T] [--verbose]
//
// Seeds S .. S+N-1 each run one simulation; without --nodes, odd seeds use 3 nodes and even seeds 5. Every failure
// prints its seed and the command that replays it exactly; --verbose prints a trace of each run's last events. The last
// line is exactly "<passed> passed, <failed> failed"; the exit code is 1 if any failed, 2 on bad arguments.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/sim/simulation.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: raft_sim --seeds N --start S [--nodes 3|5] [--steps K] [--liveness T] [--verbose]\n");
  return 2;
}

bool parse_u64(const char* text, std::uint64_t* out) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seeds = 0;
  std::uint64_t start = 1;
  std::uint64_t nodes = 0;
  std::uint64_t steps = 500;
  std::uint64_t liveness = 300;
  bool verbose = false;
  bool have_seeds = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--verbose") {
      verbose = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    std::uint64_t* target = arg == "--seeds" ? &seeds : arg == "--start" ? &start : arg == "--nodes" ? &nodes
                          : arg == "--steps" ? &steps : arg == "--liveness" ? &liveness : nullptr;
    if (target == nullptr || !parse_u64(argv[++i], target)) return usage();
    if (target == &seeds) have_seeds = true;
  }
  if (!have_seeds || (nodes != 0 && nodes != 3 && nodes != 5) || steps == 0 || liveness == 0) return usage();

  auto began = std::chrono::steady_clock::now();
  std::uint64_t passed = 0;
  std::uint64_t failed = 0;
  int worst_recovery = 0;
  int worst_catch_up = 0;
  std::uint64_t worst_seed = 0;
  std::uint64_t recovery_sum = 0;
  std::uint64_t committed = 0;
  std::uint64_t leaders = 0;
  std::uint64_t messages = 0;
  std::uint64_t restarts = 0;
  for (std::uint64_t seed = start; seed < start + seeds; ++seed) {
    onebill::sim::SimOptions options;
    options.seed = seed;
    options.nodes = static_cast<int>(nodes != 0 ? nodes : (seed % 2 == 1 ? 3 : 5));
    options.steps = static_cast<int>(steps);
    options.liveness_ticks = static_cast<int>(liveness);
    options.verbose = verbose;
    onebill::sim::SimResult r = onebill::sim::Simulation(options).run();
    committed += r.committed;
    leaders += r.leaders;
    messages += r.messages;
    restarts += r.restarts;
    for (const std::string& line : r.trace) std::printf("  %s\n", line.c_str());
    if (r.failure) {
      ++failed;
      std::printf("FAIL seed %llu (%d nodes): %s\n  replay: raft_sim --seeds 1 --start %llu --nodes %d --steps %llu"
                  " --liveness %llu --verbose\n",
                  static_cast<unsigned long long>(seed), options.nodes, r.failure->c_str(),
                  static_cast<unsigned long long>(seed), options.nodes, static_cast<unsigned long long>(steps),
                  static_cast<unsigned long long>(liveness));
      std::fflush(stdout);
    } else {
      ++passed;
      if (r.recovery_ticks > worst_recovery) worst_seed = seed;
      worst_recovery = std::max(worst_recovery, r.recovery_ticks);
      worst_catch_up = std::max(worst_catch_up, r.catch_up_ticks);
      recovery_sum += static_cast<std::uint64_t>(r.recovery_ticks);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("seeds %llu..%llu in %.1f s: %llu committed entries, %llu leaders, %llu messages, %llu restarts; "
              "progress after healing took %.1f ticks on average, %d at most (seed %llu; limit %llu); "
              "full catch-up %d at most\n",
              static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + seeds - 1), secs,
              static_cast<unsigned long long>(committed), static_cast<unsigned long long>(leaders),
              static_cast<unsigned long long>(messages), static_cast<unsigned long long>(restarts),
              passed ? static_cast<double>(recovery_sum) / static_cast<double>(passed) : 0.0, worst_recovery,
              static_cast<unsigned long long>(worst_seed), static_cast<unsigned long long>(liveness), worst_catch_up);
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return failed > 0 ? 1 : 0;
}
