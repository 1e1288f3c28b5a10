#include "tests/integration/checker.h"

#include <algorithm>
#include <set>
#include <thread>

#include "tests/integration/http_client.h"

namespace onebill::faults {
namespace {

using nlohmann::json;

const std::string kReader = testing::TestNet::token("audit");
constexpr std::size_t kMaxListed = 12;  // failures of one kind printed before they are only counted

// What one node answers, fetched on a thread of its own.
struct NodeView {
  std::vector<std::string> hashes;              // [height - 1]
  std::vector<std::vector<json>> results;       // [height - 1]: the block's results
  std::map<std::string, json> txs;              // acknowledged id -> GET /v1/transactions/{id} (null: 404)
  std::map<std::string, std::string> docs;      // id -> the document's JSON text ("" when absent)
  json head;
  std::vector<std::string> errors;
};

void fetch(std::uint16_t port, std::int64_t height, const std::vector<Ack>& acks, const std::set<std::string>& docs,
           NodeView& v) {
  HttpClient http(port);
  auto get = [&](const std::string& target, HttpAnswer& a) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      a = http.get(target, kReader, std::chrono::milliseconds(10000));
      if (a.status != 0 && a.status != 503) return true;
    }
    v.errors.push_back("GET " + target + ": " + (a.status == 0 ? std::string("no answer") : std::to_string(a.status)));
    return false;
  };
  HttpAnswer a;
  v.hashes.assign(static_cast<std::size_t>(height), "");
  v.results.assign(static_cast<std::size_t>(height), {});
  for (std::int64_t from = 1; from <= height; from += 200) {
    if (!get("/v1/blocks?from=" + std::to_string(from) + "&limit=200", a)) return;
    for (const auto& item : array_field(a.json(), "items")) {
      auto h = int_field(item, "height", 0);
      if (h >= 1 && h <= height) v.hashes[static_cast<std::size_t>(h - 1)] = text_field(item, "hash");
    }
  }
  for (std::int64_t h = 1; h <= height; ++h) {
    if (!get("/v1/blocks/" + std::to_string(h), a)) return;
    v.results[static_cast<std::size_t>(h - 1)] = array_field(a.json(), "results").get<std::vector<json>>();
  }
  for (const auto& ack : acks) {
    if (v.txs.count(ack.id) || !get("/v1/transactions/" + ack.id, a)) continue;
    json t = a.json();
    v.txs[ack.id] = a.status == 200 && t.is_object()
                        ? json{{"status", text_field(t, "status")}, {"height", int_field(t, "height", -1)},
                               {"index", int_field(t, "index", -1)}, {"reason", text_field(t, "reason")}}
                        : json(nullptr);
  }
  for (const auto& d : docs) {
    if (!get("/v1/documents/" + d, a)) continue;
    v.docs[d] = a.status == 200 ? a.json().dump() : "";
  }
  if (get("/v1/log/head", a)) v.head = a.json();
}

class Failures {
 public:
  explicit Failures(std::vector<std::string>& out) : out_(out) {}
  void add(const std::string& kind, const std::string& text) {
    if (++counts_[kind] <= kMaxListed) out_.push_back(text);
  }
  ~Failures() {
    for (const auto& [kind, n] : counts_) {
      if (n > kMaxListed) out_.push_back("... and " + std::to_string(n - kMaxListed) + " more: " + kind);
    }
  }

 private:
  std::vector<std::string>& out_;
  std::map<std::string, std::size_t> counts_;
};

void check_documents(const std::vector<std::string>& ids, const std::vector<NodeView>& views, FaultCluster& c,
                     Failures& fail, CheckResult& r) {
  for (const auto& id : ids) {
    std::set<std::string> versions;
    for (const auto& v : views) versions.insert(v.docs.count(id) ? v.docs.at(id) : "?");
    ++r.docs;
    if (versions.size() > 1) {
      std::string who;
      for (std::size_t i = 0; i < views.size(); ++i) {
        const auto& text = views[i].docs.count(id) ? views[i].docs.at(id) : std::string("?");
        who += " " + c.id(i) + ":" + (text.empty() ? "absent" : std::to_string(std::hash<std::string>{}(text) % 100000));
      }
      fail.add("documents that differ", "DIVERGED: document " + id + " differs between nodes (" + who + ")");
    }
  }
}

