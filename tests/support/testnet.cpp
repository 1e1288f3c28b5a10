#include "tests/support/testnet.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include "contracts/envelope.h"
#include "crypto/hash.h"

namespace onebill::testing {
namespace {

using nlohmann::json;

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

const std::vector<std::pair<std::string, std::vector<std::string>>>& orgs() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kOrgs = {
      {"crct", {"mto", "rail_carrier"}}, {"hmm", {"sea_carrier"}}, {"tjport", {"port"}},
      {"customs", {"customs"}},          {"bank1", {"bank"}},      {"bank2", {"bank"}},
      {"tjwh", {"warehouse"}},           {"shipper", {"trader"}},  {"trader", {"trader"}},
      {"buyer", {"trader"}},             {"audit", {"auditor"}}};
  return kOrgs;
}

}  // namespace

std::uint16_t free_port() {
  namespace ip = boost::asio::ip;
  static std::mutex mutex;
  static std::set<std::uint16_t> handed_out;
  static std::mt19937_64 rng(static_cast<std::uint64_t>(::getpid()) * 0x9e3779b97f4a7c15ULL ^
                             static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::lock_guard lock(mutex);
  unsigned lo = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> lo;
  boost::asio::io_context io;
  if (lo >= 12000) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      auto port = static_cast<std::uint16_t>(10000 + rng() % (lo - 10000));
      if (handed_out.count(port) != 0) continue;
      ip::tcp::acceptor a(io);
      boost::system::error_code ec;
      a.open(ip::tcp::v4(), ec);
      if (!ec) a.bind({ip::make_address("127.0.0.1"), port}, ec);
      if (ec) continue;
      handed_out.insert(port);
      return port;
    }
  }
  // No room below the ephemeral range (or nothing free there): let the kernel pick one.
  ip::tcp::acceptor a(io, {ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

TestNet::TestNet(std::filesystem::path dir, int voters, int learners, crypto::SigAlg alg, json params, int spares)
    : dir_(std::move(dir)) {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  json gorgs = json::array();
  for (const auto& [id, roles] : orgs()) {
    auto k = crypto::PrivateKey::generate(alg);
    json org = {{"id", id}, {"name", id + " (test)"}, {"roles", roles},
                {"keys", {{{"id", id + "/k1"}, {"alg", std::string(crypto::sig_alg_name(alg))},
                           {"pub", k->public_key().to_pem()}}}}};
    if (id == "tjport") org["locations"] = {"CNTSN"};
    gorgs.push_back(org);
    keys_.emplace(id, std::move(*k));
  }
  static const char* kNodeOrgs[] = {"crct", "tjport", "customs", "bank1", "tjwh", "crct", "crct"};
  json gnodes = json::array();
  std::map<std::string, crypto::PrivateKey> tls;
  for (int i = 0; i < voters + learners + spares; ++i) {
    bool spare = i >= voters + learners;
    bool voter = i < voters || spare;
    int number = spare ? i - learners : i;  // spares are numbered after the voters
    TestNodeInfo n;
    n.id = voter ? "n" + std::to_string(number + 1) : "l" + std::to_string(i - voters + 1);
    n.org = voter ? kNodeOrgs[number % 7] : "audit";
    n.in_genesis = !spare;
    n.voter = voter;
    n.raft_port = free_port();
    n.api_port = free_port();
    n.dir = dir_ / n.id;
    n.config = n.dir / "config.json";
    std::filesystem::create_directories(n.dir);
    auto tk = crypto::PrivateKey::generate(crypto::SigAlg::ecdsa_p256);
    n.entry = {{"id", n.id},
               {"org", n.org},
               {"raft", "127.0.0.1:" + std::to_string(n.raft_port)},
               {"api", "127.0.0.1:" + std::to_string(n.api_port)},
               {"tls_pub", tk->public_key().to_pem()},
               {"voter", voter}};
    if (!spare) gnodes.push_back(n.entry);
    write(n.dir / "tls.pem", tk->to_pem());
    nodes_.push_back(n);
  }
  if (params.is_null()) params = {{"block_max_entries", 500}, {"block_max_delay_ms", 2}, {"election_timeout_ms", {300, 600}}};
  genesis_ = {{"network", "onebill-test"}, {"hash", "sha256"}, {"orgs", gorgs}, {"nodes", gnodes}, {"params", params}};
  genesis_path_ = dir_ / "genesis.json";
  write(genesis_path_, genesis_.dump(2));

  json tokens = json::array();
  for (const auto& [id, roles] : orgs()) {
    tokens.push_back({{"name", id}, {"org", id}, {"sha256", crypto::hex(crypto::hash(crypto::HashAlg::sha256, token(id)))},
                      {"scopes", {"submit", "sign", "read"}}});
  }
  for (auto& n : nodes_) {
    write(n.dir / "org.pem", keys_.at(n.org).to_pem());
    json config = {{"node_id", n.id},
                   {"data_dir", "data"},
                   {"genesis", genesis_path_.string()},
                   {"tls_key", "tls.pem"},
                   {"org_key", {{"id", n.org + "/k1"}, {"path", "org.pem"}}},
                   {"tokens", tokens},
                   {"log_level", "warn"},
                   {"commit_wait_ms", 10000}};
    if (!n.in_genesis) config["listen"] = {{"api", n.entry["api"]}, {"raft", n.entry["raft"]}};
    write(n.config, config.dump(2));
  }
}

json TestNet::envelope(const std::string& org, const std::string& type, const std::string& doc, const json& body,
                       std::optional<std::int64_t> nonce) {
  contracts::Tx tx;
  tx.type = type;
  tx.doc = doc;
  tx.signer = org + "/k1";
  tx.nonce = nonce ? *nonce : nonces_[org]++;
  tx.ts = "2026-11-25T10:00:00Z";
  tx.body = body;
  auto canonical = contracts::canonical_tx(tx);
  auto sig = keys_.at(org).sign(*canonical);
  return {{"tx", contracts::tx_to_json(tx)}, {"sig", crypto::base64_encode(*sig)}};
}

json sample_bill_body() {
  return json{
      {"document_type", "BOL"},
      {"to_order", true},
      {"shipper", "shipper"},
      {"consignee", nullptr},
      {"notify", {"buyer"}},
      {"holder", "shipper"},
      {"place_of_receipt", "KRPUS"},
      {"place_of_delivery", "DEDUI"},
      {"legs",
       {{{"mode", "sea"}, {"carrier", "hmm"}, {"from", "KRPUS"}, {"to", "CNTSN"}, {"vehicle", "HMM ALGECIRAS 012W"}},
        {{"mode", "rail"}, {"carrier", "crct"}, {"from", "CNTSN"}, {"to", "DEDUI"}, {"vehicle", "X8044"}}}},
      {"equipment", {{{"ref", "CSQU3054383"}, {"iso_code", "45G1"}, {"seals", {"SL-1"}}}}},
      {"cargo",
       {{{"description", "Lithium-ion battery modules"},
         {"hs", "850760"},
         {"packages", 20},
         {"gross_kg", 10000},
         {"equipment_ref", "CSQU3054383"}}}},
      {"declared_value", {{"value", 1250000000}, {"ccy", "CNY"}}},
  };
}

json sample_event_body(int leg, const std::string& event, const std::string& at, const std::vector<std::string>& refs) {
  json b{{"leg", leg}, {"event", event}, {"at", at}};
  if (!refs.empty()) {
    b["equipment"] = json::array();
    for (const auto& r : refs) b["equipment"].push_back({{"ref", r}});
  }
  return b;
}

json bill(const std::string& container) {
  json b = sample_bill_body();
  b["equipment"][0]["ref"] = container;
  b["cargo"][0]["equipment_ref"] = container;
  return b;
}

std::string container(int i) {
  std::string s = "TCLU" + std::string(6 - std::to_string(i).size(), '0') + std::to_string(i);
  int values[26];
  for (int c = 0, v = 10; c < 26; ++c, ++v) {
    if (v % 11 == 0) ++v;
    values[c] = v;
  }
  long sum = 0;
  for (int k = 0; k < 10; ++k) {
    int v = k < 4 ? values[s[static_cast<std::size_t>(k)] - 'A'] : s[static_cast<std::size_t>(k)] - '0';
    sum += static_cast<long>(v) << k;
  }
  return s + std::to_string(sum % 11 % 10);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace onebill::testing
