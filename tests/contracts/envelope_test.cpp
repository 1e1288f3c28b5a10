// The envelope, tx ids, the nonce window and the state helpers.
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "contracts/envelope.h"
#include "contracts/nonce.h"
#include "contracts/reasons.h"
#include "contracts/state.h"
#include "crypto/canonical_json.h"
#include "fixture.h"

using namespace onebill::contracts;
using namespace onebill::contracts::testing;
using onebill::crypto::HashAlg;

namespace {
const char* kEnvelope =
    R"({"tx":{"type":"bill.endorse","doc":"OB-1","signer":"shipper/k1","nonce":17,"ts":"2026-11-25T10:00:00Z",)"
    R"("body":{"to":"trader"}},"sig":"AQID"})";
}

// Whatever parsed it, an envelope is no deeper than a block's entry may be (envelope_from_signed: 31 levels for the
// tx), so every node decodes an admitted entry the same way.
TEST_CASE("contracts: a tx nested deeper than a block's entry may be is too_deep, however it was built",
          "[contracts][envelope]") {
  auto tx_nesting = [](int levels) {  // the tx object, its body, then arrays: `levels` in all
    nlohmann::json deep = nlohmann::json::array();
    for (int i = 3; i < levels; ++i) deep = nlohmann::json::array({deep});
    Tx tx;
    tx.type = "bill.event";
    tx.doc = "OB-1";
    tx.signer = "crct/k1";
    tx.nonce = 1;
    tx.ts = "2026-11-27T10:00:00Z";
    tx.body = {{"deep", deep}};
    return tx;
  };
  auto ok = make_envelope(tx_nesting(31), {1, 2, 3}, HashAlg::sha256);
  REQUIRE(ok.ok());
  REQUIRE(envelope_from_signed(ok->canonical_tx, {1, 2, 3}, HashAlg::sha256).ok());  // a block carries it
  auto deep = make_envelope(tx_nesting(32), {1, 2, 3}, HashAlg::sha256);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().code == "too_deep");
  // The same from JSON a request's parse let through (a batch's bare list leaves an envelope 33 levels).
  nlohmann::json as_json = {{"sig", "AQID"}, {"tx", tx_to_json(tx_nesting(32))}};
  auto from_json = envelope_from_json(as_json, HashAlg::sha256);
  REQUIRE_FALSE(from_json.ok());
  CHECK(from_json.error().code == "too_deep");
  auto canonical = onebill::crypto::canonicalize(tx_to_json(tx_nesting(32)));
  REQUIRE(canonical.ok());
  CHECK_FALSE(envelope_from_signed(*canonical, {1, 2, 3}, HashAlg::sha256).ok());  // what a follower would refuse
}

TEST_CASE("contracts: an envelope parses, and its id is the hash of canonical(tx)", "[contracts][envelope]") {
  auto env = parse_envelope(kEnvelope, HashAlg::sha256);
  REQUIRE(env.ok());
  CHECK(env->tx.type == "bill.endorse");
  CHECK(env->tx.nonce == 17);
  CHECK(env->sig == onebill::crypto::Bytes{1, 2, 3});
  const std::string canonical =
      R"({"body":{"to":"trader"},"doc":"OB-1","nonce":17,"signer":"shipper/k1","ts":"2026-11-25T10:00:00Z",)"
      R"("type":"bill.endorse"})";
  CHECK(env->canonical_tx == canonical);
  CHECK(env->id == onebill::crypto::hex(onebill::crypto::hash(HashAlg::sha256, canonical)));
  CHECK(tx_id(HashAlg::sha256, env->tx).value() == env->id);
  // The signature is not part of the id; key order and whitespace do not matter.
  auto other = parse_envelope(
      R"({"sig":"BAUG", "tx":{"body":{"to":"trader"},"nonce":17,"doc":"OB-1","type":"bill.endorse",)"
      R"("ts":"2026-11-25T10:00:00Z","signer":"shipper/k1"}})",
      HashAlg::sha256);
  REQUIRE(other.ok());
  CHECK(other->id == env->id);
  // SM3 networks get SM3 ids.
  auto sm3 = parse_envelope(kEnvelope, HashAlg::sm3);
  REQUIRE(sm3.ok());
  CHECK(sm3->id != env->id);
  // Round trip.
  auto again = envelope_from_json(envelope_to_json(*env), HashAlg::sha256);
  REQUIRE(again.ok());
  CHECK(again->id == env->id);
  CHECK(again->sig == env->sig);
}

