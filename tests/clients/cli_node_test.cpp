// The commands that talk to a node, run in-process against a fake node on 127.0.0.1: the paths, queries, bodies and
// tokens they send, how they show the answers, and their exit codes.
#include <catch2/catch.hpp>

#include "cli_util.h"
#include "contracts/documents.h"
#include "contracts/envelope.h"
#include "crypto/keys.h"
#include "fake_node.h"

using onebill::test::FakeNode;
using onebill::test::FakeRequest;
using onebill::test::FakeResponse;
using onebill::test::run_cli;
using onebill::test::slurp;
using onebill::test::spit;
using onebill::test::TempDir;
namespace contracts = onebill::contracts;
namespace crypto = onebill::crypto;
using nlohmann::json;

namespace {

// A bill in the node's own document format (contracts::to_json), mid-journey, with a discrepancy open.
json sample_bill() {
  contracts::Bill b;
  b.meta.id = "OB-2026-000001";
  b.meta.kind = "bill";
  b.meta.status = "in_transit";
  b.meta.issuer = "crct";
  b.meta.holder = "trader-a";
  b.meta.head = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  b.meta.height = 7;
  b.meta.created = 3;
  b.document_type = "BOL";
  b.to_order = true;
  b.parties.shipper = "trader-a";
  b.parties.notify = {"bank-x"};
  b.place_of_receipt = "CNTSN";
  b.place_of_delivery = "DEDUI";
  contracts::Leg rail;
  rail.mode = "rail";
  rail.carrier = "crct";
  rail.from = "CNTSN";
  rail.to = "DEDUI";
  rail.vehicle = "X8001";
  rail.status = "departed";
  contracts::LegEvent loaded;
  loaded.event = "loaded";
  loaded.at = "CNTSN";
  loaded.by = "crct";
  loaded.as = "carrier";
  loaded.equipment = {"CSQU3054383"};
  loaded.gross_kg = 21000;
  loaded.height = 5;
  loaded.tx = "aaaaaaaaaaaaaaaaaaaaaaaa";
  contracts::LegEvent crossed = loaded;
  crossed.event = "border_crossed";
  crossed.at = "KZDZH";
  crossed.by = "kz-rail";
  crossed.height = 6;
  rail.event_count = 2;
  b.legs = {rail};
  b.equipment = {contracts::Equipment{"CSQU3054383", "45G1", {"SEAL-1"}, {"SEAL-2"}}};
  b.cargo = {contracts::CargoLine{"auto parts", "870899", 100, 21000, "CSQU3054383"}};
  b.declared_value = contracts::Money{1250000000, "CNY"};
  contracts::CustomsDecision d;
  d.n = 1;
  d.procedure = "export";
  d.declaration = "EXP-1";
  d.decision = "released";
  d.by = "customs-tj";
  d.height = 4;
  b.customs = {d};
  contracts::Discrepancy x;
  x.n = 1;
  x.code = "seal_mismatch";
  x.detail = "CSQU3054383: seals SEAL-2, expected SEAL-1";
  x.by = "kz-rail";
  x.height = 6;
  b.discrepancies = {x};
  json view = contracts::to_json(b);  // as GET /v1/documents/{id} shows it: the leg's events put back in
  view["legs"][0]["events"] = {contracts::to_json(loaded), contracts::to_json(crossed)};
  return view;
}

json history_item(int height, const std::string& type, const std::string& status, const std::string& reason = "") {
  json j = {{"id", std::string(64, static_cast<char>('a' + height % 6))},
            {"type", type},
            {"signer", "crct/k1"},
            {"nonce", height},
            {"ts", "2026-11-25T10:00:0" + std::to_string(height % 10) + "Z"},
            {"status", status},
            {"height", height},
            {"index", 0},
            {"doc", "OB-2026-000001"}};
  if (!reason.empty()) j["reason"] = reason;
  return j;
}

std::string sse(const json& ev) {
  return "id: " + std::to_string(ev["height"].get<int>()) + "." + std::to_string(ev["index"].get<int>()) +
         "\nevent: entry\ndata: " + ev.dump() + "\n\n";
}

json event(int height, int index) {
  return {{"height", height}, {"index", index},      {"id", std::string(64, 'c')}, {"type", "bill.event"},
          {"doc", "OB-1"},    {"signer", "crct/k1"}, {"status", "accepted"},       {"documents", {"OB-1"}}};
}

struct Signed {
  TempDir dir;
  std::string key = dir / "crct.key";
  std::string envelope_file = dir / "entry.json";
  Signed() {
    REQUIRE(run_cli({"keygen", "--alg", "ed25519", "--out", key}).code == 0);
    auto r = run_cli({"sign", "--type", "bill.void", "--doc", "OB-1", "--body", R"({"reason":"typo"})", "--key", key,
                      "--signer", "crct/k1"});
    REQUIRE(r.code == 0);
    spit(envelope_file, r.out);
  }
};

}  // namespace

