// Helpers for the client tests: a private temporary folder, running the CLI in-process (cli::run with string
// streams and an empty environment) or as the built binary (ONEBILL_CLI_PATH).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "clients/cli/cli.h"

namespace onebill::test {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "onebill-clients-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// In-process: cli::run with an environment of exactly `env`.
inline CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "",
                         const std::map<std::string, std::string>& env = {}) {
  std::istringstream in(input);
  std::ostringstream out, err;
  auto env_fn = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  CliResult r;
  r.code = clients::cli::run(args, in, out, err, env_fn);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// The built binary, in a clean environment (no ONEBILL_* variables), stdout and stderr captured through files.
inline CliResult run_binary(const TempDir& dir, const std::vector<std::string>& args, const std::string& input = "") {
  const std::string in = dir / ".stdin", out = dir / ".stdout", err = dir / ".stderr";
  spit(in, input);
  std::string cmd = "env -u ONEBILL_NODE -u ONEBILL_TOKEN -u ONEBILL_TOKEN_FILE -u ONEBILL_KEY -u ONEBILL_SIGNER " +
                    shell_quote(ONEBILL_CLI_PATH);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " <" + shell_quote(in) + " >" + shell_quote(out) + " 2>" + shell_quote(err);
  int status = std::system(cmd.c_str());  // NOLINT(concurrency-mt-unsafe)
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace onebill::test
