// The REST API of a running single-node network, called through the handlers without sockets (Node::call):
// submissions (signed, node-signed, batch, retries), admission errors with their codes, reads with access control,
// proofs against the certified head, and the operational endpoints.
#include <catch2/catch.hpp>

#include <thread>

#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "crypto/keys.h"
#include "crypto/merkle.h"
#include "node/config.h"
#include "node/node.h"
#include "tests/support/single_node.h"
#include "tests/support/testnet.h"

using namespace onebill;
using nlohmann::json;
namespace http = onebill::node::http;

using onebill::testing::SingleNode;

TEST_CASE("a signed entry is admitted, committed and answered, and the same entry again gets the same answer", "[node][api]") {
  SingleNode s("submit");
  json env = s.net.envelope("crct", "bill.issue", "OB-1", testing::sample_bill_body());
  unsigned status = 0;
  json a = s.call_json("POST", "/v1/transactions", env, "crct", &status);
  REQUIRE(status == 200);
  CHECK(a["status"] == "accepted");
  CHECK(a["height"] == 1);
  CHECK(a["index"] == 0);
  json again = s.call_json("POST", "/v1/transactions", env, "crct", &status);
  CHECK(status == 200);
  CHECK(again == a);
  // Only one entry was recorded.
  json history = s.call_json("GET", "/v1/documents/OB-1/history", nullptr, "shipper");
  CHECK(history["items"].size() == 1);
  json doc = s.call_json("GET", "/v1/documents/OB-1", nullptr, "shipper", &status);
  CHECK(status == 200);
  CHECK(doc["status"] == "issued");
  CHECK(doc["holder"] == "shipper");
}

TEST_CASE("a rule violation is recorded as rejected with its reason", "[node][api]") {
  SingleNode s("reject");
  // hmm is a sea carrier, not an mto: wrong_role, recorded on the ledger.
  json env = s.net.envelope("hmm", "bill.issue", "OB-2", testing::sample_bill_body());
  json a = s.call_json("POST", "/v1/transactions", env, "hmm");
  CHECK(a["status"] == "rejected");
  CHECK(a["reason"] == "wrong_role");
  unsigned status = 0;
  json tx = s.call_json("GET", "/v1/transactions/" + a["id"].get<std::string>(), nullptr, "hmm", &status);
  CHECK(status == 200);
  CHECK(tx["status"] == "rejected");
}

TEST_CASE("admission refuses what must not enter a block, with the exact code", "[node][api]") {
  SingleNode s("admission");
  unsigned status = 0;
  SECTION("forged signature") {
    json env = s.net.envelope("crct", "bill.issue", "OB-3", testing::sample_bill_body());
    json other = s.net.envelope("crct", "bill.issue", "OB-4", testing::sample_bill_body());
    env["sig"] = other["sig"];
    json p = s.call_json("POST", "/v1/transactions", env, "crct", &status);
    CHECK(status == 422);
    CHECK(p["code"] == "bad_signature");
  }
  SECTION("a valid signature by one org's key naming another org's key") {
    json env = s.net.envelope("crct", "bill.issue", "OB-5", testing::sample_bill_body());
    json forged = s.net.envelope("hmm", "bill.issue", "OB-5", testing::sample_bill_body());
    forged["tx"]["signer"] = "crct/k1";  // hmm's signature over a tx claiming crct's key
    json p = s.call_json("POST", "/v1/transactions", forged, "crct", &status);
    CHECK(status == 422);
    CHECK(p["code"] == "bad_signature");
    (void)env;
  }
  SECTION("unknown key") {
    json env = s.net.envelope("crct", "bill.issue", "OB-6", testing::sample_bill_body());
    env["tx"]["signer"] = "nobody/k1";
    json p = s.call_json("POST", "/v1/transactions", env, "crct", &status);
    CHECK(status == 422);
    CHECK(p["code"] == "unknown_key");
  }
  SECTION("malformed JSON and floats are refused before anything else") {
    auto r = s.call("POST", "/v1/transactions", "{\"tx\": {\"nonce\": 1.5}}");
    CHECK(r.response.result_int() == 400);
    CHECK(json::parse(r.response.body())["code"] == "float");
    r = s.call("POST", "/v1/transactions", "{\"a\":1,\"a\":2}");
    CHECK(json::parse(r.response.body())["code"] == "duplicate_key");
    std::string deep(10000, '[');
    r = s.call("POST", "/v1/transactions", deep);
    CHECK(json::parse(r.response.body())["code"] == "too_deep");
  }
  SECTION("a reused nonce by a different entry") {
    json first = s.net.envelope("crct", "bill.issue", "OB-7", testing::sample_bill_body(), 7);
    CHECK(s.call_json("POST", "/v1/transactions", first)["status"] == "accepted");
    json body = testing::sample_bill_body();
    body["equipment"][0]["ref"] = "MSCU1234566";
    body["cargo"][0]["equipment_ref"] = "MSCU1234566";
    json second = s.net.envelope("crct", "bill.issue", "OB-8", body, 7);
    json p = s.call_json("POST", "/v1/transactions", second, "crct", &status);
    CHECK(status == 409);
    CHECK(p["code"] == "nonce_used");
  }
  SECTION("no token, an unknown token, or a token without the scope") {
    json env = s.net.envelope("crct", "bill.issue", "OB-9", testing::sample_bill_body());
    CHECK(s.call("POST", "/v1/transactions", env.dump(), "").response.result_int() == 401);
    http::Request req(boost::beast::http::verb::post, "/v1/transactions", 11);
    req.set(boost::beast::http::field::authorization, "Bearer not-a-token");
    req.body() = env.dump();
    req.prepare_payload();
    CHECK(s.node->call(std::move(req)).response.result_int() == 401);
  }
}