TEST_CASE("contracts: envelopes outside the schema are rejected, naming the field", "[contracts][envelope]") {
  struct Case {
    const char* text;
    const char* code;
    const char* mentions;
  };
  const Case cases[] = {
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":"","body":{}},"sig":"AQID","x":1})", "bad_envelope",
       "x: unknown field"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":"","body":{},"extra":1},"sig":"AQID"})",
       "bad_envelope", "tx.extra"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":-1,"ts":"","body":{}},"sig":"AQID"})", "bad_envelope",
       "tx.nonce"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":"1","ts":"","body":{}},"sig":"AQID"})", "bad_envelope",
       "tx.nonce"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":"","body":[]},"sig":"AQID"})", "bad_envelope",
       "tx.body"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":""},"sig":"AQID"})", "bad_envelope", "tx.body"},
      {R"({"tx":{"type":"","doc":"d","signer":"s/k","nonce":1,"ts":"","body":{}},"sig":"AQID"})", "bad_envelope",
       "tx.type"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":"","body":{}}})", "bad_envelope", "sig"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":"","body":{}},"sig":"!!"})", "bad_envelope",
       "sig"},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":"","body":{"w":1.5}},"sig":"AQID"})", "float",
       ""},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":1,"ts":"","body":{"a":1,"a":2}},"sig":"AQID"})",
       "duplicate_key", ""},
      {R"({"tx":{"type":"t","doc":"d","signer":"s/k","nonce":9007199254740992,"ts":"","body":{}},"sig":"AQID"})",
       "integer_range", ""},
      {R"([1])", "bad_envelope", ""},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto env = parse_envelope(c.text, HashAlg::sha256);
    REQUIRE_FALSE(env.ok());
    CHECK(env.error().code == c.code);
    CHECK(env.error().message.find(c.mentions) != std::string::npos);
  }
}

TEST_CASE("contracts: an envelope from its signed bytes must be canonical, and equals the parsed one",
          "[contracts][envelope]") {
  auto parsed = parse_envelope(kEnvelope, HashAlg::sha256);
  REQUIRE(parsed.ok());
  auto signed_form = envelope_from_signed(parsed->canonical_tx, parsed->sig, HashAlg::sha256);
  REQUIRE(signed_form.ok());
  CHECK(signed_form->id == parsed->id);
  CHECK(signed_form->canonical_tx == parsed->canonical_tx);
  CHECK(signed_form->tx.body == parsed->tx.body);
  CHECK(signed_form->tx.signer == "shipper/k1");
  CHECK(signed_form->tx.nonce == 17);
  CHECK(signed_form->sig == parsed->sig);

  // The same tx with its keys out of order, or with a space, would hash to another id: refused, not fixed.
  const std::string reordered =
      R"({"doc":"OB-1","body":{"to":"trader"},"nonce":17,"signer":"shipper/k1","ts":"2026-11-25T10:00:00Z",)"
      R"("type":"bill.endorse"})";
  auto bad_order = envelope_from_signed(reordered, parsed->sig, HashAlg::sha256);
  REQUIRE_FALSE(bad_order.ok());
  CHECK(bad_order.error().code == "bad_envelope");
  CHECK(bad_order.error().message.find("not canonical") != std::string::npos);
  auto spaced = envelope_from_signed(std::string(" ") + parsed->canonical_tx, parsed->sig, HashAlg::sha256);
  REQUIRE_FALSE(spaced.ok());
  CHECK(spaced.error().code == "bad_envelope");
  // Outside the schema or the subset: the same codes as parse_envelope.
  auto extra = envelope_from_signed(R"({"body":{},"doc":"d","extra":1,"nonce":1,"signer":"s/k","ts":"","type":"t"})",
                                    parsed->sig, HashAlg::sha256);
  REQUIRE_FALSE(extra.ok());
  CHECK(extra.error().message.find("tx.extra") != std::string::npos);
  auto fl = envelope_from_signed(R"({"body":{"w":1.5},"doc":"d","nonce":1,"signer":"s/k","ts":"","type":"t"})",
                                 parsed->sig, HashAlg::sha256);
  REQUIRE_FALSE(fl.ok());
  CHECK(fl.error().code == "float");
  CHECK_FALSE(envelope_from_signed(parsed->canonical_tx, {}, HashAlg::sha256).ok());  // no signature
}

