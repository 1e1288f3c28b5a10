// Writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): valid inputs built the way
// the node builds them, and near-valid ones one mistake away (a wrong signature, an unknown field, a bad header).
//
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus tests/data/vectors [TARGET]   (TARGET: only that one)
//
// Deterministic except for the ECDSA and SM2 signatures of hmm and bank1 (randomized by their algorithms), so a
// rerun rewrites those few files with other, equally valid, bytes. tests/fuzz/run does not run it: the corpora are
// committed, and regenerated only when a format changes.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "consensus/codec.h"
#include "consensus/transport/frame.h"
#include "crypto/canonical_json.h"
#include "node/ledger/format.h"
#include "tests/fuzz/fuzz_net.h"
#include "tests/support/bundle_builder.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace consensus = onebill::consensus;
namespace contracts = onebill::contracts;
namespace ledger = onebill::ledger;
using onebill::fuzz::FuzzNet;

fs::path out_root;
int written = 0;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_root / target);
  std::ofstream out(out_root / target / name, std::ios::binary | std::ios::trunc);
  out << bytes;
  ++written;
}

std::string as_string(const consensus::Bytes& b) { return std::string(b.begin(), b.end()); }

std::string envelope_text(const contracts::Envelope& e) { return contracts::envelope_to_json(e).dump(); }

// ---- canonical_json: the published and onebill vectors (accepted and refused), and the story's envelopes ----
void canonical_json_seeds(const fs::path& vectors) {
  int n = 0;
  for (const char* file : {"canonical_json_rfc8785.json", "canonical_json_onebill.json"}) {
    std::ifstream in(vectors / file, std::ios::binary);
    json v = json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
    for (const char* list : {"accept", "reject"}) {
      for (const auto& c : v[list]) {
        std::string input;
        if (c.contains("input")) {
          input = c["input"].get<std::string>();
        } else if (c.contains("input_hex")) {
          auto raw = onebill::crypto::hex_decode(c["input_hex"].get<std::string>());
          if (!raw) continue;
          input.assign(raw->begin(), raw->end());
        } else {
          continue;
        }
        seed("canonical_json", std::string(list) + "-" + std::to_string(n++), input);
      }
    }
  }
  const auto& story = FuzzNet::get().story();
  seed("canonical_json", "envelope-bill-issue", envelope_text(story[0]));
  seed("canonical_json", "pretty-printed", contracts::envelope_to_json(story[2]).dump(2));
  seed("canonical_json", "depth-32", std::string(31, '[') + "1" + std::string(31, ']'));
  seed("canonical_json", "depth-33", std::string(33, '[') + std::string(33, ']'));
  seed("canonical_json", "max-safe-integers", "[9007199254740991,-9007199254740991,9007199254740992,-0]");
  seed("canonical_json", "surrogate-pair", "\"\\ud83d\\ude00\\u00e9\"");
}

