// Fuzz target: the REST API of a running single-node network, from raw request bytes to the handlers, without a
// socket. The bytes go through Beast's request parser with the server's limits (node/http/server.cpp: header
// 16 KiB, body limits.body_bytes), and a complete request goes to Node::call — routing, percent-decoding, the
// query, the token and its scopes, the strict body parser, envelopes, node signing, admission, the commit wait
// and every read handler.
//
// The node (tests/support/testnet.h, one voter, tokens "token-<org>") starts in a temp dir when the fuzzing process
// starts and stops at exit. Its state grows with what the fuzzer gets accepted (the node signs {"tx": ...} bodies
// for token-crct), which is the point: later reads meet real documents. It is started afresh, in a new temp dir,
// every ONEBILL_FUZZ_HTTP_RESTART inputs (default 2,000; 0: never): a node kept for a whole long run grew
// documents with thousands of entries whose audit bundles took ever longer to build, and the run's rate fell from
// about 1,300 to about 90 inputs a second; with 10,000 inputs between restarts, a run that replayed a grown corpus
// spent most of its time building bundles (9 inputs a second over 25 minutes), with 2,000 about 500-600 a second
// (docs/reliability.md).
//
// Made fast without leaving code out: the node's LevelDB goes through NoSyncEnv (no_sync_env.h: every write as
// before, but no fsync: the data dir is thrown away at exit), and its genesis proposes a block as soon as an entry
// is pending (block_max_delay_ms 0; the test networks wait 2 ms to batch). An accepted submission still waits for
// its block to be committed, applied and attested, as on any node.
//
// Properties beyond "no crash": every answer is a valid HTTP status; every error (4xx/5xx) is problem+json whose
// `code` is the status's documented code (docs/api.md §12.2); no answer is a 500 "internal" (a handler threw).
//
// Not fuzzed here: `min_height`, which waits up to 10 s by design (inputs asking for it are skipped), and the
// event stream's body (the handler's reply is checked, the stream is not run).
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "node/api.h"
#include "node/config.h"
#include "node/node.h"
#include "tests/fuzz/fuzz_net.h"
#include "tests/fuzz/no_sync_env.h"
#include "tests/support/testnet.h"

namespace {

using nlohmann::json;
using onebill::fuzz::property_failed;
namespace node = onebill::node;
namespace bhttp = boost::beast::http;

constexpr const char* kTarget = "http_api";

struct Harness {
  std::unique_ptr<onebill::testing::TestNet> net;
  node::Logger log{node::LogLevel::error};
  std::unique_ptr<node::Node> n;
  std::size_t body_limit = 0;
};

Harness* harness = nullptr;
std::uint64_t generation = 0;   // nodes started so far
std::uint64_t inputs = 0;       // inputs given to the current node
std::uint64_t restart_every = 2000;

void stop_node() {
  if (harness == nullptr) return;
  harness->n->stop();
  std::filesystem::remove_all(harness->net->dir());
}

void start_node() {
  harness = new Harness();  // stopped and freed by restart_node(); the last one is stopped at exit
  auto dir = std::filesystem::temp_directory_path() /
             ("onebill-fuzz-http-" + std::to_string(::getpid()) + "-" + std::to_string(generation++));
  const json params = {{"block_max_entries", 500}, {"block_max_delay_ms", 0}, {"election_timeout_ms", {300, 600}}};
  harness->net = std::make_unique<onebill::testing::TestNet>(dir, 1, 0, onebill::crypto::SigAlg::ecdsa_p256, params);
  auto config = node::load_config(harness->net->nodes()[0].config);
  if (!config) property_failed(kTarget, "config: " + config.error().message);
  config->commit_wait = std::chrono::milliseconds(2000);
  harness->body_limit = config->body_limit;
  auto n = node::Node::create(*config, harness->log, node::tls_peer_network(), onebill::fuzz::NoSyncEnv::get());
  if (!n) property_failed(kTarget, "node: " + n.error().message);
  harness->n = std::move(*n);
  if (auto s = harness->n->start(); !s) property_failed(kTarget, "start: " + s.error().message);
  for (int i = 0; i < 200; ++i) {
    node::http::Request ready(bhttp::verb::get, "/readyz", 11);
    if (harness->n->call(std::move(ready)).response.result_int() == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  property_failed(kTarget, "the node did not become ready");
}

void restart_node() {
  stop_node();
  delete harness;
  harness = nullptr;
  start_node();
  inputs = 0;
}

// Parses one request as the server does; nullopt when the bytes are not one complete request within the limits.
// All the bytes are there from the start, so `need_more` means the request is incomplete. (The server, through
// Beast's read, answers need_more by reading more and then gives the parser the unconsumed bytes *and* the new
// ones; handing it the same bytes again is outside Beast's contract — this harness once did, after a chunked body's
// last-chunk line, and tripped an assertion inside Beast: docs/reliability.md, finding 3.)
std::optional<node::http::Request> parse(const std::uint8_t* data, std::size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(harness->body_limit);
  parser.eager(true);
  boost::asio::const_buffer buf(data, size);
  while (!parser.is_done()) {
    boost::beast::error_code ec;
    std::size_t used = parser.put(buf, ec);
    if (ec) return std::nullopt;  // need_more (the bytes end inside the request) or a malformed request
    buf += used;
    if (used == 0 && !parser.is_done()) return std::nullopt;
  }
  return parser.release();
}

void check_reply(const node::http::Reply& reply) {
  const unsigned status = reply.response.result_int();
  if (status < 200 || status > 599) property_failed(kTarget, "status " + std::to_string(status));
  if (status < 400) return;
  const auto type = reply.response[bhttp::field::content_type];
  if (type != "application/problem+json") property_failed(kTarget, "an error that is not problem+json");
  json p = json::parse(reply.response.body(), nullptr, false);
  if (!p.is_object() || !p.contains("code") || !p["code"].is_string() || p["status"] != status) {
    property_failed(kTarget, "a malformed problem document: " + reply.response.body());
  }
  const std::string code = p["code"];
  if (code == "internal") property_failed(kTarget, "a handler failed: " + reply.response.body());
  if (node::status_for(code) != status) {
    property_failed(kTarget, "code " + code + " answered with status " + std::to_string(status));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* every = std::getenv("ONEBILL_FUZZ_HTTP_RESTART")) restart_every = std::strtoull(every, nullptr, 10);
  start_node();
  std::atexit(stop_node);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (restart_every != 0 && ++inputs > restart_every) restart_node();
  auto req = parse(data, size);
  if (!req) return 0;
  auto target = node::parse_target(req->target());
  if (target && target->query.count("min_height") != 0) return 0;
  check_reply(harness->n->call(std::move(*req)));
  return 0;
}
