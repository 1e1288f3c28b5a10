#include "node/node.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/post.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "node/api.h"
#include "node/node_impl.h"

namespace onebill::node {
namespace {

Result<std::string> read_file(const std::filesystem::path& p, const char* what) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error("bad_config", std::string("cannot read the ") + what + " file " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

consensus::NodeId raft_id(const std::string& node_id) {
  auto d = crypto::hash(crypto::HashAlg::sha256, "node:" + node_id);
  consensus::NodeId id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | d[static_cast<std::size_t>(i)];
  return id == 0 ? 1 : id;
}

nlohmann::json TxAnswer::to_json() const {
  nlohmann::json j = {{"id", id}, {"status", status}};
  if (!reason.empty()) j["reason"] = reason;
  if (!message.empty()) j["message"] = message;
  if (status != "pending") {
    j["height"] = height;
    j["index"] = index;
  }
  return j;
}

std::shared_ptr<const contracts::Membership> NodeImpl::membership_view() const {
  std::lock_guard lock(membership_mu_);
  return membership_;
}

void NodeImpl::publish_membership(const contracts::Membership& m) {
  auto copy = std::make_shared<const contracts::Membership>(m);
  {
    std::lock_guard lock(membership_mu_);
    for (const auto& [id, n] : m.nodes()) node_names_[raft_id(id)] = id;
    membership_ = std::move(copy);
  }
  if (transport) {
    if (Status s = transport->update_peers(peer_table(m)); !s) {
      log.warn("cannot update the peer table", {{"code", s.error().code}, {"detail", s.error().message}});
    }
  }
}

std::string NodeImpl::node_name(consensus::NodeId id) const {
  std::lock_guard lock(membership_mu_);
  auto it = node_names_.find(id);
  return it == node_names_.end() ? std::string() : it->second;
}

std::vector<consensus::PeerInfo> NodeImpl::peer_table(const contracts::Membership& m) const {
  std::vector<consensus::PeerInfo> peers;
  for (const auto& [id, n] : m.nodes()) {
    auto pub = crypto::PublicKey::from_pem_any(n.tls_pub);
    // The config's `peers` may name another dial address than the membership's (NAT, port mapping).
    auto dial = config.peers.find(id);
    std::string address = dial == config.peers.end() ? n.raft : dial->second.text();
    if (pub) peers.push_back(consensus::PeerInfo{raft_id(id), std::move(address), std::move(*pub)});
  }
  return peers;
}

RaftView NodeImpl::view() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

Status NodeImpl::init() {
  auto gtext = read_file(config.genesis, "genesis");
  if (!gtext) return gtext.error();
  genesis_text = std::move(*gtext);
  auto membership = contracts::Membership::from_genesis(genesis_text);
  if (!membership) return make_error("bad_genesis", membership.error().message);
  alg = membership->hash_alg();
  network = membership->network();
  auto gh = ledger::genesis_hash(genesis_text, alg);
  if (!gh) return gh.error();
  genesis_hash = *gh;
  node_id = config.node_id;
  self = raft_id(node_id);
  // A node not in genesis may have been added by governance (node.add): its key is checked against the
  // membership the ledger holds, below. Until it is a member it needs its listen addresses in the config.
  const contracts::Node* me = membership->node(node_id);
  if (me == nullptr && (!config.listen_raft || !config.listen_api)) {
    return make_error("bad_config", "node '" + node_id + "' is not listed in genesis; a node added by governance "
                                    "(node.add) needs listen.api and listen.raft in its config");
  }
  auto tls_pem = read_file(config.tls_key, "tls_key");
  if (!tls_pem) return tls_pem.error();
  auto tk = crypto::PrivateKey::from_pem_any(*tls_pem);
  if (!tk) return make_error("bad_key", "tls_key " + config.tls_key.string() + ": " + tk.error().message);
  tls_key = std::move(*tk);
  if (config.org_key) {
    auto pem = read_file(*config.org_key, "org_key");
    if (!pem) return pem.error();
    auto ok = crypto::PrivateKey::from_pem_any(*pem);
    if (!ok) return make_error("bad_key", "org_key: " + ok.error().message);
    const contracts::Key* k = membership->key(*config.org_key_id);
    auto kpub = k ? crypto::PublicKey::from_pem_any(k->pub) : Result<crypto::PublicKey>(make_error("x", "x"));
    if (k == nullptr || !kpub || kpub->to_der() != ok->public_key().to_der()) {
      return make_error("bad_key", "org_key " + *config.org_key_id + " is not a key genesis lists with that id");
    }
    org_key = std::move(*ok);
  }

  // Network parameters.
  nlohmann::json g = nlohmann::json::parse(genesis_text, nullptr, false);
  const auto params = g.is_object() ? g.value("params", nlohmann::json::object()) : nlohmann::json::object();
  auto positive = [&](const char* name, std::int64_t dflt, std::int64_t min, std::int64_t max) -> Result<std::int64_t> {
    if (!params.contains(name)) return dflt;
    const auto& v = params[name];
    if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max) {
      return make_error("bad_genesis", std::string("params.") + name + " must be an integer in [" +
                                           std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return v.get<std::int64_t>();
  };
  auto entries = positive("block_max_entries", 2000, 1, 100000);
  if (!entries) return entries.error();
  block_max_entries = *entries;
  auto delay = positive("block_max_delay_ms", 50, 0, 10000);
  if (!delay) return delay.error();
  block_max_delay = std::chrono::milliseconds(*delay);
  auto interval = positive("snapshot_interval", 10000, 0, 1000000000);
  if (!interval) return interval.error();
  snapshot_interval = *interval;
  auto keep = positive("snapshot_keep_entries", 1000, 0, 1000000000);
  if (!keep) return keep.error();
  snapshot_keep_entries = *keep;
  if (params.contains("election_timeout_ms")) {
    const auto& et = params["election_timeout_ms"];
    if (!et.is_array() || et.size() != 2 || !et[0].is_number_integer() || !et[1].is_number_integer() ||
        et[0].get<std::int64_t>() < 50 || et[1].get<std::int64_t>() < et[0].get<std::int64_t>() ||
        et[1].get<std::int64_t>() > 60000) {
      return make_error("bad_genesis",
                        "params.election_timeout_ms must be [low, high] in ms, 50 <= low <= high <= 60000");
    }
    const int lo = static_cast<int>(et[0].get<std::int64_t>());
    tick = std::chrono::milliseconds(std::max(10, lo / 6));
    election_ticks = std::max(3, lo / static_cast<int>(tick.count()));
  }

  // Storage: the node's LevelDB databases (node/store.h), tied to this genesis. A state database without the Raft
  // log's beside it is refused before anything is created: an empty log would forget the node's votes.
  const std::filesystem::path db_dir = config.data_dir / "db";
  std::error_code fs_error;
  // Both refusals below: a database of storage format 6 or earlier, or one copied without its db/raft.
  const auto older_layout = [&](const std::string& found) {
    return make_error("corrupt_state", "the database in " + db_dir.string() + " " + found +
                                           ": it was written by another version of onebilld (storage format 6 or "
                                           "earlier; this one reads " + std::to_string(kStorageFormat) +
                                           "), or copied without " + (db_dir / "raft").string() + " (copy " +
                                           db_dir.string() + " as a whole, with archive/ and raft/); there is no "
                                           "migration before the first release: rebuild the node from its peers "
                                           "(move the data directory away) or start a new network");
  };
  if (std::filesystem::exists(db_dir / "CURRENT", fs_error) && !std::filesystem::exists(db_dir / "raft", fs_error)) {
    return older_layout("has no Raft log database beside it");
  }
  auto st = Store::open(db_dir, storage_env);
  if (!st) return st.error();
  store = std::move(*st);
  auto stored = store->get(key::kGenesis);
  if (!stored) return stored.error();
  if (stored->has_value() && **stored != genesis_hash) {
    return make_error("genesis_mismatch", "the data dir " + config.data_dir.string() + " belongs to genesis " +
                                              **stored + ", not to " + genesis_hash + " (the genesis file given)");
  }
  auto diverged = store->get(key::kDiverged);
  if (!diverged) return diverged.error();
  if (diverged->has_value()) {
    return make_error("diverged", "this node diverged from the network (" + **diverged +
                                      "); restore its data dir from a healthy peer before starting it again");
  }
  if (!stored->has_value()) {
    leveldb::WriteBatch b;
    b.Put(std::string(key::kGenesis), genesis_hash);
    if (Status s = store->write(b, true); !s) return s;
  }

  consensus::ConfState conf;
  for (const auto& [id, n] : membership->nodes()) (n.voter ? conf.voters : conf.learners).push_back(raft_id(id));
  std::sort(conf.voters.begin(), conf.voters.end());
  std::sort(conf.learners.begin(), conf.learners.end());
  // Since storage format 7 the Raft log has a database of its own: one still in the state database is an older
  // node's, whose hard state (its votes) a new empty log here would forget.
  bool old_log = false;
  if (Status s = store->scan("r/", "", 1, [&](std::string_view, std::string_view) { return !(old_log = true); }); !s) {
    return s;
  }
  if (old_log) return older_layout("holds a Raft log in the state database");
  auto rs = consensus::LevelDbStorage::open(store->raft_db(), "r/", conf);
  if (!rs) return rs.error();
  raft_storage = std::move(*rs);
  if (raft_storage->recovery().dropped > 0) {
    log.warn("raft log tail dropped on recovery", {{"from", std::to_string(raft_storage->recovery().truncated_from)},
                                                   {"records", std::to_string(raft_storage->recovery().dropped)}});
  }
  // A crash in the middle of installing a state snapshot: finish it before anything reads the state.
  auto resumed = resume_snapshot_install(*store, *raft_storage);
  if (!resumed) return resumed.error();
  if (*resumed) {
    log.warn("finished installing a state snapshot interrupted by a crash",
             {{"raft_index", std::to_string(raft_storage->snapshot_meta().index)}});
  }

  pool = std::make_unique<WorkerPool>();
  genesis_membership = *membership;
  ledger = std::make_unique<Ledger>(*store, *membership, genesis_hash, *pool, verified);
  if (Status s = ledger->open(); !s) return s;
  publish_membership(*membership);  // genesis nodes keep their names even after a node.remove
  publish_membership(ledger->membership());
  // The node's TLS key must be the one the membership lists for it (genesis, or the node.add that added it).
  if (const contracts::Node* listed_node = ledger->membership().node(node_id)) {
    auto listed = crypto::PublicKey::from_pem_any(listed_node->tls_pub);
    if (!listed || listed->to_der() != tls_key->public_key().to_der()) {
      return make_error("bad_key", "tls_key " + config.tls_key.string() + " is not the key the membership lists "
                                   "for node " + node_id);
    }
  } else {
    log.warn("this node is not in the membership (yet): it follows once a governance node.add adds it",
             {{"node", node_id}});
  }
  reload_certified_head();  // from the stored attestations: the certified head survives a restart
  // The state is still exactly at the recorded snapshot: serve it as it is.
  if (auto snap = raft_storage->snapshot(); snap && !snap->empty() &&
                                            snap->meta.index == ledger->last().raft_index) {
    std::string_view text(reinterpret_cast<const char*>(snap->data.data()), snap->data.size());
    auto manifest = SnapshotManifest::decode(text);
    std::optional<CertifiedHead> cert;
    if (manifest && manifest->certified_height > 0) {
      cert = CertifiedHead{manifest->certified_height, manifest->certified_hash, 0, "", manifest->attestations};
    }
    auto src = manifest ? SnapshotSource::build(*store, genesis_hash, cert)
                        : Result<std::shared_ptr<const SnapshotSource>>(manifest.error());
    if (src && (*src)->manifest().content_hash == manifest->content_hash) {
      std::lock_guard lock(source_mu_);
      sources_.assign(1, *src);
    }
  }

  consensus::Config rc;
  rc.id = self;
  rc.election_tick = election_ticks;
  rc.heartbeat_tick = 1;
  rc.applied = std::max(ledger->last().raft_index, raft_storage->snapshot_meta().index);
  rc.random_seed = std::random_device{}() | 1;
  rc.check_invariants = true;
  rc.on_fatal = [this](const Error& e) {
    log.error("raft fatal error", {{"code", e.code}, {"detail", e.message}});
    std::abort();
  };
  raft_config = rc;
  auto rn = consensus::RawNode::create(rc, *raft_storage);
  if (!rn) return rn.error();
  raft.emplace(std::move(*rn));
  events = std::make_unique<EventHub>(io);
  return {};
}

Status NodeImpl::start() {
  auto membership = membership_view();
  const contracts::Node* me = membership->node(node_id);
  if (me == nullptr && (!config.listen_raft || !config.listen_api)) {
    return make_error("bad_config", "node '" + node_id + "' is not in the membership: listen.api and listen.raft "
                                    "are needed in its config");
  }
  std::string raft_listen = config.listen_raft ? config.listen_raft->text() : me->raft;
  for (const auto& [id, address] : config.peers) {
    if (membership->node(id) == nullptr) {
      log.warn("config peers names a node that is not in the membership (yet)",
               {{"peer", id}, {"address", address.text()}});
    }
  }
  auto t = network_factory(PeerNetworkParams{
      &io, self, &*tls_key, raft_listen, peer_table(*membership),
      [this](consensus::NodeId from, consensus::Channel ch, consensus::Bytes payload) {
        if (ch == consensus::Channel::raft) {
          post_to_raft(RaftInput{from, std::move(payload)});
        } else if (ch == consensus::Channel::forward) {
          on_forward(from, payload);
        } else if (ch == consensus::Channel::snapshot) {
          on_snapshot_message(from, payload);
        } else if (ch == consensus::Channel::attest) {
          nlohmann::json j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
          auto a = ledger::Attestation::from_json(j);
          if (a && raft_id(a->node) == from) check_attestation(std::move(*a));
        }
      }});
  if (!t) return t.error();
  transport = std::move(*t);

  http::ServerLimits limits;
  limits.body_limit = config.body_limit;
  limits.max_connections = config.max_connections;
  limits.max_connections_per_address = config.max_connections_per_address;
  limits.header_timeout = config.header_timeout;
  limits.idle_timeout = config.idle_timeout;
  api_handler = make_api_handler(*this);
  server = std::make_unique<http::Server>(io, api_handler, limits);
  std::string api_listen = config.listen_api ? config.listen_api->text() : me->api;
  auto hp = parse_host_port(api_listen);
  if (!hp) return hp.error();
  if (Status s = server->listen(hp->host, hp->port); !s) return s;

  boost::asio::post(bundle_pool, [] { name_this_thread("ob-bundle"); });
  boost::asio::post(attest_pool, [] { name_this_thread("ob-attest"); });
  io_thread = std::thread([this] {
    name_this_thread("ob-io");
    auto guard = boost::asio::make_work_guard(io);
    io.run();
  });
  raft_thread = std::thread([this] {
    name_this_thread("ob-raft");
    raft_main();
  });
  log.info("node started", {{"node", node_id},
                            {"api", hp->host + ":" + std::to_string(server->port())},
                            {"raft", raft_listen},
                            {"height", std::to_string(ledger->last().height)}});
  return {};
}

void NodeImpl::stop() {
  if (stopping.exchange(true)) return;
  inbox_cv_.notify_all();
  if (raft_thread.joinable()) raft_thread.join();  // finishes the Ready in flight
  if (snapshot_build_) {  // a snapshot being hashed reads the store, closed below: stop it (it is not recorded)
    snapshot_build_->cancel.store(true);
    snapshot_build_->thread.join();
    snapshot_build_.reset();
  }
  if (server) server->stop();
  if (transport) transport->stop();
  io.stop();
  if (io_thread.joinable()) io_thread.join();
  bundle_pool.stop();  // bundles not started are dropped; one being built reads the store, closed below
  bundle_pool.join();
  attest_pool.stop();  // a verification in flight ends by posting to the stopped io, which never runs it
  attest_pool.join();
  if (events) events->close();  // the I/O thread has ended: nothing else touches the hub now
  transport.reset();
  server.reset();
  raft.reset();
  raft_storage.reset();
  ledger.reset();
  {
    std::lock_guard lock(source_mu_);
    sources_.clear();  // they hold LevelDB snapshots of the database closed next
  }
  store.reset();  // closes LevelDB
  log.info("node stopped", {{"node", node_id}});
}

void NodeImpl::post_to_raft(Input input) {
  const bool wake = !std::holds_alternative<Forwarded>(input);  // kept for later: taken at the thread's next pass
  {
    std::lock_guard lock(inbox_mu_);
    // A halted node's Raft thread has ended: nothing would ever take what is queued, and peers keep sending.
    if (halted_.load()) return;
    inbox_.push_back(std::move(input));
  }
  if (wake) inbox_cv_.notify_one();
}

Node::Node(std::unique_ptr<NodeImpl> impl) : impl_(std::move(impl)) {}
Node::~Node() { stop(); }

Result<std::unique_ptr<Node>> Node::create(const NodeConfig& config, Logger& log, PeerNetworkFactory network,
                                           leveldb::Env* storage_env) {
  auto impl = std::make_unique<NodeImpl>(config, log);
  impl->network_factory = std::move(network);
  impl->storage_env = storage_env;
  if (Status s = impl->init(); !s) return s.error();
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::start() { return impl_->start(); }
void Node::stop() { impl_->stop(); }
void Node::wait() {
  while (!impl_->stopping.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}
std::uint16_t Node::api_port() const { return impl_->server ? impl_->server->port() : 0; }
http::Reply Node::call(http::Request request) {
  if (!impl_->api_handler) impl_->api_handler = make_api_handler(*impl_);
  auto fut = boost::asio::co_spawn(impl_->io, impl_->api_handler(std::move(request)), boost::asio::use_future);
  return fut.get();
}

std::uint16_t Node::raft_port() const { return impl_->transport ? impl_->transport->listen_port() : 0; }

}  // namespace onebill::node
