// KeyTableBuilder: builds the ECDSA P-256 verification tables of the keys a node verifies most
// (crypto::PublicKey::claim_table / build_table, crypto/p256_table.h) on a thread of its own, at a low priority, so
// that no request and no block waits the tens of milliseconds one takes. The thread starts with the first key
// that earns a table (never, on a network without P-256 keys) and ends with the builder.
#pragma once

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
    if (!key) return;
    {
      std::lock_guard lock(mu_);
      if (stop_ || !key->claim_table()) return;
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

  // Tables built by this builder so far (for /metrics and tests).
  std::size_t built() const {
    std::lock_guard lock(mu_);
    return built_;
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
      const bool ok = key->build_table();
      key.reset();
      lock.lock();
      if (ok) ++built_;
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const crypto::PublicKey>> queue_;
  std::size_t built_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace onebill::node
