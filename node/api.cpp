#include "node/api.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

#include "crypto/canonical_json.h"
#include "node/api_routes.h"
#include "node/node_impl.h"

namespace onebill::node {

namespace net = boost::asio;
using nlohmann::json;

unsigned status_for(std::string_view code) {
  static const std::map<std::string_view, unsigned> kStatus = {
      {"bad_request", 400},     {"bad_json", 400},       {"duplicate_key", 400},    {"float", 400},
      {"integer_range", 400},   {"non_ascii_key", 400},  {"too_deep", 400},         {"too_large", 413}, {"bundle_too_large", 413},
      {"bad_envelope", 400},    {"bad_query", 400},      {"unauthorized", 401},     {"forbidden", 403},
      {"not_found", 404},       {"tx_not_found", 404},   {"doc_not_found", 404},    {"block_not_found", 404},
      {"method_not_allowed", 405}, {"body_too_large", 413}, {"unknown_key", 422},   {"revoked_key", 422},
      {"bad_signature", 422},   {"stale_nonce", 409},    {"nonce_used", 409},       {"no_org_key", 422},
      {"no_certified_head", 404}, {"bad_size", 400},     {"no_leader", 503},        {"overloaded", 503},
      {"diverged", 503},        {"not_ready", 503},      {"timeout", 504},          {"leader_unreachable", 503},
      {"state_unavailable", 503}};
  auto it = kStatus.find(code);
  return it == kStatus.end() ? 500 : it->second;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return make_error("bad_request", "bad percent-encoding");
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return make_error("bad_request", "bad percent-encoding");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Result<Target> parse_target(std::string_view target) {
  Target t;
  auto q = target.find('?');
  t.path = std::string(target.substr(0, q));
  // Split first, then decode each segment, so an encoded '/' stays inside its segment (and is refused as an id).
  std::size_t i = 0;
  while (i < t.path.size()) {
    while (i < t.path.size() && t.path[i] == '/') ++i;
    std::size_t j = t.path.find('/', i);
    if (j == std::string::npos) j = t.path.size();
    if (j > i) {
      auto seg = percent_decode(std::string_view(t.path).substr(i, j - i), false);
      if (!seg) return seg.error();
      t.segments.push_back(std::move(*seg));
    }
    i = j;
  }
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto k = percent_decode(pair.substr(0, eq), true);
    auto v = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!k || !v) return make_error("bad_request", "bad percent-encoding in the query");
    t.query[*k] = *v;
  }
  return t;
}

std::set<std::string> involved_orgs(const json& doc) {
  std::set<std::string> orgs;
  auto add = [&](const json& v) {
    if (v.is_string() && !v.get<std::string>().empty()) orgs.insert(v.get<std::string>());
  };
  auto each = [&](const char* list, const char* field) {
    if (!doc.contains(list) || !doc[list].is_array()) return;
    for (const auto& item : doc[list]) {
      if (item.is_object() && item.contains(field)) add(item[field]);
    }
  };
  for (const char* f : {"issuer", "holder", "bank", "pledgor", "delivered_to", "proposer"}) {
    if (doc.contains(f)) add(doc[f]);
  }
  if (doc.contains("parties") && doc["parties"].is_object()) {
    const auto& p = doc["parties"];
    if (p.contains("shipper")) add(p["shipper"]);
    if (p.contains("consignee")) add(p["consignee"]);
    if (p.contains("notify") && p["notify"].is_array()) {
      for (const auto& n : p["notify"]) add(n);
    }
  }
  each("endorsements", "from");
  each("endorsements", "to");
  each("withdrawals", "by");
  each("surrenders", "by");
  each("discrepancies", "by");
  each("customs", "by");
  each("approvals", "by");
  each("approvals", "org");
  if (doc.contains("legs") && doc["legs"].is_array()) {
    for (const auto& leg : doc["legs"]) {
      if (!leg.is_object()) continue;
      if (leg.contains("carrier")) add(leg["carrier"]);
      if (leg.contains("events") && leg["events"].is_array()) {
        for (const auto& ev : leg["events"]) {
          if (ev.is_object() && ev.contains("by")) add(ev["by"]);
        }
      }
    }
  }
  return orgs;
}

http::Handler make_api_handler(NodeImpl& node) {
  auto api = std::make_shared<Api>(node);
  return [api](http::Request req) -> net::awaitable<http::Reply> { co_return co_await api->handle(std::move(req)); };
}

