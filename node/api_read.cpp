// The read side of the REST API: documents, history, transactions with proofs, blocks, the log, events, and the
// operational endpoints.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "contracts/documents.h"
#include "crypto/merkle.h"
#include "node/api_routes.h"
#include "node/node_impl.h"

namespace onebill::node {

namespace net = boost::asio;
using nlohmann::json;

namespace {

// Ids come from URLs; they must never reach a store key with a separator or control character in them.
bool safe_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

Result<std::size_t> limit_param(const Target& t, std::size_t dflt, std::size_t max) {
  auto it = t.query.find("limit");
  if (it == t.query.end()) return dflt;
  try {
    long long v = std::stoll(it->second);
    if (v < 1) return make_error("bad_query", "limit must be positive");
    return std::min<std::size_t>(static_cast<std::size_t>(v), max);
  } catch (...) {
    return make_error("bad_query", "limit must be an integer");
  }
}

Result<std::int64_t> int_param(const Target& t, const char* name, std::int64_t dflt) {
  auto it = t.query.find(name);
  if (it == t.query.end()) return dflt;
  try {
    std::size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    return static_cast<std::int64_t>(v);
  } catch (...) {
    return make_error("bad_query", std::string(name) + " must be an integer");
  }
}

}  // namespace

Result<json> Api::load_document(const std::string& id) const {
  if (!safe_id(id)) return make_error("bad_request", "not a document id");
  // The bill and its events (stored apart from it, contracts/documents.h) are read from one snapshot of the store,
  // so the events are exactly the ones the bill counts and chains, whatever block is applied meanwhile.
  StoreSnapshot snap(*node_.store);
  auto raw = node_.store->get_state(contracts::keys::document(id), snap.get());
  if (!raw) return raw.error();
  if (!raw->has_value()) return make_error("doc_not_found", "no document " + id);
  json doc = json::parse(**raw, nullptr, false);
  if (doc.is_discarded()) return make_error("corrupt_state", "document " + id + " is unreadable");
  return contracts::bill_view(std::move(doc), StoreStateView(*node_.store, snap.get()), node_.alg);
}

http::Reply Api::get_document(const http::Request& req, const std::string& id, const Principal& who) {
  auto doc = load_document(id);
  if (!doc) return error(doc.error(), req);
  if (Status s = may_read(who, *doc); !s) return error(s.error(), req);
  return ok(200, *doc, req);
}

http::Reply Api::get_transaction(const http::Request& req, const std::string& id, const Principal& who) {
  if (!safe_id(id)) return error(make_error("bad_request", "not a transaction id"), req);
  auto raw = node_.store->entry_record(id);
  if (!raw) return error(raw.error(), req);
  if (!raw->has_value()) return error(make_error("tx_not_found", "no transaction " + id), req);
  json rec = json::parse(**raw, nullptr, false);
  // Readable by whoever may read one of its documents, and by the organisation that signed it.
  bool allowed = who.has(Scope::read) && sees_everything(who);
  std::string signer = rec["envelope"]["tx"].value("signer", "");
  if (who.has(Scope::read) && signer.substr(0, signer.find('/')) == who.org) allowed = true;
  for (const auto& d : rec.value("documents", json::array())) {
    if (allowed) break;
    auto doc = load_document(d.get<std::string>());
    if (doc && may_read(who, *doc)) allowed = true;
  }
  if (!allowed) return error(make_error("forbidden", "organisation " + who.org + " may not read this entry"), req);
  json out = {{"id", id},
              {"status", rec["status"]},
              {"height", rec["height"]},
              {"index", rec["index"]},
              {"envelope", rec["envelope"]},
              {"documents", rec["documents"]}};
  if (rec.contains("reason")) out["reason"] = rec["reason"];
  if (rec.contains("message")) out["message"] = rec["message"];
  if (rec.contains("leaf")) {
    auto leaf = rec["leaf"].get<std::uint64_t>();
    out["log_index"] = leaf;
    auto head = node_.certified();
    if (head && leaf < head->log_size) {
      StoreMerkleNodes nodes(*node_.store);
      crypto::MerkleLog log(node_.alg, nodes, node_.ledger->last().log_size);
      auto path = log.inclusion_proof(leaf, head->log_size);
      if (path) {
        json hex_path = json::array();
        for (const auto& d : *path) hex_path.push_back(crypto::hex(d));
        out["proof"] = {{"log_index", leaf}, {"tree_size", head->log_size}, {"path", hex_path}, {"head", head->to_json()}};
      }
    }
  }
  return ok(200, out, req);
}

http::Reply Api::get_history(const http::Request& req, const std::string& id, const Target& t, const Principal& who) {
  auto doc = load_document(id);
  if (!doc) return error(doc.error(), req);
  if (Status s = may_read(who, *doc); !s) return error(s.error(), req);
  auto limit = limit_param(t, 500, 5000);
  if (!limit) return error(limit.error(), req);
  std::string prefix = key::history_prefix(id);
  std::string start;
  if (t.query.count("after")) {
    auto after = crypto::hex_decode(t.query.at("after"));
    if (!after) return error(make_error("bad_query", "after must be a cursor from a previous page"), req);
    start = prefix + std::string(after->begin(), after->end()) + std::string(1, '\0');
  }
  json items = json::array();
  std::string last_key;
  Status scan = node_.store->scan(prefix, start, *limit, [&](std::string_view k, std::string_view tx_id) {
    last_key = std::string(k.substr(prefix.size()));
    auto raw = node_.store->entry_record(tx_id);
    if (!raw || !raw->has_value()) return true;
    json rec = json::parse(**raw, nullptr, false);
    const json& tx = rec["envelope"]["tx"];
    json item = {{"id", tx_id},       {"type", tx["type"]},     {"signer", tx["signer"]}, {"nonce", tx["nonce"]},
                 {"ts", tx["ts"]},    {"status", rec["status"]}, {"height", rec["height"]}, {"index", rec["index"]},
                 {"doc", tx["doc"]}};
    if (rec.contains("reason")) item["reason"] = rec["reason"];
    items.push_back(std::move(item));
    return true;
  });
  if (!scan) return error(scan.error(), req);
  json out = {{"doc", id}, {"items", items}};
  if (items.size() == *limit) out["next"] = crypto::hex_encode(crypto::as_bytes(last_key));
  return ok(200, out, req);
}

http::Reply Api::list_documents(const http::Request& req, const Target& t, const Principal& who) {
  if (!who.has(Scope::read)) return error(make_error("forbidden", "this token has no read scope"), req);
  auto limit = limit_param(t, 100, 1000);
  if (!limit) return error(limit.error(), req);
  std::map<std::string, std::string> want;
  for (const char* f : {"type", "holder", "status"}) {
    if (t.query.count(f)) want[f == std::string("type") ? "kind" : f] = t.query.at(f);
  }
  std::string after = t.query.count("after") ? t.query.at("after") : "";
  if (!after.empty() && !safe_id(after)) return error(make_error("bad_query", "after must be a document id"), req);
  // Walk one index (or every document) and check the other filters on the document itself.
  std::string prefix;
  if (!want.empty()) {
    const auto& [field, value] = *want.begin();
    if (!safe_id(value)) return error(make_error("bad_query", field + " has characters ids cannot have"), req);
    prefix = "i/" + field + "/" + value + "/";
  } else {
    prefix = key::state(contracts::keys::kDocument);
  }
  std::string start = after.empty() ? "" : prefix + after + std::string(1, '\0');
  json items = json::array();
  std::string last;
  bool everything = sees_everything(who);
  // Bounded work per request: at most 20 × limit keys examined.
  std::size_t examined = 0;
  Status scan = node_.store->scan(prefix, start, *limit * 20, [&](std::string_view k, std::string_view) {
    ++examined;
    std::string id(k.substr(prefix.size()));
    last = id;
    auto doc = load_document(id);
    if (!doc) return true;
    for (const auto& [field, value] : want) {
      if (doc->value(field, "") != value) return true;
    }
    if (!everything && involved_orgs(*doc).count(who.org) == 0) return true;
    items.push_back({{"id", id},
                     {"kind", doc->value("kind", "")},
                     {"status", doc->value("status", "")},
                     {"holder", doc->value("holder", "")},
                     {"issuer", doc->value("issuer", "")},
                     {"height", doc->value("height", 0)}});
    return items.size() < *limit;
  });
  if (!scan) return error(scan.error(), req);
  json out = {{"items", items}};
  if (items.size() == *limit || examined == *limit * 20) out["next"] = last;
  return ok(200, out, req);
}

http::Reply Api::get_block(const http::Request& req, const std::string& height_text, const Principal& who) {
  std::int64_t h = 0;
  try {
    h = std::stoll(height_text);
  } catch (...) {
    return error(make_error("bad_request", "a block height is an integer"), req);
  }
  if (h < 1) return error(make_error("block_not_found", "heights start at 1"), req);
  auto raw = node_.store->get(key::block(static_cast<std::uint64_t>(h)));
  if (!raw) return error(raw.error(), req);
  if (!raw->has_value()) return error(make_error("block_not_found", "no block at height " + height_text), req);
  json rec = json::parse(**raw, nullptr, false);
  json atts = json::array();
  (void)node_.store->scan(key::attestation_prefix(static_cast<std::uint64_t>(h)), "", 1000,
                          [&](std::string_view, std::string_view v) {
                            atts.push_back(json::parse(v, nullptr, false));
                            return true;
                          });
  json out = {{"height", h},
              {"hash", rec["hash"]},
              {"header", rec["header"]},
              {"results", rec["results"]},
              {"proposer", rec["proposer"]},
              {"attestations", atts}};
  // Entries carry business data: only for organisations that may read everything (customs, auditors).
  if (who.has(Scope::read) && sees_everything(who)) {
    json entries = json::array();
    for (const auto& r : rec["results"]) {
      auto t = node_.store->entry_record(r["id"].get<std::string>());
      if (t && t->has_value()) entries.push_back(json::parse(**t, nullptr, false)["envelope"]);
    }
    out["entries"] = entries;
  }
  return ok(200, out, req);
}

http::Reply Api::list_blocks(const http::Request& req, const Target& t, const Principal&) {
  auto from = int_param(t, "from", 1);
  if (!from) return error(from.error(), req);
  auto limit = limit_param(t, 20, 200);
  if (!limit) return error(limit.error(), req);
  json items = json::array();
  Status scan = node_.store->scan("b/", key::block(static_cast<std::uint64_t>(std::max<std::int64_t>(1, *from))),
                                  *limit, [&](std::string_view, std::string_view v) {
                                    json rec = json::parse(v, nullptr, false);
                                    items.push_back({{"height", rec["header"]["height"]},
                                                     {"hash", rec["hash"]},
                                                     {"header", rec["header"]},
                                                     {"entries", rec["results"].size()}});
                                    return true;
                                  });
  if (!scan) return error(scan.error(), req);
  return ok(200, json{{"items", items}}, req);
}

http::Reply Api::log_head(const http::Request& req) {
  auto head = node_.certified();
  if (!head) return error(make_error("no_certified_head", "no block has been certified by a quorum yet"), req);
  return ok(200, head->to_json(), req);
}

http::Reply Api::log_consistency(const http::Request& req, const Target& t) {
  auto from = int_param(t, "from", 0);
  auto to = int_param(t, "to", 0);
  if (!from || !to) return error(make_error("bad_query", "from and to must be integers"), req);
  auto size = node_.ledger->last().log_size;
  if (*from < 1 || *to < *from || static_cast<std::uint64_t>(*to) > size) {
    return error(make_error("bad_size", "need 0 < from <= to <= " + std::to_string(size)), req);
  }
  StoreMerkleNodes nodes(*node_.store);
  crypto::MerkleLog log(node_.alg, nodes, size);
  auto proof = log.consistency_proof(static_cast<std::uint64_t>(*from), static_cast<std::uint64_t>(*to));
  auto r1 = log.root(static_cast<std::uint64_t>(*from));
  auto r2 = log.root(static_cast<std::uint64_t>(*to));
  if (!proof || !r1 || !r2) return error(proof ? r1 ? r2.error() : r1.error() : proof.error(), req);
  json path = json::array();
  for (const auto& d : *proof) path.push_back(crypto::hex(d));
  return ok(200, json{{"from", *from}, {"to", *to}, {"from_root", crypto::hex(*r1)}, {"to_root", crypto::hex(*r2)},
                      {"proof", path}},
            req);
}

http::Reply Api::events(const http::Request& req, const Target& t, const Principal& who) {
  if (!who.has(Scope::read)) return error(make_error("forbidden", "this token has no read scope"), req);
  EventFilter filter;
  if (t.query.count("doc")) filter.doc = t.query.at("doc");
  if (t.query.count("type")) filter.type = t.query.at("type");
  if (!sees_everything(who)) {
    if (!filter.doc) {
      return error(make_error("forbidden", "name a document (?doc=) you are involved in; only customs and auditors "
                                           "may follow every event"),
                   req);
    }
    auto doc = load_document(*filter.doc);
    if (!doc) return error(doc.error(), req);
    if (Status s = may_read(who, *doc); !s) return error(s.error(), req);
  }
  auto from = int_param(t, "from_height", 0);
  if (!from) return error(from.error(), req);
  auto sub = node_.events->subscribe(filter);
  std::int64_t replay_to = node_.ledger->last().height;
  sub->skip_through = *from > 0 ? replay_to : 0;
  http::Reply r = ok(200, json::object(), req);
  r.response.set(boost::beast::http::field::content_type, "text/event-stream");
  r.response.set(boost::beast::http::field::cache_control, "no-store");
  NodeImpl* node = &node_;
  std::int64_t from_height = *from;
  r.stream = [node, sub, from_height, replay_to, filter](http::StreamWriter& w) -> net::awaitable<void> {
    // Replay what was applied before the subscription, then follow live.
    for (std::int64_t h = std::max<std::int64_t>(1, from_height); from_height > 0 && h <= replay_to; ++h) {
      auto raw = node->store->get(key::block(static_cast<std::uint64_t>(h)));
      if (!raw || !raw->has_value()) continue;
      json rec = json::parse(**raw, nullptr, false);
      std::size_t i = 0;
      for (const auto& res : rec["results"]) {
        auto txr = node->store->entry_record(res["id"].get<std::string>());
        if (!txr || !txr->has_value()) continue;
        json entry = json::parse(**txr, nullptr, false);
        const json& tx = entry["envelope"]["tx"];
        json ev = {{"height", h},              {"index", i++},         {"id", res["id"]},
                   {"type", tx["type"]},        {"doc", tx["doc"]},     {"signer", tx["signer"]},
                   {"status", entry["status"]}, {"documents", entry["documents"]}};
        if (entry.contains("reason")) ev["reason"] = entry["reason"];
        if (filter.matches(ev) && !co_await w.write(sse_event(ev))) {
          node->events->unsubscribe(sub);
          co_return;
        }
      }
    }
    if (!co_await w.write(": live\n\n")) {
      node->events->unsubscribe(sub);
      co_return;
    }
    while (!sub->dropped && !node->stopping.load()) {
      if (sub->queue.empty()) {
        sub->wake.expires_after(std::chrono::seconds(15));
        auto [ec] = co_await sub->wake.async_wait(net::as_tuple(net::use_awaitable));
        if (!ec && sub->queue.empty() && !co_await w.write(": keepalive\n\n")) break;
        continue;
      }
      std::string chunk;
      while (!sub->queue.empty() && chunk.size() < (1 << 16)) {
        chunk += sub->queue.front();
        sub->queue.pop_front();
      }
      if (!co_await w.write(std::move(chunk))) break;
    }
    if (sub->dropped) (void)co_await w.write("event: dropped\ndata: {\"reason\":\"consumer too slow\"}\n\n");
    node->events->unsubscribe(sub);
  };
  return r;
}

http::Reply Api::status(const http::Request& req) {
  RaftView v = node_.view();
  AppliedPoint p = node_.ledger->last();
  auto m = node_.membership_view();
  const contracts::Node* me = m->node(node_.node_id);
  json peers = json::array();
  auto ts = node_.transport->stats();
  for (const auto& ps : ts.peers) {
    auto name = node_.node_name(ps.id).empty() ? std::to_string(ps.id) : node_.node_name(ps.id);
    json pj = {{"node", name}, {"address", ps.address}, {"connected", ps.connected},
               {"inbound", ps.inbound_connected}, {"dropped_messages", ps.dropped_messages}};
    if (v.match.count(name)) {
      pj["match"] = v.match.at(name);
      pj["lag"] = v.last_index > v.match.at(name) ? v.last_index - v.match.at(name) : 0;
    }
    peers.push_back(pj);
  }
  json out = {{"node", node_.node_id},
              {"org", me ? me->org : ""},
              {"network", node_.network},
              {"genesis_hash", node_.genesis_hash},
              {"voter", me ? me->voter : false},
              {"role", v.role},
              {"term", v.term},
              {"leader", v.leader},
              {"commit_index", v.commit},
              {"applied_index", p.raft_index},
              {"height", p.height},
              {"header_hash", p.header_hash},
              {"log_size", p.log_size},
              {"pending", node_.pending_count()},
              {"diverged", node_.diverged()},
              {"peers", peers},
              {"raft_voters", v.voters},
              {"raft_learners", v.learners}};
  if (node_.diverged()) out["diverged_reason"] = node_.diverged_reason();
  if (auto head = node_.certified()) out["certified"] = {{"height", head->height}, {"header_hash", head->header_hash}};
  return ok(200, out, req);
}

http::Reply Api::readyz(const http::Request& req) {
  RaftView v = node_.view();
  std::vector<std::string> problems;
  if (v.leader.empty()) problems.push_back("no leader");
  if (v.role == "halted") problems.push_back("halted");
  if (node_.diverged()) problems.push_back("diverged: " + node_.diverged_reason());
  auto applied = node_.ledger->last().raft_index;
  if (v.commit > applied + 1000) problems.push_back("catching up: " + std::to_string(v.commit - applied) + " behind");
  if (problems.empty()) return ok(200, json{{"status", "ready"}}, req);
  std::string detail;
  for (const auto& p : problems) detail += (detail.empty() ? "" : "; ") + p;
  return error(make_error("not_ready", detail), req);
}

http::Reply Api::metrics(const http::Request& req) {
  RaftView v = node_.view();
  auto& m = node_.metrics;
  m.gauge("onebill_raft_term", "Current Raft term").set(static_cast<std::int64_t>(v.term));
  for (const char* role : {"follower", "pre_candidate", "candidate", "leader", "halted"}) {
    m.gauge("onebill_raft_role", "1 for this node's current Raft role", {{"role", role}}).set(v.role == role ? 1 : 0);
  }
  m.gauge("onebill_raft_commit_index", "Raft commit index").set(static_cast<std::int64_t>(v.commit));
  auto p = node_.ledger->last();
  m.gauge("onebill_raft_applied_index", "Raft index applied to the ledger").set(static_cast<std::int64_t>(p.raft_index));
  m.gauge("onebill_ledger_height", "Height of the last applied block").set(p.height);
  m.gauge("onebill_log_size", "Entries in the transparency log").set(static_cast<std::int64_t>(p.log_size));
  m.gauge("onebill_admission_pending", "Entries admitted and waiting for a block").set(
      static_cast<std::int64_t>(node_.pending_count()));
  m.gauge("onebill_leveldb_bytes", "Approximate size of the node's LevelDB").set(
      static_cast<std::int64_t>(node_.store->approximate_size()));
  m.gauge("onebill_events_subscribers", "Open event streams").set(static_cast<std::int64_t>(node_.events->subscribers()));
  m.gauge("onebill_diverged", "1 if this node diverged from a certified header").set(node_.diverged() ? 1 : 0);
  m.gauge("onebill_key_tables", "ECDSA P-256 keys with a verification table in this process")
      .set(static_cast<std::int64_t>(crypto::PublicKey::tables_built()));
  const http::ServerStats& hs = node_.server->stats();
  m.gauge("onebill_http_connections_open", "Open API connections").set(
      static_cast<std::int64_t>(hs.connections_open.load()));
  // The server counts in atomics of its own; the counters catch up with them at each scrape.
  auto catch_up = [](Counter& c, std::uint64_t total) { c.inc(total > c.value() ? total - c.value() : 0); };
  catch_up(m.counter("onebill_http_connections_refused_total", "API connections closed at once, by the cap reached",
                     {{"limit", "max_connections"}}),
           hs.connections_refused.load());
  catch_up(m.counter("onebill_http_connections_refused_total", "API connections closed at once, by the cap reached",
                     {{"limit", "max_connections_per_address"}}),
           hs.connections_refused_address.load());
  catch_up(m.counter("onebill_http_timeouts_total", "API connections cut at a header, body or idle deadline"),
           hs.timeouts.load());
  http::Reply r = http::json_reply(200, m.render(), req.version(), req.keep_alive());
  r.response.set(boost::beast::http::field::content_type, "text/plain; version=0.0.4");
  return r;
}

}  // namespace onebill::node
