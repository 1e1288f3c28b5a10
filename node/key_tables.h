// KeyTableBuilder: builds the ECDSA P-256 verification tables of the keys a node verifies most
// (crypto::PublicKey::claim_table / build_table, crypto/p256_table.h) on a thread of its own, at a low priority, so
// that no request and no block waits the tens of milliseconds one takes. The thread starts with the first key
// that earns a table (never, on a network without P-256 keys) and ends with the builder.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "crypto/keys.h"
#include "node/threads.h"

namespace onebill::node {

class KeyTableBuilder {
 public:
  KeyTableBuilder() = default;
  ~KeyTableBuilder() {
    stopping_.store(true);
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  KeyTableBuilder(const KeyTableBuilder&) = delete;
  KeyTableBuilder& operator=(const KeyTableBuilder&) = delete;

  // Cheap unless `key` has just earned its table (a few atomic reads); then queues it for the thread.
  void offer(const std::shared_ptr<const crypto::PublicKey>& key) {
    if (!key || stopping_.load(std::memory_order_relaxed) || !key->claim_table()) return;  // no lock: every verify
    {
      std::lock_guard lock(mu_);
      if (stop_) {  // stopping meanwhile: give the claim back
        key->unclaim_table();
        return;
      }
      if (!thread_.joinable()) {
        try {
          thread_ = std::thread([this] { run(); });
        } catch (const std::system_error&) {  // no thread now: the key verifies as before and may be offered again
          key->unclaim_table();
          return;
        }
      }
      queue_.push_back(key);
    }
    cv_.notify_one();
  }

 private:
  void run() {
    name_this_thread("ob-keytable");
    lower_thread_priority(10);
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) {
        for (const auto& k : queue_) k->unclaim_table();  // never built: their keys may be claimed again
        queue_.clear();
        return;
      }
      auto key = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      (void)key->build_table();  // a key that gets none verifies as before (crypto counts the tables)
      key.reset();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const crypto::PublicKey>> queue_;
  bool stop_ = false;
  std::atomic<bool> stopping_{false};  // stop_, readable without the lock
  std::thread thread_;
};

}  // namespace onebill::node