// ---- envelope: every story entry, an entry of every known type, and near-misses ----
void envelope_seeds() {
  const auto& net = FuzzNet::get();
  for (std::size_t i = 0; i < net.story().size(); ++i) {
    seed("envelope", "story-" + std::to_string(i) + "-" + net.story()[i].tx.type, envelope_text(net.story()[i]));
  }
  // Entries that the fixed state accepts or rejects by a rule (each from the org whose role fits).
  struct Case {
    const char* name;
    const char* org;
    const char* type;
    const char* doc;
    json body;
  };
  const std::vector<Case> cases = {
      {"bill-endorse", "shipper", "bill.endorse", "OB-1", {{"to", "trader"}}},
      {"bill-event-departed", "hmm", "bill.event", "OB-1", {{"leg", 0}, {"event", "departed"}, {"at", "KRPUS"}}},
      {"bill-void", "crct", "bill.void", "OB-1", {{"reason", "issued in error"}}},
      {"bill-surrender", "shipper", "bill.surrender", "OB-1", json::object()},
      {"receipt-endorse", "trader", "receipt.endorse", "WR-1", {{"to", "buyer"}}},
      {"receipt-withdraw", "trader", "receipt.withdraw", "WR-1", {{"quantity", 40}}},
      {"pledge-approve", "customs", "pledge.approve", "PL-1", {{"approve", true}, {"reference", "PA-1"}}},
      {"pledge-accept", "bank1", "pledge.accept", "PL-1", json::object()},
      {"customs-decide", "customs", "customs.decide", "OB-1", {{"decision", "released"}, {"reference", "CD-1"}}},
      {"gov-propose-revoke", "crct", "gov.propose", "P-1",
       {{"action", "key.revoke"}, {"params", {{"id", "hmm/k1"}}}}},
      {"wrong-role-issue", "hmm", "bill.issue", "OB-2", onebill::fuzz::bill_body()},
      {"negative-quantity", "trader", "receipt.withdraw", "WR-1", {{"quantity", -1}}},
      {"negative-amount", "trader", "pledge.request", "PL-2",
       {{"collateral", "WR-1"}, {"bank", "bank2"}, {"amount", {{"value", -5}, {"ccy", "CNY"}}}, {"due", "2027-06-30"}}},
      {"unknown-body-field", "shipper", "bill.endorse", "OB-1", {{"to", "trader"}, {"colour", "red"}}},
      {"path-doc-id", "crct", "bill.issue", "../OB-1", onebill::fuzz::bill_body()},
  };
  for (const auto& c : cases) seed("envelope", c.name, envelope_text(net.sign(c.org, c.type, c.doc, c.body, 7)));
  for (std::string_view type : contracts::known_types()) {
    seed("envelope", "empty-body-" + std::string(type),
         envelope_text(net.sign("crct", std::string(type), "OB-9", json::object(), 9)));
  }
  json env = contracts::envelope_to_json(net.story()[0]);
  json forged = env;
  forged["tx"]["doc"] = "OB-2";
  seed("envelope", "near-forged-signature", forged.dump());
  json other_signer = env;
  other_signer["tx"]["signer"] = "hmm/k1";
  seed("envelope", "near-other-signer", other_signer.dump());
  json unknown = env;
  unknown["tx"]["extra"] = 1;
  seed("envelope", "near-unknown-tx-field", unknown.dump());
  json no_sig = env;
  no_sig.erase("sig");
  seed("envelope", "near-missing-sig", no_sig.dump());
  json bad_b64 = env;
  bad_b64["sig"] = "not base64!";
  seed("envelope", "near-bad-base64", bad_b64.dump());
  json nonce = env;
  nonce["tx"]["nonce"] = -1;
  seed("envelope", "near-negative-nonce", nonce.dump());
}

// ---- block: a proposal of the story, a header, an attestation ----
ledger::BlockHeader sample_header() {
  ledger::BlockHeader h;
  h.height = 4;
  h.prev = std::string(64, 'a');
  h.time = 1795600804000;
  h.tx_root = ledger::tx_root(onebill::crypto::HashAlg::sha256, {FuzzNet::get().story()[0].id});
  h.result_root = std::string(64, 'b');
  h.log_size = 4;
  h.log_root = std::string(64, 'c');
  h.membership_hash = std::string(64, 'd');
  h.writes_hash = std::string(64, 'e');
  h.state_size = 3;
  h.state_root = std::string(64, 'f');
  return h;
}

void block_seeds() {
  const auto& net = FuzzNet::get();
  ledger::BlockProposal b{1795600805000, "n1", net.story()};
  seed("block", "proposal-story", ledger::encode_block(b));
  seed("block", "proposal-empty", ledger::encode_block(ledger::BlockProposal{1795600805000, "n1", {}}));
  seed("block", "header", sample_header().canonical());
  json extra = sample_header().to_json();
  extra["extra"] = 1;
  seed("block", "near-header-extra-field", extra.dump());
  seed("block", "attestation",
       ledger::Attestation{4, std::string(64, 'f'), "n1", "MEUCIQ=="}.to_json().dump());
  // The second entry's tx with its nonce a fraction: the framing holds, the envelope does not.
  ledger::BlockProposal near = b;
  near.entries.resize(2);
  auto& tx = near.entries[1].canonical_tx;
  const auto at = tx.find("\"nonce\":");
  if (at != std::string::npos) tx.insert(tx.find_first_of(",}", at), ".5");
  seed("block", "near-float-in-entry", ledger::encode_block(near));
}

