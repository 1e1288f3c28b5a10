// SingleNode: a one-voter onebill network running in this process (TestNet + node::Node), called through the
// handlers without sockets (Node::call). For API-level tests.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include "node/config.h"
#include "node/node.h"
#include "tests/support/testnet.h"

namespace onebill::testing {

struct SingleNode {
  TestNet net;
  node::Logger log{node::LogLevel::error};
  std::unique_ptr<node::Node> node;

  explicit SingleNode(const std::string& name)
      : net(std::filesystem::temp_directory_path() / ("onebill-api-" + name + "-" + std::to_string(::getpid())), 1) {
    auto config = node::load_config(net.nodes()[0].config);
    REQUIRE(config.ok());
    auto n = node::Node::create(*config, log);
    REQUIRE(n.ok());
    node = std::move(*n);
    REQUIRE(node->start().ok());
    // A single voter elects itself within an election timeout.
    for (int i = 0; i < 100 && call("GET", "/readyz").response.result_int() != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(call("GET", "/readyz").response.result_int() == 200);
  }
  ~SingleNode() {
    node->stop();
    std::filesystem::remove_all(net.dir());
  }
  SingleNode(const SingleNode&) = delete;
  SingleNode& operator=(const SingleNode&) = delete;

  node::http::Reply call(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::string& org = "crct") {
    node::http::Request req(boost::beast::http::string_to_verb(method), target, 11);
    if (!org.empty()) req.set(boost::beast::http::field::authorization, "Bearer " + TestNet::token(org));
    req.body() = body;
    req.prepare_payload();
    return node->call(std::move(req));
  }
  nlohmann::json call_json(const std::string& method, const std::string& target, const nlohmann::json& body = nullptr,
                           const std::string& org = "crct", unsigned* status = nullptr) {
    auto r = call(method, target, body.is_null() ? "" : body.dump(), org);
    if (status != nullptr) *status = r.response.result_int();
    return nlohmann::json::parse(r.response.body(), nullptr, false);
  }
};

}  // namespace onebill::testing