// ---- Api: shared helpers ----

Api::Api(NodeImpl& node) : node_(node) {}

http::Reply Api::error(const Error& e, const http::Request& req) const {
  http::Reply r = http::problem(status_for(e.code), e.code, e.message, req.version(), req.keep_alive());
  if (e.code == "no_leader" || e.code == "overloaded" || e.code == "not_ready" || e.code == "leader_unreachable" ||
      e.code == "state_unavailable") {
    r.response.set(boost::beast::http::field::retry_after, "1");
  }
  return r;
}

http::Reply Api::ok(unsigned status, const json& body, const http::Request& req) const {
  return http::json_reply(status, body.dump(), req.version(), req.keep_alive());
}

Result<Principal> Api::authenticate(const http::Request& req) const {
  auto it = req.find(boost::beast::http::field::authorization);
  std::string_view header = it == req.end() ? std::string_view() : std::string_view(it->value());
  return node_.config.tokens.authenticate(header);
}

bool Api::sees_everything(const Principal& p) const {
  auto m = node_.membership_view();
  return m->has_role(p.org, "customs") || m->has_role(p.org, "auditor");
}

Status Api::may_read(const Principal& p, const json& doc) const {
  if (!p.has(Scope::read)) return make_error("forbidden", "this token has no read scope");
  if (sees_everything(p)) return {};
  if (involved_orgs(doc).count(p.org) != 0) return {};
  // A bank (or pledgor) of a pledge that was ever active on a bill or receipt may read the collateral.
  if (doc.contains("pledges") && doc["pledges"].is_array()) {
    for (const auto& id : doc["pledges"]) {
      if (!id.is_string()) continue;
      auto pledge = load_document(id.get<std::string>());
      if (pledge && involved_orgs(*pledge).count(p.org) != 0) return {};
    }
  }
  return make_error("forbidden", "organisation " + p.org + " is not involved in this document");
}

net::awaitable<http::Reply> Api::handle(http::Request req) {
  auto start = std::chrono::steady_clock::now();
  std::string route = "unknown";
  http::Reply reply = co_await dispatch(req, route);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  unsigned code = reply.response.result_int();
  node_.metrics
      .counter("onebill_http_requests_total", "HTTP requests by route and status",
               {{"route", route}, {"status", std::to_string(code)}})
      .inc();
  if (route == "POST /v1/transactions" || route == "POST /v1/transactions/batch") {
    node_.metrics
        .histogram("onebill_admission_seconds", "Time from receiving a submission to answering it",
                   latency_buckets(), {{"route", route}})
        .observe(seconds);
  }
  co_return reply;
}

