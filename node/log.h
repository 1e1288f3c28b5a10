// Structured logs to stderr, one line per event in logfmt: `ts=… level=info msg="…" key=value …`.
// Thread-safe; a line is written with one call so lines from several threads never interleave.
#pragma once

#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "crypto/result.h"

namespace onebill::node {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

Result<LogLevel> parse_log_level(std::string_view name);  // "debug" | "info" | "warn" | "error"

class Logger {
 public:
  using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;

  explicit Logger(LogLevel level = LogLevel::info, std::string component = "onebilld")
      : level_(level), component_(std::move(component)) {}

  void set_level(LogLevel level) { level_ = level; }
  bool enabled(LogLevel level) const { return level >= level_; }

  void log(LogLevel level, std::string_view msg, Fields fields = {}) const;
  void debug(std::string_view msg, Fields fields = {}) const { log(LogLevel::debug, msg, fields); }
  void info(std::string_view msg, Fields fields = {}) const { log(LogLevel::info, msg, fields); }
  void warn(std::string_view msg, Fields fields = {}) const { log(LogLevel::warn, msg, fields); }
  void error(std::string_view msg, Fields fields = {}) const { log(LogLevel::error, msg, fields); }

 private:
  LogLevel level_;
  std::string component_;
  static std::mutex mu_;
};

}  // namespace onebill::node
