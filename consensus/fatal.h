// What the core does when it meets something that must never happen: a storage error other than kErrCompacted or
// kErrUnavailable, a leader asked to overwrite a committed entry, or a broken invariant (Config::check_invariants).
#pragma once

#include <functional>

#include "crypto/result.h"

namespace onebill::consensus {

// Called with a description of the failure. It must not return (log and exit, or, in tests, throw); if it returns
// the core calls std::abort(). After it has been called the core's state is unspecified: discard the RawNode.
using FatalHandler = std::function<void(const Error&)>;

namespace detail {
[[noreturn]] void fatal(const FatalHandler& handler, const char* code, const std::string& message);
}  // namespace detail

}  // namespace onebill::consensus
