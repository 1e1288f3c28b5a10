// The explorer's side of onebilld, through the REST handlers without sockets: the page and its files under / and
// /explorer/ with their content types, caching and security headers; 304 on a matching ETag; HEAD; unknown files
// and other methods; GET /v1/whoami for a token's organisation. The page itself is tested in a browser
// (explorer.test.mjs).
#include <catch2/catch.hpp>

#include <unistd.h>

#include "node/config.h"
#include "node/explorer/assets.h"
#include "node/node.h"
#include "tests/support/testnet.h"

using namespace onebill;
namespace bh = boost::beast::http;

namespace {

// One voter; the explorer's files need no leader, whoami only the membership.
class ExplorerNode {
 public:
  ExplorerNode()
      : net_(std::filesystem::temp_directory_path() / ("onebill-explorer-" + std::to_string(::getpid())), 1) {
    auto config = node::load_config(net_.nodes()[0].config);
    REQUIRE(config.ok());
    auto n = node::Node::create(*config, log_);
    REQUIRE(n.ok());
    node_ = std::move(*n);
    REQUIRE(node_->start().ok());
  }
  ~ExplorerNode() {
    node_->stop();
    std::filesystem::remove_all(net_.dir());
  }

  node::http::Response get(const std::string& target, bh::verb method = bh::verb::get, const std::string& token = "",
                           const std::string& if_none_match = "") {
    node::http::Request req(method, target, 11);
    if (!token.empty()) req.set(bh::field::authorization, "Bearer " + token);
    if (!if_none_match.empty()) req.set(bh::field::if_none_match, if_none_match);
    return node_->call(std::move(req)).response;
  }

 private:
  testing::TestNet net_;
  node::Logger log_{node::LogLevel::error};
  std::unique_ptr<node::Node> node_;
};

std::string header(const node::http::Response& r, std::string_view name) {
  auto it = r.find(name);
  return it == r.end() ? "" : std::string(it->value());
}

}  // namespace

TEST_CASE("explorer: the page and its files are served with their types and strict headers", "[explorer]") {
  ExplorerNode n;
  for (const char* path : {"/", "/index.html", "/explorer/"}) {
    auto r = n.get(path);
    CHECK(r.result_int() == 200);
    CHECK(header(r, "Content-Type") == "text/html; charset=utf-8");
    CHECK(r.body().find("/explorer/app.js") != std::string::npos);
  }
  const std::map<std::string, std::string> types = {{"app.js", "text/javascript; charset=utf-8"},
                                                    {"proof.js", "text/javascript; charset=utf-8"},
                                                    {"explorer.css", "text/css; charset=utf-8"},
                                                    {"favicon.svg", "image/svg+xml"}};
  for (const auto& [name, type] : types) {
    INFO(name);
    const auto* asset = node::explorer::find_asset(name);
    REQUIRE(asset != nullptr);
    auto r = n.get("/explorer/" + name);
    CHECK(r.result_int() == 200);
    CHECK(header(r, "Content-Type") == type);
    CHECK(r.body() == std::string(asset->body));
    CHECK(header(r, "ETag") == std::string(asset->etag));
    CHECK(header(r, "Cache-Control") == "no-cache");
    CHECK(header(r, "X-Content-Type-Options") == "nosniff");
    CHECK(header(r, "X-Frame-Options") == "DENY");
    CHECK(header(r, "Referrer-Policy") == "no-referrer");
    std::string csp = header(r, "Content-Security-Policy");
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("script-src 'self';") != std::string::npos);
    CHECK(csp.find("connect-src 'self';") != std::string::npos);
    CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
  }
  // Every embedded file has a content type and a quoted ETag, and the table is sorted for lookup.
  auto all = node::explorer::assets();
  REQUIRE(all.size() >= 5);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(!all[i].content_type.empty());
    CHECK(all[i].etag.size() == 34);
    if (i > 0) CHECK(all[i - 1].name < all[i].name);
  }
}

TEST_CASE("explorer: a matching ETag is answered 304 and HEAD has no body", "[explorer]") {
  ExplorerNode n;
  auto first = n.get("/explorer/app.js");
  std::string etag = header(first, "ETag");
  REQUIRE(!etag.empty());
  auto again = n.get("/explorer/app.js", bh::verb::get, "", etag);
  CHECK(again.result_int() == 304);
  CHECK(again.body().empty());
  CHECK(header(again, "ETag") == etag);
  CHECK(n.get("/explorer/app.js", bh::verb::get, "", "\"something-else\"").result_int() == 200);
  auto head = n.get("/explorer/app.js", bh::verb::head);
  CHECK(head.result_int() == 200);
  CHECK(head.body().empty());
  CHECK(header(head, "Content-Length") == std::to_string(first.body().size()));
}

TEST_CASE("explorer: unknown files, path tricks and other methods are 404 problems", "[explorer]") {
  ExplorerNode n;
  for (const char* path : {"/explorer/nope.js", "/explorer/../node/api.cpp", "/explorer/%2e%2e/app.js",
                           "/explorer/app.js/", "/ui/"}) {
    INFO(path);
    auto r = n.get(path);
    CHECK(r.result_int() == 404);
    CHECK(header(r, "Content-Type") == "application/problem+json");
  }
  CHECK(n.get("/explorer/app.js", bh::verb::post).result_int() == 404);
  CHECK(n.get("/", bh::verb::delete_).result_int() == 404);
}

TEST_CASE("explorer: whoami names the token's organisation, roles and scopes", "[explorer]") {
  ExplorerNode n;
  auto r = n.get("/v1/whoami", bh::verb::get, testing::TestNet::token("audit"));
  REQUIRE(r.result_int() == 200);
  auto me = nlohmann::json::parse(r.body());
  CHECK(me["org"] == "audit");
  CHECK(me["roles"] == nlohmann::json::array({"auditor"}));
  CHECK(me["reads_everything"] == true);
  CHECK(me["scopes"].size() == 3);
  CHECK(me["node"] == "n1");
  CHECK(me["hash"] == "sha256");
  auto trader = nlohmann::json::parse(n.get("/v1/whoami", bh::verb::get, testing::TestNet::token("trader")).body());
  CHECK(trader["org"] == "trader");
  CHECK(trader["reads_everything"] == false);
  CHECK(n.get("/v1/whoami").result_int() == 401);
  CHECK(n.get("/v1/whoami", bh::verb::get, std::string(64, '0')).result_int() == 401);
}