TEST_CASE("an unsigned entry is signed by the node for its own organisation's token", "[node][api]") {
  SingleNode s("sign");
  json body = {{"tx", {{"type", "bill.issue"}, {"doc", "OB-10"}, {"body", testing::sample_bill_body()}}}};
  json a = s.call_json("POST", "/v1/transactions", body, "crct");
  CHECK(a["status"] == "accepted");
  json b = {{"tx", {{"type", "bill.issue"}, {"doc", "OB-11"}, {"body", testing::sample_bill_body()}}}};
  unsigned status = 0;
  json p = s.call_json("POST", "/v1/transactions", b, "hmm", &status);
  CHECK(status == 403);  // the node signs only for its own organisation
  CHECK(p["code"] == "forbidden");
}

TEST_CASE("reads are limited to organisations involved in the document, customs and auditors", "[node][api]") {
  SingleNode s("access");
  REQUIRE(s.call_json("POST", "/v1/transactions", s.net.envelope("crct", "bill.issue", "OB-20", testing::sample_bill_body()))["status"] == "accepted");
  unsigned status = 0;
  s.call_json("GET", "/v1/documents/OB-20", nullptr, "shipper", &status);
  CHECK(status == 200);
  s.call_json("GET", "/v1/documents/OB-20", nullptr, "customs", &status);
  CHECK(status == 200);
  s.call_json("GET", "/v1/documents/OB-20", nullptr, "audit", &status);
  CHECK(status == 200);
  json p = s.call_json("GET", "/v1/documents/OB-20", nullptr, "bank2", &status);
  CHECK(status == 403);
  CHECK(p["code"] == "forbidden");
  s.call_json("GET", "/v1/documents/OB-20/history", nullptr, "bank2", &status);
  CHECK(status == 403);
  s.call_json("GET", "/v1/documents/NOPE", nullptr, "audit", &status);
  CHECK(status == 404);
  s.call_json("GET", "/v1/documents/..%2F..%2Fetc", nullptr, "audit", &status);
  CHECK(status == 400);
  // Listing shows only readable documents.
  json mine = s.call_json("GET", "/v1/documents?type=bill", nullptr, "shipper");
  CHECK(mine["items"].size() == 1);
  json theirs = s.call_json("GET", "/v1/documents?type=bill", nullptr, "bank2");
  CHECK(theirs["items"].empty());
}

TEST_CASE("an accepted entry comes with an inclusion proof against the certified head", "[node][api]") {
  SingleNode s("proof");
  std::vector<std::string> ids;
  const char* containers[] = {"CSQU3054383", "MSCU1234566", "TGHU1234567"};
  for (int i = 0; i < 3; ++i) {
    json body = testing::sample_bill_body();
    body["equipment"][0]["ref"] = containers[i];
    body["cargo"][0]["equipment_ref"] = containers[i];
    json a = s.call_json("POST", "/v1/transactions", s.net.envelope("crct", "bill.issue", "OB-3" + std::to_string(i), body));
    REQUIRE(a["status"] == "accepted");
    ids.push_back(a["id"]);
  }
  json head = s.call_json("GET", "/v1/log/head");
  REQUIRE(head["log_size"] == 3);
  REQUIRE(head["attestations"].size() == 1);
  json tx = s.call_json("GET", "/v1/transactions/" + ids[1]);
  REQUIRE(tx.contains("proof"));
  std::vector<crypto::Digest> path;
  for (const auto& h : tx["proof"]["path"]) path.push_back(*crypto::digest_from_hex(h.get<std::string>()));
  auto raw_id = crypto::hex_decode(ids[1]);
  auto leaf = crypto::leaf_hash(crypto::HashAlg::sha256, *raw_id);
  auto root = *crypto::digest_from_hex(head["log_root"].get<std::string>());
  CHECK(crypto::verify_inclusion(crypto::HashAlg::sha256, leaf, tx["proof"]["log_index"], 3, path, root));
  json c = s.call_json("GET", "/v1/log/consistency?from=1&to=3");
  std::vector<crypto::Digest> cp;
  for (const auto& h : c["proof"]) cp.push_back(*crypto::digest_from_hex(h.get<std::string>()));
  CHECK(crypto::verify_consistency(crypto::HashAlg::sha256, 1, 3, *crypto::digest_from_hex(c["from_root"].get<std::string>()),
                                   root, cp));
  json block = s.call_json("GET", "/v1/blocks/2");
  CHECK(block["header"]["height"] == 2);
  CHECK(block["header"]["prev"] == s.call_json("GET", "/v1/blocks/1")["hash"]);
}

