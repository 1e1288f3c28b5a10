// FaultInjectionEnv: a leveldb::Env for tests that can lose what was not synced and fail writes on demand — the
// "power cut" and "disk full / I/O error" of a real machine, in the style of LevelDB's own
// db/fault_injection_test.cc.
//
// It wraps the default Env and tracks, for every file written through it, how many bytes were synced. After the
// database is closed, drop_unsynced_data() cuts every such file back to its synced length, which is what a power
// failure leaves of data that only reached the page cache. Directory entries are not modelled (a file created and
// never synced keeps existing, empty). set_write_error(true) makes every append and sync fail with an I/O error.
// set_free_bytes(n) is a disk with n bytes left: an append that does not fit writes what fits and fails with
// "No space left on device", as write(2) does — the write that fails half-way and leaves a torn record
// (finding F1, docs/reliability.md §3). hold_tables(true) stops LevelDB's memtable flushes where they create their
// table file, until hold_tables(false) — with fail_tables(true) they then fail instead — so that a test can cut the
// power while a closed write-ahead log still holds the only copy of its memtable.
#pragma once

#include <leveldb/env.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <unistd.h>

namespace onebill::testing {

class FaultInjectionEnv final : public leveldb::EnvWrapper {
 public:
  FaultInjectionEnv() : leveldb::EnvWrapper(leveldb::Env::Default()) {}

  void set_write_error(bool on) { write_error_ = on; }
  bool write_error() const { return write_error_; }

  static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
  // Bytes the disk still takes (kUnlimited: no limit, the default); appends use them up.
  void set_free_bytes(std::uint64_t n) { free_ = n; }
  std::uint64_t free_bytes() const { return free_; }
  // Bytes appended to any file so far (an append cut short counts what it wrote), and appends that met the full
  // disk (cut short, or refused when not a byte was left).
  std::uint64_t appended_bytes() const { return appended_; }
  std::uint64_t enospc_appends() const { return enospc_; }

  // While on, creating a table file (*.ldb: a memtable flush, a compaction) waits until it is turned off.
  void hold_tables(bool on) {
    {
      std::lock_guard lock(mu_);
      hold_tables_ = on;
    }
    tables_cv_.notify_all();
  }
  // While on, creating a table file fails with an I/O error.
  void fail_tables(bool on) {
    std::lock_guard lock(mu_);
    fail_tables_ = on;
  }

  void drop_unsynced_data() {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : files_) {
      if (f.written > f.synced) (void)::truncate(name.c_str(), static_cast<off_t>(f.synced));
    }
    files_.clear();
  }

  leveldb::Status NewWritableFile(const std::string& name, leveldb::WritableFile** result) override {
    if (name.ends_with(".ldb")) {
      std::unique_lock lock(mu_);
      tables_cv_.wait(lock, [&] { return !hold_tables_; });
      if (fail_tables_) return leveldb::Status::IOError(name, "injected table creation error");
    }
    leveldb::WritableFile* base = nullptr;
    leveldb::Status s = target()->NewWritableFile(name, &base);
    if (!s.ok()) return s;
    {
      std::lock_guard lock(mu_);
      files_[name] = Tracked{};
    }
    *result = new File(this, name, base, 0);
    return s;
  }

  leveldb::Status NewAppendableFile(const std::string& name, leveldb::WritableFile** result) override {
    std::uint64_t size = 0;
    if (!target()->GetFileSize(name, &size).ok()) size = 0;
    leveldb::WritableFile* base = nullptr;
    leveldb::Status s = target()->NewAppendableFile(name, &base);
    if (!s.ok()) return s;
    {
      std::lock_guard lock(mu_);
      files_[name] = Tracked{size, size};
    }
    *result = new File(this, name, base, size);
    return s;
  }

  leveldb::Status RemoveFile(const std::string& name) override {
    {
      std::lock_guard lock(mu_);
      files_.erase(name);
    }
    return target()->RemoveFile(name);
  }

  leveldb::Status RenameFile(const std::string& from, const std::string& to) override {
    {
      std::lock_guard lock(mu_);
      auto it = files_.find(from);
      if (it != files_.end()) {
        files_[to] = it->second;
        files_.erase(it);
      }
    }
    return target()->RenameFile(from, to);
  }

 private:
  struct Tracked {
    std::uint64_t written = 0;
    std::uint64_t synced = 0;
  };

  class File final : public leveldb::WritableFile {
   public:
    File(FaultInjectionEnv* env, std::string name, leveldb::WritableFile* base, std::uint64_t size)
        : env_(env), name_(std::move(name)), base_(base), size_(size) {}
    leveldb::Status Append(const leveldb::Slice& data) override {
      if (env_->write_error_) return leveldb::Status::IOError(name_, "injected write error");
      std::size_t n = env_->take(data.size());
      leveldb::Status s = base_->Append(leveldb::Slice(data.data(), n));
      if (s.ok()) {
        size_ += n;
        env_->appended_ += n;
        env_->note(name_, size_, false);
        if (n < data.size()) {
          ++env_->enospc_;
          return leveldb::Status::IOError(name_, "No space left on device");
        }
      }
      return s;
    }
    leveldb::Status Close() override { return base_->Close(); }
    leveldb::Status Flush() override { return base_->Flush(); }
    leveldb::Status Sync() override {
      if (env_->write_error_) return leveldb::Status::IOError(name_, "injected sync error");
      leveldb::Status s = base_->Sync();
      if (s.ok()) env_->note(name_, size_, true);
      return s;
    }

   private:
    FaultInjectionEnv* env_;
    std::string name_;
    std::unique_ptr<leveldb::WritableFile> base_;
    std::uint64_t size_;
  };

  // How many of `want` bytes fit on the disk; uses them up.
  std::size_t take(std::size_t want) {
    std::uint64_t room = free_.load();
    while (room != kUnlimited) {
      std::uint64_t n = want <= room ? want : room;
      if (free_.compare_exchange_weak(room, room - n)) return static_cast<std::size_t>(n);
    }
    return want;
  }

  void note(const std::string& name, std::uint64_t size, bool synced) {
    std::lock_guard lock(mu_);
    auto& f = files_[name];
    f.written = size;
    if (synced) f.synced = size;
  }

  std::atomic<bool> write_error_{false};
  std::atomic<std::uint64_t> free_{kUnlimited};
  std::atomic<std::uint64_t> appended_{0};
  std::atomic<std::uint64_t> enospc_{0};
  std::mutex mu_;
  std::condition_variable tables_cv_;
  bool hold_tables_ = false;  // guarded by mu_
  bool fail_tables_ = false;  // guarded by mu_
  std::map<std::string, Tracked> files_;
};

}  // namespace onebill::testing
