// Closed-schema reading of JSON objects (entry bodies, genesis, governance params), with errors that name the field.
//
// A FieldReader walks one JSON object. Each accessor reads one field and remembers it as known; close() then rejects
// any field that was not read ("body.legs[0].colour: unknown field"). The first failure is recorded in the
// std::optional<Error> the reader was built with; after that every accessor returns a default value and records
// nothing, so a parse function reads straight through and checks the error once at the end:
//
//   std::optional<Error> error;
//   FieldReader r(body, "body", error);
//   auto to = r.org_id("to");
//   r.close();
//   if (error) return *error;
//
// Error codes: bad_body for shape errors, or the identifier's own code from the catalogue (bad_locode,
// bad_container, bad_hs, bad_currency). Messages start with the full path of the field. Nothing here throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/money.h"
#include "contracts/reasons.h"
#include "crypto/result.h"

namespace onebill::contracts {

// A named check for a string field: the predicate, the reason code on failure, and what was expected.
struct Pattern {
  bool (*valid)(std::string_view);
  std::string_view code;
  std::string_view expected;  // "a UN/LOCODE"
};

extern const Pattern kDocIdPattern;      // bad_body
extern const Pattern kOrgIdPattern;      // bad_body
extern const Pattern kKeyIdPattern;      // bad_body
extern const Pattern kLocodePattern;     // bad_locode
extern const Pattern kContainerPattern;  // bad_container
extern const Pattern kIsoTypePattern;    // bad_body (ISO 6346 size-and-type code)
extern const Pattern kHsPattern;         // bad_hs
extern const Pattern kCurrencyPattern;   // bad_currency
extern const Pattern kDatePattern;       // bad_body
extern const Pattern kRolePattern;       // bad_body (a role of membership.h)
extern const Pattern kPemPattern;        // bad_body ("-----BEGIN PUBLIC KEY-----" ... "-----END PUBLIC KEY-----")
extern const Pattern kEndpointPattern;   // bad_body ("host:port", port 1-65535)

inline constexpr std::size_t kMaxText = 256;       // names, references, notes' default
inline constexpr std::size_t kMaxLongText = 2048;  // descriptions and notes
inline constexpr std::int64_t kMaxInteger = (std::int64_t{1} << 53) - 1;

class FieldReader {
 public:
  // Reads `value`, found at `path`, into which errors are reported (first one wins). Records an error at once if
  // `value` is not an object. Neither `value` nor `error` is owned; both must outlive the reader.
  FieldReader(const nlohmann::json& value, std::string path, std::optional<Error>& error);

  bool ok() const { return !error_.has_value(); }
  const std::string& path() const { return path_; }
  std::string field_path(std::string_view key) const;

  // True if `key` is present and not null (and marks it known).
  bool has(std::string_view key);

  // Strings: required ones must be present and non-empty (up to max_len bytes); opt_ ones may be absent or null.
  std::string text(std::string_view key, std::size_t max_len = kMaxText);
  std::optional<std::string> opt_text(std::string_view key, std::size_t max_len = kMaxText);
  std::string matching(std::string_view key, const Pattern& pattern);
  std::optional<std::string> opt_matching(std::string_view key, const Pattern& pattern);
  std::string choice(std::string_view key, std::initializer_list<std::string_view> allowed);
  std::optional<std::string> opt_choice(std::string_view key, std::initializer_list<std::string_view> allowed);

  bool boolean(std::string_view key);
  std::optional<bool> opt_boolean(std::string_view key);
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> opt_integer(std::string_view key, std::int64_t min, std::int64_t max);

  // {"value": integer >= min_value, "ccy": ISO 4217}; a closed object.
  Money money(std::string_view key, std::int64_t min_value);
  std::optional<Money> opt_money(std::string_view key, std::int64_t min_value);

  // An array of strings, each checked by `pattern` (or only non-empty and <= kMaxText when pattern is null), with
  // min..max elements and no duplicates when `unique`.
  std::vector<std::string> strings(std::string_view key, std::size_t min, std::size_t max, const Pattern* pattern,
                                   bool unique = true);
  std::optional<std::vector<std::string>> opt_strings(std::string_view key, std::size_t min, std::size_t max,
                                                      const Pattern* pattern, bool unique = true);

  // A nested object: calls read(FieldReader&) and closes it. opt_object returns false when absent or null.
  template <class F>
  void object(std::string_view key, F&& read);
  template <class F>
  bool opt_object(std::string_view key, F&& read);
  // An array of min..max objects: calls each(FieldReader& item, std::size_t i) and closes each item.
  template <class F>
  void objects(std::string_view key, std::size_t min, std::size_t max, F&& each);

  // Any JSON value (for governance params, validated later); nullptr when absent.
  const nlohmann::json* raw(std::string_view key);

  // Records an error about `key` of this object (or about the object itself when key is empty).
  void fail(std::string_view code, std::string_view key, std::string_view message);
  // Rejects fields that no accessor read.
  void close();

 private:
  const nlohmann::json* find(std::string_view key);  // marks known; nullptr when absent, not an object, or failed
  const nlohmann::json* require(std::string_view key);
  std::string check_string(std::string_view key, const nlohmann::json& v, std::size_t max_len,
                           const Pattern* pattern);

  const nlohmann::json& value_;
  std::string path_;
  std::optional<Error>& error_;
  std::vector<std::string> known_;
};

template <class F>
void FieldReader::object(std::string_view key, F&& read) {
  if (const nlohmann::json* v = require(key)) {
    FieldReader child(*v, field_path(key), error_);
    read(child);
    child.close();
  }
}

template <class F>
bool FieldReader::opt_object(std::string_view key, F&& read) {
  const nlohmann::json* v = find(key);
  if (v == nullptr || v->is_null()) return false;
  FieldReader child(*v, field_path(key), error_);
  read(child);
  child.close();
  return true;
}

template <class F>
void FieldReader::objects(std::string_view key, std::size_t min, std::size_t max, F&& each) {
  const nlohmann::json* v = require(key);
  if (v == nullptr) return;
  if (!v->is_array()) return fail(reason::kBadBody, key, "expected an array");
  if (v->size() < min || v->size() > max) {
    return fail(reason::kBadBody, key, "expected " + std::to_string(min) + " to " + std::to_string(max) + " elements");
  }
  for (std::size_t i = 0; i < v->size() && ok(); ++i) {
    FieldReader item((*v)[i], field_path(key) + "[" + std::to_string(i) + "]", error_);
    each(item, i);
    item.close();
  }
}

}  // namespace onebill::contracts