TEST_CASE("a batch is answered per entry", "[node][api]") {
  SingleNode s("batch");
  json good = s.net.envelope("crct", "bill.issue", "OB-40", testing::sample_bill_body());
  json bad = s.net.envelope("crct", "bill.issue", "OB-41", testing::sample_bill_body());
  bad["sig"] = good["sig"];
  json r = s.call_json("POST", "/v1/transactions/batch", json{{"entries", {good, bad}}});
  REQUIRE(r["results"].size() == 2);
  CHECK(r["results"][0]["status"] == "accepted");
  CHECK(r["results"][1]["code"] == "bad_signature");
}

// A batch may be a bare list, which leaves each envelope one level more room in the parse than a submission has: a
// tx nested deeper than a block's entries may be (envelope_from_signed) is refused, not admitted into a block the
// other nodes would refuse to decode.
TEST_CASE("a batch's entry nested deeper than a block may carry is refused on admission", "[node][api]") {
  SingleNode s("batch-depth");
  auto nested = [&](int arrays, const std::string& doc) {
    json deep = json::array();
    for (int i = 1; i < arrays; ++i) deep = json::array({deep});
    return s.net.envelope("crct", "bill.event", doc, json{{"deep", deep}});  // tx, body, then the arrays
  };
  json r = s.call_json("POST", "/v1/transactions/batch", json::array({nested(30, "OB-D1"), nested(29, "OB-D2")}));
  REQUIRE(r["results"].size() == 2);
  CHECK(r["results"][0]["code"] == "too_deep");  // the tx nests 32 deep
  CHECK(r["results"][1]["status"] == "rejected");  // 31: admitted and decided by the rules (no such bill)
}

TEST_CASE("status, readiness and metrics", "[node][api]") {
  SingleNode s("ops");
  json st = s.call_json("GET", "/v1/status", nullptr, "");
  CHECK(st["role"] == "leader");
  CHECK(st["leader"] == "n1");
  CHECK(s.call("GET", "/healthz", "", "").response.result_int() == 200);
  auto m = s.call("GET", "/metrics", "", "");
  CHECK(m.response.body().find("onebill_raft_term") != std::string::npos);
  CHECK(s.call("GET", "/v1/nothing").response.result_int() == 404);
}

