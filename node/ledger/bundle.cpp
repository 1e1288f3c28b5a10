#include "node/ledger/bundle.h"

#include <initializer_list>
#include <limits>

namespace onebill::ledger {
namespace {

using nlohmann::json;

Error bad(const std::string& where, const std::string& what) { return make_error("bad_bundle", where + ": " + what); }

// Refuses fields outside `allowed` and reports the first missing one of `required`.
Status closed(const json& j, const std::string& where, std::initializer_list<const char*> required,
              std::initializer_list<const char*> optional = {}) {
  if (!j.is_object()) return bad(where, "expected an object");
  for (const char* k : required) {
    if (!j.contains(k)) return bad(where, std::string("missing field \"") + k + "\"");
  }
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* a : required) known = known || k == a;
    for (const char* a : optional) known = known || k == a;
    if (!known) return bad(where, "unknown field \"" + k.substr(0, 64) + "\"");
  }
  return {};
}

Result<std::string> str(const json& j, const char* k, const std::string& where) {
  if (!j[k].is_string()) return bad(where + "." + k, "expected a string");
  return j[k].get<std::string>();
}

Result<std::int64_t> int64(const json& j, const char* k, const std::string& where) {
  const json& v = j[k];
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() >
                                                               static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) ||
      v.get<std::int64_t>() < 0) {
    return bad(where + "." + k, "expected a non-negative integer");
  }
  return v.get<std::int64_t>();
}

json digests_to_json(const std::vector<crypto::Digest>& ds) {
  json out = json::array();
  for (const auto& d : ds) out.push_back(crypto::hex(d));
  return out;
}

Result<std::vector<crypto::Digest>> digests(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() > 64) return bad(where, "expected an array of at most 64 digests");
  std::vector<crypto::Digest> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto d = crypto::digest_from_hex(j[i].is_string() ? j[i].get<std::string>() : std::string());
    if (!d) return bad(where + "[" + std::to_string(i) + "]", "expected a hex digest");
    out.push_back(*d);
  }
  return out;
}

Result<BundleBlock> block_from_json(const json& j, const std::string& where) {
  if (Status s = closed(j, where, {"header", "attestations"}); !s) return s.error();
  auto h = BlockHeader::from_json(j["header"]);
  if (!h) return bad(where + ".header", h.error().message);
  if (!j["attestations"].is_array()) return bad(where + ".attestations", "expected an array");
  BundleBlock b{*h, {}};
  for (std::size_t i = 0; i < j["attestations"].size(); ++i) {
    auto a = Attestation::from_json(j["attestations"][i]);
    if (!a) return bad(where + ".attestations[" + std::to_string(i) + "]", a.error().message);
    b.attestations.push_back(std::move(*a));
  }
  return b;
}

Result<BundleEntry> entry_from_json(const json& j, const std::string& where, crypto::HashAlg alg) {
  if (Status s = closed(j, where,
                        {"height", "index", "block_entries", "envelope", "status", "reads", "result_proof"},
                        {"reason", "leaf", "log_proof"});
      !s) {
    return s.error();
  }
  BundleEntry e;
  auto height = int64(j, "height", where);
  auto index = int64(j, "index", where);
  auto count = int64(j, "block_entries", where);
  if (!height) return height.error();
  if (!index) return index.error();
  if (!count) return count.error();
  e.height = *height;
  e.index = static_cast<std::uint64_t>(*index);
  e.block_entries = static_cast<std::uint64_t>(*count);
  auto env = contracts::envelope_from_json(j["envelope"], alg);
  if (!env) return bad(where + ".envelope", env.error().code + ": " + env.error().message);
  e.envelope = std::move(*env);
  auto status = str(j, "status", where);
  if (!status) return status.error();
  if (*status != "accepted" && *status != "rejected") return bad(where + ".status", "expected accepted or rejected");
  e.accepted = *status == "accepted";
  if (e.accepted == j.contains("reason")) {
    return bad(where + ".reason", e.accepted ? "an accepted entry has no reason" : "a rejected entry needs its reason");
  }
  if (!e.accepted) {
    auto reason = str(j, "reason", where);
    if (!reason) return reason.error();
    e.reason = *reason;
  }
  if (e.accepted != j.contains("leaf") || e.accepted != j.contains("log_proof")) {
    return bad(where, e.accepted ? "an accepted entry needs leaf and log_proof" : "a rejected entry is not in the log");
  }
  if (!j["reads"].is_object()) return bad(where + ".reads", "expected an object");
  for (const auto& [k, v] : j["reads"].items()) {
    if (v.is_null()) {
      e.reads.emplace(k, std::nullopt);
    } else if (v.is_string()) {
      e.reads.emplace(k, v.get<std::string>());
    } else if (v.is_object() && v.size() == 1 && v.contains("hash") && v["hash"].is_string() &&
               crypto::digest_from_hex(v["hash"].get<std::string>())) {
      e.elided.emplace(k, *crypto::digest_from_hex(v["hash"].get<std::string>()));
    } else {
      return bad(where + ".reads[\"" + k.substr(0, 80) + "\"]", "expected a string, null or {\"hash\"}");
    }
  }
  auto rp = digests(j["result_proof"], where + ".result_proof");
  if (!rp) return rp.error();
  e.result_proof = std::move(*rp);
  if (e.accepted) {
    auto leaf = int64(j, "leaf", where);
    if (!leaf) return leaf.error();
    e.leaf = static_cast<std::uint64_t>(*leaf);
    auto lp = digests(j["log_proof"], where + ".log_proof");
    if (!lp) return lp.error();
    e.log_proof = std::move(*lp);
  }
  return e;
}

