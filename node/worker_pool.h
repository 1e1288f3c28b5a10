// WorkerPool: a fixed set of threads for CPU-heavy work that parallelises across cores — signature checks on
// admission and on apply. parallel_for() runs fn(0..n-1) across the workers and the calling thread and returns
// when all are done. Tasks must not throw.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "node/threads.h"

namespace onebill::node {

class WorkerPool {
 public:
  // threads = 0: one per hardware thread, less the caller's.
  explicit WorkerPool(std::size_t threads = 0) {
    if (threads == 0) threads = std::max<std::size_t>(1, std::thread::hardware_concurrency()) - 1;
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] {
      name_this_thread("ob-verify");
      run();
    });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const { return workers_.size() + 1; }

  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (n == 0) return;
    if (n == 1 || workers_.empty()) {
      for (std::size_t i = 0; i < n; ++i) fn(i);
      return;
    }
    Job job{&fn, n};
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(&job);
    }
    cv_.notify_all();
    work_on(job);
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return job.active == 0 && job.next.load() >= job.n; });
    jobs_.erase(std::remove(jobs_.begin(), jobs_.end(), &job), jobs_.end());
  }

 private:
  struct Job {
    const std::function<void(std::size_t)>* fn;
    std::size_t n;
    std::atomic<std::size_t> next{0};
    std::size_t active = 0;  // workers inside work_on, guarded by mu_
  };

  void work_on(Job& job) {
    for (std::size_t i = job.next.fetch_add(1); i < job.n; i = job.next.fetch_add(1)) (*job.fn)(i);
  }

  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      // Take the job the wait saw: asking pending() again could find none, since the caller claims items without
      // the lock (work_on) and may have taken the last one in between — a null job, which crashed a node under
      // onebill-bench load. Holding the lock from here to ++active keeps the job alive (parallel_for waits for
      // active == 0 under the lock before it removes the job).
      Job* job = nullptr;
      cv_.wait(lock, [&] { return stop_ || (job = pending()) != nullptr; });
      if (stop_) return;
      ++job->active;
      lock.unlock();
      work_on(*job);
      lock.lock();
      --job->active;
      done_cv_.notify_all();
    }
  }

  Job* pending() {
    for (Job* j : jobs_) {
      if (j->next.load() < j->n) return j;
    }
    return nullptr;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::vector<Job*> jobs_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace onebill::node
