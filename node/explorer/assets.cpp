#include "node/explorer/assets.h"

#include <algorithm>

namespace onebill::node::explorer {

const Asset* find_asset(std::string_view name) {
  auto all = assets();
  auto it = std::lower_bound(all.begin(), all.end(), name, [](const Asset& a, std::string_view n) { return a.name < n; });
  return it != all.end() && it->name == name ? &*it : nullptr;
}

}  // namespace onebill::node::explorer
