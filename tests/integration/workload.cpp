#include "tests/integration/workload.h"

#include <algorithm>
#include <memory>

#include "contracts/envelope.h"
#include "tests/integration/http_client.h"

namespace onebill::faults {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kReader = testing::TestNet::token("audit");  // an auditor reads every document

bool accepted(const std::optional<Ack>& a) { return a && a->status == "accepted"; }

json receipt_body(const std::string& tag) {
  return {{"holder", "trader"},
          {"goods", {{"description", "Copper cathodes"}, {"hs", "740311"}, {"quantity", 10}, {"unit", "TNE"},
                     {"gross_kg", 10000}}},
          {"location", "CNTSN"},
          {"lot", "LOT-" + tag},
          {"bonded", false}};
}

json pledge_body(const std::string& collateral, const std::string& bank) {
  return {{"collateral", collateral}, {"bank", bank}, {"amount", {{"value", 5000000}, {"ccy", "CNY"}}},
          {"due", "2099-12-31"}};
}

}  // namespace

std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::int64_t random_between(std::uint64_t& state, std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<std::int64_t>(next_random(state) % static_cast<std::uint64_t>(hi - lo + 1));
}

Signer::Signed Signer::sign(const std::string& org, const std::string& type, const std::string& doc,
                            const json& body) {
  json env;
  {
    std::lock_guard lock(mu_);
    env = net_.envelope(org, type, doc, body);
  }
  auto tx = contracts::tx_from_json(env["tx"]);
  auto id = tx ? contracts::tx_id(crypto::HashAlg::sha256, *tx) : Result<std::string>(tx.error());
  return {id ? *id : std::string(), org, type, doc, env.dump()};
}

// What one client thread (or one of its helpers sending at the same time) holds: a connection per node, its
// random state, and for the read checks the highest height it has seen and, per document, the height the
// document must at least have (its own accepted writes, and what it read before).
struct Workload::Session {
  std::vector<std::unique_ptr<HttpClient>> http;
  std::uint64_t rng = 0;
  std::int64_t seen = 0;
  std::map<std::string, std::int64_t> floor;
  std::map<std::string, std::vector<Ack>> mine;  // this client's acknowledged entries, by tx.doc

  Session(const std::vector<std::uint16_t>& ports, std::uint64_t seed) : rng(seed) {
    for (auto p : ports) http.push_back(std::make_unique<HttpClient>(p));
  }
  std::size_t pick(std::size_t other_than) {
    std::size_t n = http.size();
    std::size_t i = static_cast<std::size_t>(next_random(rng) % n);
    if (n > 1 && i == other_than) i = (i + 1 + next_random(rng) % (n - 1)) % n;
    return i;
  }
};

namespace {

std::optional<Ack> submit_in(const WorkloadOptions& o, auto& session, const Signer::Signed& s, History& h,
                             const std::atomic<bool>& abort, Clock::time_point deadline) {
  {
    std::lock_guard lock(h.mu);
    ++h.submitted;
  }
  const std::string target = "/v1/transactions?timeout_ms=" + std::to_string(o.commit_timeout.count());
  const std::string token = testing::TestNet::token(s.org);
  std::size_t last = session.http.size();
  for (int attempt = 0; !abort && Clock::now() < deadline; ++attempt) {
    if (attempt > 0) {
      std::lock_guard lock(h.mu);
      ++h.resent;
    }
    std::size_t node = session.pick(last);
    last = node;
    auto a = session.http[node]->request("POST", target, s.text, token, o.http_timeout);
    json j = a.json();
    std::string status = j.is_object() ? text_field(j, "status") : "";
    if (a.status == 200 && j.is_object() && int_field(j, "height", -1) >= 0 && (status == "accepted" || status == "rejected")) {
      Ack ack{s.id, s.org, s.type, s.doc, status, text_field(j, "reason"), int_field(j, "height", -1),
              int_field(j, "index", -1), "n" + std::to_string(node + 1)};
      std::lock_guard lock(h.mu);
      h.acks.push_back(ack);
      ++h.answers["200 " + status];
      return ack;
    }
    std::string code = j.is_object() ? text_field(j, "code") : "";
    std::string key = a.status == 0 ? std::string("no answer")
                                    : std::to_string(a.status) + (code.empty() ? "" : " " + code);
    if (a.status == 202) key = "202 pending";
    h.count(h.answers, key);
    bool retry = a.status == 0 || a.status == 202 || a.status == 503;
    if (a.status == 409 && code == "stale_nonce") return std::nullopt;  // refused: not recorded (a long outage)
    if (!retry) h.count(h.unexpected, key + " to " + s.type);
    if (!retry && a.status < 500) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(random_between(session.rng, 20, 150)));
  }
  std::lock_guard lock(h.mu);
  ++h.unresolved;
  return std::nullopt;
}

}  // namespace