net::awaitable<http::Reply> Api::dispatch(const http::Request& req, std::string& route) {
  auto target = parse_target(req.target());
  if (!target) co_return error(target.error(), req);
  const std::string& path = target->path;
  const auto method = req.method();
  using boost::beast::http::verb;

  const auto& segments = target->segments;
  auto is_get = method == verb::get;
  if (path == "/healthz" && is_get) {
    route = "GET /healthz";
    co_return ok(200, json{{"status", "ok"}}, req);
  }
  if (path == "/readyz" && is_get) {
    route = "GET /readyz";
    co_return readyz(req);
  }
  if (path == "/metrics" && is_get) {
    route = "GET /metrics";
    co_return metrics(req);
  }
  if (path == "/v1/status" && is_get) {
    route = "GET /v1/status";
    co_return status(req);
  }
  if (path == "/" || path == "/index.html" || path.starts_with("/explorer/")) {
    route = "GET /ui";
    co_return explorer(req, path);
  }
  if (segments.size() < 2 || segments[0] != "v1") {
    co_return error(make_error("not_found", "no such endpoint: " + path), req);
  }

  auto principal = authenticate(req);
  if (!principal) co_return error(principal.error(), req);
  if (node_.diverged()) {
    // Never serve ledger data as if nothing happened.
    co_return error(make_error("diverged", "this node diverged from the network: " + node_.diverged_reason()), req);
  }

  if (segments[1] == "transactions") {
    if (segments.size() == 2 && method == verb::post) {
      route = "POST /v1/transactions";
      co_return co_await submit(req, *target, *principal);
    }
    if (segments.size() == 3 && segments[2] == "batch" && method == verb::post) {
      route = "POST /v1/transactions/batch";
      co_return co_await submit_batch(req, *target, *principal);
    }
    if (segments.size() == 3 && is_get) {
      route = "GET /v1/transactions/{id}";
      co_return get_transaction(req, segments[2], *principal);
    }
  } else if (segments[1] == "documents" && is_get) {
    if (segments.size() == 2) {
      route = "GET /v1/documents";
      co_return list_documents(req, *target, *principal);
    }
    if (Status s = co_await wait_min_height(*target); !s) co_return error(s.error(), req);
    if (segments.size() == 3) {
      route = "GET /v1/documents/{id}";
      co_return get_document(req, segments[2], *principal);
    }
    if (segments.size() == 4 && segments[3] == "history") {
      route = "GET /v1/documents/{id}/history";
      co_return get_history(req, segments[2], *target, *principal);
    }
    if (segments.size() == 4 && segments[3] == "bundle") {
      route = "GET /v1/documents/{id}/bundle";
      co_return co_await get_bundle(req, segments[2], *target, *principal);
    }
  } else if (segments[1] == "blocks" && is_get) {
    if (segments.size() == 2) {
      route = "GET /v1/blocks";
      co_return list_blocks(req, *target, *principal);
    }
    if (segments.size() == 3) {
      route = "GET /v1/blocks/{height}";
      co_return get_block(req, segments[2], *principal);
    }
  } else if (segments[1] == "log" && segments.size() == 3 && is_get) {
    if (segments[2] == "head") {
      route = "GET /v1/log/head";
      co_return log_head(req);
    }
    if (segments[2] == "consistency") {
      route = "GET /v1/log/consistency";
      co_return log_consistency(req, *target);
    }
  } else if (segments[1] == "whoami" && segments.size() == 2 && is_get) {
    route = "GET /v1/whoami";
    co_return whoami(req, *principal);
  } else if (segments[1] == "events" && segments.size() == 2 && is_get) {
    route = "GET /v1/events";
    co_return events(req, *target, *principal);
  }
  co_return error(make_error("not_found", "no such endpoint: " + std::string(req.method_string()) + " " + path), req);
}

net::awaitable<Status> Api::wait_min_height(const Target& t) {
  auto it = t.query.find("min_height");
  if (it == t.query.end()) co_return Status{};
  const std::string& text = it->second;
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    co_return make_error("bad_query", "min_height must be a non-negative decimal integer");
  }
  const std::int64_t want = std::stoll(text);
  // Read-your-writes across nodes: wait (bounded by the commit wait) until this node has applied that height.
  net::steady_timer timer(node_.io);
  const auto deadline = std::chrono::steady_clock::now() + node_.config.commit_wait;
  while (node_.ledger->last().height < want) {
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return make_error("not_ready", "this node has applied height " + std::to_string(node_.ledger->last().height) +
                                            ", not yet min_height " + text + "; retry, or read from another node");
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  }
  co_return Status{};
}

// ---- writes ----

Result<contracts::Envelope> Api::envelope_from(json&& body, const Principal& who) {
  if (body.is_object() && body.contains("sig")) {
    if (!who.has(Scope::submit)) return make_error("forbidden", "this token has no submit scope");
    return contracts::envelope_from_json(std::move(body), node_.alg);
  }
  if (!who.has(Scope::sign)) {
    return make_error("forbidden", "an unsigned submission needs a token with the sign scope");
  }
  if (!body.is_object() || !body.contains("tx") || body.size() != 1) {
    return make_error("bad_envelope", "expected {\"tx\": {...}, \"sig\": \"...\"}, or {\"tx\": {...}} for the node to sign");
  }
  return node_.sign_for(who, body["tx"]);
}

