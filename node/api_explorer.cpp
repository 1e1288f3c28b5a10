// The explorer page (docs/explorer.md): the embedded static files of node/explorer/ under `/` and `/explorer/…`,
// with strict security headers, and `GET /v1/whoami`, which tells the page whose token it holds.
//
// Caching: every file is answered with `Cache-Control: no-cache` and a strong ETag (a hash of its bytes), so a
// browser keeps its copy but revalidates it (304 when unchanged): after a node upgrade the page is never a mix
// of old and new modules, and an unchanged page costs one small request per file.
#include <string_view>

#include "crypto/hash.h"
#include "node/api_routes.h"
#include "node/explorer/assets.h"
#include "node/node_impl.h"

namespace onebill::node {

using nlohmann::json;
namespace bh = boost::beast::http;

namespace {

// Only the node's own files run; only the node's own API is called; nothing is framed, embedded or posted
// elsewhere. No inline script or style, so an entry's text can never run as code even if it reached the DOM.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

constexpr std::string_view kExplorerPrefix = "/explorer/";

void set_page_headers(http::Response& r) {
  r.set(bh::field::cache_control, "no-cache");
  r.set("Content-Security-Policy", kContentSecurityPolicy);
  r.set("X-Content-Type-Options", "nosniff");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  r.set("Cross-Origin-Opener-Policy", "same-origin");
  r.set("Cross-Origin-Resource-Policy", "same-origin");
  r.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
}

// The file a page path names: "/", "/index.html" and "/explorer/" are the page itself.
std::string_view asset_name(std::string_view path) {
  if (path == "/" || path == "/index.html" || path == kExplorerPrefix) return "index.html";
  if (path.starts_with(kExplorerPrefix)) return path.substr(kExplorerPrefix.size());
  return {};
}

// If-None-Match holds this ETag (or "*"): the browser's copy is current.
bool not_modified(const http::Request& req, std::string_view etag) {
  auto it = req.find(bh::field::if_none_match);
  if (it == req.end()) return false;
  std::string_view v = it->value();
  if (v.find('*') != std::string_view::npos) return true;
  return v.find(etag) != std::string_view::npos;
}

}  // namespace

http::Reply Api::explorer(const http::Request& req, const std::string& path) {
  if (req.method() != bh::verb::get && req.method() != bh::verb::head) {
    return error(make_error("not_found", "the explorer's files answer GET and HEAD only"), req);
  }
  const explorer::Asset* asset = explorer::find_asset(asset_name(path));
  if (asset == nullptr) return error(make_error("not_found", "no such explorer file: " + path), req);

  http::Reply r;
  r.response.version(req.version());
  r.response.keep_alive(req.keep_alive());
  set_page_headers(r.response);
  r.response.set(bh::field::etag, asset->etag);
  if (not_modified(req, asset->etag)) {
    r.response.result(bh::status::not_modified);
    return r;
  }
  r.response.result(bh::status::ok);
  r.response.set(bh::field::content_type, asset->content_type);
  if (req.method() == bh::verb::head) {
    r.response.content_length(asset->body.size());  // the length of the body a GET would get; no body
  } else {
    r.response.body() = std::string(asset->body);
    r.response.prepare_payload();
  }
  return r;
}

http::Reply Api::whoami(const http::Request& req, const Principal& who) {
  auto membership = node_.membership_view();
  const contracts::Org* org = membership->org(who.org);
  json scopes = json::array();
  for (auto [scope, name] : {std::pair{Scope::submit, "submit"}, std::pair{Scope::sign, "sign"},
                             std::pair{Scope::read, "read"}, std::pair{Scope::admin, "admin"}}) {
    if (who.has(scope)) scopes.push_back(name);
  }
  json out = {{"org", who.org},
              {"org_name", org != nullptr ? json(org->name) : json(nullptr)},
              {"active", membership->is_active_org(who.org)},
              {"roles", org != nullptr ? json(org->roles) : json::array()},
              {"token", who.name},
              {"scopes", scopes},
              {"reads_everything", who.has(Scope::read) && sees_everything(who)},
              {"node", node_.node_id},
              {"network", node_.network},
              {"hash", std::string(crypto::hash_alg_name(node_.alg))}};
  return ok(200, out, req);
}

}  // namespace onebill::node
