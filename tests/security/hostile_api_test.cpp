// Hostile requests to the REST API of a running single-node network, through the handlers without sockets
// (Node::call). Each one is answered with its exact HTTP status and problem code, and each is shown to change
// nothing: the node's height, log and head hash, and the documents, are the same before and after. Requests that
// a rule rejects are recorded (that is their point) but still change no document.
//
// Socket-level attacks (a body over the HTTP limit, slowloris headers, connection floods) are in
// tests/node/http_server_test.cpp; the wrong party for every transaction type in wrong_party_test.cpp.
#include <catch2/catch.hpp>

#include <optional>
#include <thread>

#include <unistd.h>

#include "contracts/envelope.h"
#include "crypto/bytes.h"
#include "node/auth.h"
#include "node/config.h"
#include "node/node.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;
namespace http = onebill::node::http;

namespace {

// A one-voter network with, besides the tokens of TestNet, "token-readonly" (crct, read) and "token-submitonly"
// (crct, submit), and one bill OB-S issued by crct with nonce 5000.
struct Target {
  testing::TestNet net;
  node::Logger log{node::LogLevel::error};
  std::unique_ptr<node::Node> n;
  std::string bill_id;  // tx id of the issue

  explicit Target(const std::string& name)
      : net(std::filesystem::temp_directory_path() / ("onebill-sec-" + name + "-" + std::to_string(::getpid())), 1) {
    auto config = node::load_config(net.nodes()[0].config);
    REQUIRE(config.ok());
    config->tokens.add(node::token_hash("token-readonly"),
                       node::Principal{"readonly", "crct", static_cast<std::uint8_t>(node::Scope::read)});
    config->tokens.add(node::token_hash("token-submitonly"),
                       node::Principal{"submitonly", "crct", static_cast<std::uint8_t>(node::Scope::submit)});
    auto created = node::Node::create(*config, log);
    REQUIRE(created.ok());
    n = std::move(*created);
    REQUIRE(n->start().ok());
    for (int i = 0; i < 100 && call("GET", "/readyz", "", "").response.result_int() != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    json a = submit(net.envelope("crct", "bill.issue", "OB-S", testing::sample_bill_body(), 5000));
    REQUIRE(a["status"] == "accepted");
    bill_id = a["id"];
  }
  ~Target() {
    n->stop();
    std::filesystem::remove_all(net.dir());
  }

  http::Reply call(const std::string& method, const std::string& target, const std::string& body,
                   const std::string& token) {
    http::Request req(boost::beast::http::string_to_verb(method), target, 11);
    if (!token.empty()) req.set(boost::beast::http::field::authorization, "Bearer " + token);
    req.body() = body;
    req.prepare_payload();
    return n->call(std::move(req));
  }
  json submit(const json& envelope, const std::string& org = "crct") {
    return json::parse(call("POST", "/v1/transactions", envelope.dump(), testing::TestNet::token(org)).response.body());
  }

  // What must not change: the chain's head and log, and the bill as stored.
  json snapshot() {
    json st = json::parse(call("GET", "/v1/status", "", "").response.body());
    json doc = json::parse(call("GET", "/v1/documents/OB-S", "", "token-audit").response.body());
    return {{"height", st["height"]}, {"log_size", st["log_size"]}, {"header_hash", st["header_hash"]}, {"doc", doc}};
  }
};

struct Hostile {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  std::string token;
  unsigned status;
  std::string code;
};

void expect_refused_and_nothing_changed(Target& t, const std::vector<Hostile>& cases) {
  for (const auto& c : cases) {
    INFO(c.name);
    const json before = t.snapshot();
    auto r = t.call(c.method, c.target, c.body, c.token);
    CHECK(r.response.result_int() == c.status);
    CHECK(r.response[boost::beast::http::field::content_type] == "application/problem+json");
    json p = json::parse(r.response.body(), nullptr, false);
    CHECK(p["code"] == c.code);
    CHECK(p["status"] == c.status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a block would have been cut by now
    CHECK(t.snapshot() == before);
  }
}

std::string env_text(json env) { return env.dump(); }

}  // namespace

TEST_CASE("security: forged, misattributed, replayed and stale submissions are refused and change nothing",
          "[security][api]") {
  Target t("submissions");
  json good = t.net.envelope("crct", "bill.issue", "OB-T", testing::sample_bill_body());
  json forged = good;
  forged["sig"] = t.net.envelope("crct", "bill.issue", "OB-U", testing::sample_bill_body())["sig"];
  // A valid signature by hmm's key over exactly a tx that names crct's key as its signer.
  json misattributed = good;
  {
    auto canonical = contracts::canonical_tx(*contracts::tx_from_json(good["tx"]));
    misattributed["sig"] = crypto::base64_encode(*t.net.key("hmm").sign(*canonical));
  }
  json unknown = good;
  unknown["tx"]["signer"] = "nobody/k1";
  json stale = t.net.envelope("crct", "bill.issue", "OB-T", testing::sample_bill_body(), 10);  // 5000 - 1024 > 10
  json body = testing::sample_bill_body();
  body["equipment"][0]["ref"] = "MSCU1234566";
  body["cargo"][0]["equipment_ref"] = "MSCU1234566";
  json reused = t.net.envelope("crct", "bill.issue", "OB-V", body, 5000);  // another entry, the nonce
  const std::string crct = testing::TestNet::token("crct");
  expect_refused_and_nothing_changed(
      t, {
             {"forged signature", "POST", "/v1/transactions", env_text(forged), crct, 422, "bad_signature"},
             {"org A's valid signature naming org B's key", "POST", "/v1/transactions", env_text(misattributed),
              crct, 422, "bad_signature"},
             {"unknown key", "POST", "/v1/transactions", env_text(unknown), crct, 422, "unknown_key"},
             {"stale nonce", "POST", "/v1/transactions", env_text(stale), crct, 409, "stale_nonce"},
             {"nonce of an accepted entry", "POST", "/v1/transactions", env_text(reused), crct, 409, "nonce_used"},
         });
  // The same refusals inside a batch: answered per entry with the same codes (the batch itself is 200), nothing
  // recorded.
  {
    const json before = t.snapshot();
    json batch = {{"entries", {forged, misattributed, unknown, stale, reused}}};
    auto r = t.call("POST", "/v1/transactions/batch", batch.dump(), crct);
    CHECK(r.response.result_int() == 200);
    json results = json::parse(r.response.body())["results"];
    REQUIRE(results.size() == 5);
    const std::vector<std::string> codes = {"bad_signature", "bad_signature", "unknown_key", "stale_nonce",
                                            "nonce_used"};
    for (std::size_t i = 0; i < codes.size(); ++i) {
      INFO("batch entry " << i);
      CHECK(results[i]["status"] == "error");
      CHECK(results[i]["code"] == codes[i]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(t.snapshot() == before);
  }
  // A replay of the accepted entry gets its recorded answer and records nothing new.
  const json before = t.snapshot();
  json replay = t.submit(t.net.envelope("crct", "bill.issue", "OB-S", testing::sample_bill_body(), 5000));
  CHECK(replay["status"] == "accepted");
  CHECK(replay["id"] == t.bill_id);
  CHECK(replay["height"] == 1);
  CHECK(t.snapshot() == before);
  json history = json::parse(t.call("GET", "/v1/documents/OB-S/history", "", "token-audit").response.body());
  CHECK(history["items"].size() == 1);
}

TEST_CASE("security: bodies outside the strict JSON subset or the envelope schema are refused and change nothing",
          "[security][api]") {
  Target t("bodies");
  const std::string crct = testing::TestNet::token("crct");
  json env = t.net.envelope("crct", "bill.issue", "OB-T", testing::sample_bill_body());
  json unknown_top = env;
  unknown_top["extra"] = 1;
  json unknown_tx = env;
  unknown_tx["tx"]["extra"] = 1;
  json foreign_signer = {{"tx", {{"type", "bill.issue"}, {"doc", "OB-T"}, {"signer", "hmm/k1"},
                                 {"body", testing::sample_bill_body()}}}};
  std::string tx_text = env["tx"].dump();
  auto with_tx = [&](const std::string& inner) { return "{\"sig\":\"" + env["sig"].get<std::string>() + "\",\"tx\":" + inner + "}"; };
  std::string over_limit(1 << 20, ' ');
  over_limit[0] = '{';
  over_limit.back() = '}';
  over_limit += ' ';
  expect_refused_and_nothing_changed(
      t, {
             {"nested 10,000 deep", "POST", "/v1/transactions", std::string(10000, '[') + std::string(10000, ']'),
              crct, 400, "too_deep"},
             {"duplicate keys", "POST", "/v1/transactions", "{\"tx\":{},\"tx\":{}}", crct, 400, "duplicate_key"},
             {"a float", "POST", "/v1/transactions",
              with_tx(tx_text.substr(0, tx_text.size() - 1) + ",\"x\":1.0}"), crct, 400, "float"},
             {"an exponent", "POST", "/v1/transactions", "{\"tx\":{\"nonce\":1e3}}", crct, 400, "float"},
             {"a non-ASCII key", "POST", "/v1/transactions", "{\"tx\":{\"d\xc3\xb6\x63\":1}}", crct, 400,
              "non_ascii_key"},
             {"invalid UTF-8 in a string", "POST", "/v1/transactions", "{\"tx\":{\"doc\":\"OB-\xff\"}}", crct, 400,
              "bad_json"},
             {"an unpaired surrogate escape", "POST", "/v1/transactions", "{\"tx\":{\"doc\":\"\\ud800\"}}", crct, 400,
              "bad_json"},
             {"an integer of 2^63", "POST", "/v1/transactions", "{\"tx\":{\"nonce\":9223372036854775808}}", crct, 400,
              "integer_range"},
             {"an integer beyond 2^64", "POST", "/v1/transactions", "{\"tx\":{\"nonce\":-99999999999999999999}}", crct,
              400, "integer_range"},
             {"an integer of 2^53", "POST", "/v1/transactions", "{\"tx\":{\"nonce\":9007199254740992}}", crct, 400,
              "integer_range"},
             {"an integer of 2^64", "POST", "/v1/transactions", "{\"tx\":{\"nonce\":18446744073709551616}}", crct,
              400, "integer_range"},
             {"an integer of 300 digits", "POST", "/v1/transactions",
              "{\"tx\":{\"nonce\":" + std::string(300, '9') + "}}", crct, 400, "integer_range"},
             // Beyond about 309 digits the number no longer fits even a double: still integer_range.
             {"an integer of 400 digits", "POST", "/v1/transactions",
              "{\"tx\":{\"nonce\":" + std::string(400, '9') + "}}", crct, 400, "integer_range"},
             {"duplicate keys deep in the body", "POST", "/v1/transactions",
              "{\"tx\":{\"body\":{\"cargo\":[{\"hs\":\"1\",\"hs\":\"2\"}]}}}", crct, 400, "duplicate_key"},
             {"a non-ASCII key in the body", "POST", "/v1/transactions", "{\"tx\":{\"body\":{\"\xe8\xb4\xa7\":1}}}",
              crct, 400, "non_ascii_key"},
             {"a batch nested 10,000 deep", "POST", "/v1/transactions/batch",
              std::string(10000, '[') + std::string(10000, ']'), crct, 400, "too_deep"},
             {"a float in a batch entry", "POST", "/v1/transactions/batch", "[{\"tx\":{\"nonce\":0.5}}]", crct, 400,
              "float"},
             {"a body over the limit", "POST", "/v1/transactions", over_limit, crct, 413, "too_large"},
             {"trailing data", "POST", "/v1/transactions", env.dump() + "{}", crct, 400, "bad_json"},
             {"a NUL byte", "POST", "/v1/transactions", std::string("{}\0{}", 5), crct, 400, "bad_json"},
             {"an unknown envelope field", "POST", "/v1/transactions", unknown_top.dump(), crct, 400, "bad_envelope"},
             {"an unknown tx field", "POST", "/v1/transactions", unknown_tx.dump(), crct, 400, "bad_envelope"},
             {"a negative nonce", "POST", "/v1/transactions",
              with_tx(json{{"body", json::object()}, {"doc", "OB-T"}, {"nonce", -1}, {"signer", "crct/k1"},
                           {"ts", ""}, {"type", "bill.void"}}.dump()),
              crct, 400, "bad_envelope"},
             {"a node-signed entry naming another signer", "POST", "/v1/transactions", foreign_signer.dump(), crct,
              400, "bad_envelope"},
             {"a batch entry list that is not a list", "POST", "/v1/transactions/batch", "{\"entries\":{}}", crct,
              400, "bad_envelope"},
         });
}

TEST_CASE("security: negative quantities and amounts are recorded as rejected and change no document",
          "[security][api]") {
  Target t("negative");
  json receipt = {{"holder", "trader"},
                  {"goods", {{"description", "Copper"}, {"hs", "740311"}, {"quantity", 100}, {"unit", "TNE"},
                             {"gross_kg", 100000}}},
                  {"location", "CNTSN"},
                  {"lot", "LOT-1"},
                  {"bonded", false}};
  REQUIRE(t.submit(t.net.envelope("tjwh", "receipt.issue", "WR-S", receipt), "tjwh")["status"] == "accepted");
  const json receipt_before = json::parse(t.call("GET", "/v1/documents/WR-S", "", "token-audit").response.body());
  const json bill_before = t.snapshot()["doc"];
  struct Case {
    const char* name;
    const char* org;
    const char* type;
    const char* doc;
    json body;
  };
  const std::vector<Case> cases = {
      {"negative withdrawal", "trader", "receipt.withdraw", "WR-S", {{"quantity", -40}}},
      {"zero withdrawal", "trader", "receipt.withdraw", "WR-S", {{"quantity", 0}}},
      {"negative pledge amount", "trader", "pledge.request", "PL-S",
       {{"collateral", "WR-S"}, {"bank", "bank1"}, {"amount", {{"value", -5}, {"ccy", "CNY"}}}, {"due", "2027-06-30"}}},
      {"negative declared value", "crct", "bill.issue", "OB-N",
       [] {
         json b = testing::sample_bill_body();
         b["declared_value"]["value"] = -1;
         return b;
       }()},
      {"negative gross weight", "hmm", "bill.event", "OB-S",
       {{"leg", 0}, {"event", "departed"}, {"at", "KRPUS"}, {"gross_kg", -1}}},
      {"an unknown body field", "trader", "receipt.withdraw", "WR-S", {{"quantity", 1}, {"colour", "red"}}},
  };
  std::int64_t crct_nonce = 6000;  // crct's window is at 5000 (the bill's issue)
  for (const auto& c : cases) {
    INFO(c.name);
    std::optional<std::int64_t> nonce;
    if (std::string(c.org) == "crct") nonce = crct_nonce++;
    json a = t.submit(t.net.envelope(c.org, c.type, c.doc, c.body, nonce), c.org);
    CHECK(a["status"] == "rejected");
    CHECK(a["reason"] == "bad_body");
  }
  CHECK(json::parse(t.call("GET", "/v1/documents/WR-S", "", "token-audit").response.body()) == receipt_before);
  CHECK(t.snapshot()["doc"] == bill_before);
  CHECK(t.call("GET", "/v1/documents/PL-S", "", "token-audit").response.result_int() == 404);
  CHECK(t.call("GET", "/v1/documents/OB-N", "", "token-audit").response.result_int() == 404);
}

TEST_CASE("security: a revoked key is refused at admission and changes nothing", "[security][api]") {
  Target t("revoked");
  json revoke = {{"action", "key.revoke"}, {"params", {{"id", "hmm/k1"}}}};
  REQUIRE(t.submit(t.net.envelope("crct", "gov.propose", "P-1", revoke, 5001))["status"] == "accepted");
  // 6 of the 11 organisations: more than half.
  for (const char* org : {"tjport", "customs", "bank1", "bank2", "tjwh"}) {
    REQUIRE(t.submit(t.net.envelope(org, "gov.approve", "P-1", json::object()), org)["status"] == "accepted");
  }
  REQUIRE(json::parse(t.call("GET", "/v1/documents/P-1", "", "token-audit").response.body())["status"] == "executed");
  json env = t.net.envelope("hmm", "bill.event", "OB-S", testing::sample_event_body(0, "departed", "KRPUS", {}));
  expect_refused_and_nothing_changed(
      t, {{"revoked key", "POST", "/v1/transactions", env.dump(), testing::TestNet::token("hmm"), 422, "revoked_key"}});
}

TEST_CASE("security: tokens without the scope, and reads of other organisations' data, are refused",
          "[security][api]") {
  Target t("access");
  json env = t.net.envelope("crct", "bill.issue", "OB-T", testing::sample_bill_body());
  json unsigned_tx = {{"tx", {{"type", "bill.issue"}, {"doc", "OB-T"}, {"body", testing::sample_bill_body()}}}};
  const std::string tx = "/v1/transactions/" + t.bill_id;
  expect_refused_and_nothing_changed(
      t, {
             {"no token", "POST", "/v1/transactions", env.dump(), "", 401, "unauthorized"},
             {"an unknown token", "POST", "/v1/transactions", env.dump(), "token-nobody", 401, "unauthorized"},
             {"a read-only token submitting", "POST", "/v1/transactions", env.dump(), "token-readonly", 403,
              "forbidden"},
             {"a submit-only token asking the node to sign", "POST", "/v1/transactions", unsigned_tx.dump(),
              "token-submitonly", 403, "forbidden"},
             {"another organisation's token asking the node to sign", "POST", "/v1/transactions", unsigned_tx.dump(),
              testing::TestNet::token("shipper"), 403, "forbidden"},
             {"a submit-only token reading a document", "GET", "/v1/documents/OB-S", "", "token-submitonly", 403,
              "forbidden"},
             {"another organisation's document", "GET", "/v1/documents/OB-S", "", "token-bank2", 403, "forbidden"},
             {"another organisation's history", "GET", "/v1/documents/OB-S/history", "", "token-bank2", 403,
              "forbidden"},
             {"another organisation's entry", "GET", tx, "", "token-bank2", 403, "forbidden"},
             {"another organisation's events", "GET", "/v1/events?doc=OB-S", "", "token-bank2", 403, "forbidden"},
             {"everyone's events", "GET", "/v1/events", "", "token-shipper", 403, "forbidden"},
             {"another organisation's audit bundle", "GET", "/v1/documents/OB-S/bundle", "", "token-bank2", 403,
              "forbidden"},
             {"a submit-only token listing documents", "GET", "/v1/documents", "", "token-submitonly", 403,
              "forbidden"},
         });
  // Listings skip what the token may not read: bank2 is party to nothing, crct issued OB-S.
  json listed = json::parse(t.call("GET", "/v1/documents", "", "token-bank2").response.body());
  CHECK(listed["items"].empty());
  listed = json::parse(t.call("GET", "/v1/documents", "", testing::TestNet::token("crct")).response.body());
  REQUIRE(listed["items"].size() == 1);
  CHECK(listed["items"][0]["id"] == "OB-S");
  // Block entries are hidden from organisations that are neither customs nor auditors.
  json block = json::parse(t.call("GET", "/v1/blocks/1", "", "token-bank2").response.body());
  CHECK_FALSE(block.contains("entries"));
  CHECK(json::parse(t.call("GET", "/v1/blocks/1", "", "token-customs").response.body()).contains("entries"));
}

TEST_CASE("security: ids with path characters or bytes that are not UTF-8 are refused with their code",
          "[security][api]") {
  Target t("ids");
  const std::string audit = "token-audit";
  expect_refused_and_nothing_changed(
      t, {
             {"encoded ../", "GET", "/v1/documents/..%2F..%2Fetc%2Fpasswd", "", audit, 400, "bad_request"},
             {"encoded /", "GET", "/v1/documents/OB-S%2Fhistory", "", audit, 400, "bad_request"},
             {"an encoded NUL", "GET", "/v1/documents/OB-S%00", "", audit, 400, "bad_request"},
             {"an encoded space", "GET", "/v1/documents/OB%20S", "", audit, 400, "bad_request"},
             {"a non-ASCII id", "GET", "/v1/documents/OB-%C3%B6", "", audit, 400, "bad_request"},
             {"a bad percent-encoding", "GET", "/v1/documents/OB-%zz", "", audit, 400, "bad_request"},
             {"a transaction id with ../", "GET", "/v1/transactions/..%2F..%2Fx", "", audit, 400, "bad_request"},
             {"a plain ../ after the id", "GET", "/v1/documents/OB-S/../../x", "", audit, 404, "not_found"},
             // Found by fuzzing (tests/fuzz, http_api): the 404's detail quoted the raw path, and bytes that are
             // not UTF-8 made the problem document throw, so the client got a 500.
             {"a path with bytes that are not UTF-8", "GET", "/v1/log/\x90\xff", "", audit, 404, "not_found"},
             {"a document id that is not UTF-8", "GET", "/v1/documents/%FF%FE", "", audit, 400, "bad_request"},
         });
}
