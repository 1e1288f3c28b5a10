#include "node/ledger/history_check.h"

#include <random>

#include <nlohmann/json.hpp>

#include "contracts/envelope.h"
#include "contracts/state.h"
#include "crypto/canonical_json.h"
#include "crypto/merkle.h"
#include "node/ledger/format.h"
#include "node/ledger/top_level.h"
#include "node/store.h"

namespace onebill::node {

using nlohmann::json;

namespace {

constexpr std::size_t kBlockKeySize = 2 + 8;
constexpr std::size_t kEntryKeySize = 2 + key::kPositionSize;
constexpr std::size_t kLogNodeKeySize = 2 + 4 + 8;

std::uint32_t read_be32(std::string_view s) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[i]);
  return v;
}

// One result as both streams hash it: length-prefixed fields, in ledger order.
void hash_result(crypto::Hasher& h, std::int64_t height, std::uint64_t index, std::string_view id, bool accepted,
                 std::string_view reason) {
  h.update(key::be64(static_cast<std::uint64_t>(height))).update(key::be64(index));
  h.update(key::be32(static_cast<std::uint32_t>(id.size()))).update(id);
  h.update(static_cast<std::uint8_t>(accepted ? 1 : 0));
  h.update(key::be32(static_cast<std::uint32_t>(reason.size()))).update(reason);
}

std::string_view digest_view(const crypto::Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// The signer and nonce at the top level of a tx's canonical JSON (node/ledger/top_level.h); false when `t` is not
// such an object. Only a tx whose hash is the certified id counts, so whatever this reads from other bytes is
// refused with them.
bool scan_tx(std::string_view t, std::string_view& signer, std::int64_t& nonce) {
  bool have_signer = false, have_nonce = false;
  const bool scanned = each_top_level_member(t, [&](std::string_view k, std::string_view v) {
    if (k == "signer") {
      const auto s = plain_string_value(v);
      if (!s) return false;
      signer = *s;
      have_signer = true;
      return true;
    }
    if (k == "nonce") {
      if (v.empty() || v.size() > 16) return false;  // nonces are below 2^53
      std::int64_t n = 0;
      for (char c : v) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + (c - '0');
      }
      nonce = n;
      have_nonce = true;
    }
    return true;
  });
  return scanned && have_signer && have_nonce;
}

// An accepted entry record exactly as block apply writes it (node/ledger/ledger.cpp):
//   {"documents":[D],"envelope":{"sig":"S","tx":T},"height":H,"index":I,"leaf":L,"status":"accepted"}
// split into D's ids and T without building a JSON tree; false for any other bytes (which then take the general
// path).
bool split_accepted(std::string_view v, std::int64_t height, std::uint32_t index, std::uint64_t leaf,
                    std::vector<std::string_view>& documents, std::string_view& tx) {
  constexpr std::string_view kHead = "{\"documents\":[";
  constexpr std::string_view kEnvelope = "],\"envelope\":{\"sig\":\"";
  constexpr std::string_view kTx = "\",\"tx\":";
  const std::string tail = "},\"height\":" + std::to_string(height) + ",\"index\":" + std::to_string(index) +
                           ",\"leaf\":" + std::to_string(leaf) + ",\"status\":\"accepted\"}";
  if (!v.starts_with(kHead) || !v.ends_with(tail)) return false;
  const std::size_t docs_end = v.find(kEnvelope, kHead.size());
  if (docs_end == std::string_view::npos) return false;
  std::string_view docs = v.substr(kHead.size(), docs_end - kHead.size());
  documents.clear();
  while (!docs.empty()) {  // "id","id",...: ids have no '"', '\\' or ','
    const std::size_t close = docs.size() >= 2 && docs.front() == '"' ? docs.find('"', 1) : std::string_view::npos;
    if (close == std::string_view::npos) return false;
    const std::string_view id = docs.substr(1, close - 1);
    if (id.find('\\') != std::string_view::npos) return false;
    documents.push_back(id);
    docs.remove_prefix(close + 1);
    if (!docs.empty()) {
      if (docs.front() != ',') return false;
      docs.remove_prefix(1);
      if (docs.empty()) return false;
    }
  }
  const std::size_t sig_at = docs_end + kEnvelope.size();
  const std::size_t sig_end = v.find('"', sig_at);
  if (sig_end == std::string_view::npos || v.substr(sig_end).substr(0, kTx.size()) != kTx) return false;
  const std::size_t tx_at = sig_end + kTx.size();
  if (tx_at > v.size() - tail.size()) return false;
  tx = v.substr(tx_at, v.size() - tail.size() - tx_at);
  return true;
}

}  // namespace

