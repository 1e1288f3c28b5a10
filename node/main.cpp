// onebilld — the onebill ledger node. Composition root: reads the config, builds the Node, runs until SIGINT or
// SIGTERM, then stops cleanly (finishes the Ready in flight, closes LevelDB).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <pthread.h>

#include "node/auth.h"
#include "node/config.h"
#include "node/log.h"
#include "node/node.h"

namespace {

constexpr const char* kVersion = "0.1.0";

}  // namespace

// jemalloc exports mallctl; glibc does not. Declared weak so that a build without jemalloc (the sanitizer build, or
// -DONEBILL_JEMALLOC=OFF) links and reports glibc.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen)
    __attribute__((weak));

namespace {

// The allocator this process runs on, for --version and the start-up log (docs/performance.md, "Session 8").
std::string allocator_name() {
  if (mallctl == nullptr) return "glibc malloc";
  const char* version = nullptr;
  std::size_t size = sizeof version;
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0 && version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc";
}

constexpr const char* kHelp = R"(onebilld — a onebill ledger node

Usage:
  onebilld --config FILE     run a node with the configuration in FILE
  onebilld --new-token       print a new API token and the sha256 to put in a config's "tokens"
  onebilld --help            this text
  onebilld --version         the version

The configuration file (JSON) names the node, its data dir, the genesis file, its TLS key and, optionally, an
organisation key for node-signed submissions, listen addresses, API tokens (stored as SHA-256 hashes with their
scopes: submit, sign, read, admin), limits and the log level. Every field is described in docs/operations.md.

The node refuses to start, saying why, on a bad config, a genesis whose hash differs from the one its data dir
was created with, or a key that genesis does not list for it. Logs go to stderr, one logfmt line per event.
SIGINT or SIGTERM stop it cleanly.

Exit codes: 0 stopped cleanly; 1 could not start (bad config, genesis, keys or data dir); 2 bad arguments.
)";

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--version") {
      std::printf("onebilld %s (allocator: %s)\n", kVersion, allocator_name().c_str());
      return 0;
    }
    if (a == "--new-token") {
      auto t = onebill::node::generate_token();
      std::printf("token:  %s\nsha256: %s\n", t.token.c_str(), t.sha256_hex.c_str());
      return 0;
    }
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
      continue;
    }
    if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
      continue;
    }
    std::fprintf(stderr, "onebilld: unknown argument '%s' (see onebilld --help)\n", a.c_str());
    return 2;
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "onebilld: --config FILE is required (see onebilld --help)\n");
    return 2;
  }

  onebill::node::Logger log;
  auto config = onebill::node::load_config(config_path);
  if (!config) {
    log.error("cannot start", {{"code", config.error().code}, {"detail", config.error().message}});
    return 1;
  }
  log.set_level(config->log_level);
  log.info("starting", {{"version", kVersion}, {"allocator", allocator_name()}});

  // Signals are taken by this thread only, with sigwait: no handler runs inside another thread's code.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto node = onebill::node::Node::create(*config, log);
  if (!node) {
    log.error("cannot start", {{"code", node.error().code}, {"detail", node.error().message}});
    return 1;
  }
  if (auto s = (*node)->start(); !s) {
    log.error("cannot start", {{"code", s.error().code}, {"detail", s.error().message}});
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  log.info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*node)->stop();
  return 0;
}
