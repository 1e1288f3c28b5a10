#include "node/snapshot.h"

#include <algorithm>
#include <array>
#include <bit>
#include <set>

#include <leveldb/write_batch.h>

#include "crypto/canonical_json.h"

namespace onebill::node {
namespace {

using nlohmann::json;

// The content's key ranges, in key order. Every content key starts with one of them (x/applied is one key).
constexpr std::array<std::string_view, 11> kContentStarts = {"b/", "d/", "e/", "h/", "i/", "m/",
                                                              "s/", "t/", "v/", "w/", "x/applied"};
constexpr std::size_t kInstallBatchBytes = 4u << 20;
constexpr std::size_t kStagingReadBytes = 1u << 20;

Error bad(const std::string& what) { return make_error("bad_snapshot", what); }
Error from_leveldb(const leveldb::Status& s) {
  return make_error(s.IsCorruption() ? "corruption" : "io_error", s.ToString());
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t get_le(std::string_view s, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | static_cast<std::uint8_t>(s[i]);
  return v;
}

// Splits whole records off the front of `in`. Returns false when `in` starts with a partial record.
bool next_record(std::string_view& in, std::string_view& key, std::string_view& value) {
  if (in.size() < 4) return false;
  std::uint64_t klen = get_le(in, 4);
  if (in.size() < 4 + klen + 4) return false;
  std::uint64_t vlen = get_le(in.substr(4 + klen), 4);
  if (in.size() < 8 + klen + vlen) return false;
  key = in.substr(4, klen);
  value = in.substr(8 + klen, vlen);
  in.remove_prefix(8 + klen + vlen);
  return true;
}

// Moves `c` to the first content key at or after its current position (invalid if none).
void skip_to_content(Store::Cursor& c) {
  while (c.valid()) {
    std::string_view k = c.key();
    if (is_snapshot_content(k)) return;
    auto next = std::find_if(kContentStarts.begin(), kContentStarts.end(),
                             [&](std::string_view p) { return p > k; });
    if (next == kContentStarts.end()) {
      c.seek("\xff\xff\xff\xff");  // past every key of the layout
      return;
    }
    c.seek(*next);
  }
}

json marker_json(const SnapshotManifest& manifest, const consensus::SnapshotMeta& meta, const std::string& path) {
  return {{"manifest", manifest.encode()}, {"index", meta.index},  {"term", meta.term},
          {"voters", meta.conf_state.voters}, {"learners", meta.conf_state.learners}, {"staging", path}};
}

}  // namespace

// Deletes every content key of the live database and writes the staged records, in bounded batches (unsynced:
// the synced deletion of x/installing at the end of the install covers them, and until then the marker makes a
// restart redo this).
Status apply_staged_snapshot(Store& store, const std::string& staging_path, const SnapshotManifest& manifest) {
  {
    Store::Cursor it(store, nullptr, /*fill_cache=*/false);
    it.seek(kContentStarts[0]);
    skip_to_content(it);
    leveldb::WriteBatch batch;
    std::size_t ops = 0;
    for (; it.valid(); it.next(), skip_to_content(it)) {
      batch.Delete(leveldb::Slice(it.key().data(), it.key().size()));
      if (++ops == 10000) {
        if (Status s = store.write(batch, false); !s) return s;
        batch.Clear();
        ops = 0;
      }
    }
    if (!it.status().ok()) return from_leveldb(it.status());
    if (Status s = store.write(batch, false); !s) return s;
  }
  leveldb::SequentialFile* raw = nullptr;
  leveldb::Status ls = store.env()->NewSequentialFile(staging_path, &raw);
  if (!ls.ok()) return make_error("corruption", "the staged snapshot " + staging_path + " is unreadable: " + ls.ToString());
  std::unique_ptr<leveldb::SequentialFile> file(raw);
  std::string buffer;
  std::vector<char> scratch(kStagingReadBytes);
  leveldb::WriteBatch batch;
  std::uint64_t records = 0;
  for (;;) {
    leveldb::Slice got;
    ls = file->Read(scratch.size(), &got, scratch.data());
    if (!ls.ok()) return from_leveldb(ls);
    buffer.append(got.data(), got.size());
    std::string_view rest(buffer);
    std::string_view k, v;
    while (next_record(rest, k, v)) {
      batch.Put(leveldb::Slice(k.data(), k.size()), leveldb::Slice(v.data(), v.size()));
      ++records;
    }
    buffer.erase(0, buffer.size() - rest.size());
    if (batch.ApproximateSize() >= kInstallBatchBytes || got.empty()) {
      if (Status s = store.write(batch, false); !s) return s;
      batch.Clear();
    }
    if (got.empty()) break;
  }
  if (!buffer.empty() || records != manifest.records) {
    return make_error("corruption", "the staged snapshot " + staging_path + " is incomplete");
  }
  for (const auto& a : manifest.attestations) {
    batch.Put(key::attestation(static_cast<std::uint64_t>(a.height), a.node), a.to_json().dump());
  }
  if (Status s = store.write(batch, false); !s) return s;
  // The install's last writes (the Raft record, the marker's deletion) must not reach the disk before the archive's
  // records. (The state's unsynced records are covered by the marker's synced deletion, whose sync covers every
  // earlier write of the state database, in a log LevelDB closed at a memtable switch too: sticky_env.h; until
  // then the marker makes a restart redo the install.)
  return store.sync_archive();
}

nlohmann::json CertifiedHead::to_json() const {
  json atts = json::array();
  for (const auto& a : attestations) atts.push_back(a.to_json());
  return {{"height", height},     {"header_hash", header_hash}, {"log_size", log_size},
          {"log_root", log_root}, {"attestations", atts}};
}

std::size_t attestation_quorum(const contracts::Membership& m) {
  std::size_t voters = 0;
  for (const auto& [id, n] : m.nodes()) voters += n.voter ? 1 : 0;
  return voters / 2 + 1;
}

// Attestations in `atts` for `hash` by distinct voters of `m` with valid signatures.
static std::vector<ledger::Attestation> valid_attestations(const std::vector<ledger::Attestation>& atts,
                                                           const contracts::Membership& m,
                                                           const std::string& network, std::int64_t height,
                                                           const std::string& hash) {
  std::vector<ledger::Attestation> out;
  std::set<std::string> seen;
  for (const auto& a : atts) {
    if (a.height != height || a.header_hash != hash || seen.count(a.node) != 0) continue;
    const contracts::Node* n = m.node(a.node);
    if (n == nullptr || !n->voter) continue;
    auto pub = crypto::PublicKey::from_pem_any(n->tls_pub);
    if (!pub || !ledger::verify_attestation(*pub, network, a)) continue;
    seen.insert(a.node);
    out.push_back(a);
  }
  return out;
}

Result<std::optional<CertifiedHead>> load_certified_head(const Store& store, const contracts::Membership& m,
                                                         const std::string& network, crypto::HashAlg alg,
                                                         std::int64_t top, std::int64_t depth) {
  std::size_t quorum = attestation_quorum(m);
  for (std::int64_t h = top; h >= 1 && h > top - depth; --h) {
    auto rec = store.get(key::block(static_cast<std::uint64_t>(h)));
    if (!rec) return rec.error();
    if (!rec->has_value()) continue;
    auto block = ledger::parse_block_record(**rec, alg);
    if (!block) {
      return make_error("corrupt_state", "the block record at height " + std::to_string(h) + ": " + block.error().message);
    }
    std::vector<ledger::Attestation> atts;
    Status s = store.scan(key::attestation_prefix(static_cast<std::uint64_t>(h)), "", 1024,
                          [&](std::string_view, std::string_view v) {
                            auto a = ledger::Attestation::from_json(json::parse(v, nullptr, false));
                            if (a) atts.push_back(std::move(*a));
                            return true;
                          });
    if (!s) return s.error();
    auto good = valid_attestations(atts, m, network, h, block->hash);
    if (good.size() < quorum) continue;
    CertifiedHead head;
    head.height = h;
    head.header_hash = block->hash;
    head.log_size = block->header.log_size;
    head.log_root = block->header.log_root;
    head.attestations = std::move(good);
    return std::optional<CertifiedHead>(std::move(head));
  }
  return std::optional<CertifiedHead>();
}

bool is_snapshot_content(std::string_view key) {
  if (key == "x/applied") return true;
  for (std::size_t i = 0; i + 1 < kContentStarts.size(); ++i) {
    if (key.starts_with(kContentStarts[i])) return true;
  }
  return false;
}

void append_snapshot_record(std::string& out, std::string_view key, std::string_view value) {
  put_u32(out, static_cast<std::uint32_t>(key.size()));
  out.append(key);
  put_u32(out, static_cast<std::uint32_t>(value.size()));
  out.append(value);
}

// ---- manifest ----

std::string SnapshotManifest::encode() const {
  json atts = json::array();
  for (const auto& a : attestations) atts.push_back(a.to_json());
  json j = {{"v", 1},
            {"genesis", genesis},
            {"applied", point.to_json()},
            {"content", {{"sha256", content_hash}, {"records", records}, {"bytes", bytes}}},
            {"certified", {{"height", certified_height}, {"hash", certified_hash}, {"attestations", atts}}}};
  return j.dump();
}

Result<SnapshotManifest> SnapshotManifest::decode(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  try {
    if (!j.is_object() || j.value("v", 0) != 1) return bad("the snapshot manifest is not version 1 JSON");
    SnapshotManifest m;
    m.genesis = j.at("genesis").get<std::string>();
    auto p = AppliedPoint::from_json(j.at("applied"));
    if (!p) return bad("the snapshot manifest's applied point is malformed");
    m.point = *p;
    const json& c = j.at("content");
    m.content_hash = c.at("sha256").get<std::string>();
    m.records = c.at("records").get<std::uint64_t>();
    m.bytes = c.at("bytes").get<std::uint64_t>();
    const json& cert = j.at("certified");
    m.certified_height = cert.at("height").get<std::int64_t>();
    m.certified_hash = cert.at("hash").get<std::string>();
    for (const auto& a : cert.at("attestations")) {
      auto att = ledger::Attestation::from_json(a);
      if (!att) return bad("an attestation in the snapshot manifest is malformed");
      m.attestations.push_back(std::move(*att));
    }
    return m;
  } catch (const json::exception& e) {
    return bad(std::string("the snapshot manifest is malformed: ") + e.what());
  }
}

// ---- source ----

Result<std::shared_ptr<const SnapshotSource>> SnapshotSource::build(const Store& store,
                                                                    const std::string& genesis_hash,
                                                                    const std::optional<CertifiedHead>& certified) {
  std::shared_ptr<SnapshotSource> src = open(store);
  if (Status s = src->hash(genesis_hash, certified); !s) return s.error();
  return std::shared_ptr<const SnapshotSource>(std::move(src));
}

std::shared_ptr<SnapshotSource> SnapshotSource::open(const Store& store) {
  return std::shared_ptr<SnapshotSource>(new SnapshotSource(store, store.take_snapshot()));
}

Status SnapshotSource::hash(const std::string& genesis_hash, const std::optional<CertifiedHead>& certified,
                            const std::atomic<bool>* cancel) {
  Store::Cursor it(store_, snap_, /*fill_cache=*/false);
  crypto::Hasher hasher(crypto::HashAlg::sha256);
  SnapshotManifest& m = manifest_;
  m = SnapshotManifest{};
  m.genesis = genesis_hash;
  std::string record;
  std::optional<std::string> applied;
  it.seek(kContentStarts[0]);
  for (skip_to_content(it); it.valid(); it.next(), skip_to_content(it)) {
    if (cancel != nullptr && (m.records & 0xfff) == 0 && cancel->load(std::memory_order_relaxed)) {
      return make_error("cancelled", "the node is stopping");
    }
    std::string_view k = it.key();
    std::string_view v = it.value();
    if (k == "x/applied") applied = std::string(v);
    record.clear();
    append_snapshot_record(record, k, v);
    hasher.update(record);
    ++m.records;
    m.bytes += record.size();
  }
  if (!it.status().ok()) return from_leveldb(it.status());
  m.content_hash = crypto::hex(hasher.finish());
  if (applied) {
    auto p = AppliedPoint::from_json(json::parse(*applied, nullptr, false));
    if (!p) return p.error();
    m.point = *p;
  } else {
    m.point.header_hash = genesis_hash;
  }
  if (m.point.height > 0) {
    if (!certified || certified->height > m.point.height) {
      return make_error("no_certified_head", "no certified header at or below height " +
                                                 std::to_string(m.point.height));
    }
    m.certified_height = certified->height;
    m.certified_hash = certified->header_hash;
    m.attestations = certified->attestations;
  }
  return {};
}

SnapshotSource::~SnapshotSource() { store_.release_snapshot(snap_); }

Result<SnapshotSource::Chunk> SnapshotSource::read(std::string_view after, std::size_t max_bytes) const {
  Store::Cursor it(store_, snap_, /*fill_cache=*/false);
  if (after.empty()) {
    it.seek(kContentStarts[0]);
  } else {
    it.seek(after);
    if (it.valid() && it.key() == after) it.next();
  }
  Chunk c;
  for (skip_to_content(it); it.valid(); it.next(), skip_to_content(it)) {
    if (!c.records.empty() && c.records.size() + it.key().size() + it.value().size() + 8 > max_bytes) break;
    std::string_view k = it.key();
    append_snapshot_record(c.records, k, it.value());
    c.last_key = std::string(k);
  }
  if (!it.status().ok()) return from_leveldb(it.status());
  c.done = !it.valid();
  return c;
}

// ---- receiver ----

SnapshotReceiver::SnapshotReceiver(std::string path, SnapshotManifest manifest, SnapshotTrust trust)
    : path_(std::move(path)), manifest_(std::move(manifest)), trust_(std::move(trust)) {}

SnapshotReceiver::~SnapshotReceiver() {
  if (file_ != nullptr) {
    (void)file_->Close();
    delete file_;
  }
}

Result<std::unique_ptr<SnapshotReceiver>> SnapshotReceiver::create(leveldb::Env* env, std::string staging_path,
                                                                   SnapshotManifest manifest,
                                                                   const SnapshotTrust& trust) {
  if (manifest.genesis != trust.genesis_hash) {
    return bad("the snapshot belongs to genesis " + manifest.genesis + ", not to this network's " +
               trust.genesis_hash);
  }
  if (manifest.point.height > 0 &&
      (manifest.certified_height < 1 || manifest.certified_height > manifest.point.height)) {
    return bad("the snapshot's certified height " + std::to_string(manifest.certified_height) +
               " is not in [1, " + std::to_string(manifest.point.height) + "]");
  }
  std::unique_ptr<SnapshotReceiver> r(new SnapshotReceiver(std::move(staging_path), std::move(manifest), trust));
  leveldb::Status s = env->NewWritableFile(r->path_, &r->file_);
  if (!s.ok()) return make_error("io_error", "cannot create " + r->path_ + ": " + s.ToString());
  r->state_.emplace(trust.alg, r->manifest_.point.state_size, r->manifest_.point.height);
  r->history_.emplace(trust.alg, trust.genesis_hash, r->manifest_.point.height, r->manifest_.point.header_hash,
                      r->manifest_.point.log_size, r->manifest_.certified_height, r->manifest_.certified_hash);
  return r;
}

Status SnapshotReceiver::add(std::string_view records) {
  while (!records.empty()) {
    std::string_view k, v;
    if (!next_record(records, k, v)) return bad("a chunk ends inside a record");
    if (Status s = take(k, v); !s) return s;
  }
  return {};
}

Status SnapshotReceiver::take(std::string_view k, std::string_view v) {
  if (!is_snapshot_content(k)) return bad("the snapshot holds a key outside the ledger state");
  if (records_ > 0 && k <= last_key_) return bad("the snapshot's keys are not in increasing order");
  std::string record;
  append_snapshot_record(record, k, v);
  ++records_;
  bytes_ += record.size();
  if (records_ > manifest_.records || bytes_ > manifest_.bytes) {
    return bad("the snapshot is larger than its manifest says");
  }
  hasher_.update(record);
  leveldb::Status s = file_->Append(leveldb::Slice(record));
  if (!s.ok()) return make_error("io_error", "cannot write " + path_ + ": " + s.ToString());
  last_key_ = std::string(k);
  if (Status st = state_->take(k, v); !st) return st;
  history_->take(k, v);
  if (k == "x/applied") {
    applied_ = std::string(v);
  } else if (k.starts_with(key::state(contracts::keys::kMembershipChange))) {
    gov_changes_.push_back(std::string(v));
  }
  return {};
}

Status SnapshotReceiver::finish() {
  const SnapshotManifest& m = manifest_;
  if (records_ != m.records || bytes_ != m.bytes) {
    return bad("the snapshot has " + std::to_string(records_) + " records (" + std::to_string(bytes_) +
               " bytes); its manifest says " + std::to_string(m.records) + " (" + std::to_string(m.bytes) + ")");
  }
  if (crypto::hex(hasher_.finish()) != m.content_hash) {
    return bad("the snapshot content does not hash to the manifest's sha256");
  }
  // The applied point.
  if (!applied_) return bad("the snapshot has no x/applied");
  auto p = AppliedPoint::from_json(json::parse(*applied_, nullptr, false));
  if (!p || p->to_json() != m.point.to_json()) return bad("the snapshot's x/applied differs from its manifest");

  // Membership at the snapshot's height: genesis plus the snapshot's governance records.
  contracts::Membership membership = trust_.genesis_membership;
  for (const auto& v : gov_changes_) {
    auto c = contracts::MembershipChange::from_json(json::parse(v, nullptr, false));
    if (!c) return bad("a governance record in the snapshot is malformed");
    if (Status s = membership.apply(*c); !s) return bad("a governance record does not apply: " + s.error().message);
  }
  auto mhash = membership.hash();
  if (!mhash) return bad("the snapshot's membership cannot be hashed");

  // The block records from genesis up to the applied one (the certified one among them), the entries, the log's
  // nodes, the nonce windows and the per-entry indexes (node/ledger/history_check.h).
  if (Status st = history_->finish(); !st) return st;
  if (m.point.height == 0) {
    if (m.point.header_hash != trust_.genesis_hash || m.point.log_size != 0 || m.point.state_size != 0) {
      return bad("a snapshot before the first block must be the genesis state");
    }
    if (Status st = state_->finish(crypto::empty_root(trust_.alg)); !st) return st;
  } else {
    const ledger::BlockHeader& top = history_->top();
    if (top.log_size != m.point.log_size) return bad("the last block's log size differs from x/applied");
    if (top.state_size != m.point.state_size) return bad("the last block's state size differs from x/applied");
    if (top.membership_hash != crypto::hex(*mhash)) {
      return bad("the membership rebuilt from the snapshot does not hash to the last block's membership_hash");
    }
    const contracts::Membership& voters = trust_.known_voters ? *trust_.known_voters : trust_.genesis_membership;
    auto good = valid_attestations(m.attestations, voters, trust_.network, m.certified_height, m.certified_hash);
    std::size_t quorum = attestation_quorum(voters);
    if (good.size() < quorum) {
      return bad("the certified header at height " + std::to_string(m.certified_height) + " has " +
                 std::to_string(good.size()) + " valid attestations by the voters this node knows; a quorum is " +
                 std::to_string(quorum));
    }
    // The documents: each is its leaf in the state tree, whose root is the last block's state_root.
    auto state_root = crypto::digest_from_hex(top.state_root);
    if (!state_root) return bad("the last block's state_root is malformed");
    if (Status st = state_->finish(*state_root); !st) return st;
  }
  leveldb::Status s = file_->Sync();
  if (s.ok()) s = file_->Close();
  delete file_;
  file_ = nullptr;
  if (!s.ok()) return make_error("io_error", "cannot sync " + path_ + ": " + s.ToString());
  return {};
}

// ---- install ----

namespace {

// Step 3: the Raft record (in the Raft log's database, synced), then the marker's deletion (in the state database,
// synced: it makes step 2's unsynced batches durable, in a log LevelDB closed at a memtable switch too).
// A crash between the two leaves the marker, and the restart redoes step 2 and finds the Raft record already
// there (resume_snapshot_install).
Status finish_install(Store& store, consensus::LevelDbStorage& raft, const consensus::Ready& r) {
  if (Status s = raft.save(r); !s) return s;
  leveldb::WriteBatch done;
  done.Delete(std::string(key::kInstalling));
  return store.write(done, true);
}

}  // namespace

Status begin_snapshot_install(Store& store, const std::string& staging_path, const SnapshotManifest& manifest,
                              const consensus::SnapshotMeta& meta) {
  leveldb::WriteBatch marker;
  marker.Put(std::string(key::kInstalling), marker_json(manifest, meta, staging_path).dump());
  return store.write(marker, true);
}

Status install_snapshot(Store& store, consensus::LevelDbStorage& raft, const std::string& staging_path,
                        const SnapshotManifest& manifest, const consensus::Ready& ready) {
  if (!ready.snapshot) return make_error("io_error", "install_snapshot without a snapshot in the Ready");
  if (Status s = begin_snapshot_install(store, staging_path, manifest, ready.snapshot->meta); !s) return s;
  if (Status s = apply_staged_snapshot(store, staging_path, manifest); !s) return s;
  consensus::Ready r = ready;
  r.must_sync = true;
  if (Status s = finish_install(store, raft, r); !s) return s;
  (void)store.env()->RemoveFile(staging_path);
  return {};
}

Result<bool> resume_snapshot_install(Store& store, consensus::LevelDbStorage& raft) {
  auto marker = store.get(key::kInstalling);
  if (!marker) return marker.error();
  if (!marker->has_value()) return false;
  json j = json::parse(**marker, nullptr, false);
  consensus::Snapshot snap;
  std::string path;
  SnapshotManifest manifest;
  try {
    auto m = SnapshotManifest::decode(j.at("manifest").get<std::string>());
    if (!m) return make_error("corruption", "x/installing: " + m.error().message);
    manifest = std::move(*m);
    snap.meta.index = j.at("index").get<consensus::Index>();
    snap.meta.term = j.at("term").get<consensus::Term>();
    snap.meta.conf_state.voters = j.at("voters").get<std::vector<consensus::NodeId>>();
    snap.meta.conf_state.learners = j.at("learners").get<std::vector<consensus::NodeId>>();
    path = j.at("staging").get<std::string>();
  } catch (const json::exception& e) {
    return make_error("corruption", std::string("x/installing is malformed: ") + e.what());
  }
  std::string text = manifest.encode();
  snap.data.assign(text.begin(), text.end());
  if (Status s = apply_staged_snapshot(store, path, manifest); !s) return s.error();
  consensus::Ready r;
  if (raft.snapshot_meta().index < snap.meta.index) {
    consensus::HardState hs = raft.hard_state();
    hs.commit = std::max(hs.commit, snap.meta.index);
    r.hard_state = hs;
    r.snapshot = std::move(snap);
  }
  r.must_sync = true;
  if (Status s = finish_install(store, raft, r); !s) return s.error();
  (void)store.env()->RemoveFile(path);
  return true;
}

// ---- peer messages ----

std::string SnapshotRequest::encode() const {
  std::string out = "Q";
  put_u64(out, index);
  put_u32(out, max_bytes);
  out.append(after);
  return out;
}

std::optional<SnapshotRequest> SnapshotRequest::decode(std::string_view b) {
  if (b.size() < 13 || b[0] != 'Q') return std::nullopt;
  SnapshotRequest r;
  r.index = get_le(b.substr(1), 8);
  r.max_bytes = static_cast<std::uint32_t>(get_le(b.substr(9), 4));
  r.after = std::string(b.substr(13));
  return r;
}

std::string SnapshotResponse::encode() const {
  std::string out = "R";
  put_u64(out, index);
  out.push_back(static_cast<char>(status));
  out.append(records);
  return out;
}

std::optional<SnapshotResponse> SnapshotResponse::decode(std::string_view b) {
  if (b.size() < 10 || b[0] != 'R' || static_cast<std::uint8_t>(b[9]) > 2) return std::nullopt;
  SnapshotResponse r;
  r.index = get_le(b.substr(1), 8);
  r.status = static_cast<Status>(b[9]);
  r.records = std::string(b.substr(10));
  return r;
}

}  // namespace onebill::node
