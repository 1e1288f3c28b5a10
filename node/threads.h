// Per-thread settings for the node's own threads (Linux; best effort: a failure changes nothing else). Header-only,
// so that the header-only WorkerPool can use it.
#pragma once

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

namespace onebill::node {

// Lowers the CPU priority of the calling thread only (a Linux thread id is a PRIO_PROCESS target) to `nice`.
// For background work: LevelDB's compactions (NiceBackgroundEnv) and a snapshot's hashing pass.
inline void lower_thread_priority(int nice) {
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
}

// Names the calling thread (at most 15 characters are kept), so `top -H`, `ps -L`, perf and gdb tell the node's
// threads apart: ob-io (HTTP and peer links), ob-raft (consensus and apply), ob-verify (signature checks),
// ob-bundle, ob-attest, ob-keytable (P-256 verification tables), ob-snapshot, ob-leveldb, ob-leveldb-arch and
// ob-leveldb-raft (flushes and compactions of the state, archive and Raft log databases).
inline void name_this_thread(const char* name) { (void)::pthread_setname_np(::pthread_self(), name); }

}  // namespace onebill::node
