#include "node/ledger/ledger.h"

#include <unordered_map>
#include <unordered_set>

#include "crypto/canonical_json.h"
#include "node/ledger/listing.h"

namespace onebill::node {
namespace {

using nlohmann::json;

constexpr std::uint64_t kNotInLog = UINT64_MAX;

Error corrupt(const std::string& what) { return make_error("corrupt_state", what); }

}  // namespace

json AppliedPoint::to_json() const {
  return {{"raft_index", raft_index}, {"height", height},         {"header_hash", header_hash},
          {"log_size", log_size},     {"state_size", state_size}, {"time", time},
          {"format", kStorageFormat}};
}

Result<AppliedPoint> AppliedPoint::from_json(const json& j) {
  if (!j.is_object() || !j.contains("raft_index") || !j.contains("height") || !j.contains("header_hash") ||
      !j.contains("log_size") || !j.contains("state_size") || !j.contains("time")) {
    // (A database written before the document state tree has no state_size: it cannot be read, rebuild the node.)
    return corrupt("x/applied is malformed");
  }
  if (!j.contains("format") || !j["format"].is_number_integer() || j["format"].get<std::int64_t>() != kStorageFormat) {
    const std::string found = j.contains("format") ? j["format"].dump() : "1";
    return corrupt("the database was written by another version of onebilld (storage format " + found +
                   ", this one reads " + std::to_string(kStorageFormat) +
                   "); there is no migration before the first release: rebuild the node from its peers (move the "
                   "data directory away) or start a new network");
  }
  AppliedPoint p;
  p.raft_index = j["raft_index"].get<std::uint64_t>();
  p.height = j["height"].get<std::int64_t>();
  p.header_hash = j["header_hash"].get<std::string>();
  p.log_size = j["log_size"].get<std::uint64_t>();
  p.state_size = j["state_size"].get<std::uint64_t>();
  p.time = j["time"].get<std::int64_t>();
  return p;
}

crypto::Digest VerifiedCache::key(const std::string& id, const crypto::Bytes& sig) {
  crypto::Hasher h(crypto::HashAlg::sha256);
  // Length-prefixed so no (id, sig) pair can be read as another.
  const std::string id_len = std::to_string(id.size()) + ":";
  h.update(id_len).update(id).update(crypto::ByteView(sig.data(), sig.size()));
  return h.finish();
}

void VerifiedCache::add(const std::string& id, const crypto::Bytes& sig) {
  const crypto::Digest k = key(id, sig);
  std::lock_guard lock(mu_);
  if (!set_.insert(k).second) return;
  if (order_.size() < capacity_) {
    order_.push_back(k);
    return;
  }
  set_.erase(order_[next_]);
  order_[next_] = k;
  next_ = (next_ + 1) % capacity_;
}

bool VerifiedCache::contains(const std::string& id, const crypto::Bytes& sig) const {
  const crypto::Digest k = key(id, sig);
  std::lock_guard lock(mu_);
  return set_.count(k) != 0;
}

Ledger::Ledger(Store& store, contracts::Membership genesis_membership, std::string genesis_hash, WorkerPool& pool,
               VerifiedCache& cache)
    : store_(store),
      membership_(std::move(genesis_membership)),
      genesis_hash_(std::move(genesis_hash)),
      alg_(membership_.hash_alg()),
      pool_(pool),
      cache_(cache) {
  point_.header_hash = genesis_hash_;
}

Status Ledger::open() {
  auto applied = store_.get(key::kApplied);
  if (!applied) return applied.error();
  if (applied->has_value()) {
    json j = json::parse(**applied, nullptr, false);
    auto p = AppliedPoint::from_json(j);
    if (!p) return p.error();
    std::lock_guard lock(point_mu_);
    point_ = *p;
  }
  // Membership = genesis + every governance change recorded in state, in ledger order.
  std::vector<contracts::MembershipChange> changes;
  Status scan_status;
  Status s = store_.scan(key::state(contracts::keys::kMembershipChange), "", SIZE_MAX,
                         [&](std::string_view, std::string_view value) {
                           json j = json::parse(value, nullptr, false);
                           auto c = contracts::MembershipChange::from_json(j);
                           if (!c) {
                             scan_status = c.error();
                             return false;
                           }
                           changes.push_back(std::move(*c));
                           return true;
                         });
  if (!s) return s;
  if (!scan_status) return scan_status;
  for (const auto& c : changes) {
    if (Status a = membership_.apply(c); !a) return a;
  }
  return {};
}

AppliedPoint Ledger::last() const {
  std::lock_guard lock(point_mu_);
  return point_;
}

std::shared_ptr<crypto::PublicKey> Ledger::public_key(const contracts::Key& key) const {
  std::shared_ptr<crypto::PublicKey> p;
  {
    std::lock_guard lock(keys_mu_);
    auto it = keys_.find(key.id);
    if (it != keys_.end() && it->second) {
      p = it->second;
    } else {
      auto alg = crypto::parse_sig_alg(key.alg);
      if (!alg) return nullptr;
      auto pub = crypto::PublicKey::from_pem(key.pub, *alg);
      if (!pub) return nullptr;
      p = std::make_shared<crypto::PublicKey>(std::move(*pub));
      keys_[key.id] = p;
    }
  }
  key_tables_.offer(p);
  return p;
}

bool Ledger::verify_signature(const contracts::Envelope& e, const contracts::Key& key) const {
  auto pub = public_key(key);
  return pub && pub->verify(e.canonical_tx, e.sig);
}

Status Ledger::skip(std::uint64_t raft_index) {
  AppliedPoint p = last();
  if (raft_index <= p.raft_index) return {};
  p.raft_index = raft_index;
  leveldb::WriteBatch batch;
  batch.Put(std::string(key::kApplied), p.to_json().dump());
  if (Status s = store_.write(batch, false); !s) return s;
  std::lock_guard lock(point_mu_);
  point_ = p;
  return {};
}

Result<std::optional<AppliedBlock>> Ledger::apply(std::uint64_t raft_index, std::string_view data,
                                                  std::optional<ledger::BlockProposal> decoded,
                                                  const ledger::KnownEnvelopes* known) {
  AppliedPoint prev = last();
  if (raft_index <= prev.raft_index) return std::optional<AppliedBlock>();
  auto proposal = decoded ? Result<ledger::BlockProposal>(std::move(*decoded)) : ledger::decode_block(data, alg_, known);
  if (!proposal) {
    // Only a faulty leader proposes a malformed block; every node skips it identically.
    if (Status s = skip(raft_index); !s) return s.error();
    return std::optional<AppliedBlock>();
  }

  // 2. Drop entries already in the ledger or earlier in this block.
  std::vector<contracts::Envelope> entries;
  entries.reserve(proposal->entries.size());
  std::set<std::string> seen;
  for (auto& e : proposal->entries) {
    if (!seen.insert(e.id).second) continue;
    auto existing = store_.get(key::tx(e.id));
    if (!existing) return existing.error();
    if (existing->has_value()) continue;
    entries.push_back(std::move(e));
  }
  if (entries.empty()) {
    if (Status s = skip(raft_index); !s) return s.error();
    return std::optional<AppliedBlock>();
  }

  // 3. Place the block.
  AppliedPoint next;
  next.raft_index = raft_index;
  next.height = prev.height + 1;
  next.time = std::max(proposal->time, prev.time);

  // 4. Signatures, verified in parallel against the keys in force at the block's start.
  auto pre = preverify(entries);
  if (!pre) return pre.error();
  std::unordered_map<const contracts::Envelope*, bool> verified;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if ((*pre)[i]) verified[&entries[i]] = true;
  }
  contracts::SignatureCheck check = [&](const contracts::Envelope& e, const contracts::Key& k) {
    if (verified.count(&e) != 0) return true;
    return verify_signature(e, k);  // a key added earlier in this block, or a bad signature: decide inline
  };

