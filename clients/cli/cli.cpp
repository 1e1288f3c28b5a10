// The command registry, the argument parser, help texts and the Context commands run in.
#include "clients/cli/cli.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "clients/files.h"

namespace onebill::clients::cli {
namespace {

const std::vector<Option>& global_options() {
  static const std::vector<Option> kGlobal = {
      {"node", "URL", "the node's REST API (env ONEBILL_NODE; default http://127.0.0.1:7101)"},
      {"token", "T", "API token, sent as Authorization: Bearer (env ONEBILL_TOKEN)"},
      {"token-file", "F", "read the API token from the first line of F (env ONEBILL_TOKEN_FILE)"},
      {"key", "FILE", "private key file (PKCS#8 PEM) to sign with (env ONEBILL_KEY)"},
      {"signer", "KEYID", "the key's id in genesis, ORG/NAME (env ONEBILL_SIGNER)"},
      {"json", "", "print JSON (the node's answer as it is) instead of text for people"},
      {"help", "", "show help"},
      {"version", "", "print the version"},
  };
  return kGlobal;
}

const Option* find_option(const std::vector<Option>& list, std::string_view name) {
  for (const auto& o : list) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

bool is_group(std::string_view word) {
  for (const auto& c : commands()) {
    if (c.name.size() > word.size() && c.name.compare(0, word.size(), word) == 0 && c.name[word.size()] == ' ') {
      return true;
    }
  }
  return false;
}

const Command* find_command(std::string_view name) {
  for (const auto& c : commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string subcommands_of(std::string_view group) {
  std::string out;
  for (const auto& c : commands()) {
    if (c.name.size() > group.size() && c.name.compare(0, group.size(), group) == 0 && c.name[group.size()] == ' ') {
      out += (out.empty() ? "" : ", ") + c.name.substr(group.size() + 1);
    }
  }
  return out;
}

void print_options(std::ostream& out, const std::vector<Option>& options) {
  std::size_t width = 0;
  auto label = [](const Option& o) { return "--" + o.name + (o.value.empty() ? "" : " " + o.value); };
  for (const auto& o : options) width = std::max(width, label(o).size());
  for (const auto& o : options) {
    std::string l = label(o);
    out << "  " << l << std::string(width - l.size() + 3, ' ') << o.help << (o.repeat ? " (may be repeated)" : "")
        << "\n";
  }
}

const char* const kExitCodes =
    "Exit codes:\n"
    "  0  ok (submit: accepted)\n"
    "  1  error: the node answered with an error or could not be reached, a file could not be written, an edit\n"
    "     was refused, or the command is not in this build\n"
    "  2  usage error: the command line is wrong or an input it names cannot be read; nothing was written or sent\n"
    "  3  rejected: the entry is on the ledger with a reason\n"
    "  4  pending: not committed before the wait ended (the outcome is not known yet)\n";

void print_command_help(std::ostream& out, const Command& c) {
  out << "usage: onebill " << c.name << (c.synopsis.empty() ? "" : " " + c.synopsis) << "\n\n";
  out << c.summary << "\n";
  if (!c.description.empty()) out << "\n" << c.description << "\n";
  if (!c.options.empty()) {
    out << "\nOptions:\n";
    print_options(out, c.options);
  }
  std::vector<Option> globals;
  for (const auto& o : global_options()) {
    if (find_option(c.options, o.name) != nullptr || o.name == "version") continue;
    bool node = o.name == "node" || o.name == "token" || o.name == "token-file";
    bool key = o.name == "key" || o.name == "signer";
    if ((node && !c.uses_node) || (key && !c.uses_key)) continue;
    globals.push_back(o);
  }
  out << "\nGlobal options:\n";
  print_options(out, globals);
  out << "\n" << kExitCodes;
}

void print_group_help(std::ostream& out, std::string_view group) {
  out << "usage: onebill " << group << " SUBCOMMAND ...\n\nSubcommands:\n";
  for (const auto& c : commands()) {
    if (c.name.size() > group.size() && c.name.compare(0, group.size(), group) == 0 && c.name[group.size()] == ' ') {
      out << "  " << c.name << (c.synopsis.empty() ? "" : " " + c.synopsis) << "\n      " << c.summary << "\n";
    }
  }
  out << "\nRun 'onebill " << group << " SUBCOMMAND --help' for one subcommand.\n";
}

void print_main_help(std::ostream& out) {
  out << "usage: onebill [GLOBAL OPTIONS] COMMAND [ARGS]\n\n"
         "The command-line client of a onebill ledger: keys, signed entries, documents, the node's status and "
         "events, and genesis files.\n\nCommands:\n";
  std::size_t width = 0;
  for (const auto& c : commands()) width = std::max(width, c.name.size());
  for (const auto& c : commands()) {
    out << "  " << c.name << std::string(width - c.name.size() + 3, ' ') << c.summary << "\n";
  }
  out << "\nGlobal options (before or after the command):\n";
  print_options(out, global_options());
  out << "\nEnvironment: ONEBILL_NODE, ONEBILL_TOKEN, ONEBILL_TOKEN_FILE, ONEBILL_KEY, ONEBILL_SIGNER (options win).\n"
         "Run 'onebill COMMAND --help' for one command; docs/cli.md has the details.\n\n"
      << kExitCodes;
}

struct Parsed {
  const Command* command = nullptr;
  std::string group;  // a group name given without its subcommand
  Args args;
  bool help = false;
  bool version = false;
};

Parsed parse(const std::vector<std::string>& argv) {
  Parsed p;
  std::string words;  // command words so far
  bool only_positionals = false;
  std::optional<std::string> first_error;
  auto error = [&](std::string message) {
    if (!first_error) first_error = std::move(message);
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& tok = argv[i];
    const bool is_option = !only_positionals && tok.size() > 1 && tok[0] == '-';
    if (!only_positionals && tok == "--") {
      only_positionals = true;
      continue;
    }
    if (is_option) {
      if (tok == "-h" || tok == "--help") {
        p.help = true;
        continue;
      }
      if (tok == "--version") {
        p.version = true;
        continue;
      }
      if (tok.size() < 3 || tok[1] != '-') {
        error("unknown option " + tok);
        continue;
      }
      std::string name = tok.substr(2);
      std::optional<std::string> inline_value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      const Option* opt = p.command ? find_option(p.command->options, name) : nullptr;
      if (opt == nullptr) opt = find_option(global_options(), name);
      if (opt == nullptr) {
        error("unknown option --" + name +
              (p.command ? "" : (words.empty() ? " (options of a command come after its name)" : "")));
        continue;
      }
      std::string value;
      if (opt->value.empty()) {
        if (inline_value) error("--" + name + " takes no value");
      } else if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        error("--" + name + " needs a value (" + opt->value + ")");
        continue;
      }
      auto& slot = p.args.options_[name];
      if (!slot.empty() && !opt->repeat) error("--" + name + " is given more than once");
      slot.push_back(std::move(value));
      continue;
    }
    if (p.command == nullptr) {
      words += (words.empty() ? "" : " ") + tok;
      if (const Command* c = find_command(words)) {
        p.command = c;
      } else if (!is_group(words)) {
        error("unknown command '" + words + "'" +
              (words.find(' ') == std::string::npos
                   ? ""
                   : " (subcommands: " + subcommands_of(words.substr(0, words.find(' '))) + ")"));
        if (p.help) return p;  // the general help
        throw UsageError{*first_error};
      }
      continue;
    }
    p.args.positionals_.push_back(tok);
  }
  if (p.command == nullptr && !words.empty()) p.group = words;
  if (p.help || p.version) return p;
  if (first_error) throw UsageError{*first_error};
  if (p.command == nullptr) {
    if (!p.group.empty()) throw UsageError{p.group + " needs a subcommand: " + subcommands_of(p.group)};
    throw UsageError{"no command given"};
  }
  const auto n = p.args.positionals_.size();
  if (n < p.command->min_positionals) {
    throw UsageError{"missing argument: " + p.command->synopsis.substr(0, p.command->synopsis.find(' '))};
  }
  if (n > p.command->max_positionals) {
    throw UsageError{"unexpected argument '" + p.args.positionals_[p.command->max_positionals] + "'"};
  }
  for (const auto& name : {"node", "token", "token-file", "key", "signer"}) {
    auto it = p.args.options_.find(name);
    const Option* own = find_option(p.command->options, name);
    if (it != p.args.options_.end() && it->second.size() > 1 && !(own && own->repeat)) {
      throw UsageError{std::string("--") + name + " is given more than once"};
    }
  }
  return p;
}

}  // namespace

// ---- Args ----

std::optional<std::string> Args::value(std::string_view name) const {
  auto it = options_.find(name);
  if (it == options_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::values(std::string_view name) const {
  auto it = options_.find(name);
  return it == options_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::required(std::string_view name) const {
  auto v = value(name);
  if (!v) throw UsageError{"--" + std::string(name) + " is required"};
  if (v->empty()) throw UsageError{"--" + std::string(name) + " is empty"};
  return *v;
}

std::optional<std::int64_t> Args::integer(std::string_view name, std::int64_t min, std::int64_t max) const {
  auto v = value(name);
  if (!v) return std::nullopt;
  return parse_integer("--" + std::string(name), *v, min, max);
}

std::int64_t parse_integer(std::string_view what, std::string_view text, std::int64_t min, std::int64_t max) {
  bool negative = !text.empty() && text.front() == '-';
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw UsageError{std::string(what) + ": '" + std::string(text) + "' is not an integer"};
  }
  std::int64_t v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  if (negative) v = -v;
  if (v < min || v > max) {
    throw UsageError{std::string(what) + ": " + std::string(text) + " is out of range (" + std::to_string(min) +
                     " to " + std::to_string(max) + ")"};
  }
  return v;
}

std::vector<std::string> parse_list(std::string_view what, std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    std::string item(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) throw UsageError{std::string(what) + ": empty item in '" + std::string(text) + "'"};
    out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

EnvFn process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read once, single-threaded
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

// ---- Context ----

Context::Context(const Command& cmd, const Args& a, std::istream& i, std::ostream& o, std::ostream& e, EnvFn env_fn)
    : command(cmd), args(a), in(i), out(o), err(e), env(std::move(env_fn)) {}

Context::~Context() = default;

NodeUrl Context::node_url() const {
  std::string text = args.value("node").value_or(env("ONEBILL_NODE").value_or(std::string(kDefaultNode)));
  auto url = parse_node_url(text);
  if (!url) throw UsageError{"--node: " + url.error().message};
  return *url;
}

std::string Context::token() const {
  if (args.flag("token") && args.flag("token-file")) throw UsageError{"give --token or --token-file, not both"};
  if (auto t = args.value("token")) {
    if (t->empty()) throw UsageError{"--token is empty"};
    return *t;
  }
  std::optional<std::string> file = args.value("token-file");
  const char* what = "--token-file";
  if (!file) {
    if (auto t = env("ONEBILL_TOKEN")) return *t;
    file = env("ONEBILL_TOKEN_FILE");
    what = "ONEBILL_TOKEN_FILE";
  }
  if (!file) return "";
  auto text = files::read(*file, 4096);
  if (!text) throw UsageError{std::string(what) + ": " + text.error().message};
  std::string t = text->substr(0, text->find_first_of("\r\n"));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(0, 1);
  if (t.empty()) throw UsageError{std::string(what) + ": " + *file + " holds no token"};
  return t;
}

std::optional<std::string> Context::key_file() const {
  if (auto k = args.value("key")) return k;
  return env("ONEBILL_KEY");
}

std::optional<std::string> Context::signer() const {
  if (auto s = args.value("signer")) return s;
  return env("ONEBILL_SIGNER");
}

RestClient& Context::client() {
  if (!client_) {
    RestOptions options;
    options.token = token();
    client_ = std::make_unique<RestClient>(node_url(), std::move(options));
  }
  return *client_;
}

std::optional<nlohmann::json> Context::get_json(const std::string& target, int& code, std::string* raw) {
  auto reply = client().get(target);
  if (!reply) {
    code = fail(reply.error());
    return std::nullopt;
  }
  if (!reply->ok()) {
    code = fail(problem_error(*reply));
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(reply->body, nullptr, false);
  if (j.is_discarded()) {
    code = fail(make_error("bad_response", "the node's answer to " + target + " is not JSON"));
    return std::nullopt;
  }
  if (raw) *raw = std::move(reply->body);
  return j;
}

int Context::fail(const Error& e) const {
  err << "onebill " << command.name << ": error: " << e.code << ": " << e.message << "\n";
  return kError;
}

std::string Context::read_input(std::string_view what, const std::string& path, std::size_t max_bytes) {
  if (path == "-") {
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      text.append(buf, static_cast<std::size_t>(in.gcount()));
      if (text.size() > max_bytes) throw UsageError{std::string(what) + ": standard input is too large"};
    }
    return text;
  }
  auto text = files::read(path, max_bytes);
  if (!text) throw UsageError{std::string(what) + ": " + text.error().message};
  return *text;
}

// ---- registry and run ----

const std::vector<Command>& commands() {
  static const std::vector<Command> kAll = [] {
    std::vector<Command> all;
    for (auto part : {key_commands(), submit_commands(), document_commands(), node_commands(), genesis_commands(),
                      audit_commands()}) {
      for (auto& c : part) all.push_back(std::move(c));
    }
    return all;
  }();
  return kAll;
}

int run(const std::vector<std::string>& argv, std::istream& in, std::ostream& out, std::ostream& err,
        const EnvFn& env) {
  Parsed p;
  try {
    p = parse(argv);
  } catch (const UsageError& e) {
    err << "onebill: " << e.message << "\nTry 'onebill --help'.\n";
    return kUsage;
  }
  if (p.version) {
    out << "onebill " << kVersion << "\n";
    return kOk;
  }
  if (p.help) {
    if (p.command) {
      print_command_help(out, *p.command);
    } else if (!p.group.empty() && is_group(p.group)) {
      print_group_help(out, p.group);
    } else {
      print_main_help(out);
    }
    return kOk;
  }
  Context ctx(*p.command, p.args, in, out, err, env);
  try {
    int code = p.command->run(ctx);
    out.flush();
    return code;
  } catch (const UsageError& e) {
    err << "onebill " << p.command->name << ": " << e.message << "\nTry 'onebill " << p.command->name << " --help'.\n";
    return kUsage;
  }
}

}  // namespace onebill::clients::cli
