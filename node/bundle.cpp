#include "node/bundle.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "contracts/state.h"
#include "crypto/merkle.h"
#include "node/ledger/state_store.h"

namespace onebill::node {
namespace {

using nlohmann::json;

Error corrupt(const std::string& what) { return make_error("corrupt_state", what); }

Result<json> as_json(Result<std::optional<std::string>> raw, const std::string& what) {
  if (!raw) return raw.error();
  if (!raw->has_value()) return corrupt("missing " + what);
  json j = json::parse(**raw, nullptr, false);
  if (j.is_discarded()) return corrupt("unreadable " + what);
  return j;
}

Result<json> get_json(const Store& store, const std::string& k, const leveldb::Snapshot* snap) {
  return as_json(store.get(k, snap), k);
}

// One block's record, with its Merkle leaves for the entry proofs.
struct BlockInfo {
  ledger::BlockHeader header;
  std::string hash;
  std::vector<std::string> ids;
  std::vector<crypto::Digest> result_leaves;
};

class Builder {
 public:
  explicit Builder(const BundleSource& src) : src_(src) {}

  Result<ledger::Bundle> build(const std::string& doc);

 private:
  Result<const BlockInfo*> block(std::int64_t h);
  Result<std::vector<ledger::Attestation>> attestations(const BlockInfo& b);
  Status add_document_history(const std::string& doc, std::deque<std::string>& queue);
  Status link(const std::string& doc, std::deque<std::string>& queue);
  void want(const std::string& doc, std::deque<std::string>& queue);
  Status add_membership_changes(std::deque<std::string>& queue);
  Result<ledger::BundleEntry> entry(const std::string& id, const json& rec);

