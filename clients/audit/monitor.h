// The tree-head monitor (Certificate-Transparency style): follows the certified heads several nodes report and
// checks that they all describe one append-only log — every new head is consistent with the largest one verified
// so far (RFC 6962 consistency proofs), and no two heads of the same size have different roots. A violation is a
// Fork, with both signed heads as evidence. No I/O here: the caller fetches heads and proofs (cmd_audit.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "crypto/result.h"

namespace onebill::audit {

struct Head {
  std::string node;  // where it came from (a URL)
  std::int64_t height = 0;
  std::uint64_t log_size = 0;
  std::string log_root;
  std::string header_hash;
  nlohmann::json raw;  // the head as the node sent it, attestations included: the evidence

  // From GET /v1/log/head: {height, header_hash, log_size, log_root, attestations}. Errors "bad_head".
  static Result<Head> from_json(const std::string& node, const nlohmann::json& j);
  nlohmann::json to_json() const;
};

struct Fork {
  // "two_roots": same size, different roots; "two_headers": same height, different certified headers;
  // "inconsistent": the consistency proof does not hold
  std::string kind;
  Head first;        // the head verified earlier
  Head second;       // the head that contradicts it
  std::string detail;
  nlohmann::json to_json() const;
};

class HeadTracker {
 public:
  explicit HeadTracker(crypto::HashAlg alg) : alg_(alg) {}

  // A consistency proof from `node` between two log sizes (GET /v1/log/consistency?from=&to=): the digests.
  using ProofFn = std::function<Result<std::vector<crypto::Digest>>(const std::string& node, std::uint64_t from,
                                                                    std::uint64_t to)>;

  // Checks `h` against what was verified before. A Fork is returned as a value; an Error means the check could
  // not be made (a proof could not be fetched or parsed) and `h` was not taken.
  Result<std::optional<Fork>> observe(const Head& h, const ProofFn& proof);

  const std::optional<Head>& frontier() const { return frontier_; }  // the largest verified head

  // State kept between runs (--state FILE): the frontier and the last heads seen per size (at most kKeep).
  static constexpr std::size_t kKeep = 4096;
  nlohmann::json to_json() const;
  static Result<HeadTracker> from_json(const nlohmann::json& j, crypto::HashAlg alg);

 private:
  crypto::HashAlg alg_;
  std::optional<Head> frontier_;
  std::map<std::uint64_t, Head> by_size_;
  std::map<std::int64_t, Head> by_height_;
};

}  // namespace onebill::audit
