#include "consensus/fatal.h"

#include <cstdlib>

namespace onebill::consensus::detail {

void fatal(const FatalHandler& handler, const char* code, const std::string& message) {
  if (handler) handler(make_error(code, message));
  std::abort();
}

}  // namespace onebill::consensus::detail