net::awaitable<http::Reply> Api::submit(const http::Request& req, const Target& t, const Principal& who) {
  // Query first: a bad query is refused before anything is admitted.
  std::string wait = t.query.count("wait") ? t.query.at("wait") : "commit";
  if (wait != "commit" && wait != "none") co_return error(make_error("bad_query", "wait must be commit or none"), req);
  auto timeout = node_.config.commit_wait;
  if (t.query.count("timeout_ms")) {
    try {
      std::size_t used = 0;
      long long v = std::stoll(t.query.at("timeout_ms"), &used);
      if (used != t.query.at("timeout_ms").size()) throw std::invalid_argument("trailing");
      timeout = std::chrono::milliseconds(std::clamp<long long>(v, 1, 120000));
    } catch (...) {
      co_return error(make_error("bad_query", "timeout_ms must be an integer"), req);
    }
  }
  // A canonical envelope — what clients that sign canonical bytes send — is read in one pass, its tx straight from
  // the signed bytes; anything else, and anything wrong, takes the strict parse, which names the problem.
  std::optional<contracts::Envelope> canonical;
  if (who.has(Scope::submit) && req.body().size() <= node_.config.body_limit) {
    canonical = contracts::envelope_from_canonical(req.body(), node_.alg);
  }
  Result<contracts::Envelope> e = canonical ? Result<contracts::Envelope>(std::move(*canonical)) : [&] {
    auto body = crypto::parse_strict(req.body(), crypto::JsonLimits{node_.config.body_limit, 32});
    return body ? envelope_from(std::move(*body), who) : Result<contracts::Envelope>(body.error());
  }();
  if (!e) co_return error(e.error(), req);
  auto pre = node_.precheck(*e);
  if (!pre) co_return error(pre.error(), req);
  if (pre->has_value()) co_return ok(200, (*pre)->to_json(), req);  // the same entry again: its first answer
  const std::string id = e->id;
  // Watched before it is handed on: its block may be applied while it is routed (no ledger read afterwards).
  std::optional<NodeImpl::CommitWatch> watch;
  if (wait == "commit") watch.emplace(node_.watch(id));
  std::vector<contracts::Envelope> one;
  one.push_back(std::move(*e));
  std::vector<Status> routed = co_await node_.route(std::move(one));
  if (!routed[0]) co_return error(routed[0].error(), req);
  if (!watch) co_return ok(202, json{{"id", id}, {"status", "pending"}}, req);
  TxAnswer answer = co_await watch->wait(timeout);
  co_return ok(answer.status == "pending" ? 202 : 200, answer.to_json(), req);
}

net::awaitable<http::Reply> Api::submit_batch(const http::Request& req, const Target& t, const Principal& who) {
  auto body = crypto::parse_strict(req.body(), crypto::JsonLimits{node_.config.body_limit, 34});
  if (!body) co_return error(body.error(), req);
  json* list = &*body;
  if (body->is_object() && body->contains("entries")) list = &(*body)["entries"];
  if (!list->is_array()) co_return error(make_error("bad_envelope", "expected {\"entries\": [...]}"), req);
  if (list->size() > 1000) co_return error(make_error("too_large", "at most 1000 entries per batch"), req);
  std::vector<json> answers(list->size());
  std::vector<std::pair<std::size_t, std::string>> waiting;
  std::vector<contracts::Envelope> admitted;  // passed the checks here, to hand to the leader in one go
  std::vector<std::size_t> admitted_at;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto e = envelope_from(std::move((*list)[i]), who);
    Result<std::optional<TxAnswer>> pre = e ? node_.precheck(*e) : Result<std::optional<TxAnswer>>(e.error());
    if (!pre) {
      answers[i] = {{"status", "error"}, {"code", pre.error().code}, {"detail", pre.error().message}};
      if (e) answers[i]["id"] = e->id;
      continue;
    }
    if (pre->has_value()) {
      answers[i] = (*pre)->to_json();
      continue;
    }
    admitted.push_back(std::move(*e));
    admitted_at.push_back(i);
  }
  std::vector<std::string> admitted_ids;
  for (const auto& e : admitted) admitted_ids.push_back(e.id);
  std::vector<Status> routed = co_await node_.route(std::move(admitted));
  for (std::size_t k = 0; k < admitted_ids.size(); ++k) {
    std::size_t i = admitted_at[k];
    const std::string& id = admitted_ids[k];
    if (!routed[k]) {
      answers[i] = {{"id", id},
                    {"status", "error"},
                    {"code", routed[k].error().code},
                    {"detail", routed[k].error().message}};
      continue;
    }
    answers[i] = {{"id", id}, {"status", "pending"}};
    waiting.emplace_back(i, id);
  }
  std::string wait = t.query.count("wait") ? t.query.at("wait") : "commit";
  if (wait == "commit") {
    auto deadline = std::chrono::steady_clock::now() + node_.config.commit_wait;
    for (auto& [i, id] : waiting) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      TxAnswer a = co_await node_.wait_for(id, std::max(left, std::chrono::milliseconds(1)));
      answers[i] = a.to_json();
    }
  }
  co_return ok(200, json{{"results", answers}}, req);
}

}  // namespace onebill::node
