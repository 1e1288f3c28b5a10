#include "tests/integration/timeline.h"

#include <cstdio>
#include <iostream>

namespace onebill::faults {

Timeline::Timeline(const std::filesystem::path& file, bool echo) : out_(file, std::ios::app), echo_(echo) {}

double Timeline::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Timeline::say(const std::string& line) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%8.3f  ", seconds());
  std::lock_guard lock(mu_);
  out_ << stamp << line << "\n" << std::flush;
  if (echo_) std::cout << "    " << stamp << line << "\n" << std::flush;
}

}  // namespace onebill::faults
