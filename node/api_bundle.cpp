// GET /v1/documents/{id}/bundle: the audit bundle of a document (docs/formats/bundle.md).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <string>

#include "node/api_routes.h"
#include "node/bundle.h"
#include "node/node_impl.h"

namespace onebill::node {

namespace net = boost::asio;

namespace {

struct Built {  // co_spawn needs a result it can default-construct
  std::string text;
  std::optional<Error> error;
};

// Runs on the bundle thread. Arguments by value: they live in the coroutine's frame.
net::awaitable<Built> build_text(BundleSource src, std::string id) {
  // One consistent view of the database, taken after the head was certified (the caller read it): every record,
  // and the document state tree as it was at the head, are read as of one applied height.
  StoreSnapshot snapshot(src.store);
  src.snapshot = snapshot.get();
  auto bundle = build_bundle(src, id);
  if (!bundle) co_return Built{{}, bundle.error()};
  co_return Built{bundle->to_json().dump(), std::nullopt};
}

}  // namespace

net::awaitable<http::Reply> Api::get_bundle(const http::Request& req, const std::string& id, const Target& t,
                                            const Principal& who) {
  // Who may read the document may take its bundle, which includes the documents linked to it (docs/api.md).
  auto doc = load_document(id);
  if (!doc) co_return error(doc.error(), req);
  if (Status s = may_read(who, *doc); !s) co_return error(s.error(), req);
  // ?reads=full: every read value written out, none elided (larger; for tools that want the values themselves).
  bool elide = true;
  if (auto it = t.query.find("reads"); it != t.query.end()) {
    if (it->second != "full" && it->second != "elided") {
      co_return error(make_error("bad_query", "reads must be full or elided"), req);
    }
    elide = it->second == "elided";
  }
  auto head = node_.certified();
  if (!head) co_return error(make_error("no_certified_head", "no block has been certified by a quorum yet"), req);
  std::size_t voters = 0;
  for (const auto& [node_id, n] : node_.membership_view()->nodes()) voters += n.voter ? 1 : 0;

  // Built on the bundle thread (node_impl.h); a request beyond the limit is told to come back.
  if (node_.bundles_in_flight.fetch_add(1) >= node_.config.bundles) {
    node_.bundles_in_flight.fetch_sub(1);
    node_.metrics.counter("onebill_bundles_refused_total", "Bundle requests refused as overloaded (limits.bundles)")
        .inc();
    co_return error(make_error("overloaded", "this node is building as many audit bundles as limits.bundles allows; "
                                             "retry later"),
                    req);
  }
  struct Release {
    std::atomic<std::size_t>& n;
    ~Release() { n.fetch_sub(1); }
  } release{node_.bundles_in_flight};
  BundleSource src{*node_.store, node_.alg, node_.network, node_.genesis_hash, head->height, head->header_hash,
                   head->attestations, voters / 2 + 1, elide};
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  Built built = co_await net::co_spawn(node_.bundle_pool, build_text(std::move(src), id), net::use_awaitable);
  if (built.error) co_return error(*built.error, req);
  http::Reply reply = http::json_reply(200, std::move(built.text), version, keep_alive);
  reply.response.set(boost::beast::http::field::content_disposition, "attachment; filename=\"" + id + ".bundle.json\"");
  co_return reply;
}

}  // namespace onebill::node
