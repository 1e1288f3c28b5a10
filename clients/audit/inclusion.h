// Merkle inclusion proofs checked as crypto::verify_inclusion checks them (RFC 9162 §2.1.3.2), remembering the
// last proof that held in the same tree: a proof whose path meets that one — the same node, with the same hash, and
// the same siblings from there to the root — holds without hashing the rest of its path. The answer is the one
// crypto::verify_inclusion gives: from the meeting point on, the computation would be the same, on the same inputs.
//
// Neighbouring leaves share most of their path (an audit bundle's entries are mostly consecutive in the log and in
// their block), so this saves most of the hashing. Internal to the verifier; one per thread (not thread-safe).
//
// Also the result leaf of an entry, written without building its JSON.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crypto/canonical_json.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "node/ledger/bundle.h"
#include "node/ledger/format.h"

namespace onebill::audit {

class InclusionMemo {
 public:
  bool verify(crypto::HashAlg alg, const crypto::Digest& leaf, std::uint64_t index, std::uint64_t size,
              std::span<const crypto::Digest> proof, const crypto::Digest& root) {
    if (index >= size) return false;
    const bool same_tree = !steps_.empty() && size == size_ && root == root_ && alg == alg_;
    std::uint64_t fn = index;
    std::uint64_t sn = size - 1;
    crypto::Digest r = leaf;
    path_.clear();
    std::size_t m = 0;  // the first remembered step whose node is not below this one
    for (std::size_t k = 0; k < proof.size(); ++k) {
      if (same_tree) {
        while (m < steps_.size() && steps_[m].sn > sn) ++m;
        if (m < steps_.size() && steps_[m].sn == sn && steps_[m].fn == fn && steps_[m].r == r &&
            proof.size() - k == proof_.size() - m && std::equal(proof.begin() + static_cast<std::ptrdiff_t>(k), proof.end(),
                                                                proof_.begin() + static_cast<std::ptrdiff_t>(m))) {
          // The rest is the remembered computation: it held. Remember this path (its start, then the old one's rest).
          path_.insert(path_.end(), steps_.begin() + static_cast<std::ptrdiff_t>(m), steps_.end());
          steps_.swap(path_);
          proof_.assign(proof.begin(), proof.end());
          return true;
        }
      }
      path_.push_back(Step{fn, sn, r});
      if (sn == 0) return false;
      const crypto::Digest& p = proof[k];
      if ((fn & 1) == 1 || fn == sn) {
        r = crypto::node_hash(alg, p, r);
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      } else {
        r = crypto::node_hash(alg, r, p);
      }
      fn >>= 1;
      sn >>= 1;
    }
    if (sn != 0 || r != root) return false;
    steps_.swap(path_);
    proof_.assign(proof.begin(), proof.end());
    size_ = size;
    root_ = root;
    alg_ = alg;
    return true;
  }

 private:
  struct Step {  // the state before hashing with the proof's next sibling
    std::uint64_t fn;
    std::uint64_t sn;
    crypto::Digest r;
  };
  std::vector<Step> steps_;  // of the last proof that held, in order (sn decreasing)
  std::vector<crypto::Digest> proof_;
  std::uint64_t size_ = 0;
  crypto::Digest root_{};
  crypto::HashAlg alg_{};
  std::vector<Step> path_;  // scratch
};

// The leaf of entry `e`'s result in its block's result_root, given its read set (docs/formats/block.md §3).
inline crypto::Digest result_leaf(crypto::HashAlg alg, const ledger::BundleEntry& e, const contracts::ReadSet& reads) {
  return ledger::result_leaf(alg, e.result(alg, reads));
}

}  // namespace onebill::audit