Result<StateProof> state_proof_from_json(const json& j, const std::string& where) {
  if (Status s = closed(j, where, {"index", "size", "path"}); !s) return s.error();
  auto index = int64(j, "index", where);
  if (!index) return index.error();
  auto size = int64(j, "size", where);
  if (!size) return size.error();
  auto path = digests(j["path"], where + ".path");
  if (!path) return path.error();
  return StateProof{static_cast<std::uint64_t>(*index), static_cast<std::uint64_t>(*size), std::move(*path)};
}

json reads_json(const BundleEntry& e) {
  json j = reads_to_json(e.reads);
  for (const auto& [k, h] : e.elided) j[k] = {{"hash", crypto::hex(h)}};
  return j;
}

}  // namespace

Result<BundleEntry> BundleEntry::from_json(const json& j, const std::string& where, crypto::HashAlg alg) {
  return entry_from_json(j, where, alg);
}

EntryResult BundleEntry::result(crypto::HashAlg alg, const contracts::ReadSet& all_reads) const {
  return EntryResult{envelope.id, accepted, reason, reads_hash(alg, all_reads), index};
}

json Bundle::to_json() const {
  json jblocks = json::array();
  for (const auto& b : blocks) {
    json atts = json::array();
    for (const auto& a : b.attestations) atts.push_back(a.to_json());
    jblocks.push_back({{"header", b.header.to_json()}, {"attestations", std::move(atts)}});
  }
  json jentries = json::array();
  for (const auto& e : entries) {
    json j = {{"height", e.height},
              {"index", e.index},
              {"block_entries", e.block_entries},
              {"envelope", contracts::envelope_to_json(e.envelope)},
              {"status", e.accepted ? "accepted" : "rejected"},
              {"reads", reads_json(e)},
              {"result_proof", digests_to_json(e.result_proof)}};
    if (!e.accepted) j["reason"] = e.reason;
    if (e.leaf) {
      j["leaf"] = *e.leaf;
      j["log_proof"] = digests_to_json(e.log_proof);
    }
    jentries.push_back(std::move(j));
  }
  json proofs = json::object();
  for (const auto& [doc, p] : state_proofs) {
    proofs[doc] = {{"index", p.index}, {"size", p.size}, {"path", digests_to_json(p.path)}};
  }
  return {{"format", kBundleFormat},
          {"network", network},
          {"genesis_hash", genesis_hash},
          {"document", document},
          {"documents", documents},
          {"head", {{"height", head_height}, {"header_hash", head_hash}}},
          {"blocks", std::move(jblocks)},
          {"entries", std::move(jentries)},
          {"state_proofs", std::move(proofs)}};
}

Result<Bundle> Bundle::from_json(const json& j, crypto::HashAlg alg) {
  // The version first: a bundle of another version is named as such, not by the fields it lacks.
  if (j.is_object() && j.contains("format") && j["format"] != kBundleFormat) {
    return bad("bundle.format", "expected \"" + std::string(kBundleFormat) + "\" (this verifier reads that version)");
  }
  if (Status s = closed(j, "bundle", {"format", "network", "genesis_hash", "document", "documents", "head", "blocks",
                                      "entries", "state_proofs"});
      !s) {
    return s.error();
  }
  Bundle b;
  for (auto [field, out] : {std::pair{"network", &b.network}, std::pair{"genesis_hash", &b.genesis_hash},
                            std::pair{"document", &b.document}}) {
    auto v = str(j, field, "bundle");
    if (!v) return v.error();
    *out = *v;
  }
  if (!j["documents"].is_array()) return bad("bundle.documents", "expected an array of document ids");
  for (const auto& d : j["documents"]) {
    if (!d.is_string()) return bad("bundle.documents", "expected an array of document ids");
    b.documents.push_back(d.get<std::string>());
  }
  const json& head = j["head"];
  if (Status s = closed(head, "bundle.head", {"height", "header_hash"}); !s) return s.error();
  auto hh = int64(head, "height", "bundle.head");
  if (!hh) return hh.error();
  b.head_height = *hh;
  auto hash = str(head, "header_hash", "bundle.head");
  if (!hash) return hash.error();
  b.head_hash = *hash;
  if (!j["blocks"].is_array()) return bad("bundle.blocks", "expected an array");
  for (std::size_t i = 0; i < j["blocks"].size(); ++i) {
    auto blk = block_from_json(j["blocks"][i], "bundle.blocks[" + std::to_string(i) + "]");
    if (!blk) return blk.error();
    b.blocks.push_back(std::move(*blk));
  }
  if (!j["state_proofs"].is_object()) return bad("bundle.state_proofs", "expected an object: document -> proof");
  for (const auto& [doc, p] : j["state_proofs"].items()) {
    auto proof = state_proof_from_json(p, "bundle.state_proofs[\"" + doc.substr(0, 80) + "\"]");
    if (!proof) return proof.error();
    b.state_proofs.emplace(doc, std::move(*proof));
  }
  if (!j["entries"].is_array()) return bad("bundle.entries", "expected an array");
  for (std::size_t i = 0; i < j["entries"].size(); ++i) {
    auto e = entry_from_json(j["entries"][i], "bundle.entries[" + std::to_string(i) + "]", alg);
    if (!e) return e.error();
    b.entries.push_back(std::move(*e));
  }
  return b;
}

}  // namespace onebill::ledger