  const BundleSource& src_;
  std::map<std::int64_t, BlockInfo> blocks_;
  std::set<std::string> documents_;
  // The entries of the bundle: tx id -> its record (t/{id}), read and parsed once.
  std::map<std::string, json> records_;
  Result<const json*> record(const std::string& id);
};

Result<const json*> Builder::record(const std::string& id) {
  if (auto it = records_.find(id); it != records_.end()) return &it->second;
  auto rec = as_json(src_.store.entry_record(id, src_.snapshot), "the record of entry " + id);
  if (!rec) return rec.error();
  return &records_.emplace(id, std::move(*rec)).first->second;
}

Result<const BlockInfo*> Builder::block(std::int64_t h) {
  if (auto it = blocks_.find(h); it != blocks_.end()) return &it->second;
  auto raw = src_.store.get(key::block(static_cast<std::uint64_t>(h)), src_.snapshot);
  if (!raw) return raw.error();
  if (!raw->has_value()) return corrupt("block " + std::to_string(h) + " has no record");
  auto rec = ledger::parse_block_record(**raw, src_.alg);
  if (!rec) return corrupt("block " + std::to_string(h) + ": " + rec.error().message);
  BlockInfo b{std::move(rec->header), std::move(rec->hash), {}, {}};
  b.ids.reserve(rec->results.size());
  b.result_leaves.reserve(rec->results.size());
  for (const auto& res : rec->results) {
    b.ids.push_back(res.id);
    b.result_leaves.push_back(ledger::result_leaf(src_.alg, res));
  }
  return &blocks_.emplace(h, std::move(b)).first->second;
}

Result<std::vector<ledger::Attestation>> Builder::attestations(const BlockInfo& b) {
  if (b.header.height == src_.head_height) return src_.head_attestations;
  std::vector<ledger::Attestation> out;
  Status scan_status;
  Status s = src_.store.scan(key::attestation_prefix(static_cast<std::uint64_t>(b.header.height)), "", SIZE_MAX,
                             [&](std::string_view, std::string_view v) {
                               auto a = ledger::Attestation::from_json(json::parse(v, nullptr, false));
                               if (a && a->header_hash == b.hash) out.push_back(std::move(*a));
                               return true;
                             },
                             src_.snapshot);
  if (!s) return s.error();
  return out;
}

void Builder::want(const std::string& doc, std::deque<std::string>& queue) {
  if (documents_.insert(doc).second) queue.push_back(doc);
}

Status Builder::add_document_history(const std::string& doc, std::deque<std::string>& queue) {
  Status inner;
  Status s = src_.store.scan(key::history_prefix(doc), "", SIZE_MAX, [&](std::string_view k, std::string_view id) {
    const auto height = static_cast<std::int64_t>(key::read_be64(k.substr(key::history_prefix(doc).size())));
    if (height > src_.head_height) return false;  // history is in ledger order: the rest is after the head
    auto rec = record(std::string(id));
    if (!rec) {
      inner = rec.error();
      return false;
    }
    for (const auto& d : (**rec)["documents"]) want(d.get<std::string>(), queue);
    return true;
  }, src_.snapshot);
  if (!s) return s;
  return inner;
}

// Documents named in a document's state: a pledge's collateral, a bill's or receipt's pledges, a receipt's source.
Status Builder::link(const std::string& doc, std::deque<std::string>& queue) {
  auto raw = src_.store.get_state(contracts::keys::document(doc), src_.snapshot);
  if (!raw) return raw.error();
  if (!raw->has_value()) return {};
  json j = json::parse(**raw, nullptr, false);
  for (const char* field : {"collateral", "source_bill", "pledge"}) {
    if (j.contains(field) && j[field].is_string()) want(j[field].get<std::string>(), queue);
  }
  if (j.contains("pledges") && j["pledges"].is_array()) {
    for (const auto& p : j["pledges"]) {
      if (p.is_string()) want(p.get<std::string>(), queue);
    }
  }
  return {};
}

// Every entry that changed the membership up to the head (gov/change/{height}/{index} in state), and the proposal
// it executed — a document of the bundle, with its whole history, so a verifier replays its approvals too.
Status Builder::add_membership_changes(std::deque<std::string>& queue) {
  std::vector<std::pair<std::int64_t, std::size_t>> at;
  const std::string prefix = key::state(contracts::keys::kMembershipChange);
  bool malformed = false;
  Status s = src_.store.scan(prefix, "", SIZE_MAX, [&](std::string_view k, std::string_view) {
    // {prefix}{height:012}/{index:06}
    const std::string_view tail = k.substr(prefix.size());
    const auto slash = tail.find('/');
    std::int64_t h = 0;
    std::size_t i = 0;
    const auto digits = [](std::string_view d) {
      return !d.empty() && d.size() <= 18 && d.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (slash == std::string_view::npos || !digits(tail.substr(0, slash)) || !digits(tail.substr(slash + 1))) {
      malformed = true;
      return false;
    }
    h = std::stoll(std::string(tail.substr(0, slash)));
    i = static_cast<std::size_t>(std::stoull(std::string(tail.substr(slash + 1))));
    at.emplace_back(h, i);
    return true;
  }, src_.snapshot);
  if (!s) return s;
  if (malformed) return corrupt("a membership change key is malformed");
  for (const auto& [h, i] : at) {
    if (h > src_.head_height) break;
    auto b = block(h);
    if (!b) return b.error();
    if (i >= (*b)->ids.size()) return corrupt("membership change at " + std::to_string(h) + "/" + std::to_string(i));
    auto rec = record((*b)->ids[i]);
    if (!rec) return rec.error();
    const json& doc = (**rec)["envelope"]["tx"]["doc"];
    if (doc.is_string()) want(doc.get<std::string>(), queue);
  }
  return {};
}

Result<ledger::BundleEntry> Builder::entry(const std::string& id, const json& rec) {
  ledger::BundleEntry e;
  e.height = rec["height"].get<std::int64_t>();
  e.index = rec["index"].get<std::uint64_t>();
  auto env = contracts::envelope_from_json(rec["envelope"], src_.alg);
  if (!env) return corrupt("entry " + id + ": " + env.error().message);
  e.envelope = std::move(*env);
  e.accepted = rec["status"] == "accepted";
  if (!e.accepted) e.reason = rec.value("reason", "");
  auto reads = src_.store.entry_reads(id, src_.snapshot);
  if (!reads) return reads.error();
  if (!reads->has_value()) return corrupt("missing the reads of entry " + id);
  auto rs = ledger::reads_from_json(**reads);
  if (!rs) return corrupt("the reads of entry " + id + ": " + rs.error().message);
  // The bundle's own documents: the verifier has their values from its replay, so only their hash goes here.
  for (auto& [k, v] : *rs) {
    if (src_.elide && v && k.starts_with(contracts::keys::kDocument) &&
        documents_.count(k.substr(contracts::keys::kDocument.size())) != 0) {
      e.elided.emplace(k, crypto::hash(src_.alg, *v));
    } else {
      e.reads.emplace(k, std::move(v));
    }
  }
  auto b = block(e.height);
  if (!b) return b.error();
  e.block_entries = (*b)->ids.size();
  auto rp = crypto::inclusion_proof(src_.alg, (*b)->result_leaves, e.index);
  if (!rp) return corrupt("block " + std::to_string(e.height) + " has no entry " + std::to_string(e.index));
  e.result_proof = std::move(*rp);
  if (e.accepted) {
    e.leaf = rec["leaf"].get<std::uint64_t>();
    StoreMerkleNodes nodes(src_.store, src_.snapshot);
    const std::uint64_t size = blocks_.at(src_.head_height).header.log_size;
    crypto::MerkleLog log(src_.alg, nodes, size);
    auto path = log.inclusion_proof(*e.leaf, size);
    if (!path) return path.error();
    e.log_proof = std::move(*path);
  }
  return e;
}

Result<ledger::Bundle> Builder::build(const std::string& doc) {
  auto head = block(src_.head_height);
  if (!head) return head.error();
  if ((*head)->hash != src_.head_hash) return corrupt("the certified head is not the block this node stored");

  std::deque<std::string> queue;
  want(doc, queue);
  if (Status s = add_membership_changes(queue); !s) return s.error();
  while (!queue.empty()) {
    if (documents_.size() > kMaxBundleDocuments) {
      return make_error("bundle_too_large", doc + " is linked to more than " + std::to_string(kMaxBundleDocuments) +
                                                " documents");
    }
    std::string d = queue.front();
    queue.pop_front();
    if (Status s = add_document_history(d, queue); !s) return s.error();
    if (Status s = link(d, queue); !s) return s.error();
  }
  // A document with no entry at or below the head (created after it, or never) is not part of the bundle.
  for (auto it = documents_.begin(); it != documents_.end();) {
    bool any = false;
    (void)src_.store.scan(key::history_prefix(*it), "", 1, [&](std::string_view k, std::string_view) {
      any = static_cast<std::int64_t>(key::read_be64(k.substr(key::history_prefix(*it).size()))) <= src_.head_height;
      return false;
    }, src_.snapshot);
    it = any ? std::next(it) : documents_.erase(it);
  }
  if (documents_.count(doc) == 0) {
    return make_error("not_found", "document " + doc + " has no entry in the certified ledger yet");
  }
  if (records_.size() > kMaxBundleEntries) {
    return make_error("bundle_too_large", doc + " and the documents linked to it have more than " +
                                              std::to_string(kMaxBundleEntries) + " entries");
  }

  ledger::Bundle out;
  out.network = src_.network;
  out.genesis_hash = src_.genesis_hash;
  out.document = doc;
  out.documents.assign(documents_.begin(), documents_.end());
  out.head_height = src_.head_height;
  out.head_hash = src_.head_hash;
  for (const auto& [id, rec] : records_) {
    auto e = entry(id, rec);
    if (!e) return e.error();
    out.entries.push_back(std::move(*e));
  }
  std::sort(out.entries.begin(), out.entries.end(), [](const auto& a, const auto& b) {
    return std::pair(a.height, a.index) < std::pair(b.height, b.index);
  });

  // Each document's state at the head, proved against its state_root (from the same snapshot as the rest).
  auto applied = get_json(src_.store, std::string(key::kApplied), src_.snapshot);
  if (!applied) return applied.error();
  const auto applied_height = applied->value("height", std::int64_t{0});
  StateTreeAt tree(src_.store, src_.snapshot, src_.head_height);
  for (const auto& d : out.documents) {
    auto proof = state_proof_at(src_.store, src_.snapshot, src_.alg, d, src_.head_height, (*head)->header.state_size,
                                applied_height, &tree);
    if (!proof) return proof.error();
    if (*proof) out.state_proofs.emplace(d, std::move(**proof));
  }

  // Headers: each entry's block, certified on its own or linked by prev hashes to the next block that is.
  std::set<std::int64_t> heights{src_.head_height};
  for (const auto& e : out.entries) heights.insert(e.height);
  std::set<std::int64_t> included;
  for (std::int64_t h : heights) {
    for (std::int64_t k = h; k <= src_.head_height && included.insert(k).second; ++k) {
      auto b = block(k);
      if (!b) return b.error();
      auto atts = attestations(**b);
      if (!atts) return atts.error();
      const bool certified = atts->size() >= src_.quorum;
      out.blocks.push_back(ledger::BundleBlock{(*b)->header, std::move(*atts)});
      if (certified) break;
    }
  }
  std::sort(out.blocks.begin(), out.blocks.end(),
            [](const auto& a, const auto& b) { return a.header.height < b.header.height; });
  return out;
}

}  // namespace

Result<ledger::Bundle> build_bundle(const BundleSource& src, const std::string& doc) { return Builder(src).build(doc); }

}  // namespace onebill::node
