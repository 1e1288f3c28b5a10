#include "clients/audit/verify.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "clients/audit/bundle_text.h"
#include "clients/audit/inclusion.h"
#include "contracts/apply.h"
#include "contracts/doc_cache.h"
#include "contracts/membership.h"
#include "contracts/reasons.h"
#include "contracts/state.h"
#include "crypto/canonical_json.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"
#include "node/ledger/bundle.h"
#include "node/ledger/format.h"
#include "node/ledger/state_tree.h"

namespace onebill::audit {
namespace {

using nlohmann::json;

// A state value (a document's canonical JSON), shared between the replay that wrote it and the entries that read it.
using Value = std::shared_ptr<const std::string>;

// Serves an entry's recorded reads; a read of any other key is an error (the record is incomplete).
class RecordedReads final : public contracts::StateView {
 public:
  explicit RecordedReads(const contracts::ReadSet& reads) : reads_(reads) {}
  Result<std::optional<std::string>> get(std::string_view key) const override {
    auto it = reads_.find(key);
    if (it == reads_.end()) {
      return make_error("read_not_recorded", "the contracts read " + std::string(key) +
                                                 ", which the entry's recorded reads do not have");
    }
    return it->second;
  }

 private:
  const contracts::ReadSet& reads_;
};

std::string short_value(const std::optional<std::string>& v, crypto::HashAlg alg) {
  if (!v) return "absent";
  if (v->size() <= 96) return *v;
  return "value of " + std::to_string(v->size()) + " bytes, hash " + crypto::hex(crypto::hash(alg, *v));
}

// Runs fn(i) for i in [0, n) on `threads` threads, in chunks.
template <class Fn>
void parallel_for(std::size_t n, unsigned threads, const Fn& fn) {
  std::atomic<std::size_t> cursor{0};
  constexpr std::size_t kChunk = 64;
  const auto work = [&] {
    for (std::size_t start; (start = cursor.fetch_add(kChunk)) < n;) {
      for (std::size_t i = start; i < std::min(start + kChunk, n); ++i) fn(i);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

struct DigestHash {
  std::size_t operator()(const crypto::Digest& d) const {
    std::size_t h = 0;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

struct Block {
  const ledger::BundleBlock* b = nullptr;
  std::string hash;
  crypto::Digest result_root{};
  // The voting nodes in force before the block's first entry (node id -> key): they, not voters the block itself
  // adds, certify it; and a block that changes them cannot be certified through a later header's prev link.
  std::map<std::string, std::string> voters_before;
  bool voters_changed = false;
  bool certified = false;  // by its own attestations
  std::size_t valid_attestations = 0;
  std::size_t quorum = 0;
};

// What replaying one entry over a given read set and membership gives: everything the checks in ledger order
// need. A pure function of (entry, reads, membership, block), so it may be computed on any thread, ahead of the
// ledger-order pass, and used there when its inputs turn out to be the ones in force.
struct Replay {
  bool result_ok = false;     // the block's result_root holds the entry's id, outcome and these reads
  bool signer_known = false;  // the signer's key is in force (else the outcome is unknown_key or revoked_key)
  bool bad_sig = false;
  std::optional<std::string> failure;  // the contracts failed: the replay check's message
  contracts::Outcome outcome;
  bool reads_match = false;  // the contracts read exactly the recorded keys
  struct Write {
    std::size_t doc = 0;  // the document's position in the bundle's (sorted) documents
    Value value;          // null: deleted
    crypto::Digest hash{};
  };
  std::vector<Write> tracked;  // an accepted entry's writes to the bundle's documents, hashed
};

// One entry parsed, the checks that need no state made, and replayed ahead when the values it read of the bundle's
// documents were already written by a replay of an earlier entry.
struct Work {
  explicit Work(ledger::BundleEntry entry) : e(std::move(entry)) {}
  ledger::BundleEntry e;
  bool log_ok = false;
  const crypto::PublicKey* sig_key = nullptr;  // the key the signature was checked with ahead, if any
  bool sig_ok = false;
  bool replayed = false;
  std::uint64_t members_version = 0;  // of the membership it was replayed with
  std::vector<Value> elided_values;   // the values it was replayed with, in the order of e.elided
  Replay replay;
};

// What a thread keeps between the entries it works on: the documents the contracts parsed (the replays of a
// document's entries are mostly on the same thread: they are near each other in ledger order) and the last log and
// result proofs that held.
struct Scratch {
  static constexpr std::size_t kCacheBytes = 2u << 20;  // the recent documents: a few hundred
  contracts::DocumentCache cache{kCacheBytes};
  InclusionMemo log;
  InclusionMemo results;
};

// One entry on its way: its text, then its work until the ledger-order pass is done with it.
struct Slot {
  std::string_view text;
  std::unique_ptr<Work> w;
  std::optional<Error> parse_error;
  std::atomic<bool> done{false};
};

class Verifier {
 public:
  enum class Mode {
    strict,     // the whole bundle parsed, and its order checked, before any entry is checked (the reference)
    streaming,  // entries parsed, checked and replayed as they come; any failure is left to a strict run
  };

  // `genesis`, when not null, is genesis_text loaded (load_genesis) and must outlive the Verifier.
  Verifier(std::string_view genesis_text, const json* bundle_json, std::string_view bundle_text,
           const Progress& progress, unsigned threads, Mode mode, const TrustedGenesis* genesis = nullptr)
      : genesis_text_(genesis_text),
        genesis_(genesis),
        bundle_json_(bundle_json),
        bundle_text_(bundle_text),
        progress_(progress),
        threads_(std::max(1u, threads)),
        mode_(mode) {}
  ~Verifier() { stop_workers(); }

  Report run();
  // The structural checks alone (parse_bundle_text); the mode must be strict.
  ParsedBundle parse();

 private:
  bool fail(std::string check, std::string where, std::string message, std::string expected = {},
            std::string found = {}) {
    report_.failure = Failure{std::move(check), std::move(where), std::move(expected), std::move(found),
                              std::move(message)};
    return false;
  }
  static std::string at(const ledger::BundleEntry& e) {  // where an entry's failure is
    return "entry " + e.envelope.id + " (height " + std::to_string(e.height) + ", index " + std::to_string(e.index) +
           ")";
  }
  bool load();
  Result<ledger::Bundle> parse_text();
  bool check_blocks();
  bool check_entry_order();
  bool check_entries();
  bool entry(Work& w, const Block& blk);
  bool close_block(Block& blk);
  std::map<std::string, std::string> voters() const;
  void read_states();
  bool check_documents();
  bool check_states();
  bool certify_chain();

  // Ahead, on any thread.
  void work(std::size_t i, Scratch& scratch);
  void work_chunk(std::size_t start, Scratch& scratch);
  bool speculate(Work& w, Scratch& scratch);
  Replay replay(const Work& w, const contracts::ReadSet& reads, const contracts::Membership& members,
                const Block& blk, Scratch& scratch);
  // The position of a document in documents_, of a state key doc/{id} of one of them.
  std::optional<std::size_t> document(std::string_view id) const {
    const auto it = std::lower_bound(documents_.begin(), documents_.end(), id);
    if (it == documents_.end() || *it != id) return std::nullopt;
    return static_cast<std::size_t>(it - documents_.begin());
  }
  std::optional<std::size_t> tracked(std::string_view key) const {
    if (!key.starts_with(contracts::keys::kDocument)) return std::nullopt;
    return document(key.substr(contracts::keys::kDocument.size()));
  }
  std::shared_ptr<crypto::PublicKey> key_of(const contracts::Key& k);
  std::pair<std::shared_ptr<const contracts::Membership>, std::uint64_t> snapshot();
  Value lookup(const crypto::Digest& hash);
  void publish(const std::vector<Replay::Write>& writes);
  void forget(const crypto::Digest& hash);
  void wait_or_help(std::size_t i);
  void stop_workers();

  std::string_view genesis_text_;
  const TrustedGenesis* genesis_;
  const json* bundle_json_;       // the bundle parsed, or
  std::string_view bundle_text_;  // its text, parsed here on several threads
  const Progress& progress_;
  unsigned threads_ = 1;
  Mode mode_;
  Report report_;
  crypto::HashAlg alg_{};
  std::optional<contracts::Membership> members_;
  std::uint64_t members_version_ = 0;  // how many membership changes the ledger-order pass applied
  ledger::Bundle bundle_;              // without its entries: those are in slots_
  std::vector<Slot> slots_;
  std::map<std::int64_t, Block> blocks_;
  const Block* head_ = nullptr;
  crypto::Digest head_root_{};
  std::vector<std::string> documents_;  // the bundle's documents, sorted, each once: read-only once loaded
  struct Tracked {
    Value value;              // doc/{id} after the replay so far; null when absent
    crypto::Digest hash{};    // of value, when present
  };
  std::vector<Tracked> tracked_;  // by the position of the document in documents_
  std::set<std::pair<std::string, std::int64_t>> nonces_;
  // Each document's state after the replay and the first document it names that the bundle leaves out, in the
  // order of documents_.
  std::vector<json> states_;
  std::vector<char> created_;
  std::vector<std::optional<std::string>> names_missing_;

  // Shared with the threads that work ahead.
  std::mutex keys_mu_;
  std::map<std::string, std::shared_ptr<crypto::PublicKey>> keys_;  // by algorithm and PEM
  std::mutex snapshot_mu_;
  std::shared_ptr<const contracts::Membership> snapshot_;  // a copy of members_ at members_version_
  std::mutex values_mu_;
  std::unordered_map<crypto::Digest, Value, DigestHash> values_;  // document values written by replays, by hash
  std::vector<std::unique_ptr<Scratch>> scratch_;  // one per thread; [0] is the ledger-order pass's
  static constexpr std::size_t kChunk = 32;
  std::atomic<std::size_t> cursor_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

std::shared_ptr<crypto::PublicKey> Verifier::key_of(const contracts::Key& k) {
  std::string id = k.alg;
  id.append("\n").append(k.pub);
  std::lock_guard lock(keys_mu_);
  if (auto it = keys_.find(id); it != keys_.end()) return it->second;
  std::shared_ptr<crypto::PublicKey> out;
  if (auto alg = crypto::parse_sig_alg(k.alg)) {
    if (auto pub = crypto::PublicKey::from_pem(k.pub, *alg)) out = std::make_shared<crypto::PublicKey>(std::move(*pub));
  }
  keys_.emplace(std::move(id), out);
  return out;
}

std::pair<std::shared_ptr<const contracts::Membership>, std::uint64_t> Verifier::snapshot() {
  std::lock_guard lock(snapshot_mu_);
  return {snapshot_, members_version_};
}

Value Verifier::lookup(const crypto::Digest& hash) {
  std::lock_guard lock(values_mu_);
  auto it = values_.find(hash);
  return it == values_.end() ? nullptr : it->second;
}

void Verifier::publish(const std::vector<Replay::Write>& writes) {
  std::lock_guard lock(values_mu_);
  for (const auto& w : writes) {
    if (w.value) values_.emplace(w.hash, w.value);
  }
}

void Verifier::forget(const crypto::Digest& hash) {
  std::lock_guard lock(values_mu_);
  values_.erase(hash);
}

Result<ledger::Bundle> Verifier::parse_text() {
  const auto bad = [](const std::string& what) { return make_error("bad_bundle", what); };
  const auto not_json = [](const std::string& what) { return make_error("bad_json", what); };
  // Streaming: the entries are cut in the same pass as the top level, and parsed later on the threads.
  std::optional<std::vector<std::string_view>> cut;
  auto top = mode_ == Mode::streaming ? text::split(bundle_text_, true, "entries", &cut) : text::split(bundle_text_, true);
  if (!top) return not_json("the bundle is not a JSON object");
  json rest = json::object();
  std::string_view entries_text;
  for (const auto& [k, v] : *top) {
    if (rest.contains(k) || (k == "entries" && !entries_text.empty())) return bad("bundle: duplicate field \"" + k + "\"");
    if (k == "entries") {
      entries_text = v;
      continue;
    }
    auto value = crypto::parse_strict(v, text::kPieceLimits);
    if (!value) return not_json("bundle." + k + ": " + value.error().code + ": " + value.error().message);
    rest[k] = std::move(*value);
  }
  rest["entries"] = json::array();
  auto b = ledger::Bundle::from_json(rest, alg_);
  if (!b) return b.error();
  if (entries_text.empty()) return b;
  if (mode_ == Mode::streaming) {
    if (!cut) return bad("bundle.entries: not cut");  // left to the strict run, which says what is wrong
    slots_ = std::vector<Slot>(cut->size());
    for (std::size_t i = 0; i < cut->size(); ++i) slots_[i].text = (*cut)[i];
    return b;
  }
  auto pieces = text::split(entries_text, false);
  if (!pieces) return entries_text.starts_with("[") ? not_json("bundle.entries: not JSON") : bad("bundle.entries: expected an array");
  slots_ = std::vector<Slot>(pieces->size());
  parallel_for(pieces->size(), threads_, [&](std::size_t i) {
    auto e = text::parse_entry((*pieces)[i].second, i, alg_);
    if (e) {
      slots_[i].w = std::make_unique<Work>(std::move(*e));
    } else {
      slots_[i].parse_error = e.error();
    }
  });
  for (const auto& s : slots_) {
    if (s.parse_error) return *s.parse_error;
  }
  return b;
}

bool Verifier::load() {
  std::string ghash;
  if (genesis_ != nullptr) {
    members_ = genesis_->members;  // a copy: the replay changes it
    ghash = genesis_->hash;
  } else {
    auto g = load_genesis(genesis_text_);
    if (!g) return fail("genesis", "genesis", g.error().message);
    members_ = std::move(g->members);
    ghash = std::move(g->hash);
  }
  alg_ = members_->hash_alg();
  report_.network = members_->network();
  auto b = bundle_json_ != nullptr ? ledger::Bundle::from_json(*bundle_json_, alg_) : parse_text();
  if (!b) return fail(b.error().code == "bad_json" ? "json" : "format", "bundle", b.error().message);
  bundle_ = std::move(*b);
  if (bundle_json_ != nullptr) {
    slots_ = std::vector<Slot>(bundle_.entries.size());
    for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].w = std::make_unique<Work>(std::move(bundle_.entries[i]));
    bundle_.entries.clear();
  }
  report_.document = bundle_.document;
  report_.head_height = bundle_.head_height;
  report_.head_hash = bundle_.head_hash;
  report_.counts.entries = slots_.size();
  if (bundle_.genesis_hash != ghash) {
    return fail("genesis", "bundle", "the bundle belongs to another network or genesis", ghash, bundle_.genesis_hash);
  }
  if (bundle_.network != members_->network()) {
    return fail("genesis", "bundle", "the bundle names another network", members_->network(), bundle_.network);
  }
  documents_ = bundle_.documents;  // a copy: parse() gives the bundle as read
  std::sort(documents_.begin(), documents_.end());
  documents_.erase(std::unique(documents_.begin(), documents_.end()), documents_.end());
  if (!document(bundle_.document)) {
    return fail("format", "bundle", "the document asked for is not among the bundle's documents", bundle_.document);
  }
  for (const auto& [doc, proof] : bundle_.state_proofs) {
    if (!document(doc)) return fail("format", "bundle", "a state proof names a document that is not one of the bundle's", "", doc);
  }
  tracked_.resize(documents_.size());
  snapshot_ = std::make_shared<const contracts::Membership>(*members_);
  return true;
}

bool Verifier::check_blocks() {
  std::int64_t last = -1;
  for (const auto& b : bundle_.blocks) {
    if (b.header.height <= last) {
      return fail("order", "block " + std::to_string(b.header.height), "blocks must be in increasing height order");
    }
    last = b.header.height;
    Block blk;
    blk.b = &b;
    blk.hash = b.header.hash_hex(alg_);
    blk.result_root = crypto::digest_from_hex(b.header.result_root).value();
    blocks_[b.header.height] = std::move(blk);
  }
  auto head = blocks_.find(bundle_.head_height);
  if (head == blocks_.end()) return fail("head", "bundle", "the head block is not in the bundle");
  if (head->second.hash != bundle_.head_hash) {
    return fail("head", "block " + std::to_string(bundle_.head_height), "the head's header does not hash to the head hash",
                bundle_.head_hash, head->second.hash);
  }
  if (last != bundle_.head_height) return fail("head", "bundle", "a block above the head is in the bundle");
  head_ = &head->second;
  head_root_ = crypto::digest_from_hex(head_->b->header.log_root).value();
  report_.log_size = head_->b->header.log_size;
  return true;
}

bool Verifier::check_entry_order() {
  std::pair<std::int64_t, std::uint64_t> prev{-1, 0};
  for (const auto& s : slots_) {
    const auto& e = s.w->e;
    std::pair<std::int64_t, std::uint64_t> pos{e.height, e.index};
    if (prev.first >= 0 && !(prev < pos)) return fail("order", at(e), "entries must be in ledger order, each once");
    prev = pos;
    if (blocks_.count(e.height) == 0) return fail("order", at(e), "the entry's block is not in the bundle");
  }
  return true;
}

// The work on entry i that needs no state, and its replay ahead when it can be made.
void Verifier::work(std::size_t i, Scratch& scratch) {
  Slot& s = slots_[i];
  if (stop_.load(std::memory_order_relaxed)) return;
  if (!s.w) {
    auto e = text::parse_entry(s.text, i, alg_);
    if (!e) {
      s.parse_error = e.error();
      return;
    }
    s.w = std::make_unique<Work>(std::move(*e));
  }
  Work& w = *s.w;
  const auto& e = w.e;
  const auto& head = head_->b->header;
  w.log_ok = e.accepted && e.leaf && *e.leaf < head.log_size &&
             scratch.log.verify(alg_, ledger::log_leaf(alg_, e.envelope.id), *e.leaf, head.log_size, e.log_proof,
                                head_root_);
  // The signature, with the key of that id in the latest membership (a key id is never reused, and the key in
  // force is checked in ledger order: a check made here with another key is not used).
  auto [members, version] = snapshot();
  if (const contracts::Key* k = members->key(e.envelope.tx.signer)) {
    if (auto pub = key_of(*k)) {
      w.sig_key = pub.get();
      w.sig_ok = pub->verify(e.envelope.canonical_tx, e.envelope.sig);
    }
  }
  speculate(w, scratch);
}

// Replays the entry ahead if every value it read of the bundle's documents was written by an earlier replay (found by
// its hash). Whether the replay stands is decided in ledger order (entry()).
bool Verifier::speculate(Work& w, Scratch& scratch) {
  const auto& e = w.e;
  const auto blk = blocks_.find(e.height);
  if (blk == blocks_.end()) return true;  // the ledger-order pass fails it
  std::vector<Value> values;
  values.reserve(e.elided.size());
  for (const auto& [k, hash] : e.elided) {
    if (!tracked(k)) return true;  // idem
    values.push_back(lookup(hash));
    if (!values.back()) return false;  // not written yet: maybe later
  }
  contracts::ReadSet reads = e.reads;
  std::size_t j = 0;
  for (const auto& [k, hash] : e.elided) reads.insert_or_assign(k, *values[j++]);
  auto [members, version] = snapshot();
  w.replay = replay(w, reads, *members, blk->second, scratch);
  w.members_version = version;
  w.elided_values = std::move(values);
  w.replayed = true;
  publish(w.replay.tracked);
  return true;
}

Replay Verifier::replay(const Work& w, const contracts::ReadSet& reads, const contracts::Membership& members,
                        const Block& blk, Scratch& scratch) {
  const auto& e = w.e;
  const auto& h = blk.b->header;
  Replay r;
  // The block certified the entry's id, outcome and reads at its position.
  r.result_ok = e.index < e.block_entries &&
                scratch.results.verify(alg_, audit::result_leaf(alg_, e, reads), e.index, e.block_entries,
                                       e.result_proof, blk.result_root);
  if (!r.result_ok) return r;
  // As the node applied it (contracts::apply_block): signer, signature, then the contracts.
  auto key = contracts::resolve_signer(e.envelope, members);
  if (key) {
    r.signer_known = true;
    auto pub = key_of(**key);
    const bool valid = pub && (pub.get() == w.sig_key ? w.sig_ok : pub->verify(e.envelope.canonical_tx, e.envelope.sig));
    r.bad_sig = !valid;
  }
  if (r.bad_sig) {
    r.outcome = contracts::Outcome::rejected(e.envelope.id, contracts::reason::kBadSignature, "");
  } else {
    RecordedReads view(reads);
    const contracts::BlockContext ctx{e.height, h.time, static_cast<std::int64_t>(e.index)};
    try {
      auto applied = contracts::apply(e.envelope, ctx, view, members, &scratch.cache);
      if (!applied) {
        r.failure = applied.error().message;
        return r;
      }
      r.outcome = std::move(*applied);
    } catch (const std::exception& ex) {
      r.failure = std::string("the contracts failed on the recorded reads: ") + ex.what();
      return r;
    }
  }
  r.reads_match = r.outcome.reads == reads;
  if (r.outcome.accepted) {
    for (const auto& [k, v] : r.outcome.writes) {
      const auto doc = tracked(k);
      if (!doc) continue;
      Replay::Write write{*doc, nullptr, {}};
      if (v) {
        write.hash = crypto::hash(alg_, *v);
        write.value = std::make_shared<const std::string>(*v);
      }
      r.tracked.push_back(std::move(write));
    }
  }
  return r;
}

bool Verifier::entry(Work& w, const Block& blk) {
  const auto& e = w.e;
  // Every read of a bundle document must be the state the bundle's earlier entries leave: an entry on the document
  // that is missing between two others is caught here. (The bundle gives the values as their hash; the verifier
  // uses its own.)
  const auto incomplete = [&](const std::string& key, const Tracked& t, const std::string& found) {
    return fail("history", at(e),
                "the entry read " + key + " as it was after an entry that is not in the bundle: the document's "
                "history is incomplete",
                t.value ? "value of hash " + crypto::hex(t.hash) : "absent", found);
  };
  for (const auto& [k, hash] : e.elided) {
    const auto doc = tracked(k);
    if (!doc) return fail("format", at(e), "a read of " + k + " is elided but it is not a bundle document");
    const Tracked& t = tracked_[*doc];
    if (!t.value || t.hash != hash) return incomplete(k, t, "value of hash " + crypto::hex(hash));
    ++report_.counts.chained_reads;
  }
  for (const auto& [k, v] : e.reads) {
    const auto doc = tracked(k);
    if (!doc) continue;
    const Tracked& t = tracked_[*doc];
    if (static_cast<bool>(t.value) != v.has_value() || (t.value && *t.value != *v)) {
      return incomplete(k, t, short_value(v, alg_));
    }
    ++report_.counts.chained_reads;
  }
  // The replay made ahead stands when it was made with these values and the membership in force here.
  bool ahead = w.replayed && w.members_version == members_version_;
  std::size_t j = 0;
  for (const auto& [k, hash] : e.elided) {
    if (!ahead) break;
    const Value& mine = tracked_[*tracked(k)].value;
    const Value& used = w.elided_values[j++];
    ahead = used == mine || *used == *mine;
  }
  Replay here;
  if (!ahead) {
    contracts::ReadSet reads = e.reads;
    for (const auto& [k, hash] : e.elided) reads.insert_or_assign(k, *tracked_[*tracked(k)].value);
    here = replay(w, reads, *members_, blk, *scratch_[0]);
    publish(here.tracked);
  }
  const Replay& r = ahead ? w.replay : here;
  if (!r.result_ok) {
    return fail("result_proof", at(e),
                "the entry, its outcome or its reads are not what its block certified (result_root)");
  }
  ++report_.counts.result_proofs;
  if (r.signer_known && !r.bad_sig) ++report_.counts.signatures;
  if (r.failure) return fail("replay", at(e), *r.failure);
  if (!r.signer_known || r.bad_sig) ++report_.counts.signer_rejections;
  const contracts::Outcome& outcome = r.outcome;
  const auto status = [](bool accepted, const std::string& reason) {
    return accepted ? std::string("accepted") : "rejected (" + reason + ")";
  };
  if (outcome.accepted != e.accepted || outcome.reason != e.reason) {
    return fail(r.bad_sig && e.accepted ? "signature" : "replay", at(e),
                r.bad_sig && e.accepted ? "the signature does not verify with the signer's key in force at this height"
                                        : "replaying the contracts over the entry gives another outcome",
                status(e.accepted, e.reason), status(outcome.accepted, outcome.reason));
  }
  if (!r.reads_match) return fail("replay", at(e), "the contracts read other keys than the entry's recorded reads");
  ++report_.counts.replayed;

  if (!e.accepted) return true;
  // Accepted: in the head's log, a fresh nonce, and its writes carried forward.
  const auto& head = head_->b->header;
  if (!w.log_ok || *e.leaf >= blk.b->header.log_size) {
    return fail("log_proof", at(e), "the entry is not in the log of the head (size " + std::to_string(head.log_size) + ")");
  }
  ++report_.counts.log_proofs;
  if (!nonces_.emplace(e.envelope.tx.signer, e.envelope.tx.nonce).second) {
    return fail("nonce", at(e), "the key " + e.envelope.tx.signer + " used nonce " + std::to_string(e.envelope.tx.nonce) +
                                    " twice");
  }
  ++report_.counts.nonces;
  // Every document an accepted entry changed is one of the bundle's, with its whole history: the node cannot
  // leave out a pledge or a proposal that an entry on the bundle's documents changed.
  for (const auto& d : outcome.documents) {
    if (!document(d)) return fail("history", at(e), "the entry changed document " + d + ", which the bundle leaves out", d, "");
  }
  if (outcome.membership_change && !document(e.envelope.tx.doc)) {
    return fail("history", at(e), "the entry changed the membership but its proposal " + e.envelope.tx.doc +
                                      " is not one of the bundle's documents");
  }
  for (const auto& write : r.tracked) {
    Tracked& t = tracked_[write.doc];
    if (t.value) forget(t.hash);  // no later entry may read it: it is not the state any more
    t.value = write.value;
    if (write.value) t.hash = write.hash;
  }
  if (outcome.membership_change) {
    if (Status st = members_->apply(*outcome.membership_change); !st) return fail("replay", at(e), st.error().message);
    std::lock_guard lock(snapshot_mu_);
    ++members_version_;
    snapshot_ = std::make_shared<const contracts::Membership>(*members_);
  }
  return true;
}

void Verifier::work_chunk(std::size_t start, Scratch& scratch) {
  const std::size_t end = std::min(start + kChunk, slots_.size());
  std::vector<std::size_t> later;  // entries whose reads an entry being replayed on another thread writes
  for (std::size_t i = start; i < end; ++i) {
    work(i, scratch);
    Slot& s = slots_[i];
    if (s.w && !s.w->replayed && !stop_.load(std::memory_order_relaxed)) {
      later.push_back(i);
      continue;
    }
    s.done.store(true, std::memory_order_release);
    s.done.notify_all();
  }
  for (std::size_t i : later) {  // once more, in order: what the other threads wrote meanwhile may be there now
    Slot& s = slots_[i];
    if (!stop_.load(std::memory_order_relaxed)) speculate(*s.w, scratch);
    s.done.store(true, std::memory_order_release);
    s.done.notify_all();
  }
}

// The ledger-order pass waits for entry i; while it would wait, it works ahead itself.
void Verifier::wait_or_help(std::size_t i) {
  Slot& s = slots_[i];
  while (!s.done.load(std::memory_order_acquire)) {
    const std::size_t start = cursor_.fetch_add(kChunk);
    if (start < slots_.size()) {
      work_chunk(start, *scratch_[0]);
    } else {
      s.done.wait(false, std::memory_order_acquire);
    }
  }
}

void Verifier::stop_workers() {
  stop_.store(true);
  for (auto& t : workers_) t.join();
  workers_.clear();
}

// Every entry in ledger order, block by block, each block closed after its entries; the work that needs no state
// (parsing, signatures, log proofs) and replays whose inputs are known are done ahead on the other threads.
bool Verifier::check_entries() {
  for (unsigned t = 0; t < threads_; ++t) scratch_.push_back(std::make_unique<Scratch>());
  for (unsigned t = 1; t < threads_ && !slots_.empty(); ++t) {
    workers_.emplace_back([this, &scratch = scratch_[t]] {
      for (std::size_t start; !stop_.load(std::memory_order_relaxed) && (start = cursor_.fetch_add(kChunk)) < slots_.size();) {
        work_chunk(start, *scratch);
      }
      scratch.reset();  // here, while the ledger-order pass finishes
    });
  }
  struct Join {
    Verifier& v;
    ~Join() { v.stop_workers(); }
  } join{*this};
  auto blk = blocks_.begin();
  blk->second.voters_before = voters();
  std::pair<std::int64_t, std::uint64_t> prev{-1, 0};
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    wait_or_help(i);
    Slot& s = slots_[i];
    if (s.parse_error) return fail(s.parse_error->code == "bad_json" ? "json" : "format", "bundle", s.parse_error->message);
    const auto& e = s.w->e;
    // In order (the strict run checked it for all entries first).
    const std::pair<std::int64_t, std::uint64_t> pos{e.height, e.index};
    if (prev.first >= 0 && !(prev < pos)) return fail("order", at(e), "entries must be in ledger order, each once");
    prev = pos;
    for (; blk != blocks_.end() && blk->first < e.height;) {
      if (!close_block(blk->second)) return false;
      if (++blk != blocks_.end()) blk->second.voters_before = voters();
    }
    if (blk == blocks_.end() || blk->first != e.height) return fail("order", at(e), "the entry's block is not in the bundle");
    if (!entry(*s.w, blk->second)) return false;
    if (progress_) progress_(i + 1, slots_.size());
    s.w.reset();  // done with it
  }
  for (; blk != blocks_.end();) {
    if (!close_block(blk->second)) return false;
    if (++blk != blocks_.end()) blk->second.voters_before = voters();
  }
  return true;
}

// After the block's entries: its membership_hash, and its attestations counted by the voters now in force.
std::map<std::string, std::string> Verifier::voters() const {
  std::map<std::string, std::string> out;
  for (const auto& [id, n] : members_->nodes()) {
    if (n.voter) out.emplace(id, n.tls_pub);
  }
  return out;
}

bool Verifier::close_block(Block& blk) {
  const auto& h = blk.b->header;
  const std::string where = "block " + std::to_string(h.height);
  auto mh = members_->hash();
  if (!mh) return fail("membership", where, mh.error().message);
  if (crypto::hex(*mh) != h.membership_hash) {
    return fail("membership", where,
                "the membership replayed from genesis and the bundle's governance entries is not the one the block "
                "records: a membership change is missing",
                h.membership_hash, crypto::hex(*mh));
  }
  ++report_.counts.membership;
  blk.voters_changed = voters() != blk.voters_before;
  blk.quorum = blk.voters_before.size() / 2 + 1;
  std::set<std::string> counted;
  for (const auto& a : blk.b->attestations) {
    if (a.height != h.height || a.header_hash != blk.hash || counted.count(a.node) != 0) continue;
    const auto voter = blk.voters_before.find(a.node);
    if (voter == blk.voters_before.end()) continue;
    auto pub = crypto::PublicKey::from_pem_any(voter->second);
    if (!pub || !ledger::verify_attestation(*pub, bundle_.network, a)) continue;
    counted.insert(a.node);  // one valid attestation per voter
    ++blk.valid_attestations;
  }
  report_.counts.attestations += blk.valid_attestations;
  blk.certified = blk.valid_attestations >= blk.quorum;
  ++report_.counts.blocks;
  return true;
}

// The documents the replayed states name (a pledge's collateral, a bill's pledges, a receipt's source bill) are
// all in the bundle, and the document asked for exists.
bool Verifier::check_documents() {
  if (!created_[*document(bundle_.document)]) {
    return fail("history", "bundle", "the bundle has no entry that created " + bundle_.document);
  }
  for (std::size_t i = 0; i < documents_.size(); ++i) {
    if (const auto& n = names_missing_[i]) {
      return fail("history", "bundle", documents_[i] + " names " + *n + ", which the bundle leaves out", *n, "");
    }
  }
  return true;
}

// Each document's state as the replay leaves it, parsed, and the first document it names (a pledge's collateral,
// a bill's or receipt's pledges, a receipt's source bill) that the bundle leaves out: on every thread, a bundle
// may have many documents.
void Verifier::read_states() {
  {
    std::lock_guard lock(values_mu_);
    values_.clear();  // no entry is left to read them
  }
  const std::size_t n = documents_.size();
  states_.assign(n, json(nullptr));
  created_.assign(n, 0);
  names_missing_.assign(n, std::nullopt);
  parallel_for(n, threads_, [&](std::size_t i) {
    Value value = std::move(tracked_[i].value);
    if (!value) return;
    created_[i] = 1;
    json& doc = states_[i];
    doc = text::parse_document(*value);
    std::vector<std::string> named;
    for (const char* field : {"collateral", "source_bill", "pledge"}) {
      if (doc.contains(field) && doc[field].is_string()) named.push_back(doc[field].get<std::string>());
    }
    if (doc.contains("pledges") && doc["pledges"].is_array()) {
      for (const auto& p : doc["pledges"]) {
        if (p.is_string()) named.push_back(p.get<std::string>());
      }
    }
    for (auto& name : named) {
      if (!document(name)) {
        names_missing_[i] = std::move(name);
        break;
      }
    }
  });
}

// Each document's state as the replay of the bundle's entries leaves it is its state at the (certified) head: its
// leaf in the document state tree (node/ledger/state_tree.h) is in the head's state_root. A node that left out the
// newest entries on a document — a pledge's release, a second pledge — gives a bundle whose replay stops at an
// older state, and that state's leaf is not in the head's tree. A document the entries never create has no proof.
bool Verifier::check_states() {
  const auto& head = head_->b->header;
  const crypto::Digest root = crypto::digest_from_hex(head.state_root).value();
  const std::string tree = "state_root " + head.state_root + " of height " + std::to_string(head.height) + " (" +
                           std::to_string(head.state_size) + " documents)";
  for (std::size_t i = 0; i < documents_.size(); ++i) {
    const std::string& doc = documents_[i];
    const std::string where = "document " + doc;
    const auto it = bundle_.state_proofs.find(doc);
    if (!created_[i]) {
      if (it == bundle_.state_proofs.end()) continue;
      return fail("state", where,
                  "the bundle proves a state of " + doc + " at the head, but its entries never create it: an entry "
                  "that created it is missing",
                  "no state", "a state proof at leaf " + std::to_string(it->second.index));
    }
    if (it == bundle_.state_proofs.end()) {
      return fail("state", where, "the bundle does not prove the state of " + doc + " at the head", "a state proof",
                  "none");
    }
    const ledger::StateProof& p = it->second;
    if (p.size != head.state_size) {
      return fail("state", where, "the state proof of " + doc + " is for a tree of another size than the head's",
                  std::to_string(head.state_size) + " documents", std::to_string(p.size) + " documents");
    }
    const crypto::Digest leaf = ledger::state_leaf(alg_, doc, tracked_[i].hash);
    if (!crypto::verify_inclusion(alg_, leaf, p.index, p.size, p.path, root)) {
      return fail("state", where,
                  "the state of " + doc + " that the bundle's entries leave is not its state at the head: a later "
                  "entry on it is missing from the bundle, or the proof is wrong",
                  "a state in " + tree,
                  "state of hash " + crypto::hex(tracked_[i].hash) + " at leaf " + std::to_string(p.index) +
                      ", not in that tree");
    }
    ++report_.counts.state_proofs;
  }
  return true;
}

// Each header is certified by its own quorum, or by a later certified header whose prev links down to it.
bool Verifier::certify_chain() {
  const Block* above = nullptr;
  bool above_ok = false;
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) {
    Block& blk = it->second;
    // A link stands only when this block left the voters as they were: otherwise the header after it is
    // certified by voters this block made, which cannot vouch for the block that made them.
    const bool linked = above != nullptr && above_ok && above->b->header.height == blk.b->header.height + 1 &&
                        above->b->header.prev == blk.hash && !blk.voters_changed;
    if (blk.certified) {
      ++report_.counts.certified;
    } else if (linked) {
      ++report_.counts.linked;
    } else {
      return fail("certificate", "block " + std::to_string(blk.b->header.height),
                  blk.voters_changed
                      ? "the header changes the voting nodes and is not certified by a quorum of the voters before it"
                      : "the header is not certified: too few valid attestations by voting nodes and no certified "
                        "header after it links to it",
                  std::to_string(blk.quorum) + " attestations", std::to_string(blk.valid_attestations));
    }
    above = &blk;
    above_ok = true;
  }
  return true;
}

Report Verifier::run() {
  if (!load() || !check_blocks()) return report_;
  if (mode_ == Mode::strict && !check_entry_order()) return report_;
  if (!check_entries()) return report_;
  read_states();
  if (!certify_chain() || !check_documents() || !check_states()) return report_;
  for (std::size_t i = 0; i < documents_.size(); ++i) report_.documents.emplace(documents_[i], std::move(states_[i]));
  report_.ok = true;
  return std::move(report_);
}

ParsedBundle Verifier::parse() {
  ParsedBundle out;
  if (!load() || !check_blocks() || !check_entry_order()) {
    out.failure = std::move(report_.failure);
    return out;
  }
  out.bundle = std::move(bundle_);
  out.bundle.entries.reserve(slots_.size());
  for (auto& s : slots_) out.bundle.entries.push_back(std::move(s.w->e));
  return out;
}

}  // namespace

json Report::to_json() const {
  json j = {{"ok", ok},
            {"network", network},
            {"document", document},
            {"head", {{"height", head_height}, {"header_hash", head_hash}, {"log_size", log_size}}},
            {"counts",
             {{"entries", counts.entries},
              {"signatures", counts.signatures},
              {"signer_rejections", counts.signer_rejections},
              {"nonces", counts.nonces},
              {"result_proofs", counts.result_proofs},
              {"log_proofs", counts.log_proofs},
              {"replayed", counts.replayed},
              {"chained_reads", counts.chained_reads},
              {"blocks", counts.blocks},
              {"attestations", counts.attestations},
              {"certified", counts.certified},
              {"linked", counts.linked},
              {"membership", counts.membership},
              {"state_proofs", counts.state_proofs}}}};
  if (failure) {
    j["failure"] = {{"check", failure->check},       {"where", failure->where}, {"message", failure->message},
                    {"expected", failure->expected}, {"found", failure->found}};
  }
  if (ok) j["documents"] = documents;
  return j;
}

Report verify_bundle(std::string_view genesis_text, const json& bundle, const Progress& progress, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return Verifier(genesis_text, &bundle, {}, progress, threads, Verifier::Mode::strict).run();
}

Report verify_bundle_text(std::string_view genesis_text, std::string_view bundle, const Progress& progress,
                          unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // Streaming first; when anything does not hold, the strict run says what, where, and after which counts, exactly
  // as if it had been the only one (a format error anywhere comes before an entry's failure, and so on). Progress
  // goes on from where the first run got to, not back to 0.
  std::size_t reached = 0;
  const Progress first = [&](std::size_t done, std::size_t total) {
    reached = done;
    if (progress) progress(done, total);
  };
  Report r = Verifier(genesis_text, nullptr, bundle, first, threads, Verifier::Mode::streaming).run();
  if (r.ok) return r;
  const Progress again = [&](std::size_t done, std::size_t total) {
    if (progress && done > reached) progress(done, total);
  };
  return Verifier(genesis_text, nullptr, bundle, again, threads, Verifier::Mode::strict).run();
}

ParsedBundle parse_bundle_text(std::string_view genesis_text, std::string_view bundle, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return Verifier(genesis_text, nullptr, bundle, {}, threads, Verifier::Mode::strict).parse();
}

Result<TrustedGenesis> load_genesis(std::string_view genesis_text) {
  auto m = contracts::Membership::from_genesis(genesis_text);
  if (!m) {
    return make_error(m.error().code, "the genesis file does not load: " + m.error().code + ": " + m.error().message);
  }
  auto hash = ledger::genesis_hash(genesis_text, m->hash_alg());
  if (!hash) return hash.error();
  return TrustedGenesis{std::move(*m), std::move(*hash)};
}

ParsedBundle parse_bundle_text(const TrustedGenesis& genesis, std::string_view bundle, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return Verifier({}, nullptr, bundle, {}, threads, Verifier::Mode::strict, &genesis).parse();
}

}  // namespace onebill::audit
