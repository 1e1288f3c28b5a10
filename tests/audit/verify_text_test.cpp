// The verifier reading a bundle's text on several threads (clients/audit/verify.cpp, clients/audit/bundle_text.h):
//   - the fast entry reader accepts only what the strict parser accepts, and reads it to the same entry;
//   - entries replayed ahead, out of ledger order, on any number of threads, give exactly the report of the
//     ledger-order pass over the parsed bundle — when it verifies and when it does not.
// Bundles are certified without a node (tests/support/bundle_builder.h), so they can be large enough to cross the
// threads' chunks of work.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <random>

#include "clients/audit/bundle_text.h"
#include "clients/audit/inclusion.h"
#include "clients/audit/verify.h"
#include "contracts/membership.h"
#include "crypto/canonical_json.h"
#include "crypto/merkle.h"
#include "node/ledger/bundle.h"
#include "tests/support/bundle_builder.h"
#include "tests/support/json_identical.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;

namespace {

constexpr auto kAlg = crypto::HashAlg::sha256;

json receipt(const std::string& lot) {
  return {{"holder", "trader"},
          {"goods", {{"description", "Copper cathodes"}, {"hs", "740311"}, {"quantity", 25}, {"unit", "TNE"}, {"gross_kg", 25000}}},
          {"location", "CNTSN"},
          {"lot", lot},
          {"bonded", true}};
}

json pledge(const std::string& collateral) {
  return {{"collateral", collateral}, {"bank", "bank1"}, {"amount", {{"value", 30000000}, {"ccy", "CNY"}}}, {"due", "2027-06-30"}};
}

// A story long enough to cross chunks: one receipt pledged and released twelve times (a chain of 49 entries on one
// document, each reading the state the previous one left), other receipts issued and pledged meanwhile, then
// governance revokes the trader's key (so replays made ahead with the membership before it must be made again)
// and the trader's later entries are refused; the pledge of a receipt issued before is still accepted.
struct Chain {
  std::string genesis;
  ledger::Bundle elided;
  ledger::Bundle full;

  Chain() {
    testing::TestNet net(std::filesystem::temp_directory_path() / ("onebill-verify-text-" + std::to_string(::getpid())), 1);
    genesis = testing::read_text(net.genesis_path());
    auto n1 = crypto::PrivateKey::from_pem_any(testing::read_text(net.nodes()[0].dir / "tls.pem"));
    REQUIRE(n1.ok());
    std::vector<json> raw;
    raw.push_back(net.envelope("tjwh", "receipt.issue", "WR-MAIN", receipt("LOT-MAIN")));
    for (int round = 0; round < 12; ++round) {
      const std::string pl = "PL-" + std::to_string(round);
      const std::string wr = "WR-" + std::to_string(round);
      raw.push_back(net.envelope("trader", "pledge.request", pl, pledge("WR-MAIN")));
      raw.push_back(net.envelope("tjwh", "receipt.issue", wr, receipt("LOT-" + std::to_string(round))));
      raw.push_back(net.envelope("customs", "pledge.approve", pl, {{"approve", true}, {"reference", "PA-" + std::to_string(round)}}));
      raw.push_back(net.envelope("bank1", "pledge.accept", pl, json::object()));
      raw.push_back(net.envelope("bank1", "pledge.release", pl, json::object()));
    }
    raw.push_back(net.envelope("crct", "gov.propose", "P-1", {{"action", "key.revoke"}, {"params", {{"id", "trader/k1"}}}}));
    for (const char* org : {"hmm", "tjport", "customs", "bank1", "bank2"}) raw.push_back(net.envelope(org, "gov.approve", "P-1", json::object()));
    raw.push_back(net.envelope("trader", "pledge.request", "PL-LATE", pledge("WR-MAIN")));  // revoked_key
    raw.push_back(net.envelope("trader", "pledge.request", "PL-LATE2", pledge("WR-3")));    // revoked_key
    raw.push_back(net.envelope("tjwh", "receipt.issue", "WR-LAST", receipt("LOT-LAST")));
    std::filesystem::remove_all(net.dir());
    std::vector<contracts::Envelope> entries;
    for (const auto& r : raw) entries.push_back(*contracts::envelope_from_json(r, kAlg));
    auto e = testing::certify_as_bundle(genesis, entries, *n1, "n1", {.block_size = 7});
    auto f = testing::certify_as_bundle(genesis, entries, *n1, "n1", {.block_size = 7, .elide = false});
    REQUIRE(e.ok());
    REQUIRE(f.ok());
    elided = std::move(*e);
    full = std::move(*f);
    std::size_t rejected = 0;
    for (const auto& x : elided.entries) rejected += x.accepted ? 0 : 1;
    REQUIRE(rejected == 2);
  }
};

const Chain& chain() {
  static const Chain c;
  return c;
}

// Two entries are the same when they serialize the same and have the same signed bytes and id.
std::string dump(const ledger::BundleEntry& e) {
  ledger::Bundle b;
  b.entries = {e};
  return b.to_json()["entries"][0].dump() + "\n" + e.envelope.canonical_tx + "\n" + e.envelope.id;
}

// What the strict reading of an entry's text gives: the entry, or the error's code and message.
std::string strict(std::string_view t) {
  auto j = crypto::parse_strict(t, audit::text::kPieceLimits);
  if (!j) return "error " + j.error().code;
  auto e = ledger::BundleEntry::from_json(*j, "e", kAlg);
  return e ? dump(*e) : "error " + e.error().code + ": " + e.error().message;
}

// The fast reader is either silent or agrees with the strict one; parse_entry gives what the strict one gives.
void same_reading(const std::string& t) {
  INFO(t);
  const std::string s = strict(t);
  if (auto fast = audit::text::parse_entry_fast(t, kAlg)) {
    CHECK(dump(*fast) == s);
  }
  auto e = audit::text::parse_entry(t, 0, kAlg);
  if (e) {
    CHECK(dump(*e) == s);
  } else {
    CHECK(s.rfind("error", 0) == 0);
  }
}

}  // namespace