  // 5. Contracts. Governance entries change the membership in place: an error from here on stops the node
  // (apply_committed), and a restart reads the membership back from the stored state.
  StoreStateView state(store_, nullptr, /*remember_versions=*/true, &values_);
  auto result = contracts::apply_block(entries, next.height, next.time, state, membership_, check, &documents_);
  if (!result) return result.error();

  // 6. One batch. A document the block changed is written once, as a version under the position of the block's
  // last entry that changed it (storage.md §1.3); its s/ key then names that version.
  std::unordered_map<std::string_view, std::uint32_t> last_writer;
  for (std::size_t i = 0; i < result->outcomes.size(); ++i) {
    for (const auto& [k, v] : result->outcomes[i].writes) {
      if (key::versioned(k)) last_writer[k] = static_cast<std::uint32_t>(i);
    }
  }
  leveldb::WriteBatch batch;
  // What the state holds once the batch is written, for the value cache (updated only after the write).
  std::vector<std::pair<std::string_view, StateValueCache::Value>> committed_values;
  committed_values.reserve(result->writes.size());
  for (const auto& [k, v] : result->writes) {
    if (k.starts_with(contracts::keys::kDocument)) {
      std::string doc = k.substr(contracts::keys::kDocument.size());
      std::optional<Listed> before;
      if (auto cached = listed_.find(k); cached != listed_.end()) {
        before = cached->second;
      } else {
        auto before_raw = store_.get_state(k);
        if (!before_raw) return before_raw.error();
        before = before_raw->has_value() ? listed(**before_raw) : std::nullopt;
      }
      auto after = v ? listed(*v) : std::nullopt;
      if (listed_.size() >= kListedCacheSize) listed_.clear();
      listed_[k] = after;  // if the batch below fails, the node stops (apply_committed)
      for (const auto& [name, member] : kListedFields) {
        std::string old_value = before ? (*before).*member : "";
        std::string new_value = after ? (*after).*member : "";
        if (old_value == new_value) continue;
        if (!old_value.empty()) batch.Delete(key::listing(name, old_value, doc));
        if (!new_value.empty()) batch.Put(key::listing(name, new_value, doc), "");
      }
    }
    if (!v) {
      batch.Delete(key::state(k));
      committed_values.emplace_back(k, StateValueCache::Value{});
    } else if (key::versioned(k)) {
      const auto writer = last_writer.find(k);
      std::string pos = key::position(static_cast<std::uint64_t>(next.height),
                                      writer != last_writer.end() ? writer->second : UINT32_MAX);
      batch.Put(key::version(pos, k), *v);
      batch.Put(key::state(k), pos);
      committed_values.emplace_back(k, StateValueCache::Value{*v, std::move(pos)});
    } else {
      batch.Put(key::state(k), *v);
      committed_values.emplace_back(k, StateValueCache::Value{*v, std::string()});
    }
  }
  last_writer.clear();  // its keys view the outcomes' write sets, cleared below
  // A document's value an entry read is a reference to its version when it is the one the block started from
  // (no earlier entry of the block changed it).
  std::unordered_set<std::string> changed_in_block;
  const auto version_of = [&](const std::string& k) -> const std::string* {
    if (!key::versioned(k) || changed_in_block.count(k) != 0) return nullptr;
    return state.version_of(k);
  };

