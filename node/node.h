// Node: the composition root of onebilld. main() builds one from the config file; it owns everything a running
// node has (store, Raft, ledger, transport, HTTP server, threads) and nothing is global.
//
// Threads (docs/operations.md, "Inside a node"):
//   - the I/O thread runs the io_context: HTTP (the REST API), the peer transport, commit waiters, events;
//   - the Raft thread owns the Raft core, its LevelDB log and the Ledger: ticks, steps messages, builds blocks
//     (leader), persists, sends, applies — in that order, one Ready at a time;
//   - a worker pool verifies signatures in parallel when blocks are applied.
// The two talk through a locked inbox (I/O → Raft) and posted completions (Raft → I/O).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "crypto/result.h"
#include "node/config.h"
#include "node/http/server.h"
#include "node/log.h"
#include "node/peer_network.h"

namespace leveldb {
class Env;
}

namespace onebill::node {

class NodeImpl;

class Node {
 public:
  // Loads genesis and keys, opens (or initialises) the data dir and checks it belongs to this genesis.
  // Errors are the reasons the daemon refuses to start ("bad_config", "bad_genesis", "genesis_mismatch",
  // "bad_key", "io_error", "corruption"), each with a message for the operator.
  // `network` replaces the TLS peer transport (tests: several nodes in one process over an in-memory network);
  // `storage_env`, when not null, is the Env the node's LevelDB goes through (tests: a disk that fills up or
  // fails); it must outlive the node.
  static Result<std::unique_ptr<Node>> create(const NodeConfig& config, Logger& log,
                                              PeerNetworkFactory network = tls_peer_network(),
                                              leveldb::Env* storage_env = nullptr);
  ~Node();

  // Binds the API and peer ports and starts the threads.
  Status start();
  // Blocks until stop() is called (from a signal handler thread or a test).
  void wait();
  // Stops accepting requests, finishes the Ready in flight, closes LevelDB. Idempotent.
  void stop();

  std::uint16_t api_port() const;
  std::uint16_t raft_port() const;

  // Runs one request through the REST handlers on the node's I/O thread, without a socket (tests, tools).
  http::Reply call(http::Request request);

 private:
  explicit Node(std::unique_ptr<NodeImpl> impl);
  std::unique_ptr<NodeImpl> impl_;
};

}  // namespace onebill::node
