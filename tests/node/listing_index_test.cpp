// The listing index (GET /v1/documents?holder=&status=&type=) follows a document's holder and status as blocks
// change them: the ledger reads kind, holder and status of each written document before and after the block
// (node/ledger/ledger.cpp, listed()) and moves its index entries.
#include <catch2/catch.hpp>

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