TEST_CASE("contracts: parsing from a tree it may consume gives the same envelope as from a kept one",
          "[contracts][envelope]") {
  auto tree = onebill::crypto::parse_strict(kEnvelope);
  REQUIRE(tree.ok());
  auto kept = envelope_from_json(*tree, HashAlg::sha256);
  auto moved = envelope_from_json(std::move(*tree), HashAlg::sha256);
  REQUIRE(kept.ok());
  REQUIRE(moved.ok());
  CHECK(moved->id == kept->id);
  CHECK(moved->tx.body == kept->tx.body);
  CHECK(moved->canonical_tx == kept->canonical_tx);
}

TEST_CASE("contracts: the nonce window follows RFC 4303 with 1024 slots", "[contracts][nonce]") {
  NonceWindow w;
  CHECK(w.check(0) == NonceWindow::Check::fresh);
  CHECK(w.check(5000) == NonceWindow::Check::fresh);
  w.mark(2000);
  CHECK(w.check(2000) == NonceWindow::Check::used);
  CHECK(w.check(1999) == NonceWindow::Check::fresh);   // in flight out of order: fine
  CHECK(w.check(977) == NonceWindow::Check::fresh);    // 2000 - 1023: the oldest slot of the window
  CHECK(w.check(976) == NonceWindow::Check::stale);    // 2000 - 1024: below the window
  w.mark(1500);
  w.mark(977);
  CHECK(w.check(1500) == NonceWindow::Check::used);
  CHECK(w.check(977) == NonceWindow::Check::used);
  w.mark(2070);  // slides by 70: bits move, 977 falls out
  CHECK(w.check(2000) == NonceWindow::Check::used);
  CHECK(w.check(1500) == NonceWindow::Check::used);
  CHECK(w.check(977) == NonceWindow::Check::stale);
  CHECK(w.check(1046) == NonceWindow::Check::stale);
  CHECK(w.check(1047) == NonceWindow::Check::fresh);
  // Serialization keeps everything.
  auto back = NonceWindow::from_json(w.to_json());
  REQUIRE(back.ok());
  CHECK(back->highest() == 2070);
  for (std::int64_t n : {2070, 2000, 1500}) CHECK(back->check(n) == NonceWindow::Check::used);
  CHECK(back->check(2069) == NonceWindow::Check::fresh);
  CHECK(w.to_json()["seen"].get<std::string>().size() == 256);
  // A jump of more than the window clears it.
  back->mark(100000);
  CHECK(back->check(2070) == NonceWindow::Check::stale);
  CHECK(back->check(99999) == NonceWindow::Check::fresh);
  // Every offset across word boundaries survives a shift.
  NonceWindow s;
  for (std::int64_t n = 0; n < 1024; n += 3) s.mark(n);
  s.mark(1100);
  for (std::int64_t n = 77; n < 1024; ++n) CHECK(s.check(n) == (n % 3 == 0 ? NonceWindow::Check::used : NonceWindow::Check::fresh));
  CHECK_FALSE(NonceWindow::from_json(nlohmann::json{{"highest", 1}, {"seen", "00"}}).ok());
}

TEST_CASE("contracts: a nonce window's stored text is canonical JSON, and reads back as its JSON does", "[contracts][nonce]") {
  const auto same = [](const NonceWindow& a, const NonceWindow& b) { return a.to_json() == b.to_json(); };
  NonceWindow empty;
  NonceWindow w;
  for (std::int64_t n : {5, 7, 64, 100, 1000, 1023, 1030}) w.mark(n);
  NonceWindow far;
  far.mark((std::int64_t{1} << 53) - 1);
  for (const NonceWindow* x : {&empty, &w, &far}) {
    const std::string text = x->canonical();
    CHECK(text == onebill::crypto::canonicalize(x->to_json()).value());
    auto back = NonceWindow::parse(text);
    REQUIRE(back.ok());
    CHECK(same(*back, *x));
  }
  // Other spellings of the same JSON take the general path, with the same result.
  const std::string text = w.canonical();
  for (const std::string& other : {std::string("{ \"seen\": ") + "\"" + w.to_json()["seen"].get<std::string>() + "\", \"highest\": 1030 }",
                                   text.substr(0, text.size() - 2) + "\" }"}) {
    INFO(other);
    auto back = NonceWindow::parse(other);
    REQUIRE(back.ok());
    CHECK(same(*back, w));
  }
  // Malformed text is corrupt state, on either path.
  std::string upper = text;
  upper[upper.size() - 3] = 'G';
  for (const std::string& bad : {std::string("{\"highest\":01,\"seen\":\"") + std::string(256, '0') + "\"}",
                                 std::string("{\"highest\":1,\"seen\":\"") + std::string(254, '0') + "\"}", upper,
                                 std::string("{\"highest\":1x,\"seen\":\"") + std::string(256, '0') + "\"}",
                                 std::string("not json"), std::string()}) {
    INFO(bad);
    auto back = NonceWindow::parse(bad);
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().code == "corrupt_state");
  }
}