TEST_CASE("audit text: the fast entry reader reads every entry as the strict parser does", "[audit][format]") {
  for (const auto* b : {&chain().elided, &chain().full}) {
    const json j = b->to_json();
    for (std::size_t i = 0; i < j["entries"].size(); ++i) {
      const json& ej = j["entries"][i];
      auto strict_entry = ledger::BundleEntry::from_json(ej, "e", kAlg);
      REQUIRE(strict_entry.ok());
      for (const std::string& t : {ej.dump(), ej.dump(2), ej.dump(-1, ' ', true)}) {
        INFO(t);
        auto fast = audit::text::parse_entry_fast(t, kAlg);
        REQUIRE(fast);  // the shape nodes write is read fast, compact or indented
        CHECK(dump(*fast) == dump(*strict_entry));
      }
    }
  }
}

TEST_CASE("audit text: the fast entry reader gives up on what it is not sure of", "[audit][format]") {
  const json ej = chain().elided.to_json()["entries"][2];
  REQUIRE(ej.contains("log_proof"));
  const std::string t = ej.dump();
  const auto variant = [&](const std::string& from, const std::string& to) {
    std::string v = t;
    const auto at = v.find(from);
    REQUIRE(at != std::string::npos);
    v.replace(at, from.size(), to);
    return v;
  };
  const std::string digest = ej["result_proof"][0];
  std::string upper = digest;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string nonce_key = "nonce/" + ej["envelope"]["tx"]["signer"].get<std::string>();
  std::vector<std::string> odd = {
      variant("\"height\":", "\"height\":1,\"height\":"),                     // a duplicate field
      variant("\"reads\":{", "\"reads\":{\"k\":null,\"k\":null,"),            // a duplicate read
      variant("\"reads\":{", "\"reads\":{\"k\":null,\"k\":\"v\","),
      variant("\"reads\":{", "\"reads\":{\"" + nonce_key + "\":null,"),      // the same key again
      variant("\"height\":", "\"height\":00"),                                // a leading zero
      variant("\"height\":", "\"height\":-"),                                 // negative
      variant("\"index\":", "\"index\":9007199254740992,\"x\":"),             // 2^53
      variant("\"leaf\":", "\"leaf\":1.5,\"x\":"),                            // a float
      variant("\"leaf\":", "\"leaf\":1e3,\"x\":"),
      variant(digest, upper),                                                 // upper-case hex: the strict reading
      variant("\"status\":\"accepted\"", "\"status\":\"Accepted\""),
      variant("\"status\":\"accepted\"", "\"status\":\"acc\\u0065pted\""),  // an escape it does not decode
      variant("\"reads\":{", "\"reads\":{\"k\":\"a\\u0000b\","),
      variant("\"reads\":{", "\"reads\":{\"k\":\"a\x01" "b\","),              // a control character
      variant("\"reads\":{", "\"reads\":{\"k\":\"\xc3\x28\","),               // invalid UTF-8
      variant("\"reads\":{", "\"reads\":{\"k\":\"\xed\xa0\x80\","),           // an encoded surrogate
      variant("\"reads\":{", "\"reads\":{\"k\":\"\xe4\xb8\x80\","),           // valid UTF-8: read fast
      variant("\"reads\":{", "\"reads\":{\"\xe4\xb8\x80\":null,"),             // a non-ASCII key
      variant("\"reads\":{", "\"reads\":{\"k\":{\"hash\":\"" + digest + "\",\"hash\":\"" + digest + "\"},"),
      variant("\"reads\":{", "\"reads\":{\"k\":{\"hash\":\"" + digest + "\",\"x\":1},"),
      variant("\"reads\":{", "\"reads\":{\"k\":{},"),
      variant("\"reads\":{", "\"reads\":{\"k\":true,"),
      variant("\"result_proof\":[", "\"result_proof\":[\"" + digest + "\","),
      variant("\"envelope\":{", "\"envelope\":{\"tx\":{},"),                  // a duplicate inside the envelope
      variant("\"envelope\":{", "\"envelope\":{\"x\":[1.5],"),
      t + " x",
      t.substr(0, t.size() - 1),
      "[" + t + "]",
      "{}",
      // In the envelope: what the strict parser refuses, and text that is read but is not canonical (its
      // canonical bytes, and so the id, are then written as crypto::canonicalize writes them).
      variant("\"body\":{", "\"body\":{\"zz\":1.5,"),
      variant("\"body\":{", "\"body\":{\"zz\":1,\"zz\":2,"),
      variant("\"body\":{", "\"body\":{\"zz\":-0,"),
      variant("\"body\":{", "\"body\":{\"zz\":-9007199254740991,"),
      variant("\"body\":{", "\"body\":{\"zz\":\"a\\/b\","),
      variant("\"body\":{", "\"body\":{\"zz\":\"a\\\"b\\\\c\\n\","),
      variant("\"body\":{", "\"body\":{\"zz\":[1, 2, {\"b\":true,\"a\":null}],"),
      variant("\"body\":{", "\"body\":{\"zz\":" + std::string(30, '[') + std::string(30, ']') + ","),
      variant("\"body\":{", "\"body\":{\"zz\":" + std::string(20, '[') + std::string(20, ']') + ","),
      variant("\"nonce\":", "\"nonce\":-"),
      variant("\"nonce\":", "\"nonce\":0"),
      variant("\"tx\":{", "\"tx\":{\"v\":1,"),
      variant("\"tx\":{", "\"tx\": {"),
      variant("\"tx\":{", "\"tx\":{\"ts\":\"x\","),
      variant("\"sig\":\"", "\"sig\":\"="),
      variant("\"doc\":\"", "\"doc\":\"\\u0041"),
      variant("\"envelope\":{", "\"envelope\":{\"sig\":\"AAAA\","),
  };
  for (const char* field : {"type", "doc", "signer", "ts"}) {
    json v = ej;
    v["envelope"]["tx"][field] = "";
    odd.push_back(v.dump());
    v["envelope"]["tx"][field] = std::string(300, 'x');
    odd.push_back(v.dump());
    v["envelope"]["tx"].erase(field);
    odd.push_back(v.dump());
  }
  for (const json& x : {json(""), json(1), json::array()}) {
    json v = ej;
    v["envelope"]["sig"] = x;
    odd.push_back(v.dump());
    v = ej;
    v["envelope"]["tx"]["body"] = x;
    odd.push_back(v.dump());
  }
  for (const auto& v : odd) same_reading(v);
  // Text that is not canonical but is read fast all the same, to the canonical bytes.
  for (const std::string& v : {variant("\"body\":{", "\"body\":{\"zz\":-0,"),
                               variant("\"body\":{", "\"body\":{\"zz\":\"a\\/b\","),
                               variant("\"body\":{", "\"body\":{\"zz\":[1, 2, {\"b\":true,\"a\":null}],"),
                               variant("\"tx\":{", "\"tx\": {"),
                               variant("\"reads\":{", "\"reads\":{\"k\":\"\xe4\xb8\x80\",")}) {
    INFO(v);
    auto fast = audit::text::parse_entry_fast(v, kAlg);
    REQUIRE(fast);
    CHECK(dump(*fast) == strict(v));
  }
  // Every kind of byte in every place, deterministically.
  std::mt19937 rng(20261125);
  const std::string bytes = "\"\\{}[],:0 9-.eEaAfn\x01\x7f\x80\xc3\xff";
  for (int k = 0; k < 4000; ++k) {
    std::string v = t;
    const std::size_t at = rng() % v.size();
    switch (rng() % 3) {
      case 0: v[at] = bytes[rng() % bytes.size()]; break;
      case 1: v.erase(at, 1 + rng() % 3); break;
      default: v.insert(at, 1, bytes[rng() % bytes.size()]); break;
    }
    same_reading(v);
  }
}

