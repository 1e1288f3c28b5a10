// Command-line handling: every command and its --help, usage errors (exit 2, naming the argument, nothing written),
// verify's exit codes, and the same checks through the built binary.
#include <catch2/catch.hpp>

#include "cli_util.h"

using onebill::test::run_binary;
using onebill::test::run_cli;
using onebill::test::TempDir;

namespace {

const std::vector<std::string> kCommands = {
    "keygen",           "sign",           "submit",   "get",     "history",      "bundle",
    "verify",           "status",         "watch",    "monitor", "genesis init", "genesis add-org",
    "genesis add-node", "genesis params", "token new"};

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::size_t files_in(const TempDir& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) n += e.path().filename().string()[0] != '.';
  return n;
}

}  // namespace

TEST_CASE("--help lists every command and exit codes", "[cli]") {
  auto r = run_cli({"--help"});
  CHECK(r.code == 0);
  for (const auto& c : kCommands) CHECK(r.out.find("  " + c + " ") != std::string::npos);
  CHECK(r.out.find("Exit codes") != std::string::npos);
  CHECK(run_cli({"-h"}).code == 0);
  CHECK(run_cli({"--version"}).out.find("onebill ") == 0);
}

TEST_CASE("every command has --help with its usage and exit codes", "[cli]") {
  for (const auto& c : kCommands) {
    auto args = words(c);
    args.push_back("--help");
    auto r = run_cli(args);
    INFO(c);
    CHECK(r.code == 0);
    CHECK(r.out.find("usage: onebill " + c) == 0);
    CHECK(r.out.find("Exit codes") != std::string::npos);
  }
  auto group = run_cli({"genesis", "--help"});
  CHECK(group.code == 0);
  CHECK(group.out.find("genesis add-org") != std::string::npos);
}

TEST_CASE("verify: usage errors exit 2, a bundle that does not hold exits 5 naming the check", "[cli]") {
  TempDir dir;
  CHECK(run_cli({"verify", "bundle.json"}).code == 2);  // --genesis is required
  onebill::test::spit(dir / "g.json", "{}");
  onebill::test::spit(dir / "b.json", "not json");
  CHECK(run_cli({"verify", dir / "b.json", "--genesis", dir / "missing.json"}).code == 2);
  CHECK(run_cli({"verify", dir / "b.json", "--genesis", dir / "g.json"}).code == 5);  // the genesis is checked first
  onebill::test::spit(dir / "b.json", "{}");
  auto r = run_cli({"verify", dir / "b.json", "--genesis", dir / "g.json"});
  CHECK(r.code == 5);
  CHECK(r.out.find("NOT VERIFIED: genesis check failed") != std::string::npos);
}

