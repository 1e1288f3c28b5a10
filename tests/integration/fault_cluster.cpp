#include "tests/integration/fault_cluster.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/leveldb_tail.h"
#include "tests/integration/workload.h"

namespace onebill::faults {
namespace {

using nlohmann::json;

constexpr std::uintmax_t kTmpfsBytes = 256U * 1024U * 1024U;

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "ended (status " + std::to_string(status) + ")";
}

bool remount(const std::filesystem::path& at, std::uintmax_t bytes, std::string& error) {
  std::string opts = "size=" + std::to_string(bytes);
  if (::mount("tmpfs", at.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) != 0) {
    error = std::string("remount failed: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

FaultCluster::FaultCluster(ClusterOptions o, Timeline& timeline)
    : net_(o.dir, o.voters, 0, crypto::SigAlg::ecdsa_p256, o.params), timeline_(timeline), onebilld_(o.onebilld) {
  for (const auto& n : net_.nodes()) {
    Node node;
    node.id = n.id;
    node.api_port = n.api_port;
    node.dir = n.dir;
    node.data = n.dir / "data";
    node.config = n.config;
    node.log = n.dir / "node.log";
    nodes_.push_back(node);
  }
  // One proxy per direction of every link, and each node's config told to dial them.
  links_.resize(nodes_.size());
  for (std::size_t from = 0; from < nodes_.size(); ++from) {
    links_[from].resize(nodes_.size());
    json peers = json::object();
    for (std::size_t to = 0; to < nodes_.size(); ++to) {
      if (to == from) continue;
      links_[from][to] = std::make_unique<LinkProxy>(net_.nodes()[to].raft_port);
      peers[nodes_[to].id] = "127.0.0.1:" + std::to_string(links_[from][to]->port());
    }
    std::ifstream in(nodes_[from].config);
    json cfg = json::parse(in);
    cfg["peers"] = peers;
    cfg["log_level"] = "info";
    cfg["commit_wait_ms"] = 2000;  // a read's ?min_height= wait, and the default commit wait
    std::ofstream(nodes_[from].config, std::ios::trunc) << cfg.dump(2);
    status_clients_.push_back(std::make_unique<HttpClient>(nodes_[from].api_port));
  }
  if (o.tmpfs_node && *o.tmpfs_node < nodes_.size()) {
    const auto& at = nodes_[*o.tmpfs_node].data;
    std::filesystem::create_directories(at);
    std::string opts = "size=" + std::to_string(kTmpfsBytes) + ",mode=0755";
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      tmpfs_node_ = o.tmpfs_node;
    } else {
      mount_error_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
    }
  }
}

FaultCluster::~FaultCluster() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].pid > 0) kill(i);
  }
  links_.clear();
  unmount();
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(net_.dir(), ec);
  }
}

void FaultCluster::unmount() {
  if (!tmpfs_node_) return;
  const auto& at = nodes_[*tmpfs_node_].data;
  std::error_code ec;
  auto kept = at.parent_path() / "data.kept";
  if (keep_) std::filesystem::copy(at, kept, std::filesystem::copy_options::recursive, ec);
  if (::umount2(at.c_str(), MNT_DETACH) != 0) {
    timeline_.say("cannot unmount " + at.string() + ": " + std::strerror(errno));
  }
  if (keep_ && !ec) {
    std::filesystem::remove_all(at, ec);
    std::filesystem::rename(kept, at, ec);
  }
  tmpfs_node_.reset();
}

void FaultCluster::start(std::size_t i) {
  auto& n = nodes_[i];
  if (n.pid > 0) return;
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::string log = n.log.string(), config = n.config.string();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the harness died before prctl
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(onebilld_.c_str(), onebilld_.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  n.pid = pid;
  n.paused = false;
}

void FaultCluster::kill(std::size_t i) {
  auto& n = nodes_[i];
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGKILL);
  int status = 0;
  ::waitpid(n.pid, &status, 0);
  n.pid = -1;
  n.paused = false;
}

void FaultCluster::stop(std::size_t i) {
  auto& n = nodes_[i];
  if (n.pid <= 0) return;
  if (n.paused) resume(i);
  ::kill(n.pid, SIGTERM);
  int status = 0;
  for (int k = 0; k < 200; ++k) {  // at most 10 s
    if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
      n.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  timeline_.say(n.id + " did not stop within 10 s of SIGTERM; SIGKILL");
  kill(i);
}

void FaultCluster::pause(std::size_t i) {
  if (nodes_[i].pid <= 0 || nodes_[i].paused) return;
  ::kill(nodes_[i].pid, SIGSTOP);
  nodes_[i].paused = true;
}

void FaultCluster::resume(std::size_t i) {
  if (nodes_[i].pid <= 0 || !nodes_[i].paused) return;
  ::kill(nodes_[i].pid, SIGCONT);
  nodes_[i].paused = false;
}

std::vector<FaultCluster::Exit> FaultCluster::reap_unexpected() {
  std::vector<Exit> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    if (n.pid <= 0) continue;
    int status = 0;
    if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
      out.push_back({i, status, n.id + " " + describe_exit(status)});
      n.pid = -1;
      n.paused = false;
    }
  }
  return out;
}

