// The file-system seam of the clients: every read, atomic write and lock of the CLI goes through here, so the
// rules (no partial writes, private keys never readable by others, locks released on every path) live in one place.
//
// Errors (onebill::Error codes): "not_found" (no such file), "exists" (a write that must not overwrite found a
// file), "too_large" (over the read limit), "locked" (a lock still held by another process when the wait ended),
// "io_error" (anything else; the message names the path and the system's reason). Nothing here throws.
// Thread-safety: free functions, safe from any thread; a FileLock is owned by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "crypto/result.h"

namespace onebill::clients::files {

inline constexpr std::size_t kMaxRead = std::size_t{64} << 20;

// The whole file. A path of "-" is not special here (the CLI reads stdin itself).
Result<std::string> read(const std::filesystem::path& path, std::size_t max_bytes = kMaxRead);

bool exists(const std::filesystem::path& path);

enum class Overwrite { no, yes };

// Writes `data` to a new temporary file beside `path` (same directory, created with `mode`, then fsync'd) and moves
// it into place, then fsyncs the directory: a reader — or a crash — sees the old file or the new one, never a part.
// With Overwrite::no the move is link(2), which fails if `path` exists ("exists"), so the check and the write are one
// step. The temporary file is removed on every failure. `mode` is applied exactly (the umask does not widen or
// narrow it).
Status write_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode, Overwrite overwrite);

// An exclusive advisory lock (flock(2)) on a lock file, created if missing and never deleted (deleting a lock file
// races with a process that just opened it). Released when the FileLock is destroyed.
class FileLock {
 public:
  // Waits up to `wait` for the lock. Errors: "locked", "io_error".
  static Result<FileLock> acquire(const std::filesystem::path& path, std::chrono::milliseconds wait);

  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace onebill::clients::files
