// GET /v1/documents/{id}/bundle: the audit bundle of a document (docs/formats/bundle.md).
#include "node/api_routes.h"
#include "node/bundle.h"
#include "node/node_impl.h"

namespace onebill::node {

http::Reply Api::get_bundle(const http::Request& req, const std::string& id, const Target& t, const Principal& who) {
  // Who may read the document may take its bundle, which includes the documents linked to it (docs/api.md).
  auto doc = load_document(id);
  if (!doc) return error(doc.error(), req);
  if (Status s = may_read(who, *doc); !s) return error(s.error(), req);
  // ?reads=full: every read value written out, none elided (larger; for tools that want the values themselves).
  bool elide = true;
  if (auto it = t.query.find("reads"); it != t.query.end()) {
    if (it->second != "full" && it->second != "elided") {
      return error(make_error("bad_query", "reads must be full or elided"), req);
    }
    elide = it->second == "elided";
  }
  auto head = node_.certified();
  if (!head) return error(make_error("no_certified_head", "no block has been certified by a quorum yet"), req);
  std::size_t voters = 0;
  for (const auto& [node_id, n] : node_.membership_view()->nodes()) voters += n.voter ? 1 : 0;
  BundleSource src{*node_.store, node_.alg, node_.network, node_.genesis_hash, head->height, head->header_hash,
                   head->attestations, voters / 2 + 1, elide};
  auto bundle = build_bundle(src, id);
  if (!bundle) return error(bundle.error(), req);
  http::Reply reply = ok(200, bundle->to_json(), req);
  reply.response.set(boost::beast::http::field::content_disposition, "attachment; filename=\"" + id + ".bundle.json\"");
  return reply;
}

}  // namespace onebill::node
