#include "tests/support/bundle_builder.h"

#include <map>
#include <set>

#include "contracts/apply.h"
#include "contracts/membership.h"
#include "crypto/merkle.h"
#include "node/ledger/state_tree.h"

namespace onebill::testing {

Result<ledger::Bundle> certify_as_bundle(std::string_view genesis_text, std::span<const contracts::Envelope> entries,
                                         const crypto::PrivateKey& node_key, const std::string& node_id,
                                         const BundleOptions& options) {
  auto members = contracts::Membership::from_genesis(genesis_text);
  if (!members) return members.error();
  const auto alg = members->hash_alg();
  auto ghash = ledger::genesis_hash(genesis_text, alg);
  if (!ghash) return ghash.error();
  if (options.block_size == 0 || entries.empty()) return make_error("bad_options", "no entries or no block size");

  contracts::MemoryState state;
  crypto::MemoryMerkleStore log_nodes;
  crypto::MerkleLog log(alg, log_nodes);
  // The document state tree (node/ledger/state_tree.h), as a node's Ledger keeps it.
  crypto::MemoryMerkleStore state_nodes;
  std::map<std::string, std::uint64_t, std::less<>> state_index;
  std::uint64_t state_size = 0;
  const ledger::StateIndexLookup index_of = [&](std::string_view doc) -> Result<std::optional<std::uint64_t>> {
    auto it = state_index.find(doc);
    return it == state_index.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
  };
  ledger::Bundle bundle;
  bundle.network = members->network();
  bundle.genesis_hash = *ghash;
  std::set<std::string> documents;
  std::string prev = *ghash;
  std::int64_t height = 0;
  for (std::size_t start = 0; start < entries.size(); start += options.block_size) {
    const std::size_t count = std::min(options.block_size, entries.size() - start);
    const auto block = entries.subspan(start, count);
    ++height;
    const std::int64_t time = options.start_time_ms + height * 1000;
    auto result = contracts::apply_block(block, height, time, state, *members, nullptr);
    if (!result) return result.error();
    state.apply(result->writes);
    crypto::MemoryMerkleStore tx_nodes;
    crypto::MemoryMerkleStore result_nodes;
    crypto::MerkleLog tx_tree(alg, tx_nodes);
    crypto::MerkleLog result_tree(alg, result_nodes);
    for (std::size_t i = 0; i < count; ++i) {
      const auto& o = result->outcomes[i];
      ledger::BundleEntry e;
      e.height = height;
      e.index = i;
      e.block_entries = count;
      e.envelope = block[i];
      e.accepted = o.accepted;
      e.reason = o.reason;
      e.reads = o.reads;
      if (o.accepted) e.leaf = log.append(ledger::log_leaf(alg, block[i].id));
      tx_tree.append(ledger::log_leaf(alg, block[i].id));
      result_tree.append(ledger::result_leaf(alg, e.result(alg, e.reads)));
      documents.insert(o.documents.begin(), o.documents.end());
      bundle.entries.push_back(std::move(e));
    }
    ledger::BlockHeader h;
    h.height = height;
    h.prev = prev;
    h.time = time;
    h.tx_root = crypto::hex(*tx_tree.root());
    h.result_root = crypto::hex(*result_tree.root());
    h.log_size = log.size();
    auto log_root = log.root();
    auto mhash = members->hash();
    if (!log_root || !mhash) return make_error("internal", "log or membership hash");
    h.log_root = crypto::hex(*log_root);
    h.membership_hash = crypto::hex(*mhash);
    h.writes_hash = crypto::hex(contracts::digest_writes(alg, result->writes));
    auto changes = ledger::state_tree_changes(alg, result->writes, state_size, index_of);
    if (!changes) return changes.error();
    if (Status st = crypto::update_leaves(alg, state_nodes, state_size, changes->size, changes->leaves); !st) {
      return st.error();
    }
    state_size = changes->size;
    for (const auto& [doc, index] : changes->added) state_index.emplace(doc, index);
    auto state_root = crypto::MerkleLog(alg, state_nodes, state_size).root();
    if (!state_root) return state_root.error();
    h.state_size = state_size;
    h.state_root = crypto::hex(*state_root);
    prev = h.hash_hex(alg);
    auto att = ledger::attest(node_key, node_id, members->network(), height, prev);
    if (!att) return att.error();
    bundle.blocks.push_back(ledger::BundleBlock{h, {*att}});
    for (std::size_t i = 0; i < count; ++i) {
      bundle.entries[start + i].result_proof = *result_tree.inclusion_proof(i, count);
    }
  }
  for (auto& e : bundle.entries) {
    if (e.leaf) e.log_proof = *log.inclusion_proof(*e.leaf, log.size());
    if (!options.elide) continue;
    for (auto it = e.reads.begin(); it != e.reads.end();) {  // as node/bundle.cpp: the bundle's documents by hash
      const bool own = it->second && it->first.starts_with(contracts::keys::kDocument) &&
                       documents.count(it->first.substr(contracts::keys::kDocument.size())) != 0;
      if (own) {
        e.elided.emplace(it->first, crypto::hash(alg, *it->second));
        it = e.reads.erase(it);
      } else {
        ++it;
      }
    }
  }
  bundle.head_height = height;
  bundle.head_hash = prev;
  bundle.document = entries.front().tx.doc;
  bundle.documents.assign(documents.begin(), documents.end());
  const crypto::MerkleLog state_tree(alg, state_nodes, state_size);
  for (const auto& doc : bundle.documents) {
    auto it = state_index.find(doc);
    if (it == state_index.end()) continue;  // never created: no state to prove
    auto path = state_tree.inclusion_proof(it->second, state_size);
    if (!path) return path.error();
    bundle.state_proofs.emplace(doc, ledger::StateProof{it->second, state_size, std::move(*path)});
  }
  return bundle;
}

}  // namespace onebill::testing