Workload::Workload(WorkloadOptions o, Signer& signer, History& history, Timeline& timeline)
    : o_(std::move(o)), signer_(signer), history_(history), timeline_(timeline) {}

Workload::~Workload() {
  abort_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Workload::start() {
  running_ = o_.clients;
  for (int c = 0; c < o_.clients; ++c) threads_.emplace_back([this, c] { client(c); });
}

void Workload::finish() { finishing_ = true; }

bool Workload::join(std::chrono::milliseconds grace) {
  auto until = Clock::now() + grace;
  while (running_ > 0 && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bool in_time = running_ == 0;
  abort_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  return in_time;
}

std::optional<Ack> Workload::submit(const WorkloadOptions& o, const Signer::Signed& s, History& h, std::uint64_t seed,
                                    const std::atomic<bool>& abort, Clock::time_point deadline) {
  Session session(o.ports, seed);
  return submit_in(o, session, s, h, abort, deadline);
}

std::optional<Ack> Workload::step(Session& s, const Signer::Signed& e) {
  auto a = submit_in(o_, s, e, history_, abort_, Clock::now() + o_.step_deadline);
  if (!a) return a;
  s.seen = std::max(s.seen, a->height);
  s.mine[a->doc].push_back(*a);
  if (a->status == "accepted") s.floor[a->doc] = std::max(s.floor[a->doc], a->height);
  if (next_random(s.rng) % 2 == 0) check_read(s, a->doc);
  return a;
}

// Sends the entries at the same time, each from a thread of its own and through a node of its own choosing.
std::vector<std::optional<Ack>> Workload::together(Session& s, const std::vector<Signer::Signed>& entries) {
  std::vector<std::optional<Ack>> out(entries.size());
  std::vector<std::thread> helpers;
  auto deadline = Clock::now() + o_.step_deadline;
  for (std::size_t k = 1; k < entries.size(); ++k) {
    std::uint64_t seed = next_random(s.rng);
    helpers.emplace_back([&, k, seed] {
      Session own(o_.ports, seed);
      out[k] = submit_in(o_, own, entries[k], history_, abort_, deadline);
    });
  }
  out[0] = submit_in(o_, s, entries[0], history_, abort_, deadline);
  for (auto& t : helpers) t.join();
  for (const auto& a : out) {
    if (!a) continue;
    s.seen = std::max(s.seen, a->height);
    s.mine[a->doc].push_back(*a);
    if (a->status == "accepted") s.floor[a->doc] = std::max(s.floor[a->doc], a->height);
  }
  for (const auto& a : out) {
    if (a && next_random(s.rng) % 2 == 0) check_read(s, a->doc);
  }
  return out;
}

void Workload::check_read(Session& s, const std::string& doc) {
  std::size_t node = s.pick(s.http.size());
  std::string node_id = "n" + std::to_string(node + 1);
  std::int64_t min_height = s.seen;
  bool history = next_random(s.rng) % 3 == 0;
  std::string target = "/v1/documents/" + doc + (history ? "/history" : "") + "?min_height=" + std::to_string(min_height);
  auto a = s.http[node]->get(target, kReader, o_.http_timeout);
  {
    std::lock_guard lock(history_.mu);
    ++history_.reads;
    if (a.status == 503) ++history_.reads_not_ready;
  }
  std::string what = "GET " + target + " on " + node_id;
  auto violation = [&](const std::string& text) {
    std::lock_guard lock(history_.mu);
    history_.violations.push_back(what + ": " + text);
    timeline_.say("VIOLATION " + what + ": " + text);
  };
  if (a.status == 404 && s.floor[doc] > 0) {
    return violation("404, though this client saw the document at height " + std::to_string(s.floor[doc]));
  }
  if (a.status != 200) {
    // 404 for a document whose creating entry was rejected; 503 not_ready; no answer from a node that is down.
    if (a.status != 0 && a.status != 503 && a.status != 404) {
      history_.count(history_.unexpected, "read " + std::to_string(a.status));
    }
    return;
  }
  json j = a.json();
  if (!j.is_object()) return violation("the answer is not a JSON object");
  if (history) {
    // Every entry this client had acknowledged on the document, up to min_height, is there as it was answered.
    std::map<std::string, json> items;
    for (const auto& item : array_field(j, "items")) items[text_field(item, "id")] = item;
    for (const auto& mine : s.mine[doc]) {
      if (mine.height > min_height) continue;
      auto it = items.find(mine.id);
      if (it == items.end()) {
        violation("entry " + mine.id + " (" + mine.type + ", acknowledged " + mine.status + " at height " +
                  std::to_string(mine.height) + ") is missing from the history");
      } else if (text_field(it->second, "status") != mine.status || int_field(it->second, "height", -1) != mine.height) {
        violation("entry " + mine.id + " is " + it->second.dump() + ", acknowledged as " + mine.status + " at height " +
                  std::to_string(mine.height));
      }
    }
    return;
  }
  std::int64_t h = int_field(j, "height", -1);
  std::int64_t floor = s.floor[doc];
  if (h < floor) {
    violation("the document is at height " + std::to_string(h) + ", older than height " + std::to_string(floor) +
              " that this client wrote or read before");
  }
  s.floor[doc] = std::max(floor, h);
  s.seen = std::max(s.seen, h);
}

void Workload::receipt_round(Session& s, const std::string& tag) {
  ReceiptRound round{"WR-" + tag, "PL-" + tag + "-A", "PL-" + tag + "-B"};
  {
    std::lock_guard lock(history_.mu);
    history_.receipts.push_back(round);
  }
  if (!accepted(step(s, signer_.sign("tjwh", "receipt.issue", round.receipt, receipt_body(tag))))) return;
  if (!accepted(step(s, signer_.sign("trader", "pledge.request", round.pledge_a, pledge_body(round.receipt, "bank1"))))) return;
  if (!accepted(step(s, signer_.sign("trader", "pledge.request", round.pledge_b, pledge_body(round.receipt, "bank2"))))) return;
  // Two banks accept two pledges of one collateral at the same moment: the ledger takes the first in its order.
  auto accepts = together(s, {signer_.sign("bank1", "pledge.accept", round.pledge_a, json::object()),
                              signer_.sign("bank2", "pledge.accept", round.pledge_b, json::object())});
  if (!accepts[0] || !accepts[1]) return;
  if (accepted(accepts[0]) && accepted(accepts[1])) {
    std::lock_guard lock(history_.mu);
    history_.violations.push_back("both pledges on " + round.receipt + " were accepted");
    return;
  }
  int winner = accepted(accepts[0]) ? 0 : accepted(accepts[1]) ? 1 : -1;
  if (winner < 0) return;
  std::string bank = winner == 0 ? "bank1" : "bank2";
  std::string pledge = winner == 0 ? round.pledge_a : round.pledge_b;
  if (!accepted(step(s, signer_.sign(bank, "pledge.release", pledge, json::object())))) return;
  // Three withdrawals at once ask for 15 of the 10 units.
  auto withdrawals = together(s, {signer_.sign("trader", "receipt.withdraw", round.receipt, {{"quantity", 4}}),
                                  signer_.sign("trader", "receipt.withdraw", round.receipt, {{"quantity", 5}}),
                                  signer_.sign("trader", "receipt.withdraw", round.receipt, {{"quantity", 6}})});
  std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, int>> taken;  // ((height, index), quantity)
  int total = 0;
  for (std::size_t k = 0; k < withdrawals.size(); ++k) {
    if (!accepted(withdrawals[k])) continue;
    int quantity = 4 + static_cast<int>(k);
    total += quantity;
    taken.push_back({{withdrawals[k]->height, withdrawals[k]->index}, quantity});
  }
  if (total > 10) {
    std::lock_guard lock(history_.mu);
    history_.violations.push_back("withdrawals of " + std::to_string(total) + " units accepted on " + round.receipt +
                                  " of 10");
  }
  std::sort(taken.begin(), taken.end());
  for (const auto& [at, quantity] : taken) {
    if (!accepted(step(s, signer_.sign("tjwh", "receipt.release", round.receipt, {{"quantity", quantity}})))) return;
  }
}

void Workload::bill_round(Session& s, const std::string& tag, int container) {
  std::string a = "OB-" + tag + "-1", b = "OB-" + tag + "-2";
  {
    std::lock_guard lock(history_.mu);
    history_.bill_pairs.emplace_back(a, b);
  }
  std::string box = testing::container(container);
  auto issued = together(s, {signer_.sign("crct", "bill.issue", a, testing::bill(box)),
                             signer_.sign("crct", "bill.issue", b, testing::bill(box))});
  if (accepted(issued[0]) && accepted(issued[1])) {
    std::lock_guard lock(history_.mu);
    history_.violations.push_back("two live bills " + a + " and " + b + " on container " + box);
  }
}

void Workload::client(int c) {
  Session s(o_.ports, o_.seed * 0x100000001b3ULL + static_cast<std::uint64_t>(c) + 1);
  next_random(s.rng);
  for (int r = 0; !finishing_ && !abort_; ++r) {
    std::string tag = o_.tag + "-c" + std::to_string(c) + "r" + std::to_string(r);
    if (next_random(s.rng) % 10 < 7) {
      receipt_round(s, tag);
    } else {
      bill_round(s, tag, c * 40000 + r % 40000);
    }
  }
  --running_;
}

}  // namespace onebill::faults
