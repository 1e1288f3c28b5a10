// Timeline: what happened in one fault run, each line stamped with the seconds since the run started. Written to
// the run's harness.log as it happens (kept with the nodes' logs when the run fails) and, with --verbose, echoed
// to standard output. Thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

namespace onebill::faults {

class Timeline {
 public:
  Timeline(const std::filesystem::path& file, bool echo);
  void say(const std::string& line);
  double seconds() const;  // since creation

 private:
  std::mutex mu_;
  std::ofstream out_;
  bool echo_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace onebill::faults
