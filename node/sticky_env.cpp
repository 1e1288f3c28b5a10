#include "node/sticky_env.h"

#include <memory>

namespace onebill::node {

// A file LevelDB writes (log, table, MANIFEST, CURRENT's temporary): refuses every write once any write through
// the Env failed, and records its own failure as the Env's first.
class StickyWriteEnv::File final : public leveldb::WritableFile {
 public:
  File(StickyWriteEnv* env, leveldb::WritableFile* base) : env_(env), base_(base) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    return guarded([&] { return base_->Append(data); });
  }
  leveldb::Status Flush() override {
    return guarded([&] { return base_->Flush(); });
  }
  leveldb::Status Sync() override {
    return guarded([&] { return base_->Sync(); });
  }
  // Always closes the file (its descriptor must go). After a failure the file's buffer holds nothing that a
  // refused call left behind: LevelDB flushes its log after every record, and a failed flush empties the buffer.
  leveldb::Status Close() override {
    bool before = env_->failed();
    leveldb::Status s = base_->Close();
    if (before) return env_->first();
    return s.ok() ? s : env_->fail(s);
  }

 private:
  template <typename Op>
  leveldb::Status guarded(Op op) {
    if (env_->failed()) return env_->first();
    leveldb::Status s = op();
    return s.ok() ? s : env_->fail(s);
  }

  StickyWriteEnv* env_;
  std::unique_ptr<leveldb::WritableFile> base_;
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
  return adopt(opened, base, result);
}

leveldb::Status StickyWriteEnv::NewAppendableFile(const std::string& name, leveldb::WritableFile** result) {
  *result = nullptr;
  if (failed()) return first();
  leveldb::WritableFile* base = nullptr;
  leveldb::Status opened = target()->NewAppendableFile(name, &base);
  return adopt(opened, base, result);
}

leveldb::Status StickyWriteEnv::adopt(const leveldb::Status& opened, leveldb::WritableFile* base,
                                      leveldb::WritableFile** result) {
  if (!opened.ok()) return fail(opened);
  *result = new File(this, base);
  return opened;
}

}  // namespace onebill::node
