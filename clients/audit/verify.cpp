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

struct Block {
  const ledger::BundleBlock* b = nullptr;
  std::string hash;
  bool certified = false;  // by its own attestations
  std::size_t valid_attestations = 0;
  std::size_t quorum = 0;
};

class Verifier {
 public:
  Verifier(std::string_view genesis_text, const json& bundle_json, const Progress& progress, unsigned threads)
      : genesis_text_(genesis_text), bundle_json_(bundle_json), progress_(progress), threads_(std::max(1u, threads)) {}

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
  bool certify_chain();
  std::shared_ptr<crypto::PublicKey> key_of(const contracts::Key& k);

  std::string_view genesis_text_;
  const json& bundle_json_;
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
  };
  std::vector<Pre> pre_;
  void precheck();
  std::set<std::pair<std::string, std::int64_t>> nonces_;
  std::map<std::string, std::shared_ptr<crypto::PublicKey>> keys_;
};

void Verifier::precheck() {
  pre_.assign(bundle_.entries.size(), Pre{});
  // Genesis keys of the signers, parsed once, before the threads start (the map is read-only after).
  std::vector<std::shared_ptr<crypto::PublicKey>> keys(bundle_.entries.size());
  for (std::size_t i = 0; i < bundle_.entries.size(); ++i) {
    if (const contracts::Key* k = members_->key(bundle_.entries[i].envelope.tx.signer)) keys[i] = key_of(*k);
  }
  const auto& head = head_->b->header;
  const auto head_root = crypto::digest_from_hex(head.log_root).value();
  std::atomic<std::size_t> cursor{0};
  constexpr std::size_t kChunk = 64;
  const auto work = [&] {
    for (std::size_t start; (start = cursor.fetch_add(kChunk)) < pre_.size();) {
      for (std::size_t i = start; i < std::min(start + kChunk, pre_.size()); ++i) {
        const auto& e = bundle_.entries[i];
        if (keys[i]) pre_[i].sig = keys[i]->verify(e.envelope.canonical_tx, e.envelope.sig) ? 1 : 0;
        pre_[i].log_ok = e.accepted && e.leaf && *e.leaf < head.log_size &&
                         crypto::verify_inclusion(alg_, ledger::log_leaf(alg_, e.envelope.id), *e.leaf, head.log_size,
                                                  e.log_proof, head_root);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads_; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
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

bool Verifier::load() {
  auto m = contracts::Membership::from_genesis(genesis_text_);
  if (!m) return fail("genesis", "genesis", "the genesis file does not load: " + m.error().code + ": " + m.error().message);
  members_ = std::move(*m);
  alg_ = members_->hash_alg();
  report_.network = members_->network();
  auto ghash = ledger::genesis_hash(genesis_text_, alg_);
  if (!ghash) return fail("genesis", "genesis", ghash.error().message);
  auto b = ledger::Bundle::from_json(bundle_json_, alg_);
  if (!b) return fail("format", "bundle", b.error().message);
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
    blocks_[b.header.height] = Block{&b, b.header.hash_hex(alg_), false, 0, 0};
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
    bool valid = pre_[i].sig == 1;
    if (pre_[i].sig < 0) {
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
    auto applied = contracts::apply(e.envelope, ctx, view, *members_);
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
  if (!pre_[i].log_ok) {
    return fail("log_proof", where, "the entry is not in the log of the head (size " + std::to_string(head.log_size) + ")");
  }
  ++report_.counts.log_proofs;
  if (!nonces_.emplace(e.envelope.tx.signer, e.envelope.tx.nonce).second) {
    return fail("nonce", where, "the key " + e.envelope.tx.signer + " used nonce " + std::to_string(e.envelope.tx.nonce) +
                                    " twice");
  }
  ++report_.counts.nonces;
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
  std::size_t voters = 0;
  for (const auto& [id, n] : members_->nodes()) voters += n.voter ? 1 : 0;
  blk.quorum = voters / 2 + 1;
  std::set<std::string> seen;
  for (const auto& a : blk.b->attestations) {
    if (a.height != h.height || a.header_hash != blk.hash || !seen.insert(a.node).second) continue;
    const contracts::Node* n = members_->node(a.node);
    if (n == nullptr || !n->voter) continue;
    auto pub = crypto::PublicKey::from_pem_any(n->tls_pub);
    if (!pub || !ledger::verify_attestation(*pub, bundle_.network, a)) continue;
    ++blk.valid_attestations;
  }
  report_.counts.attestations += blk.valid_attestations;
  blk.certified = blk.valid_attestations >= blk.quorum;
  ++report_.counts.blocks;
  return true;
}

// Each header is certified by its own quorum, or by a later certified header whose prev links down to it.
bool Verifier::certify_chain() {
  const Block* above = nullptr;
  bool above_ok = false;
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) {
    Block& blk = it->second;
    const bool linked = above != nullptr && above_ok && above->b->header.height == blk.b->header.height + 1 &&
                        above->b->header.prev == blk.hash;
    if (blk.certified) {
      ++report_.counts.certified;
    } else if (linked) {
      ++report_.counts.linked;
    } else {
      return fail("certificate", "block " + std::to_string(blk.b->header.height),
                  "the header is not certified: too few valid attestations by voting nodes and no certified header "
                  "after it links to it",
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
  std::size_t done = 0;
  std::size_t next = 0;
  for (auto& [height, blk] : blocks_) {
    for (; next < bundle_.entries.size() && bundle_.entries[next].height == height; ++next) {
      if (!entry(next, bundle_.entries[next], blk)) return report_;
      if (progress_) progress_(++done, bundle_.entries.size());
    }
    if (!close_block(blk)) return report_;
  }
  if (!certify_chain()) return report_;
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
  return Verifier(genesis_text, bundle, progress, threads).run();
}

}  // namespace onebill::audit
