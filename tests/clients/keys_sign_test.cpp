// keygen + sign: the envelope's signature verifies with crypto::PublicKey over contracts::canonical_tx; nonce state
// across runs and processes; API tokens.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "cli_util.h"
#include "clients/files.h"
#include "clients/key_files.h"
#include "clients/nonce_state.h"
#include "clients/token.h"
#include "contracts/envelope.h"
#include "crypto/canonical_json.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

using onebill::test::run_binary;
using onebill::test::run_cli;
using onebill::test::slurp;
using onebill::test::spit;
using onebill::test::TempDir;
namespace clients = onebill::clients;
namespace contracts = onebill::contracts;
namespace crypto = onebill::crypto;

namespace {

unsigned mode_of(const std::string& file) {
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

contracts::Envelope parse(const std::string& text) {
  auto e = contracts::parse_envelope(text, crypto::HashAlg::sha256);
  INFO(text);
  REQUIRE(e);
  return *e;
}

}  // namespace

TEST_CASE("keygen writes PKCS#8 0600 and SPKI 0644 files for every algorithm", "[keygen]") {
  for (const char* alg : {"ed25519", "ecdsa-p256", "sm2"}) {
    TempDir dir;
    const std::string key = dir / "org.key";
    auto r = run_cli({"keygen", "--alg", alg, "--out", key});
    INFO(alg << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(mode_of(key) == 0600);
    CHECK(mode_of(key + ".pub") == 0644);
    CHECK(r.out == slurp(key + ".pub"));  // prints the public key
    auto expected = crypto::parse_sig_alg(alg);
    auto priv = crypto::PrivateKey::from_pem(slurp(key), *expected);
    REQUIRE(priv);
    auto pub = crypto::PublicKey::from_pem(slurp(key + ".pub"), *expected);
    REQUIRE(pub);
    CHECK(pub->to_der() == priv->public_key().to_der());
    CHECK(slurp(key).find("BEGIN PRIVATE KEY") != std::string::npos);
  }
}

TEST_CASE("sign: the envelope's signature verifies over canonical(tx)", "[sign]") {
  for (const char* alg : {"ed25519", "ecdsa-p256", "sm2"}) {
    TempDir dir;
    const std::string key = dir / "crct.key";
    REQUIRE(run_cli({"keygen", "--alg", alg, "--out", key}).code == 0);
    spit(dir / "body.json", R"({"to": "trader-a", "note": {"z": 1, "a": [2, 3]}})");
    auto r = run_cli({"sign", "--type", "bill.endorse", "--doc", "OB-2026-000001", "--body", "@" + (dir / "body.json"),
                      "--key", key, "--signer", "crct/k1", "--ts", "2026-11-25T10:00:00Z"});
    INFO(alg << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(r.out.rfind("{\"tx\":{\"type\":\"bill.endorse\"", 0) == 0);  // the documented order

    contracts::Envelope e = parse(r.out);
    CHECK(e.tx.type == "bill.endorse");
    CHECK(e.tx.doc == "OB-2026-000001");
    CHECK(e.tx.signer == "crct/k1");
    CHECK(e.tx.ts == "2026-11-25T10:00:00Z");
    CHECK(e.tx.body["to"] == "trader-a");
    auto pub = crypto::PublicKey::from_pem_any(slurp(key + ".pub"));
    REQUIRE(pub);
    auto canonical = contracts::canonical_tx(e.tx);
    REQUIRE(canonical);
    CHECK(pub->verify(*canonical, e.sig));

    contracts::Tx changed = e.tx;
    changed.body["to"] = "trader-b";
    CHECK_FALSE(pub->verify(*contracts::canonical_tx(changed), e.sig));
    changed = e.tx;
    changed.nonce += 1;
    CHECK_FALSE(pub->verify(*contracts::canonical_tx(changed), e.sig));
  }
}

TEST_CASE("sign: body from standard input, and ts defaults to now", "[sign]") {
  TempDir dir;
  const std::string key = dir / "k";
  REQUIRE(run_cli({"keygen", "--alg", "ed25519", "--out", key}).code == 0);
  auto r =
      run_cli({"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "@-", "--key", key, "--signer", "crct/k1"},
              R"({"reason": "typo"})");
  REQUIRE(r.code == 0);
  auto e = parse(r.out);
  CHECK(e.tx.body == nlohmann::json{{"reason", "typo"}});
  CHECK(e.tx.ts.size() == 20);
  CHECK(e.tx.ts.back() == 'Z');
}

TEST_CASE("sign: --key and --signer from the environment", "[sign]") {
  TempDir dir;
  const std::string key = dir / "k";
  REQUIRE(run_cli({"keygen", "--alg", "ed25519", "--out", key}).code == 0);
  auto r = run_cli({"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "{}"}, "",
                   {{"ONEBILL_KEY", key}, {"ONEBILL_SIGNER", "crct/k2"}});
  REQUIRE(r.code == 0);
  CHECK(parse(r.out).tx.signer == "crct/k2");
}

TEST_CASE("nonces: time-based start, then +1 per entry, across processes", "[sign][nonce]") {
  TempDir dir;
  const std::string key = dir / "k";
  REQUIRE(run_cli({"keygen", "--alg", "ed25519", "--out", key}).code == 0);
  const std::vector<std::string> sign = {"sign", "--type", "bill.void", "--doc",    "OB-1",   "--body",
                                         "{}",   "--key",  key,         "--signer", "crct/k1"};
  const std::int64_t before = now_ms();
  auto first = run_binary(dir, sign);
  const std::int64_t after = now_ms();
  INFO(first.err);
  REQUIRE(first.code == 0);
  const std::int64_t n1 = parse(first.out).tx.nonce;
  CHECK(n1 >= before);
  CHECK(n1 <= after);
  CHECK(n1 < crypto::kMaxSafeInteger);
  CHECK(nlohmann::json::parse(slurp(key + ".nonce")) == nlohmann::json{{"last", n1}});

  auto second = run_binary(dir, sign);
  REQUIRE(second.code == 0);
  CHECK(parse(second.out).tx.nonce == n1 + 1);
  auto third = run_cli(sign);
  REQUIRE(third.code == 0);
  CHECK(parse(third.out).tx.nonce == n1 + 2);

  // --nonce below the state: used as given, the state stays; above it: the state follows.
  auto low = sign;
  low.insert(low.end(), {"--nonce", "7"});
  CHECK(parse(run_cli(low).out).tx.nonce == 7);
  CHECK(parse(run_cli(sign).out).tx.nonce == n1 + 3);
  auto high = sign;
  high.insert(high.end(), {"--nonce", std::to_string(n1 + 100)});
  CHECK(parse(run_cli(high).out).tx.nonce == n1 + 100);
  CHECK(parse(run_cli(sign).out).tx.nonce == n1 + 101);
}

TEST_CASE("nonces: a usage error does not consume a nonce", "[sign][nonce]") {
  TempDir dir;
  const std::string key = dir / "k";
  REQUIRE(run_cli({"keygen", "--alg", "ed25519", "--out", key}).code == 0);
  CHECK(run_cli({"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "{}", "--key", key}).code ==
        2);  // no --signer
  CHECK(run_cli({"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "{bad", "--key", key, "--signer", "a/b"})
            .code == 2);
  CHECK_FALSE(std::filesystem::exists(key + ".nonce"));
}

TEST_CASE("NonceState: clock start, increments, requested nonces, corrupt state, locking", "[nonce]") {
  TempDir dir;
  const std::string key = dir / "k";
  std::int64_t clock = 1'700'000'000'000;
  clients::NonceState state(
      key, [&] { return clock; }, std::chrono::milliseconds(50));
  CHECK(!state.last()->has_value());
  CHECK(*state.reserve() == 1'700'000'000'000);
  clock = 5;  // a clock going backwards does not matter once there is state
  CHECK(*state.reserve() == 1'700'000'000'001);
  CHECK(*state.reserve(42) == 42);
  CHECK(**state.last() == 1'700'000'000'001);
  CHECK(state.reserve(crypto::kMaxSafeInteger + 1).error().code == "nonce_exhausted");

  SECTION("a corrupt state file is refused, never reset") {
    spit(state.state_file().string(), "{\"last\": \"x\"}");
    auto r = state.reserve();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "bad_nonce_state");
    CHECK(slurp(state.state_file().string()) == "{\"last\": \"x\"}");
  }
  SECTION("a held lock makes reserve wait, then give up") {
    auto held = clients::files::FileLock::acquire(state.lock_file(), std::chrono::milliseconds(10));
    REQUIRE(held);
    auto r = state.reserve();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "locked");
  }
  SECTION("concurrent reservations never repeat") {
    std::vector<std::int64_t> got[4];
    std::vector<std::thread> threads;
    for (auto& g : got) {
      threads.emplace_back([&key, &g] {
        clients::NonceState mine(key, [] { return std::int64_t{0}; });
        for (int i = 0; i < 25; ++i) g.push_back(*mine.reserve());
      });
    }
    for (auto& t : threads) t.join();
    std::set<std::int64_t> all;
    for (const auto& g : got) all.insert(g.begin(), g.end());
    CHECK(all.size() == 100);
    CHECK(*all.begin() == 1'700'000'000'002);
    CHECK(*all.rbegin() == 1'700'000'000'101);
  }
}

TEST_CASE("files::write_atomic: no overwrite unless asked, exact mode, no leftovers", "[files]") {
  TempDir dir;
  namespace files = clients::files;
  const std::string f = dir / "a";
  REQUIRE(files::write_atomic(f, "one", 0600, files::Overwrite::no));
  CHECK(mode_of(f) == 0600);
  auto again = files::write_atomic(f, "two", 0600, files::Overwrite::no);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == "exists");
  CHECK(slurp(f) == "one");
  REQUIRE(files::write_atomic(f, "two", 0640, files::Overwrite::yes));
  CHECK(slurp(f) == "two");
  CHECK(mode_of(f) == 0640);
  CHECK(files::write_atomic(dir / "missing-dir/x", "x", 0600, files::Overwrite::yes).error().code == "not_found");
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++n;
  CHECK(n == 1);
  CHECK(files::read(dir / "nope").error().code == "not_found");
  CHECK(files::read(f, 2).error().code == "too_large");
}

TEST_CASE("token new: 64 hex characters and their SHA-256", "[token]") {
  auto r = run_cli({"token", "new", "--json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  const std::string token = j["token"];
  CHECK(token.size() == 64);
  CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(j["sha256"] == crypto::hex(crypto::hash(crypto::HashAlg::sha256, token)));
  CHECK(clients::token_hash(token) == j["sha256"]);
  auto other = run_cli({"token", "new", "--json"});
  CHECK(nlohmann::json::parse(other.out)["token"] != token);
  auto human = run_cli({"token", "new"});
  CHECK(human.code == 0);
  CHECK(human.out.find("sha256") != std::string::npos);
}