TEST_CASE("contracts: a nonce window's text read directly agrees with its JSON parse, whatever the bytes", "[contracts][nonce]") {
  // Differential: seeded mutations of stored windows (a byte changed, dropped or added; a prefix; a suffix) read
  // by parse() and by from_json(json::parse()) must give the same window or both corrupt_state.
  std::mt19937 rng(2026);
  NonceWindow w;
  for (std::int64_t n : {3, 9, 700, 1900, 2000}) w.mark(n);
  const std::vector<std::string> bases = {w.canonical(), NonceWindow().canonical()};
  const std::string alphabet = "0123456789abcdefABCDEF-+.,:\"{}[] eEnull\\x";
  int agreed_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string t = bases[static_cast<std::size_t>(i) % bases.size()];
    const auto pos = std::uniform_int_distribution<std::size_t>(0, t.size() - 1)(rng);
    const char c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    switch (i % 5) {
      case 0: t[pos] = c; break;
      case 1: t.erase(pos, 1); break;
      case 2: t.insert(pos, 1, c); break;
      case 3: t.resize(pos); break;
      default: t = t.substr(pos); break;
    }
    INFO(t);
    const auto fast = NonceWindow::parse(t);
    const auto slow = NonceWindow::from_json(nlohmann::json::parse(t, nullptr, false));
    REQUIRE(fast.ok() == slow.ok());
    if (fast.ok()) {
      CHECK(fast->to_json() == slow->to_json());
      ++agreed_ok;
    } else {
      CHECK(fast.error().code == "corrupt_state");
    }
  }
  CHECK(agreed_ok > 1000);  // many mutations still read as windows (a digit changed): both paths exercised
}

TEST_CASE("contracts: overlay reads its own writes first, deletes hide the base", "[contracts][state]") {
  MemoryState base;
  base.apply({{"a", "1"}, {"b", "2"}});
  OverlayState overlay(base);
  overlay.apply({{"b", std::nullopt}, {"c", "3"}});
  CHECK(overlay.get("a").value() == std::optional<std::string>("1"));
  CHECK_FALSE(overlay.get("b").value().has_value());
  CHECK(overlay.get("c").value() == std::optional<std::string>("3"));
  CHECK(base.get("c").value() == std::nullopt);
  base.apply(overlay.writes());
  CHECK(base.entries().size() == 2);
  CHECK(base.scan("c").size() == 1);
  CHECK(keys::membership_change(12, 3) == "gov/change/000000000012/000003");
  CHECK(keys::lot("tjwh", "LOT-1") == "idx/lot/tjwh/LOT-1");
  // The digest commits to every byte and to deletes.
  MemoryState other;
  other.apply({{"a", "1"}, {"c", "3"}});
  CHECK(other.digest(HashAlg::sha256) == base.digest(HashAlg::sha256));
  other.apply({{"c", "4"}});
  CHECK(other.digest(HashAlg::sha256) != base.digest(HashAlg::sha256));
  CHECK(digest_writes(HashAlg::sha256, {{"x", std::nullopt}}) != digest_writes(HashAlg::sha256, {{"x", ""}}));
}