TEST_CASE("status: a table for people, the node's JSON with --json", "[cli][node]") {
  const std::string body = json{
      {"node", "n1"},
      {"org", "crct"},
      {"network", "devnet"},
      {"genesis_hash", std::string(64, 'e')},
      {"voter", true},
      {"role", "leader"},
      {"term", 4},
      {"leader", "n1"},
      {"commit_index", 120},
      {"applied_index", 119},
      {"height", 57},
      {"header_hash", std::string(64, 'f')},
      {"log_size", 300},
      {"pending", 2},
      {"diverged", false},
      {"peers",
       {{{"node", "n2"},
         {"address", "127.0.0.1:7202"},
         {"connected", true},
         {"inbound", true},
         {"dropped_messages", 0},
         {"match", 118},
         {"lag", 2}}}}}.dump();
  FakeNode node([&](const FakeRequest&) { return FakeResponse::json(200, body); });
  auto r = run_cli({"status", "--node", node.url()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("n1 (org crct, voter)") != std::string::npos);
  CHECK(r.out.find("leader, term 4, leader n1") != std::string::npos);
  CHECK(r.out.find("commit 120, applied 119") != std::string::npos);
  CHECK(r.out.find("NODE  ADDRESS") != std::string::npos);
  CHECK(r.out.find("n2    127.0.0.1:7202  yes") != std::string::npos);
  auto j = run_cli({"status", "--json"}, "", {{"ONEBILL_NODE", node.url()}});  // the node from the environment
  REQUIRE(j.code == 0);
  CHECK(json::parse(j.out) == json::parse(body));
  CHECK(node.requests().at(0).target == "/v1/status");
}

TEST_CASE("submit: a signed envelope file, and the exit code of each outcome", "[cli][submit]") {
  Signed s;
  std::string answer_status = "accepted";
  FakeNode node([&](const FakeRequest& r) {
    auto e = contracts::parse_envelope(r.body, crypto::HashAlg::sha256);
    if (!e) return FakeResponse::problem(400, "bad_envelope", "x");
    json a = {{"id", e->id}, {"status", answer_status}};
    if (answer_status == "pending") return FakeResponse::json(202, a.dump());
    if (answer_status == "rejected") {
      a["reason"] = "bad_state";
      a["message"] = "bill OB-1 is not issued";
    }
    a["height"] = 12;
    a["index"] = 3;
    return FakeResponse::json(200, a.dump());
  });
  const std::vector<std::string> submit = {"submit", s.envelope_file, "--node", node.url(), "--token", "t0k"};

  auto accepted = run_cli(submit);
  INFO(accepted.err);
  CHECK(accepted.code == 0);
  CHECK(accepted.out.find("status  accepted") != std::string::npos);
  CHECK(accepted.out.find("height  12 (index 3)") != std::string::npos);
  auto reqs = node.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/v1/transactions?wait=commit");
  CHECK(reqs[0].authorization == "Bearer t0k");
  CHECK(json::parse(reqs[0].body) == json::parse(slurp(s.envelope_file)));

  answer_status = "rejected";
  auto rejected = run_cli(submit);
  CHECK(rejected.code == 3);
  CHECK(rejected.out.find("reason  bad_state: bill OB-1 is not issued") != std::string::npos);

  answer_status = "pending";
  CHECK(run_cli(submit).code == 4);
  auto timeout = submit;
  timeout.insert(timeout.end(), {"--timeout-ms", "2500"});
  CHECK(run_cli(timeout).code == 4);
  CHECK(node.requests().back().target == "/v1/transactions?wait=commit&timeout_ms=2500");
  auto no_wait = submit;
  no_wait.push_back("--no-wait");
  auto admitted = run_cli(no_wait);
  CHECK(admitted.code == 0);
  CHECK(node.requests().back().target == "/v1/transactions?wait=none");

  answer_status = "accepted";
  auto from_stdin = run_cli({"submit", "-", "--node", node.url(), "--json"}, slurp(s.envelope_file));
  CHECK(from_stdin.code == 0);
  CHECK(json::parse(from_stdin.out)["status"] == "accepted");
}

TEST_CASE("submit: the node's refusals are errors with their problem code", "[cli][submit]") {
  Signed s;
  FakeNode node([](const FakeRequest&) {
    return FakeResponse::problem(409, "stale_nonce", "nonce 5 is below the window of crct/k1");
  });
  auto r = run_cli({"submit", s.envelope_file, "--node", node.url()});
  CHECK(r.code == 1);
  CHECK(r.err.find("stale_nonce: nonce 5 is below the window of crct/k1") != std::string::npos);

  auto down = run_cli({"submit", s.envelope_file, "--node", "http://127.0.0.1:1"});
  CHECK(down.code == 1);
  CHECK(down.err.find("unreachable") != std::string::npos);

  spit(s.dir / "tampered.json", "{\"tx\": {\"type\": \"bill.void\"}, \"sig\": \"AAAA\"}");
  auto bad = run_cli({"submit", s.dir / "tampered.json", "--node", node.url()});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("bad_envelope") != std::string::npos);
  CHECK(node.requests().size() == 1);  // nothing sent for the bad file
}