TEST_CASE("usage errors exit 2 and name what is wrong", "[cli]") {
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {{}, "no command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"genesis"}, "subcommand"},
      {{"genesis", "frob"}, "unknown command 'genesis frob'"},
      {{"token"}, "subcommand"},
      {{"status", "--bogus"}, "--bogus"},
      {{"--bogus", "status"}, "--bogus"},
      {{"status", "-x"}, "-x"},
      {{"status", "extra"}, "unexpected argument 'extra'"},
      {{"get"}, "missing argument: DOC"},
      {{"get", "OB-1", "OB-2"}, "unexpected argument 'OB-2'"},
      {{"get", "bad/id"}, "DOC: 'bad/id' is not a document id"},
      {{"history", "OB-1", "--limit", "0"}, "--limit"},
      {{"history", "OB-1", "--limit", "ten"}, "--limit: 'ten' is not an integer"},
      {{"history", "OB-1", "--limit"}, "--limit needs a value"},
      {{"status", "--json=yes"}, "--json takes no value"},
      {{"status", "--node", "https://127.0.0.1:7101"}, "https is not supported"},
      {{"status", "--node", "http://127.0.0.1:99999"}, "--node"},
      {{"status", "--node", "http://a:1", "--node", "http://b:2"}, "--node is given more than once"},
      {{"status", "--token", "a", "--token-file", "f"}, "--token or --token-file"},
      {{"submit"}, "give an envelope FILE"},
      {{"submit", "x.json", "--type", "bill.void"}, "not both"},
      {{"submit", "--wait", "--no-wait", "x.json"}, "--wait or --no-wait"},
      {{"submit", "--no-wait", "--timeout-ms", "5", "x.json"}, "--timeout-ms"},
      {{"submit", "does-not-exist.json"}, "does-not-exist.json"},
      {{"submit", "--type", "bill.void", "--doc", "OB-1", "--body", "{}", "--nonce", "3"}, "--nonce needs --key"},
      {{"sign", "--doc", "OB-1", "--body", "{}"}, "--type is required"},
      {{"sign", "--type", "bill.frob", "--doc", "OB-1", "--body", "{}"}, "unknown entry type 'bill.frob'"},
      {{"sign", "--type", "bill.void", "--doc", "OB 1", "--body", "{}"}, "--doc"},
      {{"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "[1]"}, "--body: expected a JSON object"},
      {{"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "{\"a\":1,\"a\":2}"}, "duplicate_key"},
      {{"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "{}"}, "--key is required"},
      {{"sign", "--type", "bill.void", "--doc", "OB-1", "--body", "{}", "--nonce", "-1"}, "--nonce"},
      {{"watch", "--type", "bill.frob"}, "--type"},
      {{"genesis", "params", "g.json"}, "nothing to set"},
      {{"genesis", "init", "--network", "n"}, "--out is required"},
      {{"bundle", "OB-1"}, "--out is required"},
  };
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    INFO(joined << "\n" << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.mentions) != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("keygen argument errors write nothing", "[cli][keygen]") {
  TempDir dir;
  auto missing_out = run_cli({"keygen", "--alg", "ed25519"});
  CHECK(missing_out.code == 2);
  CHECK(missing_out.err.find("--out") != std::string::npos);

  auto bad_alg = run_cli({"keygen", "--alg", "rsa", "--out", dir / "k"});
  CHECK(bad_alg.code == 2);
  CHECK(bad_alg.err.find("--alg") != std::string::npos);
  CHECK(files_in(dir) == 0);

  REQUIRE(run_cli({"keygen", "--alg", "ed25519", "--out", dir / "k"}).code == 0);
  const std::string before = onebill::test::slurp(dir / "k");
  const std::string before_pub = onebill::test::slurp(dir / "k.pub");
  auto again = run_cli({"keygen", "--alg", "ed25519", "--out", dir / "k"});
  CHECK(again.code == 2);
  CHECK(again.err.find("already exists") != std::string::npos);
  CHECK(onebill::test::slurp(dir / "k") == before);
  CHECK(onebill::test::slurp(dir / "k.pub") == before_pub);

  // Only the .pub being there is enough to refuse, and nothing is half-written.
  std::filesystem::remove(dir / "k");
  CHECK(run_cli({"keygen", "--alg", "ed25519", "--out", dir / "k"}).code == 2);
  CHECK(!std::filesystem::exists(dir / "k"));

  CHECK(run_cli({"keygen", "--alg", "ed25519", "--out", dir / "k", "--force"}).code == 0);
  CHECK(onebill::test::slurp(dir / "k.pub") != before_pub);
  CHECK(files_in(dir) == 2);  // no temporary files left behind
}

TEST_CASE("the built binary: exit codes across the process boundary", "[cli][binary]") {
  TempDir dir;
  CHECK(run_binary(dir, {"--help"}).code == 0);
  auto unknown = run_binary(dir, {"frobnicate"});
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("unknown command") != std::string::npos);
  auto no_out = run_binary(dir, {"keygen", "--alg", "ed25519"});
  CHECK(no_out.code == 2);
  CHECK(no_out.err.find("--out is required") != std::string::npos);
  CHECK(run_binary(dir, {"verify", "b.json", "--genesis", "g.json"}).code == 2);  // files that are not there
  onebill::test::spit(dir / "g.json", "{}");
  onebill::test::spit(dir / "b.json", "{}");
  CHECK(run_binary(dir, {"verify", dir / "b.json", "--genesis", dir / "g.json"}).code == 5);  // does not verify
  // A node that is not there: an error, not a usage error.
  auto down = run_binary(dir, {"status", "--node", "http://127.0.0.1:1"});
  CHECK(down.code == 1);
  CHECK(down.err.find("unreachable") != std::string::npos);
}