TEST_CASE("contracts: common rules - key, nonce, type, doc id", "[contracts][common]") {
  Ledger l;
  issue_bill(l, "OB-1");
  const json endorse{{"to", "trader"}};
  // unknown_key: no such key, malformed key id, an org that has no such key.
  CHECK(l.submit("nobody/k1", "bill.endorse", "OB-1", endorse).reason == "unknown_key");
  CHECK(l.submit("shipper/k2", "bill.endorse", "OB-1", endorse).reason == "unknown_key");
  CHECK(l.submit("NOT A KEY", "bill.endorse", "OB-1", endorse).reason == "unknown_key");
  // unknown_type, bad doc id.
  must_reject(l, "shipper", "bill.teleport", "OB-1", endorse, "unknown_type");
  must_reject(l, "shipper", "bill", "OB-1", endorse, "unknown_type");
  auto msg = must_reject(l, "shipper", "bill.endorse", "OB 1", endorse, "bad_body");
  CHECK(msg.find("doc") != std::string::npos);
  // Closed body schema, naming the field.
  msg = must_reject(l, "shipper", "bill.endorse", "OB-1", {{"to", "trader"}, {"colour", "red"}}, "bad_body");
  CHECK(msg == "body.colour: unknown field");
  msg = must_reject(l, "shipper", "bill.endorse", "OB-1", json::object(), "bad_body");
  CHECK(msg == "body.to: missing");
  // Nonces: used, stale; a rejected entry leaves its nonce free.
  const std::int64_t n = l.next_nonce["shipper/k1"];
  CHECK(l.submit("shipper", "bill.endorse", "OB-1", {{"to", "nobody"}}, n).reason == "bad_body");
  auto ok = l.submit("shipper", "bill.endorse", "OB-1", endorse, n);
  REQUIRE(ok.accepted);
  CHECK(ok.writes.count(keys::nonce("shipper/k1")) == 1);
  CHECK(l.submit("trader", "bill.endorse", "OB-1", {{"to", "buyer"}}, 5000).accepted);
  CHECK(l.submit("trader", "bill.endorse", "OB-1", {{"to", "shipper"}}, 5000).reason == "nonce_used");
  CHECK(l.submit("trader", "bill.endorse", "OB-1", {{"to", "shipper"}}, 5000 - 1024).reason == "stale_nonce");
  CHECK(l.submit("trader", "bill.endorse", "OB-1", {{"to", "shipper"}}, 5000 - 1023).reason == "not_holder");
  // Outcome JSON.
  CHECK(ok.result_json() == json{{"id", ok.tx_id}, {"status", "accepted"}});
  auto bad = l.submit("shipper", "bill.teleport", "OB-1", endorse, n + 1);
  CHECK(bad.result_json() == json{{"id", bad.tx_id}, {"status", "rejected"}, {"reason", "unknown_type"}});
  CHECK(bad.documents == std::vector<std::string>{"OB-1"});
}

TEST_CASE("contracts: apply_block checks signatures through the caller's callback", "[contracts][common]") {
  Ledger l;
  std::vector<Envelope> entries = {
      l.make("crct", "bill.issue", "OB-1", bill_body()),
      l.make("shipper", "bill.endorse", "OB-1", {{"to", "trader"}}),
      l.make("nobody", "bill.endorse", "OB-1", {{"to", "trader"}}),
  };
  entries[1].sig = {9, 9, 9};  // "forged"
  int calls = 0;
  auto result = apply_block(entries, 1, kStartMs, l.state, l.members, [&calls](const Envelope& e, const Key& k) {
    ++calls;
    CHECK(k.id == e.tx.signer);
    return e.sig != onebill::crypto::Bytes{9, 9, 9};
  });
  REQUIRE(result.ok());
  CHECK(calls == 2);  // the unknown key never reaches the signature check
  CHECK(result->outcomes[0].accepted);
  CHECK(result->outcomes[1].reason == "bad_signature");
  CHECK(result->outcomes[2].reason == "unknown_key");
  // Entries later in a block see earlier writes: an issue then an endorse in one block.
  entries[1].sig = {1};
  auto second = apply_block(entries, 1, kStartMs, l.state, l.members, nullptr);
  REQUIRE(second.ok());
  CHECK(second->outcomes[1].accepted);
}

TEST_CASE("contracts: every reason code is listed once, sorted", "[contracts][common]") {
  CHECK(std::is_sorted(reason::kAll.begin(), reason::kAll.end()));
  CHECK(std::adjacent_find(reason::kAll.begin(), reason::kAll.end()) == reason::kAll.end());
  CHECK(known_types().size() == 23);
}