TEST_CASE("a member's key in use gets a verification table in the background, and answers stay the same",
          "[node][api]") {
  const crypto::PublicKey::TablePolicy saved = crypto::PublicKey::table_policy();
  crypto::PublicKey::set_table_policy({/*uses_before_table=*/1, /*max_tables=*/saved.max_tables + 16});
  {
    SingleNode s("keytables");
    auto gauge = [&]() -> long {
      std::string body = s.call("GET", "/metrics", "", "").response.body();
      auto at = body.find("\nonebill_key_tables ");
      return at == std::string::npos ? -1 : std::stol(body.substr(at + 20));
    };
    const long before = gauge();  // tables of other tests' keys still alive in this process, if any
    REQUIRE(before >= 0);
    REQUIRE(s.call_json("POST", "/v1/transactions",
                        s.net.envelope("crct", "bill.issue", "OB-KT1", testing::bill(testing::container(71))))["status"] ==
            "accepted");
    // crct's key has verified one signature: the next look-up of it claims the table, the builder thread makes it.
    REQUIRE(s.call_json("POST", "/v1/transactions",
                        s.net.envelope("shipper", "bill.endorse", "OB-KT1", {{"to", "trader"}}))["status"] == "accepted");
    REQUIRE(s.call_json("POST", "/v1/transactions",
                        s.net.envelope("crct", "bill.issue", "OB-KT2", testing::bill(testing::container(72))))["status"] ==
            "accepted");
    for (int i = 0; i < 200 && gauge() < before + 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    CHECK(gauge() >= before + 1);
    // With the table: a valid entry is accepted, a forged signature refused, as before.
    CHECK(s.call_json("POST", "/v1/transactions",
                      s.net.envelope("crct", "bill.issue", "OB-KT3", testing::bill(testing::container(73))))["status"] ==
          "accepted");
    json env = s.net.envelope("crct", "bill.issue", "OB-KT4", testing::bill(testing::container(74)));
    env["sig"] = s.net.envelope("crct", "bill.issue", "OB-KT5", testing::bill(testing::container(75)))["sig"];
    unsigned status = 0;
    json p = s.call_json("POST", "/v1/transactions", env, "crct", &status);
    CHECK(status == 422);
    CHECK(p["code"] == "bad_signature");
  }
  crypto::PublicKey::set_table_policy(saved);
}

TEST_CASE("a bill's second entry is applied with its document from the parsed-document cache", "[node][api]") {
  SingleNode s("doccache");
  auto counter = [&](const std::string& name) -> long {
    std::string body = s.call("GET", "/metrics", "", "").response.body();
    auto at = body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stol(body.substr(at + name.size() + 2));
  };
  REQUIRE(s.call_json("POST", "/v1/transactions",
                      s.net.envelope("crct", "bill.issue", "OB-DC1", testing::sample_bill_body()))["status"] == "accepted");
  const long hits = std::max(0L, counter("onebill_document_cache_hits_total"));
  REQUIRE(s.call_json("POST", "/v1/transactions", s.net.envelope("shipper", "bill.endorse", "OB-DC1", {{"to", "trader"}}))["status"] == "accepted");
  CHECK(counter("onebill_document_cache_hits_total") >= hits + 1);
  // What the cache served is what the store holds: the endorsement is in the stored document.
  CHECK(s.call_json("GET", "/v1/documents/OB-DC1", nullptr, "audit")["holder"] == "trader");
}

TEST_CASE("events stream applied entries as server-sent events, live and replayed", "[node][api][events]") {
  SingleNode s("events");
  namespace net = boost::asio;
  REQUIRE(s.call_json("POST", "/v1/transactions", s.net.envelope("crct", "bill.issue", "OB-E1", testing::sample_bill_body()))["status"] == "accepted");
  net::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), s.node->api_port()));
  std::string req = "GET /v1/events?doc=OB-E1&from_height=1 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                    testing::TestNet::token("shipper") + "\r\n\r\n";
  net::write(stream, net::buffer(req));
  std::string got;
  auto read_until = [&](const std::string& needle) {
    char buf[4096];
    while (got.find(needle) == std::string::npos) {
      boost::system::error_code ec;
      std::size_t n = stream.socket().read_some(net::buffer(buf), ec);
      if (ec) break;
      got.append(buf, n);
    }
    return got.find(needle) != std::string::npos;
  };
  REQUIRE(read_until(": live"));
  CHECK(got.find("text/event-stream") != std::string::npos);
  CHECK(got.find("Content-Length") == std::string::npos);
  CHECK(got.find("\"type\":\"bill.issue\"") != std::string::npos);  // replayed from height 1
  // A live entry on the same document arrives without a new request.
  json ev = s.net.envelope("hmm", "bill.event", "OB-E1", testing::sample_event_body(0, "loaded", "KRPUS", {"CSQU3054383"}));
  s.call_json("POST", "/v1/transactions?wait=none", ev, "hmm");
  REQUIRE(read_until("bill.event"));
  // Someone not involved cannot follow the document.
  unsigned status = 0;
  json p = s.call_json("GET", "/v1/events?doc=OB-E1", nullptr, "bank2", &status);
  CHECK(status == 403);
}

TEST_CASE("bad query parameters are refused before anything is admitted", "[node][api]") {
  SingleNode s("query");
  json env = s.net.envelope("crct", "bill.issue", "OB-Q1", testing::sample_bill_body());
  unsigned status = 0;
  json p = s.call_json("POST", "/v1/transactions?wait=maybe", env, "crct", &status);
  CHECK(status == 400);
  CHECK(p["code"] == "bad_query");
  s.call_json("GET", "/v1/transactions/" + env.dump().substr(0, 0) + "x", nullptr, "audit", &status);
  CHECK(status == 404);
  // Nothing was admitted: the document does not exist.
  s.call_json("GET", "/v1/documents/OB-Q1", nullptr, "audit", &status);
  CHECK(status == 404);
}