TEST_CASE("audit text: documents' states are read as nlohmann::json::parse reads them", "[audit][format]") {
  const auto reference = audit::verify_bundle(chain().genesis, chain().elided.to_json(), {}, 1);
  REQUIRE(reference.ok);
  std::vector<std::string> texts;
  for (const auto& [id, doc] : reference.documents) texts.push_back(doc.dump());
  const std::string some = texts.front();
  texts.insert(texts.end(), {"{}", "[]", "{\"a\":-0}", "{\"a\":1.5}", "{\"a\":18446744073709551615}", "{\"a\":\"\\u00e9\"}",
                             "{\"a\":1,\"a\":2}", "{\"\xc3\xa9\":1}", "{\"a\": [true, false, null] }", some + " ", some + "x",
                             some.substr(1), std::string(30, '[') + std::string(30, ']')});
  std::mt19937 rng(11);
  const std::string bytes = "\"\\{}[],:0 9-.eEaAfn\x01\x7f\x80\xc3\xff";
  for (int k = 0; k < 2000; ++k) {
    std::string v = some;
    const std::size_t at = rng() % v.size();
    if (rng() % 2 == 0) {
      v[at] = bytes[rng() % bytes.size()];
    } else {
      v.insert(at, 1, bytes[rng() % bytes.size()]);
    }
    texts.push_back(v);
  }
  for (const auto& t : texts) {
    INFO(t);
    const json mine = audit::text::parse_document(t);
    const json theirs = json::parse(t, nullptr, false);
    CHECK(mine.is_discarded() == theirs.is_discarded());
    if (!theirs.is_discarded()) CHECK(onebill::testing::identical(mine, theirs));
  }
}

