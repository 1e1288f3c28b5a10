#include "clients/audit/verify.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <set>
#include <utility>
#include <vector>

#include "contracts/apply.h"
#include "contracts/membership.h"
#include "contracts/reasons.h"
#include "contracts/state.h"
#include "crypto/canonical_json.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"
#include "node/ledger/bundle.h"
#include "node/ledger/format.h"

namespace onebill::audit {
namespace {

using nlohmann::json;

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

// Splitting the bundle's text so its entries can be parsed on several threads. The scanner only finds where each
// value starts and ends (strings with their escapes, nested brackets); nlohmann parses every piece strictly, so a
// malformed bundle is still refused, naming the piece.
std::size_t skip_ws(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// The end of the string starting at t[i] == '"' (one past its closing quote), or npos.
std::size_t skip_string(std::string_view t, std::size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// The end of the value starting at t[i], or npos.
std::size_t skip_value(std::string_view t, std::size_t i) {
  if (i >= t.size()) return std::string_view::npos;
  if (t[i] == '"') return skip_string(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    for (; i < t.size(); ++i) {
      const char c = t[i];
      if (c == '"') {
        i = skip_string(t, i);
        if (i == std::string_view::npos) return i;
        --i;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n' && t[i] != '\t' &&
         t[i] != '\r') {
    ++i;
  }
  return i;
}

// The pieces of a JSON object (key -> value text) or array (value texts); nullopt when the text is not one.
std::optional<std::vector<std::pair<std::string, std::string_view>>> split(std::string_view t, bool object) {
  std::vector<std::pair<std::string, std::string_view>> out;
  std::size_t i = skip_ws(t, 0);
  if (i >= t.size() || t[i] != (object ? '{' : '[')) return std::nullopt;
  i = skip_ws(t, i + 1);
  if (i < t.size() && t[i] == (object ? '}' : ']')) return skip_ws(t, i + 1) == t.size() ? std::optional(out) : std::nullopt;
  while (i < t.size()) {
    std::string key;
    if (object) {
      const std::size_t end = t[i] == '"' ? skip_string(t, i) : std::string_view::npos;
      if (end == std::string_view::npos) return std::nullopt;
      json k = json::parse(t.substr(i, end - i), nullptr, false);
      if (!k.is_string()) return std::nullopt;
      key = k.get<std::string>();
      i = skip_ws(t, end);
      if (i >= t.size() || t[i] != ':') return std::nullopt;
      i = skip_ws(t, i + 1);
    }
    const std::size_t end = skip_value(t, i);
    if (end == std::string_view::npos || end == i) return std::nullopt;
    out.emplace_back(std::move(key), t.substr(i, end - i));
    i = skip_ws(t, end);
    if (i < t.size() && t[i] == ',') {
      i = skip_ws(t, i + 1);
      continue;
    }
    if (i < t.size() && t[i] == (object ? '}' : ']')) return skip_ws(t, i + 1) == t.size() ? std::optional(out) : std::nullopt;
    return std::nullopt;
  }
  return std::nullopt;
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

// Each piece of a bundle (an entry, the blocks, ...) is parsed strictly, with these limits.
const crypto::JsonLimits kPieceLimits{.max_bytes = std::size_t{1} << 30, .max_depth = 40};

struct Block {
  const ledger::BundleBlock* b = nullptr;
  std::string hash;
  // The voting nodes in force before the block's first entry (node id -> key): they, not voters the block itself
  // adds, certify it; and a block that changes them cannot be certified through a later header's prev link.
  std::map<std::string, std::string> voters_before;
  bool voters_changed = false;
  bool certified = false;  // by its own attestations
  std::size_t valid_attestations = 0;
  std::size_t quorum = 0;
};

class Verifier {
 public:
  Verifier(std::string_view genesis_text, const json* bundle_json, std::string_view bundle_text,
           const Progress& progress, unsigned threads)
      : genesis_text_(genesis_text),
        bundle_json_(bundle_json),
        bundle_text_(bundle_text),
        progress_(progress),
        threads_(std::max(1u, threads)) {}

  Report run();

 private:
  bool fail(std::string check, std::string where, std::string message, std::string expected = {},
            std::string found = {}) {
    report_.failure = Failure{std::move(check), std::move(where), std::move(expected), std::move(found),
                              std::move(message)};
    return false;
  }
  static std::string at(const ledger::BundleEntry& e) {
    return "entry " + e.envelope.id + " (height " + std::to_string(e.height) + ", index " + std::to_string(e.index) +
           ")";
  }
  bool load();
  bool check_order();
  bool entry(std::size_t i, const ledger::BundleEntry& e, const Block& blk);
  bool close_block(Block& blk);
  std::map<std::string, std::string> voters() const;
  bool check_documents();
  bool certify_chain();
  std::shared_ptr<crypto::PublicKey> key_of(const contracts::Key& k);

  std::string_view genesis_text_;
  const json* bundle_json_;       // the bundle parsed, or
  std::string_view bundle_text_;  // its text, parsed here on several threads
  Result<ledger::Bundle> parse_text();
  const Progress& progress_;
  unsigned threads_ = 1;
  Report report_;
  crypto::HashAlg alg_{};
  std::optional<contracts::Membership> members_;
  ledger::Bundle bundle_;
  std::map<std::int64_t, Block> blocks_;
  const Block* head_ = nullptr;
  std::set<std::string, std::less<>> documents_;
  struct Tracked {
    std::optional<std::string> value;  // doc/{id} after the replay so far
    crypto::Digest hash{};             // of value, when present
  };
  std::map<std::string, Tracked, std::less<>> tracked_;
  // Checked ahead, in parallel: each entry's signature with its signer's genesis key (-1: not a genesis key),
  // and an accepted entry's log proof.
  struct Pre {
    signed char sig = -1;
    bool log_ok = false;
    std::atomic<bool> done{false};
  };
  static constexpr std::size_t kChunk = 32;
  std::vector<Pre> pre_;
  std::vector<std::shared_ptr<crypto::PublicKey>> keys_ahead_;
  crypto::Digest head_root_{};
  std::atomic<std::size_t> cursor_{0};
  std::vector<std::thread> workers_;
  void precheck();
  void check_ahead(std::size_t i);
  const Pre& ahead(std::size_t i);
  void stop_workers();

 public:
  ~Verifier() { stop_workers(); }

 private:
  std::set<std::pair<std::string, std::int64_t>> nonces_;
  std::map<std::string, std::shared_ptr<crypto::PublicKey>> keys_;
};

void Verifier::precheck() {
  pre_ = std::vector<Pre>(bundle_.entries.size());
  // Genesis keys of the signers, parsed once, before the threads start (read-only after).
  keys_ahead_.assign(bundle_.entries.size(), nullptr);
  for (std::size_t i = 0; i < bundle_.entries.size(); ++i) {
    if (const contracts::Key* k = members_->key(bundle_.entries[i].envelope.tx.signer)) keys_ahead_[i] = key_of(*k);
  }
  head_root_ = crypto::digest_from_hex(head_->b->header.log_root).value();
  // The workers run ahead of the ledger-order pass in run(), which waits for each entry's result (pipelined).
  for (unsigned t = 0; t + 1 < threads_; ++t) {
    workers_.emplace_back([this] {
      for (std::size_t start; (start = cursor_.fetch_add(kChunk)) < pre_.size();) {
        for (std::size_t i = start; i < std::min(start + kChunk, pre_.size()); ++i) check_ahead(i);
      }
    });
  }
}

void Verifier::check_ahead(std::size_t i) {
  const auto& e = bundle_.entries[i];
  const auto& head = head_->b->header;
  Pre& p = pre_[i];
  if (keys_ahead_[i]) p.sig = keys_ahead_[i]->verify(e.envelope.canonical_tx, e.envelope.sig) ? 1 : 0;
  p.log_ok = e.accepted && e.leaf && *e.leaf < head.log_size &&
             crypto::verify_inclusion(alg_, ledger::log_leaf(alg_, e.envelope.id), *e.leaf, head.log_size, e.log_proof,
                                      head_root_);
  p.done.store(true, std::memory_order_release);
  p.done.notify_one();
}

const Verifier::Pre& Verifier::ahead(std::size_t i) {
  Pre& p = pre_[i];
  if (workers_.empty()) {
    if (!p.done.load(std::memory_order_relaxed)) check_ahead(i);  // one thread: no one runs ahead
  } else {
    p.done.wait(false, std::memory_order_acquire);
  }
  return p;
}

void Verifier::stop_workers() {
  cursor_.store(pre_.size());  // nothing more to take
  for (auto& t : workers_) t.join();
  workers_.clear();
}

std::shared_ptr<crypto::PublicKey> Verifier::key_of(const contracts::Key& k) {
  if (auto it = keys_.find(k.id); it != keys_.end()) return it->second;
  std::shared_ptr<crypto::PublicKey> out;
  if (auto alg = crypto::parse_sig_alg(k.alg)) {
    if (auto pub = crypto::PublicKey::from_pem(k.pub, *alg)) out = std::make_shared<crypto::PublicKey>(std::move(*pub));
  }
  keys_[k.id] = out;
  return out;
}

Result<ledger::Bundle> Verifier::parse_text() {
  const auto bad = [](const std::string& what) { return make_error("bad_bundle", what); };
  const auto not_json = [](const std::string& what) { return make_error("bad_json", what); };
  auto top = split(bundle_text_, true);
  if (!top) return not_json("the bundle is not a JSON object");
  json rest = json::object();
  std::string_view entries_text;
  for (const auto& [k, v] : *top) {
    if (rest.contains(k) || (k == "entries" && !entries_text.empty())) return bad("bundle: duplicate field \"" + k + "\"");
    if (k == "entries") {
      entries_text = v;
      continue;
    }
    auto value = crypto::parse_strict(v, kPieceLimits);
    if (!value) return not_json("bundle." + k + ": " + value.error().code + ": " + value.error().message);
    rest[k] = std::move(*value);
  }
  rest["entries"] = json::array();
  auto b = ledger::Bundle::from_json(rest, alg_);
  if (!b) return b.error();
  if (entries_text.empty()) return b;
  auto pieces = split(entries_text, false);
  if (!pieces) return entries_text.starts_with("[") ? not_json("bundle.entries: not JSON") : bad("bundle.entries: expected an array");
  std::vector<std::optional<Result<ledger::BundleEntry>>> parsed(pieces->size());
  parallel_for(pieces->size(), threads_, [&](std::size_t i) {
    const std::string where = "bundle.entries[" + std::to_string(i) + "]";
    // Strict: a duplicate key, a float or a number beyond 2^53 is refused, so no reader sees another bundle.
    auto j = crypto::parse_strict((*pieces)[i].second, kPieceLimits);
    parsed[i] = !j ? Result<ledger::BundleEntry>(not_json(where + ": " + j.error().code + ": " + j.error().message))
                   : ledger::BundleEntry::from_json(*j, where, alg_);
  });
  b->entries.reserve(parsed.size());
  for (auto& p : parsed) {
    if (!*p) return (*p).error();
    b->entries.push_back(std::move(p->value()));
  }
  return b;
}

bool Verifier::load() {
  auto m = contracts::Membership::from_genesis(genesis_text_);
  if (!m) return fail("genesis", "genesis", "the genesis file does not load: " + m.error().code + ": " + m.error().message);
  members_ = std::move(*m);
  alg_ = members_->hash_alg();
  report_.network = members_->network();
  auto ghash = ledger::genesis_hash(genesis_text_, alg_);
  if (!ghash) return fail("genesis", "genesis", ghash.error().message);
  auto b = bundle_json_ != nullptr ? ledger::Bundle::from_json(*bundle_json_, alg_) : parse_text();
  if (!b) return fail(b.error().code == "bad_json" ? "json" : "format", "bundle", b.error().message);
  bundle_ = std::move(*b);
  report_.document = bundle_.document;
  report_.head_height = bundle_.head_height;
  report_.head_hash = bundle_.head_hash;
  report_.counts.entries = bundle_.entries.size();
  if (bundle_.genesis_hash != *ghash) {
    return fail("genesis", "bundle", "the bundle belongs to another network or genesis", *ghash, bundle_.genesis_hash);
  }
  if (bundle_.network != members_->network()) {
    return fail("genesis", "bundle", "the bundle names another network", members_->network(), bundle_.network);
  }
  documents_.insert(bundle_.documents.begin(), bundle_.documents.end());
  if (documents_.count(bundle_.document) == 0) {
    return fail("format", "bundle", "the document asked for is not among the bundle's documents", bundle_.document);
  }
  for (const auto& d : documents_) tracked_[contracts::keys::document(d)] = Tracked{};
  return true;
}

bool Verifier::check_order() {
  std::int64_t last = -1;
  for (const auto& b : bundle_.blocks) {
    if (b.header.height <= last) {
      return fail("order", "block " + std::to_string(b.header.height), "blocks must be in increasing height order");
    }
    last = b.header.height;
    Block blk;
    blk.b = &b;
    blk.hash = b.header.hash_hex(alg_);
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
  report_.log_size = head_->b->header.log_size;
  std::pair<std::int64_t, std::uint64_t> prev{-1, 0};
  for (const auto& e : bundle_.entries) {
    std::pair<std::int64_t, std::uint64_t> pos{e.height, e.index};
    if (prev.first >= 0 && !(prev < pos)) return fail("order", at(e), "entries must be in ledger order, each once");
    prev = pos;
    if (blocks_.count(e.height) == 0) return fail("order", at(e), "the entry's block is not in the bundle");
  }
  return true;
}

bool Verifier::entry(std::size_t i, const ledger::BundleEntry& e, const Block& blk) {
  const auto& h = blk.b->header;
  const std::string where = at(e);
  // The entry's whole read set: the values given, and the bundle documents' values from the replay so far. Every
  // read of a bundle document must be the state the bundle's earlier entries leave: an entry on the document that
  // is missing between two others is caught here.
  contracts::ReadSet reads = e.reads;
  const auto incomplete = [&](const std::string& key, const Tracked& t, const std::string& found) {
    return fail("history", where,
                "the entry read " + key + " as it was after an entry that is not in the bundle: the document's "
                "history is incomplete",
                t.value ? "value of hash " + crypto::hex(t.hash) : "absent", found);
  };
  for (const auto& [k, hash] : e.elided) {
    auto t = tracked_.find(k);
    if (t == tracked_.end()) return fail("format", where, "a read of " + k + " is elided but it is not a bundle document");
    if (!t->second.value || t->second.hash != hash) return incomplete(k, t->second, "value of hash " + crypto::hex(hash));
    reads.insert_or_assign(k, t->second.value);
    ++report_.counts.chained_reads;
  }
  for (const auto& [k, v] : e.reads) {
    auto t = tracked_.find(k);
    if (t == tracked_.end()) continue;
    if (t->second.value != v) return incomplete(k, t->second, short_value(v, alg_));
    ++report_.counts.chained_reads;
  }
  // The block certified the entry's id, outcome and reads at its position.
  if (e.index >= e.block_entries ||
      !crypto::verify_inclusion(alg_, ledger::result_leaf(alg_, e.result(alg_, reads)), e.index, e.block_entries,
                                e.result_proof, crypto::digest_from_hex(h.result_root).value())) {
    return fail("result_proof", where,
                "the entry, its outcome or its reads are not what its block certified (result_root)");
  }
  ++report_.counts.result_proofs;

  // Replay, as the node applied it (contracts::apply_block): signer, signature, then the contracts.
  contracts::Outcome outcome;
  auto key = contracts::resolve_signer(e.envelope, *members_);
  bool bad_sig = false;
  if (key) {
    // A key id is never reused, so a genesis key's check made ahead stands for the key in force now.
    const Pre& pre = ahead(i);
    bool valid = pre.sig == 1;
    if (pre.sig < 0) {
      auto pub = key_of(**key);
      valid = pub && pub->verify(e.envelope.canonical_tx, e.envelope.sig);
    }
    if (valid) {
      ++report_.counts.signatures;
    } else {
      bad_sig = true;
    }
  }
  if (bad_sig) {
    outcome = contracts::Outcome::rejected(e.envelope.id, contracts::reason::kBadSignature, "");
  } else {
    RecordedReads view(reads);
    const contracts::BlockContext ctx{e.height, h.time, static_cast<std::int64_t>(e.index)};
    Result<contracts::Outcome> applied = make_error("replay", "");
    try {
      applied = contracts::apply(e.envelope, ctx, view, *members_);
    } catch (const std::exception& ex) {
      return fail("replay", where, std::string("the contracts failed on the recorded reads: ") + ex.what());
    }
    if (!applied) return fail("replay", where, applied.error().message);
    outcome = std::move(*applied);
  }
  if (!key || bad_sig) ++report_.counts.signer_rejections;
  const auto status = [](bool accepted, const std::string& reason) {
    return accepted ? std::string("accepted") : "rejected (" + reason + ")";
  };
  if (outcome.accepted != e.accepted || outcome.reason != e.reason) {
    return fail(bad_sig && e.accepted ? "signature" : "replay", where,
                bad_sig && e.accepted ? "the signature does not verify with the signer's key in force at this height"
                                      : "replaying the contracts over the entry gives another outcome",
                status(e.accepted, e.reason), status(outcome.accepted, outcome.reason));
  }
  if (outcome.reads != reads) {
    return fail("replay", where, "the contracts read other keys than the entry's recorded reads");
  }
  ++report_.counts.replayed;

  if (!e.accepted) return true;
  // Accepted: in the head's log, a fresh nonce, and its writes carried forward.
  const auto& head = head_->b->header;
  if (!ahead(i).log_ok || *e.leaf >= h.log_size) {
    return fail("log_proof", where, "the entry is not in the log of the head (size " + std::to_string(head.log_size) + ")");
  }
  ++report_.counts.log_proofs;
  if (!nonces_.emplace(e.envelope.tx.signer, e.envelope.tx.nonce).second) {
    return fail("nonce", where, "the key " + e.envelope.tx.signer + " used nonce " + std::to_string(e.envelope.tx.nonce) +
                                    " twice");
  }
  ++report_.counts.nonces;
  // Every document an accepted entry changed is one of the bundle's, with its whole history: the node cannot
  // leave out a pledge or a proposal that an entry on the bundle's documents changed.
  for (const auto& d : outcome.documents) {
    if (documents_.count(d) == 0) {
      return fail("history", where, "the entry changed document " + d + ", which the bundle leaves out", d, "");
    }
  }
  if (outcome.membership_change && documents_.count(e.envelope.tx.doc) == 0) {
    return fail("history", where, "the entry changed the membership but its proposal " + e.envelope.tx.doc +
                                      " is not one of the bundle's documents");
  }
  for (const auto& [k, v] : outcome.writes) {
    if (auto t = tracked_.find(k); t != tracked_.end()) {
      t->second.value = v;
      if (v) t->second.hash = crypto::hash(alg_, *v);
    }
  }
  if (outcome.membership_change) {
    if (Status s = members_->apply(*outcome.membership_change); !s) return fail("replay", where, s.error().message);
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
  if (!tracked_.at(contracts::keys::document(bundle_.document)).value) {
    return fail("history", "bundle", "the bundle has no entry that created " + bundle_.document);
  }
  for (const auto& d : documents_) {
    const auto& v = tracked_.at(contracts::keys::document(d)).value;
    if (!v) continue;
    json doc = json::parse(*v, nullptr, false);
    std::vector<std::string> named;
    for (const char* field : {"collateral", "source_bill", "pledge"}) {
      if (doc.contains(field) && doc[field].is_string()) named.push_back(doc[field].get<std::string>());
    }
    if (doc.contains("pledges") && doc["pledges"].is_array()) {
      for (const auto& p : doc["pledges"]) {
        if (p.is_string()) named.push_back(p.get<std::string>());
      }
    }
    for (const auto& n : named) {
      if (documents_.count(n) == 0) {
        return fail("history", "bundle", d + " names " + n + ", which the bundle leaves out", n, "");
      }
    }
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
  if (!load() || !check_order()) return report_;
  precheck();
  struct Join {
    Verifier& v;
    ~Join() { v.stop_workers(); }
  } join{*this};
  std::size_t done = 0;
  std::size_t next = 0;
  for (auto& [height, blk] : blocks_) {
    blk.voters_before = voters();
    for (; next < bundle_.entries.size() && bundle_.entries[next].height == height; ++next) {
      if (!entry(next, bundle_.entries[next], blk)) return report_;
      if (progress_) progress_(++done, bundle_.entries.size());
    }
    if (!close_block(blk)) return report_;
  }
  if (!certify_chain() || !check_documents()) return report_;
  for (const auto& d : documents_) {
    const auto& v = tracked_.at(contracts::keys::document(d)).value;
    report_.documents[d] = v ? json::parse(*v, nullptr, false) : json(nullptr);
  }
  report_.ok = true;
  return report_;
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
              {"membership", counts.membership}}}};
  if (failure) {
    j["failure"] = {{"check", failure->check},       {"where", failure->where}, {"message", failure->message},
                    {"expected", failure->expected}, {"found", failure->found}};
  }
  if (ok) j["documents"] = documents;
  return j;
}

Report verify_bundle(std::string_view genesis_text, const json& bundle, const Progress& progress, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return Verifier(genesis_text, &bundle, {}, progress, threads).run();
}

Report verify_bundle_text(std::string_view genesis_text, std::string_view bundle, const Progress& progress,
                          unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  return Verifier(genesis_text, nullptr, bundle, progress, threads).run();
}

}  // namespace onebill::audit
