// State snapshots in the running node: taking them and compacting the Raft log (Raft thread), serving their
// content to peers (I/O thread), and fetching, checking and installing one sent by the leader (Raft thread).
// The formats and checks are in node/snapshot.h; docs/storage.md §6 describes the whole.
#include "node/node_impl.h"

namespace onebill::node {
namespace {

constexpr std::uint32_t kChunkBytes = 1u << 20;            // content per request; well under the 16 MiB frame limit
constexpr std::int64_t kCertifiedSearchDepth = 1000;        // heights searched back for a certified header
constexpr std::chrono::seconds kFetchTimeout{5};            // per request, before asking another peer
constexpr int kFetchAttemptsPerPeer = 2;

consensus::Bytes to_bytes(const std::string& s) { return consensus::Bytes(s.begin(), s.end()); }

}  // namespace

std::shared_ptr<const SnapshotSource> NodeImpl::snapshot_source(std::uint64_t index) const {
  std::lock_guard lock(source_mu_);
  for (const auto& s : sources_) {
    if (s->manifest().point.raft_index == index) return s;
  }
  return nullptr;
}

void NodeImpl::reload_certified_head() {
  auto c = load_certified_head(*store, *membership_view(), network, alg, ledger->last().height, kCertifiedSearchDepth);
  if (!c) {
    log.warn("cannot recover the certified head from stored attestations", {{"detail", c.error().message}});
    return;
  }
  if (!c->has_value()) return;
  std::lock_guard lock(attest_mu_);
  if (!certified_ || certified_->height < (*c)->height) certified_ = std::move(**c);
}

void NodeImpl::maybe_snapshot(bool force) {
  if (snapshot_build_) {
    if (snapshot_build_->done.load(std::memory_order_acquire)) finish_snapshot();
    return;  // one at a time
  }
  if (snapshot_interval <= 0 && !force) return;
  AppliedPoint p = ledger->last();
  std::uint64_t last = raft_storage->snapshot_meta().index;
  if (p.raft_index <= last) return;
  if (!force && p.raft_index < last + static_cast<std::uint64_t>(snapshot_interval)) return;
  if (p.raft_index < snapshot_retry_at_) return;
  std::uint64_t retry_step = static_cast<std::uint64_t>(std::max<std::int64_t>(1, snapshot_interval / 10));
  std::optional<CertifiedHead> cert;
  if (p.height > 0) {
    auto c = load_certified_head(*store, ledger->membership(), network, alg, p.height, kCertifiedSearchDepth);
    if (!c || !c->has_value()) {
      // Attestations come after applying: try again a little later.
      snapshot_retry_at_ = p.raft_index + retry_step;
      log.debug("no certified header yet; snapshot postponed", {{"raft_index", std::to_string(p.raft_index)}});
      return;
    }
    cert = std::move(**c);
  }
  auto conf = raft->conf_state_at(p.raft_index);
  if (!conf) return;
  // The LevelDB snapshot is taken here, between two applied blocks, so it holds exactly the state at p; the pass
  // over it runs on a thread of its own, and a later pass of this loop records the result (finish_snapshot).
  auto build = std::make_unique<SnapshotBuild>();
  build->source = SnapshotSource::open(*store);
  build->point = p;
  build->conf = *conf;
  SnapshotBuild* b = build.get();
  build->thread = std::thread([b, genesis = genesis_hash, cert = std::move(cert)] {
    // At the lowest CPU priority: on a busy machine the pass takes what the request and Raft threads leave (three
    // nodes hashing 2 GB each at once otherwise held a loaded cluster back for seconds; docs/performance.md).
    name_this_thread("ob-snapshot");
    lower_thread_priority(19);
    b->status = b->source->hash(genesis, cert, &b->cancel);
    b->done.store(true, std::memory_order_release);
  });
  snapshot_build_ = std::move(build);
}

void NodeImpl::finish_snapshot() {
  std::unique_ptr<SnapshotBuild> b = std::move(snapshot_build_);
  b->thread.join();
  const AppliedPoint& p = b->point;
  std::uint64_t retry_step = static_cast<std::uint64_t>(std::max<std::int64_t>(1, snapshot_interval / 10));
  if (!b->status) {
    snapshot_retry_at_ = p.raft_index + retry_step;
    log.warn("cannot take a state snapshot", {{"code", b->status.error().code}, {"detail", b->status.error().message}});
    return;
  }
  // A snapshot installed from the leader meanwhile is newer than this one: it stays.
  if (raft_storage->snapshot_meta().index >= p.raft_index) return;
  std::shared_ptr<const SnapshotSource> src = std::move(b->source);
  // A write to the Raft log's database that failed (its own error, such as a compaction's, may not reach the state
  // database's writers): this node stops taking part, as for any failed write.
  const auto write_failed = [&](const Error& e) { return store->write_failure() || e.code == "io_error"; };
  // Every (unsynced) block batch up to the snapshot made durable before the Raft snapshot record is written, so
  // the entries compacted below are never needed again to re-apply a block lost in a crash. (The archive's part of
  // each block was synced with it.)
  if (Status s = store->sync_state(); !s) {
    storage_failed("snapshot_sync", s.error());  // a failed sync: the store refuses every later write too
    return;
  }
  if (Status s = raft_storage->create_snapshot(p.raft_index, b->conf, to_bytes(src->manifest().encode())); !s) {
    log.error("cannot record a state snapshot", {{"code", s.error().code}, {"detail", s.error().message}});
    if (write_failed(s.error())) storage_failed("snapshot_record", s.error());
    return;
  }
  std::uint64_t keep = static_cast<std::uint64_t>(snapshot_keep_entries);
  std::uint64_t compact_to = p.raft_index > keep ? p.raft_index - keep : 0;
  if (compact_to > 0) {
    if (Status s = raft_storage->compact(compact_to); !s) {
      log.warn("cannot compact the Raft log", {{"detail", s.error().message}});
      if (write_failed(s.error())) storage_failed("log_compaction", s.error());
    }
  }
  {
    std::lock_guard lock(source_mu_);
    sources_.push_back(src);
    while (sources_.size() > 2) sources_.pop_front();
  }
  const auto& m = src->manifest();
  log.info("state snapshot taken", {{"raft_index", std::to_string(p.raft_index)},
                                    {"height", std::to_string(p.height)},
                                    {"records", std::to_string(m.records)},
                                    {"bytes", std::to_string(m.bytes)},
                                    {"log_first_index", std::to_string(raft_storage->first_index())}});
  metrics.counter("onebill_snapshots_taken_total", "State snapshots this node took").inc();
}

void NodeImpl::on_snapshot_message(consensus::NodeId from, const consensus::Bytes& payload) {
  std::string_view bytes(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (auto req = SnapshotRequest::decode(bytes)) {
    SnapshotResponse resp;
    resp.index = req->index;
    if (auto src = snapshot_source(req->index)) {
      auto chunk = src->read(req->after, std::clamp<std::uint32_t>(req->max_bytes, 1, kChunkBytes));
      if (chunk) {
        resp.status = chunk->done ? SnapshotResponse::Status::done : SnapshotResponse::Status::more;
        resp.records = std::move(chunk->records);
      }
    }
    (void)transport->send(from, consensus::Channel::snapshot, to_bytes(resp.encode()));
    return;
  }
  if (auto resp = SnapshotResponse::decode(bytes)) {
    std::lock_guard lock(fetch_mu_);
    fetch_inbox_.emplace_back(from, std::move(*resp));
    while (fetch_inbox_.size() > 8) fetch_inbox_.pop_front();  // only one request is ever outstanding
    fetch_cv_.notify_all();
  }
}

bool NodeImpl::install_from_leader(const consensus::Ready& rd) {
  const consensus::SnapshotMeta& meta = rd.snapshot->meta;
  auto leader_name = node_name(leader_).empty() ? std::to_string(leader_) : node_name(leader_);
  auto refuse = [&](const std::string& why) {
    log.error("refused a state snapshot from the leader",
              {{"raft_index", std::to_string(meta.index)}, {"leader", leader_name}, {"reason", why}});
    metrics.counter("onebill_snapshots_refused_total", "State snapshots refused (bad or unavailable)").inc();
    return false;
  };
  std::string_view text(reinterpret_cast<const char*>(rd.snapshot->data.data()), rd.snapshot->data.size());
  auto manifest = SnapshotManifest::decode(text);
  if (!manifest) return refuse(manifest.error().message);
  if (manifest->point.raft_index != meta.index) {
    return refuse("the manifest is for Raft index " + std::to_string(manifest->point.raft_index));
  }
  log.info("receiving a state snapshot", {{"raft_index", std::to_string(meta.index)},
                                          {"height", std::to_string(manifest->point.height)},
                                          {"records", std::to_string(manifest->records)},
                                          {"bytes", std::to_string(manifest->bytes)},
                                          {"leader", leader_name}});
  SnapshotTrust trust{genesis_hash, network, alg, *genesis_membership, *membership_view()};
  std::string path = (config.data_dir / "snapshot.incoming").string();
  auto rcv = SnapshotReceiver::create(store->env(), path, *manifest, trust);
  if (!rcv) return refuse(rcv.error().message);

  // Ask the leader first, then any other peer (content at one index is the same on every honest node).
  std::vector<consensus::NodeId> peers;
  if (leader_ != 0 && leader_ != self) peers.push_back(leader_);
  for (const auto& [name, n] : membership_view()->nodes()) {
    consensus::NodeId id = raft_id(name);
    if (id != self && id != leader_) peers.push_back(id);
  }
  if (peers.empty()) return refuse("no peer to fetch the content from");
  {
    std::lock_guard lock(fetch_mu_);
    fetch_inbox_.clear();
  }
  std::size_t peer = 0;
  int failures = 0;
  for (bool done = false; !done;) {
    if (stopping.load()) return false;
    if (failures >= kFetchAttemptsPerPeer * static_cast<int>(peers.size())) {
      return refuse("no peer served the content (" + std::to_string(failures) + " attempts)");
    }
    consensus::NodeId from = peers[peer % peers.size()];
    SnapshotRequest req{meta.index, kChunkBytes, (*rcv)->last_key()};
    (void)transport->send(from, consensus::Channel::snapshot, to_bytes(req.encode()));
    std::optional<SnapshotResponse> got;
    {
      std::unique_lock lock(fetch_mu_);
      auto deadline = std::chrono::steady_clock::now() + kFetchTimeout;
      while (!got && !stopping.load()) {
        for (auto it = fetch_inbox_.begin(); it != fetch_inbox_.end(); ++it) {
          if (it->first == from && it->second.index == meta.index) {
            got = std::move(it->second);
            fetch_inbox_.erase(fetch_inbox_.begin(), it + 1);
            break;
          }
        }
        if (got || fetch_cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
      }
    }
    if (!got || got->status == SnapshotResponse::Status::unavailable) {
      ++failures;
      ++peer;
      continue;
    }
    if (Status s = (*rcv)->add(got->records); !s) {
      if (s.error().code == "io_error") {
        log.error("cannot stage a state snapshot", {{"detail", s.error().message}});
        return false;
      }
      return refuse(s.error().message);
    }
    done = got->status == SnapshotResponse::Status::done;
  }
  if (Status s = (*rcv)->finish(); !s) return refuse(s.error().message);
  rcv->reset();

  if (Status s = install_snapshot(*store, *raft_storage, path, *manifest, rd); !s) {
    log.error("cannot install a state snapshot; this node stops taking part (a restart finishes the install)",
              {{"code", s.error().code}, {"detail", s.error().message}});
    halted_ = true;
    return false;
  }
  // Counted and logged before the new state is visible (reload): whoever sees the node at the snapshot's height
  // (GET /v1/status) then also sees the install in /metrics and the log. The other order let a reader see the
  // height and a count of 0 (a flake of the snapshot cluster test).
  metrics.counter("onebill_snapshots_installed_total", "State snapshots this node installed").inc();
  log.info("state snapshot installed", {{"raft_index", std::to_string(meta.index)},
                                        {"height", std::to_string(manifest->point.height)},
                                        {"header_hash", manifest->point.header_hash}});
  reload_after_install();
  return true;
}

void NodeImpl::reload_after_install() {
  if (Status s = ledger->reload(*genesis_membership); !s) {
    log.error("cannot load the installed state; this node stops applying", {{"detail", s.error().message}});
    halted_ = true;
    return;
  }
  publish_membership(ledger->membership());
  {
    std::lock_guard lock(attest_mu_);
    attestations_.clear();
    own_headers_.clear();
    own_log_roots_.clear();
    certified_.reset();
  }
  reload_certified_head();
  // The state is exactly the snapshot's: serve it too, in case this node leads before its next snapshot.
  std::optional<CertifiedHead> cert = certified();
  auto src = SnapshotSource::build(*store, genesis_hash, cert);
  if (src && (*src)->manifest().point.raft_index == raft_storage->snapshot_meta().index) {
    std::lock_guard lock(source_mu_);
    sources_.assign(1, *src);
  }
}

}  // namespace onebill::node