json doc(const NodeView& v, const std::string& id) {
  auto it = v.docs.find(id);
  return it == v.docs.end() || it->second.empty() ? json(nullptr) : json::parse(it->second, nullptr, false);
}

void check_invariants(const NodeView& v, const History& h, Failures& fail) {
  for (const auto& round : h.receipts) {
    json r = doc(v, round.receipt);
    if (!r.is_object()) continue;
    const json goods = r.contains("goods") ? r["goods"] : json::object();
    std::int64_t quantity = int_field(goods, "quantity", -1);
    std::int64_t remaining = int_field(goods, "remaining", -1);
    std::int64_t released = 0, asked = 0;
    for (const auto& w : array_field(r, "withdrawals")) {
      asked += int_field(w, "quantity", 0);
      if (text_field(w, "status") == "released") released += int_field(w, "quantity", 0);
    }
    if (remaining < 0 || remaining != quantity - released || asked > quantity) {
      fail.add("quantity invariants", "INVARIANT: receipt " + round.receipt + " quantity " + std::to_string(quantity) +
                                          ", remaining " + std::to_string(remaining) + ", released " +
                                          std::to_string(released) + ", withdrawals asked " + std::to_string(asked));
    }
    std::vector<std::string> active;
    for (const auto& p : {round.pledge_a, round.pledge_b}) {
      json pd = doc(v, p);
      if (pd.is_object() && text_field(pd, "status") == "active" && text_field(pd, "collateral") == round.receipt) {
        active.push_back(p);
      }
    }
    json named = r.contains("pledge") ? r["pledge"] : json(nullptr);
    bool consistent = active.empty() ? named.is_null() : (named.is_string() && named.get<std::string>() == active[0]);
    if (active.size() > 1 || !consistent) {
      fail.add("pledge invariants", "INVARIANT: receipt " + round.receipt + " has " + std::to_string(active.size()) +
                                        " active pledges and names " + named.dump());
    }
  }
  for (const auto& [a, b] : h.bill_pairs) {
    if (doc(v, a).is_object() && doc(v, b).is_object()) {
      fail.add("bill invariants", "INVARIANT: bills " + a + " and " + b + " both exist on one container");
    }
  }
}

}  // namespace

