// Api: the REST handlers behind make_api_handler (api.h). Writes in api.cpp, reads in api_read.cpp.
// Runs on the node's I/O thread.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/envelope.h"
#include "node/api.h"

namespace onebill::node {

class NodeImpl;

class Api {
 public:
  explicit Api(NodeImpl& node);
  boost::asio::awaitable<http::Reply> handle(http::Request req);

 private:
  boost::asio::awaitable<http::Reply> dispatch(const http::Request& req, std::string& route);

  http::Reply error(const Error& e, const http::Request& req) const;
  http::Reply ok(unsigned status, const nlohmann::json& body, const http::Request& req) const;
  Result<Principal> authenticate(const http::Request& req) const;
  bool sees_everything(const Principal& p) const;
  Status may_read(const Principal& p, const nlohmann::json& doc) const;
  Result<nlohmann::json> load_document(const std::string& id) const;
  // ?min_height=H: waits (up to the commit wait) until this node applied height H. Errors: "bad_query" (not a
  // non-negative decimal integer), "not_ready" (not reached in time; answered 503 with Retry-After).
  boost::asio::awaitable<Status> wait_min_height(const Target& t);

  Result<contracts::Envelope> envelope_from(nlohmann::json&& body, const Principal& who);  // consumes body
  boost::asio::awaitable<http::Reply> submit(const http::Request& req, const Target& t, const Principal& who);
  boost::asio::awaitable<http::Reply> submit_batch(const http::Request& req, const Target& t, const Principal& who);

  http::Reply get_transaction(const http::Request& req, const std::string& id, const Principal& who);
  http::Reply get_document(const http::Request& req, const std::string& id, const Principal& who);
  boost::asio::awaitable<http::Reply> get_bundle(const http::Request& req, const std::string& id, const Target& t,
                                                 const Principal& who);
  http::Reply get_history(const http::Request& req, const std::string& id, const Target& t, const Principal& who);
  http::Reply list_documents(const http::Request& req, const Target& t, const Principal& who);
  http::Reply get_block(const http::Request& req, const std::string& height, const Principal& who);
  http::Reply list_blocks(const http::Request& req, const Target& t, const Principal& who);
  http::Reply log_head(const http::Request& req);
  http::Reply log_consistency(const http::Request& req, const Target& t);
  http::Reply events(const http::Request& req, const Target& t, const Principal& who);
  http::Reply status(const http::Request& req);
  http::Reply readyz(const http::Request& req);
  http::Reply metrics(const http::Request& req);
  http::Reply explorer(const http::Request& req, const std::string& path);
  http::Reply whoami(const http::Request& req, const Principal& who);

  NodeImpl& node_;
};

}  // namespace onebill::node
