#include "node/sticky_env.h"

#include <memory>
#include <vector>

namespace onebill::node {

// A file LevelDB writes (log, table, MANIFEST, CURRENT's temporary): refuses every write once any write through
// the Env failed, and records its own failure as the Env's first. A log's Close hands its file to the Env.
class StickyWriteEnv::File final : public leveldb::WritableFile {
 public:
  File(StickyWriteEnv* env, std::string name, leveldb::WritableFile* base)
      : env_(env), name_(std::move(name)), base_(base) {}

  // (base_ is null only after a log's Close handed it over: LevelDB writes nothing to a closed file.)
  leveldb::Status Append(const leveldb::Slice& data) override {
    if (!base_) return leveldb::Status::IOError(name_, "written after close");
    return guarded([&] { return base_->Append(data); });
  }
  leveldb::Status Flush() override {
    if (!base_) return env_->failed() ? env_->first() : leveldb::Status::OK();
    return guarded([&] { return base_->Flush(); });
  }
  // A log's sync first syncs the logs its database closed before it (see the header): a synced write must not
  // reach the disk without the writes before it.
  leveldb::Status Sync() override {
    if (!base_) return env_->failed() ? env_->first() : leveldb::Status::OK();
    if (is_log()) {
      leveldb::Status s = env_->sync_closed_logs(name_.substr(0, name_.rfind('/') + 1));
      if (!s.ok()) return s;
    }
    return guarded([&] { return base_->Sync(); });
  }
  // A log (no failure yet) is flushed and its file kept open by the Env until synced or removed (see the header),
  // whether LevelDB closes it or, as 1.23 does with the log it switches from, deletes it without closing.
  ~File() override {
    if (base_ && is_log()) (void)hand_over();
  }
  // Any other file is always closed (its descriptor must go). After a failure the file's buffer holds nothing that
  // a refused call left behind: LevelDB flushes its log after every record, and a failed flush empties the buffer.
  leveldb::Status Close() override {
    if (!base_) return env_->failed() ? env_->first() : leveldb::Status::OK();
    if (is_log()) return hand_over();
    bool before = env_->failed();
    leveldb::Status s = base_->Close();
    if (before) return env_->first();
    return s.ok() ? s : env_->fail(s);
  }

 private:
  bool is_log() const { return name_.ends_with(".log"); }
  // Flushes the log and gives its file to the Env (closes it when a write failed).
  leveldb::Status hand_over() {
    if (env_->failed()) {
      (void)base_->Close();
      base_.reset();
      return env_->first();
    }
    leveldb::Status s = base_->Flush();
    if (!s.ok()) {
      (void)base_->Close();
      base_.reset();
      return env_->fail(s);
    }
    env_->keep_closed_log(name_, std::move(base_));
    return s;
  }

  template <typename Op>
  leveldb::Status guarded(Op op) {
    if (env_->failed()) return env_->first();
    leveldb::Status s = op();
    return s.ok() ? s : env_->fail(s);
  }

  StickyWriteEnv* env_;
  const std::string name_;
  std::unique_ptr<leveldb::WritableFile> base_;  // null once a log's Close handed it to the Env
};

std::optional<leveldb::Status> StickyWriteEnv::failure() const {
  if (!failed()) return std::nullopt;
  return first();
}

leveldb::Status StickyWriteEnv::first() const {
  std::lock_guard lock(mu_);
  return first_;
}

leveldb::Status StickyWriteEnv::fail(const leveldb::Status& s) {
  std::lock_guard lock(mu_);
  if (!failed_.load(std::memory_order_relaxed)) {
    first_ = s.ok() ? leveldb::Status::IOError("a write failed without a reason") : s;
    failed_.store(true, std::memory_order_release);
  }
  return first_;
}

leveldb::Status StickyWriteEnv::NewWritableFile(const std::string& name, leveldb::WritableFile** result) {
  *result = nullptr;
  if (failed()) return first();
  leveldb::WritableFile* base = nullptr;
  leveldb::Status opened = target()->NewWritableFile(name, &base);
  return adopt(name, opened, base, result);
}

leveldb::Status StickyWriteEnv::NewAppendableFile(const std::string& name, leveldb::WritableFile** result) {
  *result = nullptr;
  if (failed()) return first();
  leveldb::WritableFile* base = nullptr;
  leveldb::Status opened = target()->NewAppendableFile(name, &base);
  return adopt(name, opened, base, result);
}

leveldb::Status StickyWriteEnv::adopt(const std::string& name, const leveldb::Status& opened,
                                      leveldb::WritableFile* base, leveldb::WritableFile** result) {
  if (!opened.ok()) return fail(opened);
  *result = new File(this, name, base);
  return opened;
}

void StickyWriteEnv::keep_closed_log(const std::string& name, std::unique_ptr<leveldb::WritableFile> file) {
  std::lock_guard lock(logs_mu_);
  closed_logs_.insert_or_assign(name, std::move(file));
}

leveldb::Status StickyWriteEnv::RemoveFile(const std::string& name) {
  std::unique_ptr<leveldb::WritableFile> kept;
  {
    std::lock_guard lock(logs_mu_);
    auto it = closed_logs_.find(name);
    if (it != closed_logs_.end()) {
      kept = std::move(it->second);
      closed_logs_.erase(it);
    }
  }
  // Removed: its memtable is in a synced table. Its buffer was flushed at Close, so closing writes nothing.
  if (kept) (void)kept->Close();
  return target()->RemoveFile(name);
}

leveldb::Status StickyWriteEnv::sync_closed_logs(const std::string& dir) {
  // One caller at a time, each file synced before the lock goes: a caller that finds a log another caller took is
  // served once that one is done with it (and learns of its failure from the Env).
  std::lock_guard serial(sync_mu_);
  if (failed()) return first();
  std::vector<std::unique_ptr<leveldb::WritableFile>> logs;
  {
    std::lock_guard lock(logs_mu_);
    for (auto it = closed_logs_.begin(); it != closed_logs_.end();) {
      // `dir` ends with '/': a log of this very folder (archive/ and raft/ are inside the state's folder).
      const bool here = it->first.starts_with(dir) && it->first.find('/', dir.size()) == std::string::npos;
      if (here) {
        logs.push_back(std::move(it->second));
        it = closed_logs_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // A log LevelDB removes meanwhile is synced all the same (its file is still open here): harmless.
  for (auto& file : logs) {
    if (failed()) return first();
    leveldb::Status s = file->Sync();
    if (!s.ok()) return fail(s);
    s = file->Close();
    if (!s.ok()) return fail(s);
  }
  return failed() ? first() : leveldb::Status::OK();
}

}  // namespace onebill::node
