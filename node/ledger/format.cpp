#include "node/ledger/format.h"

#include <algorithm>

#include "crypto/canonical_json.h"
#include "crypto/merkle.h"

namespace onebill::ledger {
namespace {

using nlohmann::json;

Error bad_block(const std::string& what) { return make_error("bad_block", what); }

// The JSON below is built only from checked values, so canonicalize cannot fail; if it ever did, an empty
// string makes every hash differ loudly rather than silently agree.
std::string canonical_or_empty(const json& j) {
  auto c = crypto::canonicalize(j, crypto::JsonLimits{kMaxBlockBytes, kMaxBlockDepth});
  return c ? *c : std::string();
}

bool is_hex_digest(const json& j) { return j.is_string() && crypto::digest_from_hex(j.get<std::string>()).ok(); }

}  // namespace

namespace {

constexpr std::string_view kBlockMagic = "OBP1";

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads a big-endian unsigned integer of `bytes` bytes off the front of `in`; false if `in` is too short.
bool take_be(std::string_view& in, int bytes, std::uint64_t& v) {
  if (in.size() < static_cast<std::size_t>(bytes)) return false;
  v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  in.remove_prefix(static_cast<std::size_t>(bytes));
  return true;
}

bool take_bytes(std::string_view& in, std::uint64_t n, std::string_view& out) {
  if (in.size() < n) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

// u32be(count) ‖ the entries, after what `out` holds (room reserved for all of it at once).
void append_entries(std::string& out, const std::vector<contracts::Envelope>& entries) {
  std::size_t size = out.size() + 4;
  for (const auto& e : entries) size += 6 + e.canonical_tx.size() + e.sig.size();
  out.reserve(size);
  put_be(out, entries.size(), 4);
  for (const auto& e : entries) append_entry(out, e);
}

}  // namespace

void append_entry(std::string& out, const contracts::Envelope& e) {
  put_be(out, e.canonical_tx.size(), 4);
  out += e.canonical_tx;
  put_be(out, e.sig.size(), 2);
  out.append(e.sig.begin(), e.sig.end());
}

Result<std::vector<SignedEntryView>> split_entries(std::string_view& in, std::uint32_t count) {
  auto bad = [](std::uint32_t i, const char* what) {
    return make_error("bad_entries", "entries[" + std::to_string(i) + "]: " + what);
  };
  std::vector<SignedEntryView> out;
  out.reserve(std::min<std::size_t>(count, in.size() / 6));  // each entry takes at least 6 bytes
  for (std::uint32_t i = 0; i < count; ++i) {
    SignedEntryView v;
    std::uint64_t n = 0;
    if (!take_be(in, 4, n) || !take_bytes(in, n, v.tx)) return bad(i, "the tx runs past the end");
    if (n == 0 || n > kMaxEntryTxBytes) return bad(i, "the tx is empty or over 1 MiB");
    if (!take_be(in, 2, n) || !take_bytes(in, n, v.sig)) return bad(i, "the signature runs past the end");
    if (n == 0) return bad(i, "the signature is empty");
    out.push_back(v);
  }
  return out;
}

std::string encode_forward(std::uint64_t request, const std::vector<contracts::Envelope>& entries) {
  std::string out(kForwardMagic);
  put_be(out, request, 8);
  append_entries(out, entries);
  return out;
}

Result<ForwardView> decode_forward(std::string_view bytes) {
  std::string_view in = bytes;
  if (!in.starts_with(kForwardMagic)) return make_error("bad_entries", "a forward starts with \"OBF1\"");
  in.remove_prefix(kForwardMagic.size());
  ForwardView out;
  std::uint64_t count = 0;
  if (!take_be(in, 8, out.request) || !take_be(in, 4, count)) return make_error("bad_entries", "a forward's header is cut short");
  auto views = split_entries(in, static_cast<std::uint32_t>(count));
  if (!views) return views.error();
  if (!in.empty()) return make_error("bad_entries", "bytes after the last forwarded entry");
  out.entries = std::move(*views);
  return out;
}

std::string encode_block(const BlockProposal& block) {
  std::string out(kBlockMagic);
  put_be(out, static_cast<std::uint64_t>(block.time), 8);
  put_be(out, block.proposer.size(), 2);
  out += block.proposer;
  append_entries(out, block.entries);
  return out;
}

Result<BlockProposal> decode_block(std::string_view bytes, crypto::HashAlg alg, const KnownEnvelopes* known) {
  if (bytes.size() > kMaxBlockBytes) return bad_block("over the limit of " + std::to_string(kMaxBlockBytes) + " bytes");
  std::string_view in = bytes;
  if (!in.starts_with(kBlockMagic)) return bad_block("does not start with \"OBP1\"");
  in.remove_prefix(kBlockMagic.size());
  BlockProposal b;
  std::uint64_t time = 0;
  std::uint64_t n = 0;
  std::string_view proposer;
  if (!take_be(in, 8, time) || time > static_cast<std::uint64_t>(INT64_MAX)) {
    return bad_block("time: expected a non-negative 64-bit integer (ms)");
  }
  b.time = static_cast<std::int64_t>(time);
  if (!take_be(in, 2, n) || !take_bytes(in, n, proposer)) return bad_block("proposer: runs past the end");
  b.proposer.assign(proposer);
  if (!take_be(in, 4, n)) return bad_block("entries: the count is missing");
  auto views = split_entries(in, static_cast<std::uint32_t>(n));
  if (!views) return bad_block(views.error().message);
  if (!in.empty()) return bad_block(std::to_string(in.size()) + " bytes after the last entry");
  b.entries.reserve(views->size());
  for (std::size_t i = 0; i < views->size(); ++i) {
    const auto& v = (*views)[i];
    if (known != nullptr && *known) {
      if (auto held = (*known)(v.tx, v.sig)) {
        b.entries.push_back(std::move(*held));
        continue;
      }
    }
    auto e = contracts::envelope_from_signed(v.tx, crypto::Bytes(v.sig.begin(), v.sig.end()), alg);
    if (!e) return bad_block("entries[" + std::to_string(i) + "]: " + e.error().code + ": " + e.error().message);
    b.entries.push_back(std::move(*e));
  }
  return b;
}

json EntryResult::to_json() const {
  json j = {{"id", id}, {"status", accepted ? "accepted" : "rejected"}};
  if (!accepted) j["reason"] = reason;
  j["reads"] = reads;
  j["index"] = index;
  return j;
}

namespace {
// A string RFC 8785 writes as is between quotes: printable ASCII without '"' or '\\'.
bool plain(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}
}  // namespace

std::string EntryResult::canonical() const {
  // Keys in RFC 8785 order (id, index, reads, reason, status), written directly when no string needs escaping
  // (ids and hashes are hex, reasons are catalogue codes) and the index is a safe integer; canonicalize() otherwise
  // (which refuses an index beyond 2^53 - 1: the empty text then makes the leaf differ loudly). A block's result_root
  // canonicalizes every result of the block on every node.
  if (!plain(id) || !plain(reason) || !plain(reads) || index > static_cast<std::uint64_t>(crypto::kMaxSafeInteger)) {
    return canonical_or_empty(to_json());
  }
  std::string out;
  out.reserve(64 + id.size() + reason.size() + reads.size());
  out.append("{\"id\":\"").append(id).append("\",\"index\":").append(std::to_string(index));
  out.append(",\"reads\":\"").append(reads).append("\"");
  if (!accepted) out.append(",\"reason\":\"").append(reason).append("\"");
  out.append(accepted ? ",\"status\":\"accepted\"}" : ",\"status\":\"rejected\"}");
  return out;
}

crypto::Digest result_leaf(crypto::HashAlg alg, const EntryResult& result) {
  return crypto::leaf_hash(alg, crypto::as_bytes(result.canonical()));
}

std::string reads_hash(crypto::HashAlg alg, const contracts::ReadSet& reads) {
  return crypto::hex(contracts::digest_writes(alg, reads));
}

json reads_to_json(const contracts::ReadSet& reads) {
  json j = json::object();
  for (const auto& [k, v] : reads) j[k] = v ? json(*v) : json(nullptr);
  return j;
}

std::string reads_text(const contracts::ReadSet& reads) {
  // The keys come sorted (a std::map), and the values are the state's own text: for valid UTF-8 the canonical
  // writer escapes exactly as nlohmann's dump does. Anything it refuses goes the long way.
  crypto::CanonicalWriter w;
  w.begin_object();
  for (const auto& [k, v] : reads) {
    w.key(k);
    if (v) {
      w.string(*v);
    } else {
      w.null_value();
    }
  }
  w.end_object();
  if (w.ok()) return w.take();
  return reads_to_json(reads).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<contracts::ReadSet> reads_from_json(const json& j) {
  if (!j.is_object()) return make_error("bad_reads", "reads: expected an object of key -> string or null");
  contracts::ReadSet out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_null()) {
      out.emplace(k, std::nullopt);
    } else if (v.is_string()) {
      out.emplace(k, v.get<std::string>());
    } else {
      return make_error("bad_reads", "reads[\"" + k.substr(0, 80) + "\"]: expected a string or null");
    }
  }
  return out;
}

json BlockHeader::to_json() const {
  return {{"height", height},
          {"prev", prev},
          {"time", time},
          {"tx_root", tx_root},
          {"result_root", result_root},
          {"log_size", log_size},
          {"log_root", log_root},
          {"membership_hash", membership_hash},
          {"writes_hash", writes_hash},
          {"state_size", state_size},
          {"state_root", state_root}};
}

Result<BlockHeader> BlockHeader::from_json(const json& j) {
  if (!j.is_object()) return bad_block("header: expected an object");
  for (const char* k : {"height", "time", "log_size", "state_size"}) {
    if (!j.contains(k) || !j[k].is_number_integer() || j[k].get<std::int64_t>() < 0) {
      return bad_block(std::string("header.") + k + ": expected a non-negative integer");
    }
  }
  for (const char* k : {"prev", "tx_root", "result_root", "log_root", "membership_hash", "writes_hash", "state_root"}) {
    if (!j.contains(k) || !is_hex_digest(j[k])) return bad_block(std::string("header.") + k + ": expected a digest");
  }
  if (j.size() != 11) return bad_block("header: unexpected fields");
  BlockHeader h;
  h.height = j["height"].get<std::int64_t>();
  h.prev = j["prev"].get<std::string>();
  h.time = j["time"].get<std::int64_t>();
  h.tx_root = j["tx_root"].get<std::string>();
  h.result_root = j["result_root"].get<std::string>();
  h.log_size = j["log_size"].get<std::uint64_t>();
  h.log_root = j["log_root"].get<std::string>();
  h.membership_hash = j["membership_hash"].get<std::string>();
  h.writes_hash = j["writes_hash"].get<std::string>();
  h.state_size = j["state_size"].get<std::uint64_t>();
  h.state_root = j["state_root"].get<std::string>();
  return h;
}

Result<BlockRecord> parse_block_record(std::string_view text, crypto::HashAlg alg) {
  const json rec = json::parse(text, nullptr, false);
  if (!rec.is_object() || !rec.contains("header") || !rec.contains("hash") || !rec["hash"].is_string() ||
      !rec.contains("results") || !rec["results"].is_array()) {
    return bad_block("the record is malformed");
  }
  auto header = BlockHeader::from_json(rec["header"]);
  if (!header) return header.error();
  BlockRecord out{std::move(*header), rec["hash"].get<std::string>(), {}};
  if (out.header.hash_hex(alg) != out.hash) return bad_block("the header does not hash to the record's hash");
  out.results.reserve(rec["results"].size());
  for (const json& r : rec["results"]) {
    if (!r.is_object() || !r.contains("id") || !r["id"].is_string() || !r.contains("status") ||
        !r["status"].is_string() || !r.contains("reads") || !r["reads"].is_string() || !r.contains("index") ||
        !r["index"].is_number_unsigned()) {
      return bad_block("a result is malformed");
    }
    EntryResult e;
    e.id = r["id"].get<std::string>();
    e.accepted = r["status"] == "accepted";
    if (!e.accepted) {
      if (r["status"] != "rejected" || !r.contains("reason") || !r["reason"].is_string()) {
        return bad_block("a result is malformed");
      }
      e.reason = r["reason"].get<std::string>();
    }
    e.reads = r["reads"].get<std::string>();
    e.index = r["index"].get<std::uint64_t>();
    if (e.index != out.results.size()) return bad_block("the results are out of order");
    out.results.push_back(std::move(e));
  }
  return out;
}

std::string BlockHeader::canonical() const { return canonical_or_empty(to_json()); }

std::string BlockHeader::hash_hex(crypto::HashAlg alg) const { return crypto::hex(crypto::hash(alg, canonical())); }

crypto::Digest log_leaf(crypto::HashAlg alg, const std::string& tx_id_hex) {
  auto raw = crypto::hex_decode(tx_id_hex);
  return crypto::leaf_hash(alg, raw ? crypto::ByteView(*raw) : crypto::as_bytes(tx_id_hex));
}

std::string tx_root(crypto::HashAlg alg, const std::vector<std::string>& tx_ids_hex) {
  std::vector<crypto::Digest> leaves;
  leaves.reserve(tx_ids_hex.size());
  for (const auto& id : tx_ids_hex) leaves.push_back(log_leaf(alg, id));
  return crypto::hex(crypto::merkle_root(alg, leaves));
}

std::string result_root(crypto::HashAlg alg, const std::vector<EntryResult>& results) {
  std::vector<crypto::Digest> leaves;
  leaves.reserve(results.size());
  for (const auto& r : results) leaves.push_back(result_leaf(alg, r));
  return crypto::hex(crypto::merkle_root(alg, leaves));
}

json Attestation::to_json() const {
  return {{"height", height}, {"header_hash", header_hash}, {"node", node}, {"sig", sig}};
}

Result<Attestation> Attestation::from_json(const json& j) {
  if (!j.is_object() || !j.contains("height") || !j["height"].is_number_integer() || !j.contains("header_hash") ||
      !is_hex_digest(j["header_hash"]) || !j.contains("node") || !j["node"].is_string() || !j.contains("sig") ||
      !j["sig"].is_string()) {
    return make_error("bad_attestation", "an attestation is {height, header_hash, node, sig}");
  }
  return Attestation{j["height"].get<std::int64_t>(), j["header_hash"].get<std::string>(),
                     j["node"].get<std::string>(), j["sig"].get<std::string>()};
}

std::string attestation_message(const std::string& network, std::int64_t height, const std::string& header_hash) {
  return "onebill attestation v1\n" + network + "\n" + std::to_string(height) + "\n" + header_hash;
}

Result<Attestation> attest(const crypto::PrivateKey& node_key, const std::string& node_id, const std::string& network,
                           std::int64_t height, const std::string& header_hash) {
  auto sig = node_key.sign(attestation_message(network, height, header_hash));
  if (!sig) return sig.error();
  return Attestation{height, header_hash, node_id, crypto::base64_encode(*sig)};
}

bool verify_attestation(const crypto::PublicKey& node_key, const std::string& network, const Attestation& a) {
  auto sig = crypto::base64_decode(a.sig);
  if (!sig) return false;
  return node_key.verify(attestation_message(network, a.height, a.header_hash), *sig);
}

Result<std::string> genesis_hash(std::string_view genesis_text, crypto::HashAlg alg) {
  auto parsed = crypto::parse_strict(genesis_text);
  if (!parsed) return make_error("bad_genesis", parsed.error().code + ": " + parsed.error().message);
  auto canonical = crypto::canonicalize(*parsed);
  if (!canonical) return canonical.error();
  return crypto::hex(crypto::hash(alg, *canonical));
}

}  // namespace onebill::ledger