  StoreMerkleNodes nodes(store_);
  crypto::MerkleLog log(alg_, nodes, prev.log_size);
  AppliedBlock out;
  out.log_index.reserve(entries.size());
  std::vector<ledger::EntryResult> results;
  std::vector<std::string> ids;
  json result_json = json::array();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    auto& o = result->outcomes[i];
    std::uint64_t leaf = kNotInLog;
    if (o.accepted) leaf = log.append(ledger::log_leaf(alg_, e.id));
    out.log_index.push_back(leaf);
    // The entry's record (storage.md). Written as text: the envelope's tx is its signed canonical JSON as is,
    // rather than a tree built from it and serialized again (the same JSON value either way).
    std::string rec = "{\"documents\":" + json(o.documents).dump() + ",\"envelope\":{\"sig\":\"" +
                      crypto::base64_encode(e.sig) + "\",\"tx\":" + e.canonical_tx +
                      "},\"height\":" + std::to_string(next.height) + ",\"index\":" + std::to_string(i);
    if (!o.accepted) {
      rec += ",\"message\":" + json(o.message).dump(-1, ' ', false, json::error_handler_t::replace) +
             ",\"reason\":" + json(o.reason).dump() + ",\"status\":\"rejected\"}";
    } else {
      rec += ",\"leaf\":" + std::to_string(leaf) + ",\"status\":\"accepted\"}";
    }
    const std::string pos = key::position(static_cast<std::uint64_t>(next.height), static_cast<std::uint32_t>(i));
    batch.Put(key::tx(e.id), pos);
    batch.Put(key::entry(pos), rec);
    for (const auto& doc : o.documents) {
      batch.Put(key::history(doc, static_cast<std::uint64_t>(next.height), static_cast<std::uint32_t>(i)), e.id);
    }
    results.push_back(ledger::EntryResult{e.id, o.accepted, o.reason, ledger::reads_hash(alg_, o.reads), i});
    batch.Put(key::reads(pos), stored_reads_text(o.reads, version_of));
    for (const auto& [k, v] : o.writes) {
      if (key::versioned(k)) changed_in_block.insert(k);
    }
    result_json.push_back(results.back().to_json());
    ids.push_back(e.id);
    o.writes.clear();
    o.reads.clear();
  }
  nodes.stage_into(batch);
  next.log_size = log.size();
  // The document state tree: each document the block changed, each tree node once.
  if (!state_cache_.loaded()) {
    if (Status s = state_cache_.load(store_, prev.state_size); !s) return s.error();
  }
  StateTreeUpdate state_tree(store_, alg_, prev.state_size, next.height, &state_cache_);
  if (Status s = state_tree.apply(result->writes); !s) return s.error();
  if (Status s = state_tree.stage_into(batch); !s) return s.error();
  next.state_size = state_tree.size();
  auto log_root = log.root();
  if (!log_root) return log_root.error();
  auto mhash = membership_.hash();
  if (!mhash) return mhash.error();

  // 7. Header.
  ledger::BlockHeader h;
  h.height = next.height;
  h.prev = prev.header_hash;
  h.time = next.time;
  h.tx_root = ledger::tx_root(alg_, ids);
  h.result_root = ledger::result_root(alg_, results);
  h.log_size = next.log_size;
  h.log_root = crypto::hex(*log_root);
  h.membership_hash = crypto::hex(*mhash);
  h.writes_hash = crypto::hex(contracts::digest_writes(alg_, result->writes));
  h.state_size = next.state_size;
  h.state_root = crypto::hex(state_tree.root());
  next.header_hash = h.hash_hex(alg_);
  json record = {{"header", h.to_json()},          {"hash", next.header_hash}, {"results", std::move(result_json)},
                 {"raft_index", raft_index},         {"proposer", proposal->proposer}};
  batch.Put(key::block(static_cast<std::uint64_t>(next.height)), record.dump());
  if (Status s = write_block(batch, next); !s) return s.error();
  state_tree.commit_to(state_cache_);
  for (auto& [k, v] : committed_values) values_.put(k, std::move(v));

  out.header = std::move(h);
  out.header_hash = next.header_hash;
  // Who reads the applied block (the I/O thread: answers, events) needs each entry's id and tx header only. The
  // body's tree and the signed bytes are freed here, by the thread that just read them, while they are in cache.
  for (auto& e : entries) {
    e.tx.body = json();
    std::string().swap(e.canonical_tx);
    crypto::Bytes().swap(e.sig);
  }
  out.entries = std::move(entries);
  out.outcomes = std::move(result->outcomes);
  return std::optional<AppliedBlock>(std::move(out));
}

