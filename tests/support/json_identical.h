// identical(a, b): the same JSON value with the same types all the way down — nlohmann's == calls 1 and 1u (and
// 1.0) equal, which the tests of readers that must build the very tree another builds cannot accept.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace onebill::testing {

inline bool identical(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
      if (i.key() != j.key() || !identical(*i, *j)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!identical(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace onebill::testing