// ---- peer_frames: byte 0 picks the cuts; then frames of each channel, valid and not ----
std::string stream(std::uint8_t cut, const std::vector<std::pair<consensus::Channel, std::string>>& frames) {
  consensus::Bytes out{cut};
  for (const auto& [ch, payload] : frames) {
    consensus::Bytes p(payload.begin(), payload.end());
    (void)consensus::append_frame(out, ch, p);
  }
  return as_string(out);
}

void peer_frame_seeds() {
  const auto& net = FuzzNet::get();
  consensus::Message append;
  append.type = consensus::MessageType::kAppend;
  append.from = 1;
  append.to = 2;
  append.term = 3;
  append.log_term = 3;
  append.index = 7;
  append.commit = 7;
  append.entries.push_back(consensus::Entry{3, 8, consensus::EntryType::kNormal,
                                            [&] {
                                              std::string block = ledger::encode_block(
                                                  ledger::BlockProposal{1795600805000, "n1", {net.story()[0]}});
                                              return consensus::Bytes(block.begin(), block.end());
                                            }()});
  consensus::Message vote;
  vote.type = consensus::MessageType::kVote;
  vote.from = 2;
  vote.to = 1;
  vote.term = 4;
  vote.index = 9;
  vote.log_term = 3;
  vote.context = consensus::kCampaignTransfer;
  consensus::Message snap;
  snap.type = consensus::MessageType::kSnapshot;
  snap.from = 1;
  snap.to = 3;
  snap.term = 5;
  snap.snapshot.index = 100;
  snap.snapshot.term = 4;
  snap.snapshot.conf_state.voters = {1, 2, 3};
  snap.snapshot.conf_state.learners = {4};
  snap.snapshot_offset = 0;
  snap.snapshot_data = {1, 2, 3, 4};
  snap.snapshot_done = true;
  const std::string att = ledger::Attestation{4, std::string(64, 'f'), "n1", "MEUCIQ=="}.to_json().dump();
  using C = consensus::Channel;
  seed("peer_frames", "keepalive", stream(0, {{C::keepalive, ""}}));
  seed("peer_frames", "raft-append", stream(0, {{C::raft, as_string(consensus::encode(append))}}));
  seed("peer_frames", "raft-vote-cut", stream(7, {{C::raft, as_string(consensus::encode(vote))}}));
  seed("peer_frames", "raft-snapshot", stream(3, {{C::raft, as_string(consensus::encode(snap))}}));
  seed("peer_frames", "forward-request", stream(0, {{C::forward, ledger::encode_forward(7, {net.story()[1]})}}));
  seed("peer_frames", "forward-answer", stream(0, {{C::forward, R"({"a":7,"results":[null]})"}}));
  seed("peer_frames", "attest", stream(0, {{C::attest, att}}));
  seed("peer_frames", "mixed-cut",
       stream(200, {{C::keepalive, ""}, {C::raft, as_string(consensus::encode(vote))}, {C::attest, att},
                    {C::keepalive, ""}}));
  seed("peer_frames", "near-bad-length", std::string("\0\0\0\x01\x01\x01", 7));
  seed("peer_frames", "near-bad-version", std::string("\0\0\0\0\x02\x02\x01", 7));
  seed("peer_frames", "near-unknown-channel", std::string("\0\0\0\0\x02\x01\x04", 7));
  seed("peer_frames", "near-keepalive-payload", std::string("\0\0\0\0\x03\x01\x00x", 8));
  seed("peer_frames", "near-too-large", std::string("\0\x7f\xff\xff\xff\x01\x01", 7));
}

