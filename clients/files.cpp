#include "clients/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

namespace onebill::clients::files {
namespace {

Error sys_error(std::string_view what, const std::filesystem::path& path, int err) {
  std::string code = err == ENOENT ? "not_found" : err == EEXIST ? "exists" : "io_error";
  return make_error(std::move(code), std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

void sync_dir(const std::filesystem::path& dir) {
  // Best effort: the rename is already atomic; this makes it durable. Some file systems refuse fsync on a directory.
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

std::filesystem::path temp_name(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  return tmp;
}

}  // namespace

Result<std::string> read(const std::filesystem::path& path, std::size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return sys_error("cannot open", path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("cannot stat", path, errno);
  if (S_ISDIR(st.st_mode)) return make_error("io_error", path.string() + " is a directory");
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("cannot read", path, errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return make_error("too_large", path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

bool exists(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Status write_atomic(const std::filesystem::path& path, std::string_view data, mode_t mode, Overwrite overwrite) {
  if (path.empty()) return make_error("io_error", "empty file name");
  if (overwrite == Overwrite::no && files::exists(path)) {
    return make_error("exists", path.string() + " already exists");
  }
  const std::filesystem::path tmp = temp_name(path);
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (fd.get() < 0) return sys_error("cannot create", tmp, errno);
    Status s = write_all(fd.get(), data, tmp);
    if (s && ::fchmod(fd.get(), mode) != 0) s = sys_error("cannot set the mode of", tmp, errno);
    if (s && ::fsync(fd.get()) != 0) s = sys_error("cannot sync", tmp, errno);
    if (!s) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (overwrite == Overwrite::no) {
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return err == EEXIST ? make_error("exists", path.string() + " already exists")
                           : sys_error("cannot create", path, err);
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return sys_error("cannot replace", path, err);
  }
  sync_dir(path.parent_path());
  return {};
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, std::chrono::milliseconds wait) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return sys_error("cannot open the lock file", path, errno);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return FileLock(fd.release());
    if (errno != EWOULDBLOCK && errno != EINTR) return sys_error("cannot lock", path, errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error("locked",
                        path.string() + " is held by another process (waited " + std::to_string(wait.count()) + " ms)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

}  // namespace onebill::clients::files
