// WorkerPool under preemption: many tiny parallel_for calls while other threads keep the cores busy, so a worker is
// often preempted between seeing a job and taking it. Before the fix a worker could then find the job already
// drained and dereference a null job (a node crashed this way under onebill-bench load). The race is a matter of
// scheduling, so this test caught it in about one run of seven before the fix; it must never fail after it.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "node/worker_pool.h"

TEST_CASE("worker pool: many short jobs with the cores oversubscribed all complete", "[node][worker_pool]") {
  onebill::node::WorkerPool pool(8);
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  for (int h = 0; h < 4; ++h) {
    hogs.emplace_back([&] {
      while (!stop.load()) {
        volatile int x = 0;
        for (int k = 0; k < 1000; ++k) x = x + k;
      }
    });
  }
  std::atomic<long> sum{0};
  const int rounds = 300000;
  for (int r = 0; r < rounds; ++r) pool.parallel_for(2, [&](std::size_t i) { sum += static_cast<long>(i) + 1; });
  stop = true;
  for (auto& h : hogs) h.join();
  CHECK(sum.load() == 3L * rounds);
}