CheckResult check_run(FaultCluster& c, History& h) {
  CheckResult r;
  Failures fail(r.failures);
  const std::size_t n = c.size();
  std::vector<std::int64_t> heights(n, -1);
  std::string listed;
  for (std::size_t i = 0; i < n; ++i) {
    json s = c.status(i, std::chrono::milliseconds(3000));
    heights[i] = s.is_object() ? int_field(s, "height", -1) : -1;
    listed += " " + c.id(i) + ":" + std::to_string(heights[i]);
  }
  r.height = *std::min_element(heights.begin(), heights.end());
  if (*std::max_element(heights.begin(), heights.end()) != r.height) {
    fail.add("heights", "heights differ at the end (" + listed.substr(1) + "); compared up to " + std::to_string(r.height));
  }
  if (r.height < 0) return r;

  std::vector<Ack> acks;
  std::set<std::string> docs;
  {
    std::lock_guard lock(h.mu);
    acks = h.acks;
    for (const auto& round : h.receipts) docs.insert({round.receipt, round.pledge_a, round.pledge_b});
    for (const auto& [a, b] : h.bill_pairs) docs.insert({a, b});
    for (const auto& v : h.violations) fail.add("client observations", "CLIENT: " + v);
  }
  std::vector<NodeView> views(n);
  std::vector<std::thread> fetchers;
  for (std::size_t i = 0; i < n; ++i) {
    fetchers.emplace_back([&, i] { fetch(c.api_port(i), r.height, acks, docs, views[i]); });
  }
  for (auto& t : fetchers) t.join();
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& e : views[i].errors) fail.add("unanswered reads", c.id(i) + ": " + e);
  }

  // Blocks: one hash per height, no id twice.
  for (std::int64_t height = 1; height <= r.height; ++height) {
    std::set<std::string> hashes;
    std::string who;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& hash = views[i].hashes[static_cast<std::size_t>(height - 1)];
      hashes.insert(hash);
      who += " " + c.id(i) + ":" + hash.substr(0, 12);
    }
    if (hashes.size() > 1) {
      fail.add("block hashes", "DIVERGED: block " + std::to_string(height) + " hashes differ (" + who.substr(1) + ")");
    }
  }
  std::vector<std::map<std::string, std::pair<std::int64_t, json>>> placed(n);  // id -> (height, result)
  for (std::size_t i = 0; i < n; ++i) {
    for (std::int64_t height = 1; height <= r.height; ++height) {
      for (const auto& res : views[i].results[static_cast<std::size_t>(height - 1)]) {
        std::string id = text_field(res, "id");
        auto [it, fresh] = placed[i].emplace(id, std::make_pair(height, res));
        if (!fresh) {
          fail.add("duplicates", "DUPLICATE: " + c.id(i) + " has entry " + id + " at heights " +
                                     std::to_string(it->second.first) + " and " + std::to_string(height));
        }
      }
    }
  }
  r.entries = placed[0].size();

  // Acknowledged entries: on every node, as answered.
  std::set<std::string> seen;
  for (const auto& ack : acks) {
    if (!seen.insert(ack.id).second) continue;  // a resend answered twice: one entry
    ++r.acked;
    bool lost = false;
    for (std::size_t i = 0; i < n; ++i) {
      auto t = views[i].txs.count(ack.id) ? views[i].txs.at(ack.id) : json();
      std::string told = ack.status + " at " + std::to_string(ack.height) + "/" + std::to_string(ack.index) +
                         " (" + ack.type + " " + ack.doc + ", answered by " + ack.node + ")";
      if (t.is_null()) {
        lost = true;
        fail.add("lost entries", "LOST: " + c.id(i) + " does not have entry " + ack.id + ", acknowledged " + told);
        continue;
      }
      if (text_field(t, "status") != ack.status || int_field(t, "height", -1) != ack.height ||
          int_field(t, "index", -1) != ack.index || text_field(t, "reason") != ack.reason) {
        fail.add("changed outcomes", "OUTCOME: " + c.id(i) + " has entry " + ack.id + " as " + t.dump() +
                                         ", acknowledged " + told);
      }
      auto p = placed[i].find(ack.id);
      if (p == placed[i].end() || p->second.first != ack.height || text_field(p->second.second, "status") != ack.status) {
        fail.add("block placement", "BLOCK: " + c.id(i) + " block " + std::to_string(ack.height) +
                                        " does not hold entry " + ack.id + " as acknowledged");
      }
    }
    if (lost) ++r.lost;
  }

  // Certified heads.
  std::set<std::string> heads;
  std::string who;
  for (std::size_t i = 0; i < n; ++i) {
    const json& head = views[i].head;
    std::string key = head.is_object() ? std::to_string(int_field(head, "height", -1)) + "/" +
                                             text_field(head, "header_hash").substr(0, 12)
                                       : "none";
    heads.insert(key);
    who += " " + c.id(i) + ":" + key;
  }
  if (heads.size() > 1) fail.add("certified heads", "certified heads differ (" + who.substr(1) + ")");

  // Documents: the same everywhere, and the ledger's invariants hold on them.
  check_documents(std::vector<std::string>(docs.begin(), docs.end()), views, c, fail, r);
  check_invariants(views[0], h, fail);
  return r;
}

}  // namespace onebill::faults
