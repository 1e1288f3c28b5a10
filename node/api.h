// The REST API (v1): routing, authentication and the handlers, as a plain function from request to reply so it
// is tested without sockets. Paths, fields and codes: docs/api.md and docs/openapi.yaml.
#pragma once

#include <map>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/auth.h"
#include "node/http/server.h"

namespace onebill::node {

class NodeImpl;

http::Handler make_api_handler(NodeImpl& node);

// Request target → path and decoded query parameters. Errors: "bad_request".
struct Target {
  std::string path;                   // as sent (not decoded), for matching fixed paths
  std::vector<std::string> segments;  // the path split on '/', each segment percent-decoded on its own
  std::map<std::string, std::string> query;
};
Result<Target> parse_target(std::string_view target);

// The HTTP status of an error code (docs/api.md, "Errors").
unsigned status_for(std::string_view code);

// Organisations a document concerns (parties, carriers, ports that reported, banks, holders): whose tokens may
// read it. Customs and auditors may read every document.
std::set<std::string> involved_orgs(const nlohmann::json& doc);

}  // namespace onebill::node