// ---- http_api: requests as a client sends them (tokens of tests/support/testnet.h) ----
std::string request(const std::string& method, const std::string& target, const std::string& token,
                    const std::string& body = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST") {
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

void http_seeds() {
  const std::string crct = "token-crct";
  json issue = {{"tx", {{"type", "bill.issue"}, {"doc", "OB-1"}, {"body", onebill::fuzz::bill_body()}}}};
  json endorse = {{"tx", {{"type", "bill.endorse"}, {"doc", "OB-1"}, {"body", {{"to", "trader"}}}}}};
  json event = {{"tx", {{"type", "bill.event"}, {"doc", "OB-1"},
                        {"body", {{"leg", 1}, {"event", "departed"}, {"at", "CNTSN"}}}}}};
  seed("http_api", "healthz", request("GET", "/healthz", ""));
  seed("http_api", "status", request("GET", "/v1/status", ""));
  seed("http_api", "metrics", request("GET", "/metrics", ""));
  seed("http_api", "node-signed-issue", request("POST", "/v1/transactions", crct, issue.dump()));
  seed("http_api", "node-signed-issue-nowait", request("POST", "/v1/transactions?wait=none&timeout_ms=50", crct,
                                                       issue.dump()));
  seed("http_api", "node-signed-event", request("POST", "/v1/transactions", crct, event.dump()));
  seed("http_api", "node-signed-endorse-other-org", request("POST", "/v1/transactions", "token-shipper",
                                                            endorse.dump()));
  seed("http_api", "signed-envelope", request("POST", "/v1/transactions", crct,
                                              envelope_text(FuzzNet::get().story()[0])));
  seed("http_api", "batch", request("POST", "/v1/transactions/batch", crct,
                                    json{{"entries", {issue, endorse}}}.dump()));
  seed("http_api", "document", request("GET", "/v1/documents/OB-1", "token-shipper"));
  seed("http_api", "document-encoded-slash", request("GET", "/v1/documents/..%2F..%2Fetc", "token-audit"));
  seed("http_api", "history", request("GET", "/v1/documents/OB-1/history?limit=2&after=00", "token-customs"));
  seed("http_api", "listing", request("GET", "/v1/documents?type=bill&holder=shipper&limit=5", "token-audit"));
  seed("http_api", "transaction", request("GET", "/v1/transactions/" + std::string(64, '0'), "token-audit"));
  seed("http_api", "blocks", request("GET", "/v1/blocks?from=1&limit=3", crct));
  seed("http_api", "block", request("GET", "/v1/blocks/1", "token-customs"));
  seed("http_api", "log-head", request("GET", "/v1/log/head", crct));
  seed("http_api", "consistency", request("GET", "/v1/log/consistency?from=1&to=2", crct));
  seed("http_api", "events", request("GET", "/v1/events?doc=OB-1&from_height=1", "token-shipper"));
  seed("http_api", "bundle", request("GET", "/v1/documents/OB-1/bundle", crct));
  seed("http_api", "near-no-token", request("POST", "/v1/transactions", "", issue.dump()));
  seed("http_api", "near-bad-percent", request("GET", "/v1/documents/%zz", crct));
  seed("http_api", "near-float", request("POST", "/v1/transactions", crct, "{\"tx\":{\"nonce\":1.5}}"));
  seed("http_api", "chunked",
       "POST /v1/transactions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-crct\r\n"
       "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"tx\"\r\n1\r\n}\r\n0\r\n\r\n");
}

}  // namespace

