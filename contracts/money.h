// Money as the catalogue writes it: {"value": <integer minor units>, "ccy": "<ISO 4217>"} (no floating point).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace onebill::contracts {

struct Money {
  std::int64_t value = 0;  // minor units (fen, cents), 0 .. 2^53-1
  std::string ccy;         // ISO 4217, see is_currency()

  friend bool operator==(const Money&, const Money&) = default;
};

// nlohmann conversion hooks (documents_json.cpp); from_json throws nlohmann::json::exception on malformed input and
// is used only on stored state inside this module.
void to_json(nlohmann::json& j, const Money& m);
void from_json(const nlohmann::json& j, Money& m);

}  // namespace onebill::contracts
