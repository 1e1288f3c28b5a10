#include "clients/audit/monitor.h"

#include "crypto/merkle.h"

namespace onebill::audit {

using nlohmann::json;

Result<Head> Head::from_json(const std::string& node, const json& j) {
  if (!j.is_object() || !j.contains("height") || !j["height"].is_number_integer() || !j.contains("log_size") ||
      !j["log_size"].is_number_unsigned() || !j.contains("log_root") || !j["log_root"].is_string() ||
      !crypto::digest_from_hex(j["log_root"].get<std::string>()) || !j.contains("header_hash") ||
      !j["header_hash"].is_string()) {
    return make_error("bad_head", node + " answered a tree head without height, header_hash, log_size and log_root");
  }
  return Head{node, j["height"].get<std::int64_t>(), j["log_size"].get<std::uint64_t>(),
              j["log_root"].get<std::string>(), j["header_hash"].get<std::string>(), j};
}

json Head::to_json() const { return {{"node", node}, {"head", raw}}; }

json Fork::to_json() const {
  return {{"kind", kind}, {"detail", detail}, {"first", first.to_json()}, {"second", second.to_json()}};
}

Result<std::optional<Fork>> HeadTracker::observe(const Head& h, const ProofFn& proof) {
  if (h.log_size == 0) return std::optional<Fork>();  // an empty log is a prefix of every log
  if (auto same = by_size_.find(h.log_size); same != by_size_.end() && same->second.log_root != h.log_root) {
    return std::optional<Fork>(Fork{"two_roots", same->second, h,
                                    "two different logs of size " + std::to_string(h.log_size) + ": roots " +
                                        same->second.log_root + " (" + same->second.node + ") and " + h.log_root +
                                        " (" + h.node + ")"});
  }
  if (auto same = by_height_.find(h.height); same != by_height_.end() && same->second.header_hash != h.header_hash) {
    return std::optional<Fork>(Fork{"two_headers", same->second, h,
                                    "two different certified headers at height " + std::to_string(h.height) + ": " +
                                        same->second.header_hash + " (" + same->second.node + ") and " +
                                        h.header_hash + " (" + h.node + ")"});
  }
  if (frontier_ && h.log_size != frontier_->log_size && h.log_size > 0) {
    const bool ahead = h.log_size > frontier_->log_size;
    const Head& small = ahead ? *frontier_ : h;
    const Head& large = ahead ? h : *frontier_;
    // The proof comes from the node that reported the larger log; it is checked here, so that node need not be
    // trusted.
    auto path = proof(large.node, small.log_size, large.log_size);
    if (!path) return path.error();
    const auto small_root = crypto::digest_from_hex(small.log_root);
    const auto large_root = crypto::digest_from_hex(large.log_root);
    if (!crypto::verify_consistency(alg_, small.log_size, large.log_size, *small_root, *large_root, *path)) {
      return std::optional<Fork>(Fork{"inconsistent", *frontier_, h,
                                      "the log of size " + std::to_string(large.log_size) + " (" + large.node +
                                          ") does not extend the log of size " + std::to_string(small.log_size) +
                                          " (" + small.node + "): the consistency proof fails"});
    }
    if (ahead) frontier_ = h;
  } else if (!frontier_ || (h.log_size == frontier_->log_size && h.height > frontier_->height)) {
    frontier_ = h;
  }
  by_size_.emplace(h.log_size, h);
  by_height_.emplace(h.height, h);
  while (by_size_.size() > kKeep) by_size_.erase(by_size_.begin());
  while (by_height_.size() > kKeep) by_height_.erase(by_height_.begin());
  return std::optional<Fork>();
}

json HeadTracker::to_json() const {
  json heads = json::array();
  for (const auto& [size, h] : by_size_) heads.push_back(h.to_json());
  json out = {{"heads", heads}};
  if (frontier_) out["frontier"] = frontier_->to_json();
  return out;
}

Result<HeadTracker> HeadTracker::from_json(const json& j, crypto::HashAlg alg) {
  HeadTracker t(alg);
  auto head = [](const json& e) -> Result<Head> {
    if (!e.is_object() || !e.contains("node") || !e["node"].is_string() || !e.contains("head")) {
      return make_error("bad_state", "a head in the state file is not {node, head}");
    }
    return Head::from_json(e["node"].get<std::string>(), e["head"]);
  };
  if (!j.is_object() || !j.contains("heads") || !j["heads"].is_array()) {
    return make_error("bad_state", "the monitor's state file is not {heads, frontier?}");
  }
  for (const auto& e : j["heads"]) {
    auto h = head(e);
    if (!h) return h.error();
    t.by_height_.emplace(h->height, *h);
    t.by_size_.emplace(h->log_size, std::move(*h));
  }
  if (j.contains("frontier")) {
    auto h = head(j["frontier"]);
    if (!h) return h.error();
    t.frontier_ = std::move(*h);
  }
  return t;
}

}  // namespace onebill::audit