std::string FaultCluster::last_start_error(std::size_t i) const {
  std::ifstream in(nodes_[i].log);
  std::string last;
  for (std::string line; std::getline(in, line);) {
    if (line.find("msg=\"cannot start\"") != std::string::npos) last = line;
  }
  return last;
}


void FaultCluster::note(std::size_t i, const std::string& text) {
  std::ofstream(nodes_[i].log, std::ios::app) << "== harness: " << text << "\n";
}

void FaultCluster::set_link(std::size_t from, std::size_t to, LinkMode mode) {
  if (from != to) links_[from][to]->set_mode(mode);
}

void FaultCluster::heal_links() {
  for (auto& row : links_) {
    for (auto& l : row) {
      if (l) l->set_mode(LinkMode::pass);
    }
  }
}

std::uint64_t FaultCluster::proxy_bytes() const {
  std::uint64_t total = 0;
  for (const auto& row : links_) {
    for (const auto& l : row) total += l ? l->forwarded_bytes() : 0;
  }
  return total;
}

json FaultCluster::status(std::size_t i, std::chrono::milliseconds timeout) {
  if (!running(i) || paused(i)) return json(json::value_t::discarded);
  auto a = status_clients_[i]->get("/v1/status", "", timeout);
  return a.status == 200 ? a.json() : json(json::value_t::discarded);
}

int FaultCluster::leader() {
  int best = -1;
  std::int64_t best_term = -1;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    json s = status(i);
    if (!s.is_object() || text_field(s, "role") != "leader") continue;
    auto term = int_field(s, "term", 0);
    if (term > best_term) best = static_cast<int>(i), best_term = term;
  }
  return best;
}

std::string FaultCluster::fill_disk(std::uintmax_t slack) {
  if (!tmpfs_node_) return "";
  const auto& at = nodes_[*tmpfs_node_].data;
  struct statvfs st {};
  if (::statvfs(at.c_str(), &st) != 0) return std::string("statvfs failed: ") + std::strerror(errno);
  std::uintmax_t used = static_cast<std::uintmax_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
  std::uintmax_t size = (used + slack + 4095) / 4096 * 4096;
  std::string error;
  if (!remount(at, size, error)) return error;
  return "tmpfs of " + nodes_[*tmpfs_node_].id + " shrunk to " + std::to_string(size / 1024) + " KiB (" +
         std::to_string(used / 1024) + " KiB used)";
}

void FaultCluster::free_disk() {
  if (!tmpfs_node_) return;
  std::string error;
  if (!remount(nodes_[*tmpfs_node_].data, kTmpfsBytes, error)) timeline_.say("free_disk: " + error);
}

std::string FaultCluster::tear_tail(std::size_t i, std::uint64_t pick, std::string& error) {
  // A power cut tears each database's log on its own: the state database's and the Raft log's (db/raft; storage
  // format 7). The archive's batches are synced whenever the state refers to them.
  std::string said;
  std::uint64_t choice = pick;
  for (const char* sub : {"db", "db/raft"}) {
    LogTail t = find_unsynced_tail(nodes_[i].data / sub);
    if (!t.error.empty()) {
      error = t.error;
      return "";
    }
    std::uintmax_t tail = t.size - t.synced_end;
    std::string file = std::string(sub) + "/" + t.file.filename().string();
    if (!said.empty()) said += "; ";
    if (tail == 0) {
      said += "nothing unsynced to tear in " + file + " (" + std::to_string(t.size) +
              " bytes, the last batch may have been synced)";
      continue;
    }
    std::uintmax_t cut = 1 + choice % tail;  // 1 .. tail bytes
    choice = choice * 6364136223846793005ULL + 1442695040888963407ULL;  // another cut for the next log
    std::filesystem::resize_file(t.file, t.size - cut);
    std::ostringstream d;
    d << "cut " << cut << " of the " << tail << " unsynced bytes (" << t.unsynced_batches
      << " whole batches after the last possibly synced one) off " << file << " (" << t.size << " bytes)";
    said += d.str();
  }
  return said;
}

std::vector<std::string> FaultCluster::error_lines() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) {
    std::ifstream in(n.log);
    for (std::string line; std::getline(in, line);) {
      if (line.find("level=error") != std::string::npos) out.push_back(n.id + ": " + line);
    }
  }
  return out;
}

void unmount_stale(const std::filesystem::path& root) {
  std::ifstream mounts("/proc/self/mounts");
  std::string prefix = root.string() + "/";
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string device, at, type;
    fields >> device >> at >> type;
    if (type != "tmpfs" || at.rfind(prefix, 0) != 0) continue;
    std::string run = at.substr(prefix.size());
    run = run.substr(0, run.find('/'));
    auto dot = run.rfind('.');
    if (dot == std::string::npos) continue;
    pid_t owner = static_cast<pid_t>(std::atol(run.c_str() + dot + 1));
    if (owner > 0 && (::kill(owner, 0) == 0 || errno != ESRCH)) continue;  // its harness still runs
    ::umount2(at.c_str(), MNT_DETACH);
  }
}

}  // namespace onebill::faults