Status Ledger::write_block(leveldb::WriteBatch& batch, const AppliedPoint& point) {
  batch.Put(std::string(key::kApplied), point.to_json().dump());
  // Not synced: the committed block stays in the (synced) Raft log until a snapshot is taken, and is applied
  // again after a crash that lost this batch.
  if (Status s = store_.write_in_key_order(batch, false); !s) return s;
  std::lock_guard lock(point_mu_);
  point_ = point;
  return {};
}

Result<std::vector<bool>> Ledger::preverify(const std::vector<contracts::Envelope>& entries) const {
  std::vector<bool> ok(entries.size(), false);
  std::vector<std::shared_ptr<crypto::PublicKey>> keys(entries.size());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto k = contracts::resolve_signer(entries[i], membership_);
    if (!k) continue;  // unknown or revoked now: apply_block rejects it or decides inline
    if (cache_.contains(entries[i].id, entries[i].sig)) {
      ok[i] = true;  // verified on admission with this same key id (key ids are never reused)
      continue;
    }
    keys[i] = public_key(**k);
    if (keys[i]) todo.push_back(i);
  }
  std::vector<char> results(todo.size(), 0);
  pool_.parallel_for(todo.size(), [&](std::size_t t) {
    const auto& e = entries[todo[t]];
    results[t] = keys[todo[t]]->verify(e.canonical_tx, e.sig) ? 1 : 0;
  });
  for (std::size_t t = 0; t < todo.size(); ++t) ok[todo[t]] = results[t] != 0;
  return ok;
}

}  // namespace onebill::node
