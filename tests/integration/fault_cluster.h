// FaultCluster: a network of real onebilld processes on 127.0.0.1 that the fault harness can hurt — killed,
// paused, restarted, cut off from each other, with a torn log tail or a full disk — and that cleans up after
// itself.
//
// Built on testing::TestNet (genesis, keys, configs, tokens). Each node's config gets a `peers` entry per peer
// naming a LinkProxy of that (node → peer) link, so every direction of every link can be cut on its own
// (link_proxy.h). One node may get a data dir of its own on a small tmpfs mount (for the full-disk fault); when
// the mount fails the cluster says so and has none.
//
// Processes: onebilld is started with fork + exec, its output appended to {node dir}/node.log (the harness writes
// its own "== harness:" lines there too, so a node's log shows what was done to it). Every node is started with
// PR_SET_PDEATHSIG = SIGKILL, so it dies with the harness even if the harness is killed; since Linux sends that
// signal when the forking *thread* ends, call start() only from the thread that owns the cluster. Not
// thread-safe otherwise, except api_port() and id().
//
// The destructor kills every node (SIGCONT, then SIGKILL), stops the proxies and unmounts the tmpfs. With keep(),
// the run's folder stays (the tmpfs data copied out first); otherwise it is removed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/http_client.h"
#include "tests/integration/link_proxy.h"
#include "tests/integration/timeline.h"
#include "tests/support/testnet.h"

namespace onebill::faults {

struct ClusterOptions {
  std::filesystem::path dir;  // created fresh
  int voters = 3;
  nlohmann::json params;      // genesis params
  std::string onebilld;       // the binary
  std::optional<std::size_t> tmpfs_node;  // this node's data dir is a tmpfs of its own
};

class FaultCluster {
 public:
  FaultCluster(ClusterOptions o, Timeline& timeline);
  ~FaultCluster();
  FaultCluster(const FaultCluster&) = delete;
  FaultCluster& operator=(const FaultCluster&) = delete;

  std::size_t size() const { return nodes_.size(); }
  testing::TestNet& net() { return net_; }
  const std::string& id(std::size_t i) const { return nodes_[i].id; }
  std::uint16_t api_port(std::size_t i) const { return nodes_[i].api_port; }
  std::filesystem::path dir() const { return net_.dir(); }
  void keep() { keep_ = true; }

  // Processes.
  void start(std::size_t i);
  void kill(std::size_t i);  // SIGKILL and reap
  void stop(std::size_t i);  // SIGTERM; SIGKILL after 10 s
  void pause(std::size_t i);   // SIGSTOP
  void resume(std::size_t i);  // SIGCONT
  bool running(std::size_t i) const { return nodes_[i].pid > 0; }
  bool paused(std::size_t i) const { return nodes_[i].paused; }
  // Nodes that exited without being told to since the last call (they are then marked stopped).
  struct Exit {
    std::size_t node = 0;
    int status = 0;    // as waitpid gives it
    std::string text;  // "n2 killed by signal 6"
  };
  std::vector<Exit> reap_unexpected();
  // The node's last "cannot start" log line ("" when there is none).
  std::string last_start_error(std::size_t i) const;

  void note(std::size_t i, const std::string& text);  // a "== harness:" line in the node's log

  // Links: the messages `from` sends to `to`.
  void set_link(std::size_t from, std::size_t to, LinkMode mode);
  void heal_links();
  std::uint64_t proxy_bytes() const;  // forwarded by every proxy so far

  // /v1/status of a running, unpaused node (discarded JSON when it does not answer within `timeout`).
  nlohmann::json status(std::size_t i, std::chrono::milliseconds timeout = std::chrono::milliseconds(700));
  // The node that says it leads with the highest term, or -1.
  int leader();

  // The full-disk fault. tmpfs_node() is set only when the mount succeeded (mount_error() says why not).
  std::optional<std::size_t> tmpfs_node() const { return tmpfs_node_; }
  const std::string& mount_error() const { return mount_error_; }
  // Shrinks the node's tmpfs to what it uses now plus `slack` bytes; returns a description.
  std::string fill_disk(std::uintmax_t slack);
  void free_disk();  // back to the full size

  // The torn-tail fault: cuts off the newest LevelDB log of a stopped node a part of its unsynced tail
  // (leveldb_tail.h), `pick` choosing how much. Returns a description; "" with `error` set when it could not.
  std::string tear_tail(std::size_t i, std::uint64_t pick, std::string& error);

  // Lines of the node logs at level=error (and "raft fatal"), as "n2: line".
  std::vector<std::string> error_lines() const;

 private:
  struct Node {
    std::string id;
    std::uint16_t api_port = 0;
    std::filesystem::path dir, data, config, log;
    pid_t pid = -1;
    bool paused = false;
  };
  void unmount();

  testing::TestNet net_;
  Timeline& timeline_;
  std::string onebilld_;
  std::vector<Node> nodes_;
  std::vector<std::vector<std::unique_ptr<LinkProxy>>> links_;  // [from][to]
  std::vector<std::unique_ptr<HttpClient>> status_clients_;
  std::optional<std::size_t> tmpfs_node_;
  std::string mount_error_;
  bool keep_ = false;
};

// Unmounts tmpfs mounts left below `root` by harness processes that no longer exist (a harness killed with
// SIGKILL cannot clean up). Mount folders carry the owning pid as ".<pid>" at the end of a path component.
void unmount_stale(const std::filesystem::path& root);

}  // namespace onebill::faults
