// Admission (what a submission must pass before it may enter a block), commit waiters, node signing, and the
// collection of attestations into certified heads. All on the I/O thread unless noted.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "contracts/apply.h"
#include "contracts/nonce.h"
#include "contracts/state.h"
#include "node/node_impl.h"

namespace onebill::node {
namespace {

constexpr auto kInflightNonceTtl = std::chrono::seconds(60);
// How long a follower waits for the leader's answer to a forward before answering leader_unreachable.
constexpr auto kForwardTimeout = std::chrono::seconds(5);

nlohmann::json status_json(const Status& s) {
  if (s) return nullptr;
  return {{"code", s.error().code}, {"message", s.error().message}};
}

std::string iso_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<std::optional<TxAnswer>> NodeImpl::recorded(const std::string& id) const {
  auto v = store->entry_record(id);
  if (!v) return v.error();
  if (!v->has_value()) return std::optional<TxAnswer>();
  nlohmann::json j = nlohmann::json::parse(**v, nullptr, false);
  TxAnswer a;
  a.id = id;
  a.status = j.value("status", "");
  a.reason = j.value("reason", "");
  a.message = j.value("message", "");
  a.height = j.value("height", std::int64_t{0});
  a.index = j.value("index", std::int64_t{0});
  return std::optional<TxAnswer>(a);
}

Result<std::optional<TxAnswer>> NodeImpl::precheck(const contracts::Envelope& e) {
  auto membership = membership_view();
  auto rec = recorded(e.id);
  if (!rec) return rec;
  if (rec->has_value()) {
    // The same entry again: its first answer — but only to someone holding the signed entry itself (a key
    // revoked since still proves the entry is the one recorded).
    const contracts::Key* k = membership->key(e.tx.signer);
    if (k == nullptr || !ledger->verify_signature(e, *k)) {
      return make_error("bad_signature", "the signature does not verify with key " + e.tx.signer);
    }
    return rec;
  }
  auto key = contracts::resolve_signer(e, *membership);
  if (!key) return key.error();
  if (!verified.contains(e.id, e.sig)) {
    if (!ledger->verify_signature(e, **key)) {
      return make_error("bad_signature", "the signature does not verify with key " + e.tx.signer);
    }
    verified.add(e.id, e.sig);
  }
  // The nonce must be fresh in the key's committed window and not taken by another entry in flight.
  auto window_raw = store->get(key::state(contracts::keys::nonce(e.tx.signer)));
  if (!window_raw) return window_raw.error();
  if (window_raw->has_value()) {
    auto window = contracts::NonceWindow::parse(**window_raw);
    if (window) {
      auto c = window->check(e.tx.nonce);
      if (c == contracts::NonceWindow::Check::stale) {
        return make_error("stale_nonce", "nonce " + std::to_string(e.tx.nonce) + " is below the key's window");
      }
      if (c == contracts::NonceWindow::Check::used) {
        return make_error("nonce_used", "nonce " + std::to_string(e.tx.nonce) + " was used by another entry");
      }
    }
  }
  auto now = std::chrono::steady_clock::now();
  auto slot = inflight_nonces_.find({e.tx.signer, e.tx.nonce});
  if (slot != inflight_nonces_.end() && slot->second.id != e.id && now - slot->second.since < kInflightNonceTtl) {
    return make_error("nonce_used", "nonce " + std::to_string(e.tx.nonce) + " is taken by an entry in flight");
  }
  bool admitted = slot != inflight_nonces_.end() && slot->second.id == e.id && slot->second.admitted;
  inflight_nonces_[{e.tx.signer, e.tx.nonce}] = NonceSlot{e.id, now, admitted};
  if (inflight_nonces_.size() > 100000) {  // forget old reservations rather than grow without bound
    for (auto it = inflight_nonces_.begin(); it != inflight_nonces_.end();) {
      it = now - it->second.since > kInflightNonceTtl ? inflight_nonces_.erase(it) : std::next(it);
    }
  }
  return std::optional<TxAnswer>();
}

void NodeImpl::release_nonce(const contracts::Envelope& e) {
  auto slot = inflight_nonces_.find({e.tx.signer, e.tx.nonce});
  if (slot != inflight_nonces_.end() && slot->second.id == e.id) inflight_nonces_.erase(slot);
}

Status NodeImpl::admit_local(contracts::Envelope&& e) {  // moved from only when admitted
  if (diverged_.load()) return make_error("diverged", "this node has diverged from the network and stopped");
  if (halted_.load()) {
    return make_error("not_ready", "this node stopped taking part in consensus (see its log and /readyz)");
  }
  auto slot = inflight_nonces_.find({e.tx.signer, e.tx.nonce});
  bool retry = slot != inflight_nonces_.end() && slot->second.id == e.id && slot->second.admitted;
  // A retry of an entry already admitted here is no new load: handed on again (the Raft thread and the ledger
  // drop duplicates), never refused as overloaded.
  if (!retry && pending_count_.load() >= config.admission_queue) {
    return make_error("overloaded", "the admission queue is full; retry later");
  }
  // Counted before it is handed over: the Raft thread sets the exact count after it takes the entry, and a count
  // added after that would stay too high until its next pass (a queue reported full that was empty).
  if (!retry) pending_count_.fetch_add(1);
  if (slot != inflight_nonces_.end() && slot->second.id == e.id) slot->second.admitted = true;
  post_to_raft(std::move(e));
  return {};
}

boost::asio::awaitable<std::vector<Status>> NodeImpl::route(std::vector<contracts::Envelope> entries) {
  std::vector<Status> out(entries.size());
  if (entries.empty()) co_return out;
  bool forwarded = false;  // to the leader, which answered for each entry
  consensus::NodeId leader = leader_seen_.load();
  if (diverged_.load() || halted_.load() || leader == self) {
    for (std::size_t i = 0; i < entries.size(); ++i) out[i] = admit_local(std::move(entries[i]));
  } else if (leader == 0) {
    for (auto& s : out) s = make_error("no_leader", "the network has no leader right now; retry shortly");
  } else {
    // Forward to the leader and wait for its admission's answer, so a full queue or a refusal there reaches
    // the client as it would on the leader, and a forward that gets nowhere is an error, not silence.
    std::uint64_t id = next_forward_++;
    std::string body = ledger::encode_forward(id, entries);
    auto w = std::make_shared<ForwardWait>(io);
    w->leader = leader;
    forwards_[id] = w;
    Status sent = transport->send(leader, consensus::Channel::forward, consensus::Bytes(body.begin(), body.end()));
    if (sent) {
      w->timer.expires_after(kForwardTimeout);
      co_await w->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    forwards_.erase(id);
    if (w->answer && w->answer->size() == entries.size()) {
      out = std::move(*w->answer);
      forwarded = true;
    } else {
      metrics.counter("onebill_forwards_failed_total", "Forwards to the leader that got no answer").inc();
      const std::string why = w->leader_gone ? " lost the lead before it answered the forwarded entry"
                                             : " did not answer the forwarded entry in time";
      for (auto& s : out) {
        s = make_error("leader_unreachable", "the leader " + node_name(leader) + why +
                                                 "; it may or may not have been admitted: submit it again (the same entry is "
                                                 "never recorded twice)");
      }
    }
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!out[i]) {
      release_nonce(entries[i]);  // not admitted
    } else if (forwarded) {
      post_to_raft(Forwarded{std::move(entries[i])});  // parsed already: its block's decoding here takes it as is
    }
  }
  co_return out;
}

void NodeImpl::leader_changed(consensus::NodeId lead) {
  // A forward to a leader that is gone would otherwise hold its client for the whole forward timeout (5 s) —
  // after a leader crash, every client of a follower at once.
  for (auto& [id, w] : forwards_) {
    if (w->leader != lead && !w->answer) {
      w->leader_gone = true;
      w->timer.cancel();
    }
  }
}

void NodeImpl::on_forward(consensus::NodeId from, const consensus::Bytes& payload) {
  std::string_view bytes(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (!bytes.starts_with(ledger::kForwardMagic)) {
    // The leader's answer to one of our forwards: JSON.
    nlohmann::json j = nlohmann::json::parse(bytes, nullptr, false);
    if (!j.is_object() || !j.contains("a") || !j["a"].is_number_unsigned() || !j.contains("results") ||
        !j["results"].is_array()) {
      return;
    }
    auto it = forwards_.find(j["a"].get<std::uint64_t>());
    if (it == forwards_.end() || it->second->leader != from) return;
    std::vector<Status> answer;
    for (const auto& r : j["results"]) {
      if (r.is_null()) {
        answer.emplace_back();
      } else if (r.is_object() && r.contains("code") && r["code"].is_string()) {
        answer.emplace_back(make_error(r["code"].get<std::string>(), r.value("message", std::string())));
      } else {
        return;
      }
    }
    it->second->answer = std::move(answer);
    it->second->timer.cancel();
    return;
  }
  // A follower's forward: the same admission as a submission made here. Unframeable bytes get no answer (the
  // follower times out, as for a lost frame); an entry that is not a canonical envelope gets its error.
  auto request = ledger::decode_forward(bytes);
  if (!request) return;
  nlohmann::json results = nlohmann::json::array();
  for (const auto& item : request->entries) {
    Status s;
    auto e = contracts::envelope_from_signed(item.tx, crypto::Bytes(item.sig.begin(), item.sig.end()), alg);
    if (!e) {
      s = e.error();
    } else if (leader_seen_.load() != self) {
      s = make_error("no_leader", "the forward reached a node that no longer leads; retry shortly");
    } else {
      auto pre = precheck(*e);
      if (!pre) {
        s = pre.error();
      } else if (!pre->has_value()) {
        s = admit_local(std::move(*e));
        if (!s) release_nonce(*e);
      }  // else already recorded: the follower learns the outcome when it applies that block
    }
    results.push_back(status_json(s));
  }
  if (request->request == 0) return;  // handed on without waiting for an answer
  std::string body = nlohmann::json{{"a", request->request}, {"results", std::move(results)}}.dump();
  (void)transport->send(from, consensus::Channel::forward, consensus::Bytes(body.begin(), body.end()));
}

NodeImpl::CommitWatch NodeImpl::watch(const std::string& id) {
  auto w = std::make_shared<Waiter>(io);
  waiters_[id].push_back(w);
  return CommitWatch(*this, id, std::move(w));
}

void NodeImpl::unwatch(const std::string& id, const std::shared_ptr<Waiter>& w) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;  // answered (on_applied removes the entry's waiters)
  std::erase(it->second, w);
  if (it->second.empty()) waiters_.erase(it);
}

boost::asio::awaitable<TxAnswer> NodeImpl::CommitWatch::wait(std::chrono::milliseconds timeout) {
  auto w = std::move(w_);  // from here this wait unregisters it, whatever happens
  if (!w->answer) {  // not applied while it was routed
    w->timer.expires_after(timeout);
    co_await w->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  if (w->answer) co_return *w->answer;
  node_->unwatch(id_, w);
  // Timed out. (An entry applied before the watch began would be answered from the ledger here; a submission
  // watches right after its precheck read found no record, with no wait in between.)
  auto rec = node_->recorded(id_);
  if (rec && rec->has_value()) co_return **rec;
  TxAnswer pending;
  pending.id = id_;
  pending.status = "pending";
  co_return pending;
}

boost::asio::awaitable<TxAnswer> NodeImpl::wait_for(const std::string& id, std::chrono::milliseconds timeout) {
  auto rec = recorded(id);
  if (rec && rec->has_value()) co_return **rec;
  auto w = std::make_shared<Waiter>(io);
  w->timer.expires_after(timeout);
  waiters_[id].push_back(w);
  co_await w->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (w->answer) co_return *w->answer;
  // Timed out: forget this waiter.
  auto it = waiters_.find(id);
  if (it != waiters_.end()) {
    std::erase(it->second, w);
    if (it->second.empty()) waiters_.erase(it);
  }
  rec = recorded(id);
  if (rec && rec->has_value()) co_return **rec;
  TxAnswer pending;
  pending.id = id;
  pending.status = "pending";
  co_return pending;
}

Result<contracts::Envelope> NodeImpl::sign_for(const Principal& who, nlohmann::json tx) {
  if (!org_key || !config.org_key_id) {
    return make_error("no_org_key", "this node has no organisation key to sign with (config org_key)");
  }
  std::string key_id = *config.org_key_id;
  std::string org = key_id.substr(0, key_id.find('/'));
  if (who.org != org) {
    return make_error("forbidden", "a token of " + who.org + " cannot have the node sign as " + org);
  }
  if (!tx.is_object()) return make_error("bad_envelope", "tx: expected an object");
  if (tx.contains("signer") && tx["signer"] != key_id) {
    return make_error("bad_envelope", "tx.signer: this node signs only as " + key_id);
  }
  tx["signer"] = key_id;
  if (!tx.contains("ts")) tx["ts"] = iso_now();

  std::lock_guard lock(signer_mu_);
  // Next nonce: after the last one this node handed out (persisted before use, so never reused across restarts)
  // and after the key's highest committed nonce.
  std::int64_t next = 0;
  auto stored = store->get(key::signer(key_id));
  if (!stored) return stored.error();
  if (stored->has_value()) next = std::stoll(**stored);
  auto window_raw = store->get(key::state(contracts::keys::nonce(key_id)));
  if (window_raw && window_raw->has_value()) {
    auto window = contracts::NonceWindow::parse(**window_raw);
    if (window && window->highest()) next = std::max(next, *window->highest() + 1);
  }
  tx["nonce"] = next;
  leveldb::WriteBatch b;
  b.Put(key::signer(key_id), std::to_string(next + 1));
  if (Status s = store->write(b, true); !s) {
    storage_failed("signer_nonce", s.error());
    return s.error();
  }

  auto parsed = contracts::tx_from_json(tx);
  if (!parsed) return parsed.error();
  auto canonical = contracts::canonical_tx(*parsed);
  if (!canonical) return canonical.error();
  auto sig = org_key->sign(*canonical);
  if (!sig) return sig.error();
  return contracts::make_envelope(std::move(*parsed), std::move(*sig), alg);
}

std::shared_ptr<const crypto::PublicKey> NodeImpl::node_public_key(const std::string& pem) const {
  std::lock_guard lock(membership_mu_);
  auto it = node_keys_.find(pem);
  if (it != node_keys_.end()) return it->second;
  auto pub = crypto::PublicKey::from_pem_any(pem);
  if (!pub) return nullptr;
  auto shared = std::make_shared<const crypto::PublicKey>(std::move(*pub));
  if (node_keys_.size() < 1024) node_keys_.emplace(pem, shared);  // PEMs come from the membership: a bounded set
  return shared;
}

void NodeImpl::check_attestation(ledger::Attestation a) {
  auto membership = membership_view();
  const contracts::Node* n = membership->node(a.node);
  if (n == nullptr || !n->voter) return;
  auto pub = node_public_key(n->tls_pub);
  if (!pub) {
    log.warn("attestation from a node whose key does not load ignored", {{"node", a.node}});
    return;
  }
  ledger->offer_key_table(pub);
  // One thread, so a peer's attestations are recorded in the order they came.
  boost::asio::post(attest_pool, [this, pub = std::move(pub), a = std::move(a)]() mutable {
    const bool ok = ledger::verify_attestation(*pub, network, a);
    boost::asio::post(io, [this, ok, a = std::move(a)] {
      if (!ok) {
        log.warn("attestation with a bad signature ignored", {{"node", a.node}, {"height", std::to_string(a.height)}});
        return;
      }
      on_attestation(a);
    });
  });
}

void NodeImpl::on_attestation(const ledger::Attestation& a) {
  {
    std::lock_guard lock(attest_mu_);
    attestations_[a.height][a.node] = a;
    while (attestations_.size() > 4096) attestations_.erase(attestations_.begin());
  }
  leveldb::WriteBatch b;
  b.Put(key::attestation(static_cast<std::uint64_t>(a.height), a.node), a.to_json().dump());
  if (Status s = store->write(b, false); !s) storage_failed("attestation", s.error());
  evaluate_height(a.height);
}

void NodeImpl::evaluate_height(std::int64_t height) {
  auto membership = membership_view();
  std::size_t voters = 0;
  for (const auto& [id, n] : membership->nodes()) voters += n.voter ? 1 : 0;
  std::size_t quorum = voters / 2 + 1;
  std::optional<std::string> diverged_now;  // written and logged after the lock: no store write under attest_mu_
  std::unique_lock lock(attest_mu_);
  auto own = own_headers_.find(height);
  if (own == own_headers_.end()) return;  // not applied here yet: evaluated when it is
  auto& atts = attestations_[height];
  std::map<std::string, std::size_t> votes;
  std::vector<ledger::Attestation> agreeing;
  for (const auto& [node, a] : atts) {
    ++votes[a.header_hash];
    if (a.header_hash == own->second.first) agreeing.push_back(a);
  }
  for (const auto& [hash, count] : votes) {
    if (hash != own->second.first && count >= quorum && !diverged_.exchange(true)) {
      diverged_reason_ = "at height " + std::to_string(height) + " a quorum certified header " + hash +
                         " but this node computed " + own->second.first;
      diverged_now = diverged_reason_;
      log.error("diverged from the network; applying stopped", {{"height", std::to_string(height)},
                                                                 {"certified", hash},
                                                                 {"ours", own->second.first}});
    }
  }
  if (agreeing.size() >= quorum && (!certified_ || certified_->height < height)) {
    CertifiedHead head;
    head.height = height;
    head.header_hash = own->second.first;
    head.log_size = own->second.second;
    head.log_root = own_log_roots_[height];
    head.attestations = std::move(agreeing);
    certified_ = std::move(head);
    while (own_headers_.size() > 4096) own_headers_.erase(own_headers_.begin());
    while (own_log_roots_.size() > 4096) own_log_roots_.erase(own_log_roots_.begin());
  }
  lock.unlock();
  if (diverged_now) {
    // Remembered across restarts: a diverged node must be restored from its peers, not resumed.
    leveldb::WriteBatch b;
    b.Put(std::string(key::kDiverged), *diverged_now);
    if (Status s = store->write(b, true); !s) storage_failed("divergence_marker", s.error());
  }
}

std::optional<CertifiedHead> NodeImpl::certified() const {
  std::lock_guard lock(attest_mu_);
  return certified_;
}

std::string NodeImpl::diverged_reason() const {
  std::lock_guard lock(attest_mu_);
  return diverged_reason_;
}

}  // namespace onebill::node