// Signed bytes are read by crypto::parse_canonical (no re-serialization): the envelope is the one make_envelope
// builds from the same tx, whatever its strings and numbers hold.
TEST_CASE("contracts: an envelope read from canonical signed bytes equals the one built from its tx",
          "[contracts][envelope]") {
  Tx tx;
  tx.type = "bill.event";
  tx.doc = "OB-\xe5\xa4\x9a-1";  // non-ASCII, as document ids never are: the reader does not care
  tx.signer = "rail/k1";
  tx.nonce = 9007199254740991;
  tx.ts = "2026-11-27T10:00:00Z";
  tx.body = nlohmann::json::parse(R"({"a":[-1,0,1,{"b":null,"c":true}],"note":"quote \" backslash \\ tab \t )"
                                  R"(ctl \u0001 slash / \u591a\u5f0f\u8054\u8fd0","w":-9007199254740991})");
  auto built = make_envelope(tx, {1, 2, 3}, HashAlg::sha256);
  REQUIRE(built.ok());
  auto read = envelope_from_signed(built->canonical_tx, {1, 2, 3}, HashAlg::sha256);
  REQUIRE(read.ok());
  CHECK(read->id == built->id);
  CHECK(read->canonical_tx == built->canonical_tx);
  CHECK(read->tx.body == built->tx.body);
  CHECK(read->tx.body.dump() == built->tx.body.dump());
  CHECK(read->tx.doc == tx.doc);
  CHECK(read->tx.nonce == tx.nonce);
  CHECK(read->tx.ts == tx.ts);
  CHECK(onebill::crypto::parse_canonical(built->canonical_tx).has_value());  // it took the fast path
  // A nonce past 2^53-1 is no canonical subset text: the strict path names it.
  std::string big = built->canonical_tx;
  big.replace(big.find("9007199254740991,\"signer\""), 16, "9007199254740992");
  auto refused = envelope_from_signed(big, {1, 2, 3}, HashAlg::sha256);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == "integer_range");
}

// A submission's body that is a canonical envelope is read straight from its bytes (envelope_from_canonical), to
// the envelope parse_envelope reads; anything else is left to parse_envelope, which names what is wrong.
TEST_CASE("contracts: a canonical envelope is read from its bytes as parse_envelope reads it, and nothing else is",
          "[contracts][envelope]") {
  auto parsed = parse_envelope(kEnvelope, HashAlg::sha256);
  REQUIRE(parsed.ok());
  const std::string canonical = envelope_to_json(*parsed).dump();
  CHECK(canonical.starts_with(R"({"sig":"AQID","tx":{"body":)"));
  auto fast = envelope_from_canonical(canonical, HashAlg::sha256);
  REQUIRE(fast.has_value());
  CHECK(fast->id == parsed->id);
  CHECK(fast->sig == parsed->sig);
  CHECK(fast->canonical_tx == parsed->canonical_tx);
  CHECK(fast->tx.body == parsed->tx.body);
  CHECK(fast->tx.nonce == 17);

  const std::string tx = parsed->canonical_tx;
  const std::vector<std::string> texts = {
           std::string(kEnvelope),                                 // keys out of order
           " " + canonical,                                        // a space
           canonical + " ",                                        //
           R"({"sig":"AQID", "tx":)" + tx + "}",                   //
           R"({"sig":"","tx":)" + tx + "}",                        // an empty signature
           R"({"sig":"AQI","tx":)" + tx + "}",                     // not base64
           R"({"sig":"AQ\u0049D","tx":)" + tx + "}",               // an escape in the signature
           R"({"sig":"AQID","tx":)" + tx + R"(,"x":1})",           // another key
           R"({"sig":"AQID","tx":)" + tx + "}}",                   // trailing
           R"({"sig":"AQID","tx":)" + tx,                          // cut short
           std::string(R"({"sig":"AQID","tx":{"body":{},"doc":"d","extra":1,"nonce":1,"signer":"s/k","ts":"","type":"t"}})"),
           std::string(R"({"sig":"AQID","tx":{"body":{"w":1.5},"doc":"d","nonce":1,"signer":"s/k","ts":"","type":"t"}})"),
           std::string(R"({"sig":"AQID","tx":{"body":{},"doc":"d","nonce":-1,"signer":"s/k","ts":"","type":"t"}})"),
           std::string(R"({"sig":"AQID","tx":[]})"),
           std::string(R"({"sig":"AQID"})"),
       };
  for (const std::string& text : texts) {
    INFO(text);
    auto slow = parse_envelope(text, HashAlg::sha256);
    auto quick = envelope_from_canonical(text, HashAlg::sha256);
    CHECK_FALSE(quick.has_value());
    if (slow.ok()) CHECK(slow->id == parsed->id);  // the non-canonical spellings of the same envelope
  }
}
