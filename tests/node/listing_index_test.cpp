// The listing index (GET /v1/documents?holder=&status=&type=) follows a document's holder and status as blocks
// change them: the ledger reads kind, holder and status of each written document before and after the block
// (node/ledger/ledger.cpp, listed()) and moves its index entries.
#include <catch2/catch.hpp>

#include "crypto/canonical_json.h"
#include "node/ledger/listing.h"
#include "tests/support/single_node.h"

using namespace onebill;
using onebill::testing::SingleNode;
using nlohmann::json;

namespace {

std::vector<std::string> ids(const json& page) {
  std::vector<std::string> out;
  for (const auto& item : page["items"]) out.push_back(item["id"]);
  return out;
}

}  // namespace

TEST_CASE("the listing index moves a bill from its old holder to its new one on endorsement", "[node][api]") {
  SingleNode s("listing");
  REQUIRE(s.call_json("POST", "/v1/transactions",
                      s.net.envelope("crct", "bill.issue", "OB-L1", testing::sample_bill_body()))["status"] == "accepted");
  using V = std::vector<std::string>;
  CHECK(ids(s.call_json("GET", "/v1/documents?holder=shipper", nullptr, "audit")) == V{"OB-L1"});
  CHECK(ids(s.call_json("GET", "/v1/documents?status=issued&type=bill", nullptr, "audit")) == V{"OB-L1"});
  CHECK(ids(s.call_json("GET", "/v1/documents?holder=trader", nullptr, "audit")).empty());

  REQUIRE(s.call_json("POST", "/v1/transactions",
                      s.net.envelope("shipper", "bill.endorse", "OB-L1", {{"to", "trader"}}))["status"] == "accepted");
  CHECK(ids(s.call_json("GET", "/v1/documents?holder=shipper", nullptr, "audit")).empty());
  CHECK(ids(s.call_json("GET", "/v1/documents?holder=trader", nullptr, "audit")) == V{"OB-L1"});
  CHECK(ids(s.call_json("GET", "/v1/documents?status=issued&type=bill", nullptr, "audit")) == V{"OB-L1"});
  CHECK(ids(s.call_json("GET", "/v1/documents?type=receipt", nullptr, "audit")).empty());
}

TEST_CASE("the listing scanner reads the same three fields as the JSON parser", "[node][listing]") {
  // Documents as the contracts store them (canonical JSON) and valid JSON of other shapes: both paths agree.
  SingleNode s("listing-scan");
  REQUIRE(s.call_json("POST", "/v1/transactions",
                      s.net.envelope("crct", "bill.issue", "OB-S1", testing::sample_bill_body()))["status"] == "accepted");
  json stored = s.call_json("GET", "/v1/documents/OB-S1", nullptr, "audit");
  REQUIRE(stored.is_object());
  std::vector<std::string> docs = {
      *crypto::canonicalize(stored),
      stored.dump(2),  // whitespace: the scanner declines, the parser answers
      R"({"holder":"a\"b","kind":"bill","status":"issued"})",  // an escape in a wanted value
      R"({"k\u0069nd":"bill","status":"x"})",                  // an escape in a key
      R"({"a":[1,{"kind":"inner"},"]}"],"kind":"receipt","z":{"status":"nested"}})",
      R"({"holder":7,"kind":null,"status":["issued"],"x":-1.5e3,"y":true,"w":false})",
      R"({"kind":"pledge"})",
      R"({})",
      R"({"kind":"a","kind2":"b","holder":"","status":"s"})",
  };
  for (const auto& d : docs) {
    INFO(d);
    auto fast = node::listed(d);
    auto slow = node::listed_by_parser(d);
    REQUIRE(fast.has_value() == slow.has_value());
    if (!fast) continue;
    CHECK(fast->kind == slow->kind);
    CHECK(fast->holder == slow->holder);
    CHECK(fast->status == slow->status);
  }
  auto bill = node::listed(*crypto::canonicalize(stored));
  REQUIRE(bill);
  CHECK(bill->kind == "bill");
  CHECK(bill->holder == "shipper");
  CHECK(bill->status == "issued");
  // Not a JSON object: no listing, whichever path answers.
  for (std::string bad : {"", "[]", "\"kind\"", "{\"kind\":", "{\"kind\":\"bill\"", "{\"kind\":\"bill\"}x", "nul"}) {
    INFO(bad);
    CHECK_FALSE(node::listed(bad).has_value());
  }
}
