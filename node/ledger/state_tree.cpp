#include "node/ledger/state_tree.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "crypto/canonical_json.h"
#include "crypto/merkle.h"

namespace onebill::ledger {

std::string state_leaf_text(std::string_view doc, const std::optional<crypto::Digest>& value_hash) {
  // Document ids are plain ASCII ([A-Za-z0-9._:-], contracts/identifiers.h): their canonical JSON is the text as
  // is. Anything else goes through the canonical writer, so the leaf is canonical JSON whatever the key.
  const bool plain = std::all_of(doc.begin(), doc.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (plain) {
    std::string text;
    text.reserve(doc.size() + 100);
    text.append("{\"doc\":\"").append(doc).append("\",\"value\":");
    if (value_hash) {
      text.append("\"").append(crypto::hex(*value_hash)).append("\"}");
    } else {
      text.append("null}");
    }
    return text;
  }
  nlohmann::json j = {{"doc", std::string(doc)},
                      {"value", value_hash ? nlohmann::json(crypto::hex(*value_hash)) : nlohmann::json(nullptr)}};
  auto c = crypto::canonicalize(j);
  // Only a key that is not UTF-8 fails: every node and verifier get the same replacement text for it.
  return c ? *c : j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

crypto::Digest state_leaf(crypto::HashAlg alg, std::string_view doc, const std::optional<crypto::Digest>& value_hash) {
  return crypto::leaf_hash(alg, crypto::as_bytes(state_leaf_text(doc, value_hash)));
}

crypto::Digest state_leaf_of(crypto::HashAlg alg, std::string_view doc, std::string_view value) {
  return state_leaf(alg, doc, crypto::hash(alg, value));
}

Result<StateTreeChanges> state_tree_changes(crypto::HashAlg alg, const contracts::WriteSet& writes, std::uint64_t size,
                                            const StateIndexLookup& index_of) {
  StateTreeChanges out;
  out.size = size;
  const std::string_view prefix = contracts::keys::kDocument;
  // Keys are in byte order, and every doc/ key is in one contiguous range of them.
  for (auto it = writes.lower_bound(prefix); it != writes.end() && it->first.starts_with(prefix); ++it) {
    const std::string_view doc = std::string_view(it->first).substr(prefix.size());
    auto index = index_of(doc);
    if (!index) return index.error();
    std::uint64_t i = 0;
    if (index->has_value()) {
      i = **index;
      if (i >= size) return make_error("corrupt_state", "document " + std::string(doc) + " has leaf " +
                                                            std::to_string(i) + " in a tree of " + std::to_string(size));
    } else {
      if (!it->second) continue;  // deleting a document the tree never had: nothing to commit to
      i = out.size++;
      out.added.emplace_back(std::string(doc), i);
    }
    const auto& value = it->second;
    out.leaves[i] = state_leaf(alg, doc, value ? std::optional(crypto::hash(alg, *value)) : std::nullopt);
  }
  return out;
}

}  // namespace onebill::ledger
