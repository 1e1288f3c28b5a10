// The `onebill` command line: a registry of commands, the argument parser and the context commands run in.
//
// run() is the whole program minus main(): it takes the arguments, the three standard streams and an environment
// lookup, so tests call it in-process with string streams. Usage errors inside commands are thrown as UsageError
// and turned into exit code 2 by run(); that exception never leaves run().
//
// Exit codes (docs/cli.md): 0 ok / accepted, 1 error (the node answered with an error, the node could not be
// reached, a file could not be written, an edit was refused, a command not in this build), 2 usage (the command
// line is wrong, or an input it names cannot be read or parsed: nothing was written or sent), 3 rejected (the
// entry is on the ledger with a reason), 4 pending (not committed before the wait ended; the outcome is unknown),
// 5 invalid ('onebill verify': the bundle does not verify; the failure says which check, where, expected vs found).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "clients/rest_client.h"
#include "crypto/result.h"

namespace onebill::clients::cli {

enum Exit : int { kOk = 0, kError = 1, kUsage = 2, kRejected = 3, kPending = 4, kInvalid = 5 };

inline constexpr std::string_view kDefaultNode = "http://127.0.0.1:7101";
inline constexpr std::string_view kVersion = "0.1.0";

struct UsageError {
  std::string message;
};

struct Option {
  std::string name;   // without the dashes
  std::string value;  // the value's placeholder ("FILE"); empty for a flag
  std::string help;
  bool repeat = false;
};

class Args {
 public:
  bool flag(std::string_view name) const { return options_.count(std::string(name)) != 0; }
  std::optional<std::string> value(std::string_view name) const;  // the last one given
  std::vector<std::string> values(std::string_view name) const;
  // Throws UsageError("--name is required") when missing.
  std::string required(std::string_view name) const;
  std::optional<std::int64_t> integer(std::string_view name, std::int64_t min, std::int64_t max) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

  std::map<std::string, std::vector<std::string>, std::less<>> options_;
  std::vector<std::string> positionals_;
};

// Parses an integer argument or throws UsageError naming `what`.
std::int64_t parse_integer(std::string_view what, std::string_view text, std::int64_t min, std::int64_t max);
// Comma-separated list; empty items are an error naming `what`.
std::vector<std::string> parse_list(std::string_view what, std::string_view text);

using EnvFn = std::function<std::optional<std::string>(const std::string&)>;
EnvFn process_env();

struct Command;

class Context {
 public:
  Context(const Command& command, const Args& args, std::istream& in, std::ostream& out, std::ostream& err, EnvFn env);
  ~Context();

  const Command& command;
  const Args& args;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  EnvFn env;

  bool json() const { return args.flag("json"); }
  // --node, else ONEBILL_NODE, else the default. Throws UsageError for a bad URL.
  NodeUrl node_url() const;
  // --token, else --token-file (first line), else ONEBILL_TOKEN, else ONEBILL_TOKEN_FILE; empty when none.
  std::string token() const;
  // --key / --signer, else ONEBILL_KEY / ONEBILL_SIGNER.
  std::optional<std::string> key_file() const;
  std::optional<std::string> signer() const;
  // A client for node_url() with token(); built on first use.
  RestClient& client();

  // GET `target` → the parsed JSON answer (its text in *raw). On an error (transport, problem+json, not JSON) it
  // is printed, `code` is set to the exit code, and nothing is returned.
  std::optional<nlohmann::json> get_json(const std::string& target, int& code, std::string* raw = nullptr);
  // Prints "onebill CMD: error: CODE: MESSAGE" to err and returns kError.
  int fail(const Error& e) const;
  // Reads a file argument ("-" = stdin); a file that cannot be read is a UsageError naming `what`.
  std::string read_input(std::string_view what, const std::string& path, std::size_t max_bytes = 16 << 20);

 private:
  std::unique_ptr<RestClient> client_;
};

// Declared with designated initializers; what is left out keeps these defaults.
struct Command {
  std::string name{};      // "status", "genesis add-org"
  std::string synopsis{};  // what follows the name in "usage: onebill NAME ..."
  std::string summary{};   // one line, for the command list
  std::string description{};
  std::vector<Option> options{};
  std::size_t min_positionals = 0;
  std::size_t max_positionals = 0;
  bool uses_node = false;  // reads --node/--token
  bool uses_key = false;   // reads --key/--signer
  int (*run)(Context&) = nullptr;
};

// The commands of each file (cmd_*.cpp).
std::vector<Command> key_commands();       // keygen, sign, token new
std::vector<Command> submit_commands();    // submit
std::vector<Command> document_commands();  // get, history, bundle
std::vector<Command> node_commands();      // status, watch
std::vector<Command> genesis_commands();   // genesis init | add-org | add-node | params
std::vector<Command> audit_commands();     // verify, monitor

const std::vector<Command>& commands();

int run(const std::vector<std::string>& argv, std::istream& in, std::ostream& out, std::ostream& err, const EnvFn& env);

}  // namespace onebill::clients::cli