TEST_CASE("submit --type/--doc/--body: signed here with --key, or unsigned for the node to sign", "[cli][submit]") {
  Signed s;
  FakeNode node([](const FakeRequest&) {
    return FakeResponse::json(200, R"({"id":"x","status":"accepted","height":1,"index":0})");
  });
  auto r = run_cli({"submit", "--type", "bill.endorse", "--doc", "OB-7", "--body", R"({"to":"bank-x"})", "--key", s.key,
                    "--signer", "crct/k1", "--node", node.url()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto e = contracts::parse_envelope(node.requests().at(0).body, crypto::HashAlg::sha256);
  REQUIRE(e);
  CHECK(e->tx.type == "bill.endorse");
  CHECK(e->tx.body == json{{"to", "bank-x"}});
  auto pub = crypto::PublicKey::from_pem_any(slurp(s.key + ".pub"));
  CHECK(pub->verify(e->canonical_tx, e->sig));
  CHECK(e->tx.nonce == json::parse(slurp(s.key + ".nonce"))["last"]);

  auto unsigned_ = run_cli({"submit", "--type", "customs.decide", "--doc", "OB-7", "--body",
                            R"({"procedure":"export","declaration":"D1","decision":"released"})", "--node", node.url(),
                            "--token", "sign-token"});
  REQUIRE(unsigned_.code == 0);
  auto body = json::parse(node.requests().at(1).body);
  CHECK(body == json{{"tx",
                      {{"type", "customs.decide"},
                       {"doc", "OB-7"},
                       {"body", {{"procedure", "export"}, {"declaration", "D1"}, {"decision", "released"}}}}}});
}

TEST_CASE("get: a bill for people, and errors from the node, and tokens from a file or the environment", "[cli][get]") {
  const std::string bill = sample_bill().dump();
  FakeNode node([&](const FakeRequest& r) {
    if (r.target == "/v1/documents/OB-2026-000001" || r.target == "/v1/documents/OB-2026-000001?min_height=7") {
      return FakeResponse::json(200, bill);
    }
    if (r.target == "/v1/documents/OB-secret")
      return FakeResponse::problem(403, "forbidden", "organisation bank-y is not involved in this document");
    return FakeResponse::problem(404, "doc_not_found", "no document");
  });
  auto r = run_cli({"get", "OB-2026-000001", "--node", node.url()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  for (const char* expected :
       {"bill OB-2026-000001  (BOL, to order)", "status       in_transit", "holder       trader-a",
        "consignee    - (to order)", "route        CNTSN -> DEDUI", "value        12,500,000.00 CNY",
        "0  rail  CNTSN -> DEDUI  carrier crct  vehicle X8001  [departed]", "border_crossed  KZDZH  kz-rail (carrier)",
        "CSQU3054383  45G1  SEAL-1", "SEAL-2", "Customs decisions", "export     EXP-1        released  (all)",
        "Discrepancies (1 open)", "seal_mismatch", "OPEN"}) {
    CHECK(r.out.find(expected) != std::string::npos);
  }
  auto raw = run_cli({"get", "OB-2026-000001", "--node", node.url(), "--json", "--min-height", "7"});
  CHECK(raw.out == bill + "\n");

  auto missing = run_cli({"get", "OB-9", "--node", node.url()});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("doc_not_found") != std::string::npos);
  CHECK(missing.out.empty());

  TempDir dir;
  spit(dir / "token", "  file-token  \nignored\n");
  auto forbidden = run_cli({"get", "OB-secret", "--node", node.url(), "--token-file", dir / "token"});
  CHECK(forbidden.code == 1);
  CHECK(forbidden.err.find("forbidden: organisation bank-y") != std::string::npos);
  CHECK(node.requests().back().authorization == "Bearer file-token");
  run_cli({"get", "OB-secret", "--node", node.url()}, "", {{"ONEBILL_TOKEN", "env-token"}});
  CHECK(node.requests().back().authorization == "Bearer env-token");
}

TEST_CASE("history: follows the node's pages into one timeline", "[cli][history]") {
  FakeNode node([](const FakeRequest& r) {
    if (r.target.find("after=c1") != std::string::npos) {
      return FakeResponse::json(200,
                                json{{"doc", "OB-2026-000001"},
                                     {"items", {history_item(9, "bill.surrender", "rejected", "open_discrepancy")}}}
                                    .dump());
    }
    return FakeResponse::json(
        200, json{{"doc", "OB-2026-000001"},
                  {"items", {history_item(3, "bill.issue", "accepted"), history_item(5, "bill.event", "accepted")}},
                  {"next", "c1"}}
                 .dump());
  });
  auto r = run_cli({"history", "OB-2026-000001", "--node", node.url()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("history of OB-2026-000001: 3 entries") != std::string::npos);
  CHECK(r.out.find("HEIGHT  TS") != std::string::npos);
  CHECK(r.out.find("3.0     2026-11-25T10:00:03Z  bill.issue") != std::string::npos);
  CHECK(r.out.find("rejected: open_discrepancy") != std::string::npos);
  auto reqs = node.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].target == "/v1/documents/OB-2026-000001/history?limit=500");
  CHECK(reqs[1].target == "/v1/documents/OB-2026-000001/history?limit=500&after=c1");

  auto limited = run_cli({"history", "OB-2026-000001", "--node", node.url(), "--limit", "2", "--json"});
  REQUIRE(limited.code == 0);
  auto j = json::parse(limited.out);
  CHECK(j["items"].size() == 2);
  CHECK(j["next"] == "c1");
  CHECK(node.requests().size() == 3);
}

TEST_CASE("bundle: the node's error is printed and nothing is written, and a bundle is saved whole", "[cli][bundle]") {
  bool served = false;
  FakeNode node([&](const FakeRequest&) {
    if (!served) return FakeResponse::problem(404, "not_found", "document bundles are not served yet");
    return FakeResponse::json(200, R"({"doc":"OB-1","entries":[]})");
  });
  TempDir dir;
  const std::string out = dir / "b.json";
  auto r = run_cli({"bundle", "OB-1", "--out", out, "--node", node.url()});
  CHECK(r.code == 1);
  CHECK(r.err.find("not_found: document bundles are not served yet (HTTP 404") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(node.requests().at(0).target == "/v1/documents/OB-1/bundle");

  served = true;
  REQUIRE(run_cli({"bundle", "OB-1", "--out", out, "--node", node.url()}).code == 0);
  CHECK(slurp(out) == R"({"doc":"OB-1","entries":[]})");
  auto again = run_cli({"bundle", "OB-1", "--out", out, "--node", node.url()});
  CHECK(again.code == 2);
  CHECK(again.err.find("already exists") != std::string::npos);
  CHECK(run_cli({"bundle", "OB-1", "--out", out, "--force", "--node", node.url()}).code == 0);
}

TEST_CASE("watch: one line per event, --limit, resuming without repeats", "[cli][watch]") {
  FakeNode node([](const FakeRequest& r) {
    if (r.target.find("doc=forbidden") != std::string::npos) return FakeResponse::problem(403, "forbidden", "no");
    FakeResponse a;
    a.content_type = "text/event-stream";
    if (r.connection == 1) {
      a.chunks = {": live\n\n", sse(event(3, 0)), sse(event(3, 1))};  // then the stream ends
    } else {
      a.chunks = {sse(event(3, 0)), sse(event(3, 1)), ": keepalive\n\n", sse(event(4, 0)), sse(event(5, 0))};
    }
    return a;
  });
  auto r = run_cli({"watch", "--doc", "OB-1", "--from-height", "2", "--limit", "3", "--node", node.url()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  std::istringstream lines(r.out);
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  REQUIRE(got.size() == 3);
  CHECK(got[0].rfind("3.0       accepted bill.event       OB-1", 0) == 0);
  CHECK(got[1].rfind("3.1 ", 0) == 0);
  CHECK(got[2].rfind("4.0 ", 0) == 0);
  CHECK(r.err.find("following again from height 3") != std::string::npos);
  auto reqs = node.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].target == "/v1/events?doc=OB-1&from_height=2");
  CHECK(reqs[1].target == "/v1/events?doc=OB-1&from_height=3");

  auto as_json = run_cli({"watch", "--limit", "1", "--json", "--node", node.url()});
  REQUIRE(as_json.code == 0);
  CHECK(json::parse(as_json.out) == event(3, 0));

  auto denied = run_cli({"watch", "--doc", "forbidden", "--node", node.url()});
  CHECK(denied.code == 1);
  CHECK(denied.err.find("forbidden") != std::string::npos);
}

TEST_CASE("odd answers from a node are shown or refused, never a crash", "[cli][node]") {
  FakeNode node([](const FakeRequest& r) {
    if (r.target.rfind("/v1/documents/OB-odd", 0) == 0) {
      return FakeResponse::json(200, R"({"kind":"bill","id":7,"to_order":"yes","parties":"x","legs":"x",
        "legs2":[1],"declared_value":{"value":"big"},"discrepancies":[{"resolved":"no"},5],"equipment":[null]})");
    }
    if (r.target.rfind("/v1/documents/OB-array", 0) == 0) return FakeResponse::json(200, "[1,2]");
    if (r.target == "/v1/status")
      return FakeResponse::json(200, R"({"voter":"yes","peers":[1,{"node":2}],"certified":3})");
    if (r.target.rfind("/v1/transactions", 0) == 0) return FakeResponse::json(200, R"({"status": 5})");
    FakeResponse a;
    a.content_type = "text/event-stream";
    a.chunks = {"data: [1]\n\n", "event: entry\ndata: {\"height\":\"x\"}\n\n", "event: entry\ndata: not json\n\n"};
    return a;
  });
  CHECK(run_cli({"get", "OB-odd", "--node", node.url()}).code == 0);
  CHECK(run_cli({"get", "OB-array", "--node", node.url()}).code == 0);
  CHECK(run_cli({"status", "--node", node.url()}).code == 0);
  CHECK(run_cli({"watch", "--limit", "1", "--node", node.url()}).code == 0);
  auto s = run_cli({"submit", "--type", "bill.void", "--doc", "OB-1", "--body", "{}", "--node", node.url()});
  CHECK(s.code == 1);
  CHECK(s.err.find("unknown status") != std::string::npos);
}