void HistorySnapshotCheck::SetDigest::add(std::string_view a, std::string_view b, std::string_view c) {
  crypto::Hasher h(crypto::HashAlg::sha256);
  h.update(crypto::ByteView(key_.data(), key_.size()));
  for (std::string_view part : {a, b, c}) h.update(key::be32(static_cast<std::uint32_t>(part.size()))).update(part);
  const crypto::Digest d = h.finish();
  for (std::size_t i = 0; i < acc_.size(); ++i) acc_[i] ^= d[i];
  ++count_;
}

HistorySnapshotCheck::HistorySnapshotCheck(crypto::HashAlg alg, std::string genesis_hash, std::int64_t height,
                                           std::string header_hash, std::uint64_t log_size,
                                           std::int64_t certified_height, std::string certified_hash)
    : alg_(alg),
      genesis_hash_(std::move(genesis_hash)),
      height_(height),
      header_hash_(std::move(header_hash)),
      log_size_(log_size),
      certified_height_(certified_height),
      certified_hash_(std::move(certified_hash)) {
  std::random_device random;
  for (std::size_t i = 0; i < key_.size(); i += 4) {
    const auto r = random();
    for (std::size_t j = 0; j < 4; ++j) key_[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  last_hash_ = genesis_hash_;
}

void HistorySnapshotCheck::note(std::string what) {
  if (!error_) error_ = std::move(what);
}

void HistorySnapshotCheck::take(std::string_view k, std::string_view v) {
  if (error_) return;  // the first problem is the one reported
  if (k.size() < 2 || k[1] != '/') return;
  switch (k[0]) {
    case 'b':
      return take_block(k, v);
    case 'e':
      return take_entry(k, v);
    case 'h': {
      // h/{doc}/{position}: a document id has no '/'.
      if (k.size() < 2 + 2 + key::kPositionSize || k[k.size() - key::kPositionSize - 1] != '/') {
        return note("a document history record in the snapshot is malformed");
      }
      history_stored_.add(k.substr(2, k.size() - 2 - key::kPositionSize - 1), k.substr(k.size() - key::kPositionSize), v);
      return;
    }
    case 'm':
      return take_log_node(k, v);
    case 's':
      if (k.starts_with("s/") && k.substr(2).starts_with(contracts::keys::kNonce)) take_nonce(k, v);
      return;
    case 't':
      tx_index_stored_.add(k.substr(2), v);
      return;
    case 'w':
      if (k.size() != kEntryKeySize) return note("a read set record in the snapshot is malformed");
      read_positions_.update(k.substr(2));
      ++read_records_;
      return;
    default:
      return;
  }
}

void HistorySnapshotCheck::take_block(std::string_view k, std::string_view v) {
  if (k.size() != kBlockKeySize) return note("a block record key in the snapshot is malformed");
  const auto height = static_cast<std::int64_t>(key::read_be64(k.substr(2)));
  const std::string where = "the block record at height " + std::to_string(height);
  if (height != blocks_ + 1) {
    return note("the snapshot's block records are not every height from 1: " + std::to_string(height) + " follows " +
                std::to_string(blocks_));
  }
  auto rec = ledger::parse_block_record(v, alg_);
  if (!rec) return note(where + ": " + rec.error().message);
  auto& header = rec->header;
  if (header.height != height) return note(where + " is misplaced");
  if (header.prev != last_hash_) return note("the block at height " + std::to_string(height) + " does not link to the one before");
  if (height == certified_height_ && rec->hash != certified_hash_) {
    return note("the certified height's block hash differs from the manifest's certified hash");
  }
  std::vector<std::string> ids;
  const auto& results = rec->results;
  ids.reserve(results.size());
  for (const auto& e : results) {
    if (e.accepted) ++block_log_size_;
    hash_result(block_results_, height, e.index, e.id, e.accepted, e.reason);
    ids.push_back(e.id);
  }
  block_result_count_ += results.size();
  if (ledger::tx_root(alg_, ids) != header.tx_root) return note(where + ": its results do not give its tx_root");
  if (ledger::result_root(alg_, results) != header.result_root) {
    return note(where + ": its results do not give its result_root");
  }
  if (header.log_size != block_log_size_) return note(where + ": its accepted results do not give its log_size");
  blocks_ = height;
  last_hash_ = std::move(rec->hash);
  top_ = std::move(header);
}

void HistorySnapshotCheck::take_entry(std::string_view k, std::string_view v) {
  if (k.size() != kEntryKeySize) return note("an entry record key in the snapshot is malformed");
  const std::string_view position = k.substr(2);
  const auto height = static_cast<std::int64_t>(key::read_be64(position));
  const std::uint32_t index = read_be32(position.substr(8));
  // The fast path: an accepted record as block apply writes it, read without a JSON tree. Its tx is the certified
  // entry's only if it hashes to the id the block's results give (compared in finish()).
  std::string_view tx, signer;
  std::int64_t nonce = 0;
  if (split_accepted(v, height, index, leaves_, documents_, tx) && scan_tx(tx, signer, nonce)) {
    const std::string id = crypto::hex(crypto::hash(alg_, tx));
    return take_accepted(position, height, index, id, signer, nonce, documents_);
  }
  const std::string where = "the entry record at height " + std::to_string(height) + " index " + std::to_string(index);
  json rec = json::parse(v, nullptr, false);
  if (!rec.is_object() || !rec.contains("envelope") || !rec.contains("status") || !rec["status"].is_string() ||
      !rec.contains("height") || rec["height"] != height || !rec.contains("index") || rec["index"] != index ||
      !rec.contains("documents") || !rec["documents"].is_array()) {
    return note(where + " is malformed");
  }
  auto envelope = contracts::envelope_from_json(std::move(rec["envelope"]), alg_);
  if (!envelope) return note(where + " has a malformed envelope: " + envelope.error().message);
  documents_.clear();
  for (const json& doc : rec["documents"]) {
    if (!doc.is_string()) return note(where + " is malformed");
    documents_.push_back(doc.get_ref<const std::string&>());
  }
  if (rec["status"] == "accepted") {
    if (!rec.contains("leaf") || rec["leaf"] != leaves_) {
      return note(where + " is accepted but not the transparency log's leaf " + std::to_string(leaves_));
    }
    return take_accepted(position, height, index, envelope->id, envelope->tx.signer, envelope->tx.nonce, documents_);
  }
  if (rec["status"] != "rejected" || !rec.contains("reason") || !rec["reason"].is_string() || rec.contains("leaf")) {
    return note(where + " is malformed");
  }
  take_result(position, height, index, envelope->id, false, rec["reason"].get<std::string>(), documents_);
}

void HistorySnapshotCheck::take_accepted(std::string_view position, std::int64_t height, std::uint32_t index,
                                         const std::string& id, std::string_view signer, std::int64_t nonce,
                                         const std::vector<std::string_view>& documents) {
  add_leaf(ledger::log_leaf(alg_, id));
  auto window = windows_.find(signer);
  if (window == windows_.end()) window = windows_.emplace(std::string(signer), contracts::NonceWindow{}).first;
  if (window->second.check(nonce) != contracts::NonceWindow::Check::fresh) {
    return note("the entry record at height " + std::to_string(height) + " index " + std::to_string(index) +
                " is accepted with a nonce its key had used or left behind");
  }
  window->second.mark(nonce);
  take_result(position, height, index, id, true, "", documents);
}

void HistorySnapshotCheck::take_result(std::string_view position, std::int64_t height, std::uint32_t index,
                                       const std::string& id, bool accepted, std::string_view reason,
                                       const std::vector<std::string_view>& documents) {
  hash_result(entry_results_, height, index, id, accepted, reason);
  ++entry_count_;
  entry_positions_.update(position);
  tx_index_expected_.add(id, position);
  for (std::string_view doc : documents) history_expected_.add(doc, position, id);
}

void HistorySnapshotCheck::add_leaf(const crypto::Digest& leaf) {
  // As MerkleLog::append stores them: the leaf, then each subtree it completes.
  std::uint64_t i = leaves_++;
  std::uint32_t level = 0;
  crypto::Digest current = leaf;
  add_node(expected_nodes_, 0, i, current);
  while ((i & 1) == 1) {
    current = crypto::node_hash(alg_, pending_[level], current);
    ++level;
    i >>= 1;
    add_node(expected_nodes_, level, i, current);
  }
  if (pending_.size() <= level) pending_.resize(level + 1);
  pending_[level] = current;
}

void HistorySnapshotCheck::add_node(std::vector<Level>& levels, std::uint32_t level, std::uint64_t index,
                                   const crypto::Digest& d) {
  while (levels.size() <= level) levels.emplace_back();
  levels[level].hash.update(key::be64(index)).update(digest_view(d));
  ++levels[level].count;
}

void HistorySnapshotCheck::take_log_node(std::string_view k, std::string_view v) {
  if (k.size() != kLogNodeKeySize || v.size() != crypto::kDigestSize) {
    return note("a transparency log node in the snapshot is malformed");
  }
  const std::uint32_t level = read_be32(k.substr(2));
  if (level >= 64) return note("a transparency log node in the snapshot is malformed");
  crypto::Digest d{};
  std::copy(v.begin(), v.end(), d.begin());
  add_node(stored_nodes_, level, key::read_be64(k.substr(6)), d);
}

void HistorySnapshotCheck::take_nonce(std::string_view k, std::string_view v) {
  const std::string_view key_id = k.substr(2 + contracts::keys::kNonce.size());
  ++nonce_records_;
  const auto it = windows_.find(key_id);
  if (it == windows_.end()) {
    return note("the snapshot has a nonce window for " + std::string(key_id) + ", which signed no accepted entry");
  }
  if (it->second.canonical() != v) {
    return note("the snapshot's nonce window for " + std::string(key_id) + " is not what its accepted entries give");
  }
}

Status HistorySnapshotCheck::finish() {
  const auto bad = [](const std::string& what) { return make_error("bad_snapshot", what); };
  if (error_) return bad(*error_);
  if (blocks_ != height_) {
    return bad("the snapshot lacks the block at height " + std::to_string(blocks_ + 1) + " (its blocks end at " +
               std::to_string(blocks_) + " of " + std::to_string(height_) + ")");
  }
  if (last_hash_ != header_hash_) return bad("the last block's hash differs from x/applied");
  if (block_log_size_ != log_size_ || leaves_ != log_size_) {
    return bad("the snapshot's accepted entries are not its log of " + std::to_string(log_size_) + " leaves (" +
               std::to_string(leaves_) + " entry records accepted)");
  }
  if (entry_count_ != block_result_count_ || entry_results_.finish() != block_results_.finish()) {
    return bad("the snapshot's entry records are not its blocks' results (" + std::to_string(entry_count_) +
               " records, " + std::to_string(block_result_count_) + " results)");
  }
  bool nodes_match = expected_nodes_.size() == stored_nodes_.size();
  for (std::size_t l = 0; nodes_match && l < expected_nodes_.size(); ++l) {
    nodes_match = expected_nodes_[l].count == stored_nodes_[l].count &&
                  expected_nodes_[l].hash.finish() == stored_nodes_[l].hash.finish();
  }
  if (!nodes_match) return bad("the snapshot's transparency log nodes are not the tree of its accepted entries");
  // The log's root: the complete subtrees of the leaves, one per set bit of their count, folded from the smallest
  // (RFC 6962's MTH, as MerkleLog::root reads it).
  if (height_ > 0) {
    std::optional<crypto::Digest> root;
    for (std::uint32_t level = 0; level < pending_.size(); ++level) {
      if (((leaves_ >> level) & 1) == 0) continue;
      root = root ? crypto::node_hash(alg_, pending_[level], *root) : pending_[level];
    }
    if (crypto::hex(root ? *root : crypto::empty_root(alg_)) != top_.log_root) {
      return bad("the snapshot's Merkle log does not have the last block's log_root");
    }
  }
  if (nonce_records_ != windows_.size()) {
    return bad("the snapshot lacks the nonce window of " + std::to_string(windows_.size() - nonce_records_) +
               " key(s) that signed accepted entries");
  }
  if (!(tx_index_expected_ == tx_index_stored_)) {
    return bad("the snapshot's tx index (t/) is not its entry records' (" + std::to_string(tx_index_stored_.count()) +
               " records, " + std::to_string(tx_index_expected_.count()) + " entries)");
  }
  if (!(history_expected_ == history_stored_)) {
    return bad("the snapshot's document histories (h/) are not what its entry records call for (" +
               std::to_string(history_stored_.count()) + " records, " + std::to_string(history_expected_.count()) +
               " expected)");
  }
  if (read_records_ != entry_count_ || read_positions_.finish() != entry_positions_.finish()) {
    return bad("the snapshot's read set records are not one per entry record (" + std::to_string(read_records_) +
               " read sets, " + std::to_string(entry_count_) + " entries)");
  }
  return {};
}

}  // namespace onebill::node
