// Fuzz target: the strict canonical-JSON parser and the RFC 8785 serializer (crypto/canonical_json.h).
//
// Input: any bytes, as a request body or a block would arrive. Properties beyond "no crash":
//   - every refusal carries one of the documented codes;
//   - whatever parse_strict accepts, canonicalize accepts; canonical bytes parse back to the same value, and
//     canonicalizing that again gives the same bytes (one encoding per value);
//   - accepted input is valid JSON for nlohmann's own (lenient) parser too, with the same value (the strict parser
//     only ever refuses more, never reads differently);
//   - check_subset agrees with parse_strict;
//   - parse_canonical (the reader of signed bytes) reads the input exactly when parse_strict does and canonicalize
//     gives the input back, and then reads the same value with the same types.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "crypto/canonical_json.h"
#include "tests/fuzz/fuzz_net.h"
#include "tests/support/json_identical.h"

namespace {

using nlohmann::json;
using onebill::fuzz::property_failed;

constexpr const char* kTarget = "canonical_json";

const std::set<std::string>& parse_codes() {
  static const std::set<std::string> codes = {"too_large",     "too_deep", "bad_json",     "duplicate_key",
                                              "non_ascii_key", "float",    "integer_range"};
  return codes;
}


void check_reader(std::string_view text, const onebill::crypto::JsonLimits& limits,
                  const onebill::Result<json>& parsed) {
  auto fast = onebill::crypto::parse_canonical(text, limits);
  bool canonical = false;
  if (parsed) {
    auto bytes = onebill::crypto::canonicalize(*parsed, limits);
    canonical = bytes && *bytes == text;
  }
  if (fast.has_value() != canonical) {
    property_failed(kTarget, fast ? "parse_canonical read text that is not canonical"
                                  : "parse_canonical refused canonical text");
  }
  if (fast && !onebill::testing::identical(*fast, *parsed)) {
    property_failed(kTarget, "parse_canonical and parse_strict read different values");
  }
}

void check(std::string_view text, const onebill::crypto::JsonLimits& limits) {
  auto parsed = onebill::crypto::parse_strict(text, limits);
  check_reader(text, limits, parsed);
  if (!parsed) {
    if (parse_codes().count(parsed.error().code) == 0) {
      property_failed(kTarget, "undocumented error code " + parsed.error().code);
    }
    return;
  }
  if (auto s = onebill::crypto::check_subset(*parsed, limits); !s) {
    property_failed(kTarget, "parse_strict accepted what check_subset refuses: " + s.error().code);
  }
  auto canonical = onebill::crypto::canonicalize(*parsed, limits);
  if (!canonical) property_failed(kTarget, "canonicalize refused a parsed value: " + canonical.error().code);
  auto again = onebill::crypto::parse_strict(*canonical, limits);
  if (!again) property_failed(kTarget, "canonical bytes do not parse: " + again.error().code);
  if (*again != *parsed) property_failed(kTarget, "canonical bytes parse to another value");
  auto canonical2 = onebill::crypto::canonicalize(*again, limits);
  if (!canonical2 || *canonical2 != *canonical) property_failed(kTarget, "canonicalize is not idempotent");
  json lenient = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (lenient.is_discarded()) property_failed(kTarget, "strictly accepted input is not JSON to nlohmann");
  if (lenient != *parsed) property_failed(kTarget, "strict and lenient parsers read different values");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check(text, onebill::crypto::JsonLimits{});
  // A small limit as well, so the size and depth boundaries are crossed by short inputs.
  check(text, onebill::crypto::JsonLimits{256, 4});
  return 0;
}