TEST_CASE("audit text: split cuts the entries in the same pass as the top level", "[audit][format]") {
  const json j = chain().elided.to_json();
  for (const std::string& t : {j.dump(), j.dump(2)}) {
    std::optional<std::vector<std::string_view>> cut;
    auto top = audit::text::split(t, true, "entries", &cut);
    REQUIRE(top);
    REQUIRE(cut);
    std::string_view entries;
    for (const auto& [k, v] : *top) {
      if (k == "entries") entries = v;
    }
    auto pieces = audit::text::split(entries, false);
    REQUIRE(pieces);
    REQUIRE(pieces->size() == cut->size());
    for (std::size_t i = 0; i < cut->size(); ++i) CHECK((*pieces)[i].second == (*cut)[i]);
    CHECK(*top == *audit::text::split(t, true));
  }
  std::optional<std::vector<std::string_view>> cut;
  CHECK(audit::text::split(R"({"entries":[1 2]})", true, "entries", &cut));  // not an array of values: not cut
  CHECK_FALSE(cut);
  CHECK(audit::text::split(R"({"entries":"[1]"})", true, "entries", &cut));
  CHECK_FALSE(cut);
  CHECK_FALSE(audit::text::split(R"({"entries":[1,2]}x)", true, "entries", &cut));
  CHECK(audit::text::skip_string(R"("a\\"b")", 0) == 5);
  CHECK(audit::text::skip_string(R"("a\"b")", 0) == 6);
  CHECK(audit::text::skip_string(R"("\\\"")", 0) == 6);
  CHECK(audit::text::skip_string(R"("abc)", 0) == std::string_view::npos);
}

TEST_CASE("audit text: entries replayed ahead on any number of threads give the ledger-order report", "[audit][threads]") {
  const Chain& c = chain();
  for (const auto* b : {&c.elided, &c.full}) {
    const json j = b->to_json();
    const audit::Report reference = audit::verify_bundle(c.genesis, j, {}, 1);
    INFO(reference.to_json().dump(2));
    REQUIRE(reference.ok);
    CHECK(reference.counts.replayed == b->entries.size());
    CHECK(reference.counts.signer_rejections == 2);
    CHECK(reference.documents.at("PL-11")["status"] == "released");
    for (const std::string& t : {j.dump(), j.dump(1)}) {
      for (unsigned threads : {1u, 2u, 3u, 4u, 8u}) {
        std::size_t last = 0;
        bool in_order = true;
        const auto r = audit::verify_bundle_text(c.genesis, t, [&](std::size_t done, std::size_t total) {
          in_order = in_order && done == last + 1 && total == b->entries.size();
          last = done;
        }, threads);
        INFO(threads << " threads: " << r.to_json().dump(2));
        CHECK(r.to_json() == reference.to_json());
        CHECK(in_order);
        CHECK(last == b->entries.size());
      }
    }
  }
}

TEST_CASE("audit text: the first failure in ledger order is reported, whatever the threads did first", "[audit][threads]") {
  const Chain& c = chain();
  const json j = c.elided.to_json();
  const auto find = [&](const json& b, const std::string& type, const std::string& doc) {
    for (std::size_t i = 0; i < b["entries"].size(); ++i) {
      const json& tx = b["entries"][i]["envelope"]["tx"];
      if (tx["type"] == type && tx["doc"] == doc) return i;
    }
    FAIL("no " << type << " on " << doc);
    return std::size_t{0};
  };
  std::vector<std::pair<std::string, json>> cases;
  {
    json b = j;  // a hole in the chain of WR-MAIN: caught at the next entry that reads it
    b["entries"].erase(find(b, "pledge.release", "PL-4"));
    cases.emplace_back("history", b);
  }
  {
    json b = j;  // two failures: the earlier one is reported
    b["entries"][find(b, "pledge.accept", "PL-9")]["envelope"]["sig"] = b["entries"][0]["envelope"]["sig"];
    b["entries"][find(b, "pledge.approve", "PL-2")]["result_proof"][0] = std::string(64, '0');
    cases.emplace_back("result_proof", b);
  }
  {
    json b = j;  // a malformed entry at the end comes before a failure of an entry at the start
    b["entries"][1]["envelope"]["sig"] = b["entries"][0]["envelope"]["sig"];
    b["entries"].back()["surprise"] = true;
    cases.emplace_back("format", b);
  }
  {
    json b = j;  // so does an entry out of order
    b["entries"][1]["envelope"]["sig"] = b["entries"][0]["envelope"]["sig"];
    std::swap(b["entries"][b["entries"].size() - 1], b["entries"][b["entries"].size() - 2]);
    cases.emplace_back("order", b);
  }
  {
    json b = j;  // a log proof of the last entry
    b["entries"].back()["leaf"] = 0;
    cases.emplace_back("log_proof", b);
  }
  for (const auto& [check, b] : cases) {
    const audit::Report reference = audit::verify_bundle(c.genesis, b, {}, 1);
    INFO(check << ": " << reference.to_json().dump(2));
    REQUIRE(reference.failure);
    CHECK(reference.failure->check == check);
    for (unsigned threads : {1u, 2u, 4u}) {
      const auto r = audit::verify_bundle_text(c.genesis, b.dump(), {}, threads);
      INFO(threads << " threads: " << r.to_json().dump(2));
      CHECK(r.to_json() == reference.to_json());
    }
  }
  // A text that is not JSON at all, and one cut short.
  const std::string t = j.dump();
  CHECK(audit::verify_bundle_text(c.genesis, t.substr(0, t.size() - 3), {}, 2).failure->check == "json");
  CHECK(audit::verify_bundle_text(c.genesis, t.substr(0, t.size() / 3), {}, 2).failure->check == "json");
}

TEST_CASE("audit text: inclusion proofs checked with the last one remembered give crypto::verify_inclusion's answer",
          "[audit][merkle]") {
  std::mt19937 rng(7);
  audit::InclusionMemo memo;
  for (std::uint64_t size : {1u, 2u, 3u, 5u, 8u, 13u, 64u, 100u, 255u, 257u, 500u}) {
    std::vector<crypto::Digest> leaves(size);
    for (std::size_t i = 0; i < size; ++i) leaves[i] = crypto::hash(kAlg, "leaf " + std::to_string(i) + " of " + std::to_string(size));
    const crypto::Digest root = crypto::merkle_root(kAlg, leaves);
    // Mostly neighbours, as in a bundle, then anywhere; each proof as it is and tampered with.
    for (int k = 0; k < 400; ++k) {
      const std::uint64_t index = k < 200 ? static_cast<std::uint64_t>(k) % size : rng() % size;
      auto proof = crypto::inclusion_proof(kAlg, leaves, index);
      REQUIRE(proof.ok());
      std::vector<std::tuple<crypto::Digest, std::uint64_t, std::uint64_t, std::vector<crypto::Digest>, crypto::Digest>> tries;
      tries.emplace_back(leaves[index], index, size, *proof, root);
      if (!proof->empty()) {
        auto changed = *proof;
        changed[rng() % changed.size()][rng() % 32] ^= 1;
        tries.emplace_back(leaves[index], index, size, changed, root);
        auto shorter = *proof;
        shorter.pop_back();
        tries.emplace_back(leaves[index], index, size, shorter, root);
      }
      auto longer = *proof;
      longer.push_back(root);
      tries.emplace_back(leaves[index], index, size, longer, root);
      tries.emplace_back(leaves[(index + 1) % size], index, size, *proof, root);
      tries.emplace_back(leaves[index], (index + 1) % size, size, *proof, root);
      tries.emplace_back(leaves[index], index, size + 1, *proof, root);
      tries.emplace_back(leaves[index], index + size, size, *proof, root);
      crypto::Digest other = root;
      other[0] ^= 1;
      tries.emplace_back(leaves[index], index, size, *proof, other);
      std::shuffle(tries.begin() + 1, tries.end(), rng);
      for (const auto& [leaf, i, n, p, r] : tries) {
        INFO("size " << size << " index " << i << " of " << n << " proof of " << p.size());
        CHECK(memo.verify(kAlg, leaf, i, n, p, r) == crypto::verify_inclusion(kAlg, leaf, i, n, p, r));
      }
    }
  }
}

TEST_CASE("audit text: the result leaf written directly is the ledger's", "[audit][merkle]") {
  for (const auto* b : {&chain().elided, &chain().full}) {
    for (auto e : b->entries) {
      for (const std::string reason : {"", "customs_approval_required", "a \"quoted\" one", "caf\xc3\xa9", "tab\t"}) {
        for (bool accepted : {true, false}) {
          e.accepted = accepted;
          e.reason = accepted ? "" : reason;
          for (std::uint64_t index : {std::uint64_t{0}, e.index, std::uint64_t{9007199254740991}, std::uint64_t{9007199254740992}}) {
            e.index = index;
            CHECK(audit::result_leaf(kAlg, e, e.reads) == ledger::result_leaf(kAlg, e.result(kAlg, e.reads)));
          }
        }
      }
    }
  }
}

TEST_CASE("audit text: parse_bundle_text reads the bundle as the verifier does and fails as it first would", "[audit][format]") {
  const Chain& c = chain();
  const auto text = [](const std::optional<audit::Failure>& f) {
    return f ? f->check + " | " + f->where + " | " + f->message + " | " + f->expected + " | " + f->found : "none";
  };
  for (const auto* b : {&c.elided, &c.full}) {
    const json j = b->to_json();
    for (const std::string& t : {j.dump(), j.dump(1)}) {
      for (unsigned threads : {1u, 2u, 4u}) {
        const auto p = audit::parse_bundle_text(c.genesis, t, threads);
        INFO(threads << " threads: " << text(p.failure));
        REQUIRE_FALSE(p.failure);
        CHECK(p.bundle.to_json() == j);  // every field as read, the documents in their order
      }
    }
  }
  const json j = c.elided.to_json();
  {
    json b = j;  // no signature is checked: every entry signed with another's signature still parses
    for (auto& e : b["entries"]) e["envelope"]["sig"] = j["entries"][0]["envelope"]["sig"];
    const auto p = audit::parse_bundle_text(c.genesis, b.dump());
    CHECK_FALSE(p.failure);
    CHECK(p.bundle.entries.size() == c.elided.entries.size());
    CHECK(audit::verify_bundle_text(c.genesis, b.dump(), {}, 1).failure->check == "signature");
  }
  std::vector<std::pair<std::string, std::string>> cases;  // check, text
  const std::string t = j.dump();
  cases.emplace_back("json", t.substr(0, t.size() - 3));
  cases.emplace_back("json", R"({"format":"onebill-bundle/2","network":01})");
  const auto with = [&](const std::string& check, const std::function<void(json&)>& change) {
    json b = j;
    change(b);
    cases.emplace_back(check, b.dump());
  };
  with("format", [](json& b) { b["surprise"] = true; });
  with("format", [](json& b) { b["entries"].back()["surprise"] = true; });
  with("format", [](json& b) { b["entries"] = json::object(); });
  with("format", [](json& b) { b["document"] = "WR-NOT-HERE"; });
  with("format", [](json& b) { b["state_proofs"]["WR-NOT-HERE"] = b["state_proofs"].begin().value(); });
  with("genesis", [](json& b) { b["genesis_hash"] = std::string(64, '0'); });
  with("genesis", [](json& b) { b["network"] = "another"; });
  with("order", [](json& b) { std::swap(b["entries"][3], b["entries"][4]); });
  with("order", [](json& b) { b["entries"].push_back(b["entries"].back()); });
  with("order", [](json& b) { std::swap(b["blocks"][0], b["blocks"][1]); });
  with("order", [](json& b) { b["blocks"].erase(b["blocks"].begin()); });  // the first entries' block is missing
  with("head", [](json& b) { b["head"]["header_hash"] = std::string(64, '0'); });
  with("head", [](json& b) { b["blocks"].erase(b["blocks"].size() - 1); });
  with("head", [](json& b) { b["head"]["height"] = b["head"]["height"].get<std::int64_t>() - 1; });
  for (const auto& [check, b] : cases) {
    const auto p = audit::parse_bundle_text(c.genesis, b, 2);
    INFO(check << ": " << text(p.failure));
    REQUIRE(p.failure);
    CHECK(p.failure->check == check);
    CHECK(p.bundle.entries.empty());
    CHECK(text(p.failure) == text(audit::parse_bundle_text(c.genesis, b, 1).failure));
    CHECK(text(p.failure) == text(audit::verify_bundle_text(c.genesis, b, {}, 2).failure));
  }
  // The genesis loaded once gives the same answers as its text.
  auto loaded = audit::load_genesis(c.genesis);
  REQUIRE(loaded.ok());
  for (const auto& [check, b] : cases) CHECK(text(audit::parse_bundle_text(*loaded, b).failure) == text(audit::parse_bundle_text(c.genesis, b).failure));
  CHECK(audit::parse_bundle_text(*loaded, t).bundle.to_json() == j);
  const auto bad_genesis = audit::parse_bundle_text("{}", t);
  REQUIRE(bad_genesis.failure);
  CHECK(bad_genesis.failure->check == "genesis");
  REQUIRE_FALSE(audit::load_genesis("{}").ok());
  CHECK(audit::load_genesis("{}").error().message == bad_genesis.failure->message);
  CHECK(text(bad_genesis.failure) == text(audit::verify_bundle_text("{}", t, {}, 1).failure));
}
