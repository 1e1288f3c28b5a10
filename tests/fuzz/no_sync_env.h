// NoSyncEnv: a leveldb::Env whose files never reach the disk's platter — Sync() only hands the file's buffered bytes
// to the kernel (Flush), without fsync. For the http_api fuzz target's node, whose data dir is thrown away at exit:
// every accepted submission waits for its block's commit, and with real fsyncs that wait, not the code under test,
// set the target's speed. Everything else goes to leveldb::Env::Default() unchanged, so LevelDB reads back
// exactly what it wrote, as on a real disk; only durability against a power cut is given up, which the fuzz target
// does not test (the fault harness, tests/faults, does). Like tests/support/fault_env.h, a header: only fuzz_http_api
// uses it, and it alone links LevelDB (through onebill::node).
//
// Thread-safety: as Env::Default(); the Env lives as long as the process (default()).
#pragma once

#include <memory>
#include <string>

#include <leveldb/env.h>
#include <leveldb/status.h>

namespace onebill::fuzz {

class NoSyncEnv final : public leveldb::EnvWrapper {
 public:
  NoSyncEnv() : leveldb::EnvWrapper(leveldb::Env::Default()) {}

  // The one instance, never destroyed (a node's LevelDB may still close its files at exit).
  static NoSyncEnv* get() {
    static auto* env = new NoSyncEnv();
    return env;
  }

  leveldb::Status NewWritableFile(const std::string& name, leveldb::WritableFile** result) override {
    return wrap(target()->NewWritableFile(name, result), result);
  }
  leveldb::Status NewAppendableFile(const std::string& name, leveldb::WritableFile** result) override {
    return wrap(target()->NewAppendableFile(name, result), result);
  }

 private:
  class File final : public leveldb::WritableFile {
   public:
    explicit File(leveldb::WritableFile* base) : base_(base) {}
    leveldb::Status Append(const leveldb::Slice& data) override { return base_->Append(data); }
    leveldb::Status Close() override { return base_->Close(); }
    leveldb::Status Flush() override { return base_->Flush(); }
    leveldb::Status Sync() override { return base_->Flush(); }  // to the kernel, not to the disk

   private:
    std::unique_ptr<leveldb::WritableFile> base_;
  };

  static leveldb::Status wrap(const leveldb::Status& opened, leveldb::WritableFile** result) {
    if (opened.ok()) *result = new File(*result);
    return opened;
  }
};

}  // namespace onebill::fuzz