// Bundles of the story, certified by the network's node key (tests/support/bundle_builder.h), and near-valid ones,
// for `target`: "bundle" (the whole verifier) and "bundle_parse" (its structural checks, which also gets bundles
// one structural mistake away).
void bundle_seeds(const std::string& target) {
  const FuzzNet& net = FuzzNet::get();
  const auto& story = net.story();
  auto elided = onebill::testing::certify_as_bundle(net.genesis_text(), story, net.node_key(), "n1", {.block_size = 2, .elide = true});
  auto plain = onebill::testing::certify_as_bundle(net.genesis_text(), story, net.node_key(), "n1",
                                                   {.block_size = 2, .elide = false});
  if (!elided || !plain) {
    std::fprintf(stderr, "bundle seeds: %s\n", (!elided ? elided : plain).error().message.c_str());
    std::exit(1);
  }
  const json b = elided->to_json();
  seed(target, "story-elided", b.dump());
  seed(target, "story-full-reads", plain->to_json().dump(1));
  json dropped = b;
  dropped["entries"].erase(dropped["entries"].begin() + 1);
  seed(target, "near-dropped-entry", dropped.dump());
  json flipped = b;
  flipped["entries"][0]["status"] = "rejected";
  flipped["entries"][0]["reason"] = "bad_body";
  flipped["entries"][0].erase("leaf");
  flipped["entries"][0].erase("log_proof");
  seed(target, "near-flipped-outcome", flipped.dump());
  json no_atts = b;
  no_atts["blocks"].back()["attestations"] = json::array();
  seed(target, "near-uncertified-head", no_atts.dump());
  json swapped = b;
  std::swap(swapped["entries"][0], swapped["entries"][1]);
  seed(target, "near-reordered", swapped.dump());
  // The newest entry left out: only the state proofs against the head's state_root show it.
  json newest = b;
  newest["entries"].erase(newest["entries"].size() - 1);
  seed(target, "near-dropped-newest-entry", newest.dump());
  json path = b;
  for (auto& [doc, proof] : path["state_proofs"].items()) {
    if (!proof["path"].empty()) proof["path"][0] = std::string(64, '0');
  }
  seed(target, "near-state-proof-path", path.dump());
  if (target != "bundle_parse") return;
  // One structural mistake away, each refused before any signature is checked (audit::parse_bundle_text).
  const auto near = [&](const std::string& name, auto change) {
    json x = b;
    change(x);
    seed(target, "near-" + name, x.dump());
  };
  near("other-genesis", [](json& x) { x["genesis_hash"] = std::string(64, '0'); });
  near("document-not-listed", [](json& x) { x["documents"].erase(0); });
  near("blocks-swapped", [](json& x) { std::swap(x["blocks"][0], x["blocks"][1]); });
  near("head-hash", [](json& x) { x["head"]["header_hash"] = std::string(64, '0'); });
  near("entry-twice", [](json& x) { x["entries"].push_back(x["entries"].back()); });
  near("entry-without-block", [](json& x) { x["blocks"].erase(0); });
}

// ---- p256_verify: each fixed signature as it is, and a few alterations near it (p256_verify_fuzz.cpp) ----
void p256_verify_seeds() {
  for (int i = 0; i < 4; ++i) {
    const char which = static_cast<char>(i);
    seed("p256_verify", "valid-" + std::to_string(i), std::string{'\0', which});
    seed("p256_verify", "r-bit-" + std::to_string(i), std::string{'\0', which, '\x10', '\x01'});
    seed("p256_verify", "s-byte-" + std::to_string(i), std::string{'\0', which, '\x40', '\x7f'});
    seed("p256_verify", "cut-" + std::to_string(i), std::string{'\0', which, '\x01'});
    seed("p256_verify", "extended-" + std::to_string(i), std::string{'\0', which, '\x81'});
  }
  std::string raw(1, '\x01');
  raw += std::string(32, '\x42');
  raw += std::string("\x30\x06\x02\x01\x01\x02\x01\x01", 8);
  seed("p256_verify", "raw-digest-r1-s1", raw);
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR VECTORS_DIR [TARGET]\n", argv[0]);
    return 2;
  }
  out_root = argv[1];
  const std::string only = argc == 4 ? argv[3] : "";
  const auto want = [&](const char* t) { return only.empty() || only == t; };
  if (want("canonical_json")) canonical_json_seeds(argv[2]);
  if (want("envelope")) envelope_seeds();
  if (want("block")) block_seeds();
  if (want("peer_frames")) peer_frame_seeds();
  if (want("http_api")) http_seeds();
  if (want("bundle")) bundle_seeds("bundle");
  if (want("bundle_parse")) bundle_seeds("bundle_parse");
  if (want("p256_verify")) p256_verify_seeds();
  std::printf("%d seed files written under %s\n", written, out_root.c_str());
  return 0;
}
