// Canonical JSON for signing: RFC 8785 (JSON Canonicalization Scheme) restricted to the subset onebill allows.
//
// The subset (docs/formats/canonical-json.md):
//   - numbers are integers in the I-JSON safe range, |n| <= 2^53 - 1 (amounts in minor units, weights in kg),
//     so a JavaScript verifier reproduces the same bytes; no fractions or exponents (-0 is the integer 0);
//   - object keys are ASCII; no key appears twice in one object;
//   - strings are valid UTF-8 (unpaired surrogate escapes are rejected);
//   - nesting depth and input size are bounded.
// Input outside the subset is rejected with a precise reason, never "fixed". Because keys are ASCII, sorting by
// UTF-16 code units (RFC 8785 §3.2.3) equals sorting by bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/result.h"

namespace onebill::crypto {

struct JsonLimits {
  std::size_t max_bytes = 1 << 20;  // whole input
  int max_depth = 32;               // objects and arrays nested
};

inline constexpr std::int64_t kMaxSafeInteger = (std::int64_t{1} << 53) - 1;

// Parses `text` and checks it is inside the subset. Error codes:
//   too_large (input over max_bytes), too_deep (nesting over max_depth), bad_json (syntax, invalid UTF-8,
//   trailing data), duplicate_key, non_ascii_key, float (a fraction or exponent), integer_range.
// The message names the offending key path where there is one (for example "tx.body.amount.value").
Result<nlohmann::json> parse_strict(std::string_view text, const JsonLimits& limits = {});

// The fast path for text that must be canonical already (signed bytes: a block's or a forward's entries): the value
// of `text` if `text` is exactly canonicalize() of a value inside the subset and `limits` — no whitespace, keys in
// order and unique, integers in their shortest form, strings escaped as canonicalize() escapes them — and nullopt
// otherwise, without saying why (parse_strict then names the problem, or the caller compares canonical bytes).
// When it returns a value v, parse_strict(text, limits) returns a value equal to v, with the same types (every
// number a signed integer), and canonicalize(v) == text. One pass over the text, no re-serialization.
std::optional<nlohmann::json> parse_canonical(std::string_view text, const JsonLimits& limits = {});

// Checks an already-built value against the subset (same codes, without too_large).
Status check_subset(const nlohmann::json& value, const JsonLimits& limits = {});

// RFC 8785 serialization of a value inside the subset; values outside it give the errors above.
Result<std::string> canonicalize(const nlohmann::json& value, const JsonLimits& limits = {});

// Writes canonical JSON straight from typed values, without building a tree: the same bytes canonicalize() gives
// for the same value. The caller gives each object's members in key order; a key out of order or repeated, a
// non-ASCII key, a string that is not UTF-8 or an integer outside the safe range makes ok() false (the text is
// then not to be used; canonicalize() of the equivalent tree names the problem). Depth is the caller's to bound.
class CanonicalWriter {
 public:
  // `reserve`: bytes to allocate at once, for a caller that knows about how long its text will be.
  explicit CanonicalWriter(std::size_t reserve = 0) { out_.reserve(reserve); }
  void null_value() { value_prefix(), out_ += "null"; }
  void boolean(bool b) { value_prefix(), out_ += b ? "true" : "false"; }
  void integer(std::int64_t n);
  void string(std::string_view s);
  void begin_object();
  void key(std::string_view k);  // then exactly one value
  void end_object() { out_.push_back('}'), levels_.pop_back(); }
  void begin_array();
  void end_array() { out_.push_back(']'), levels_.pop_back(); }
  // A whole value from a tree, written as canonicalize() writes it (within the default JsonLimits, counted from
  // this value); a value outside the subset makes ok() false.
  void value(const nlohmann::json& v);

  bool ok() const { return ok_; }
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  struct Level {
    bool object = false;
    bool first = true;
    // The last key, to check the next one's order: where it is in out_ (no copy) when it was written as it is,
    // else (it had escapes) a copy.
    std::size_t key_at = 0;
    std::size_t key_size = 0;
    bool key_copied = false;
    std::string key_copy;
  };
  void value_prefix();  // the comma before an array element
  std::string out_;
  std::vector<Level> levels_;
  bool ok_ = true;
  bool after_key_ = false;
};

}  // namespace onebill::crypto
