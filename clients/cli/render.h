// Text for people: aligned tables, label/value blocks and the formatting of JSON values the node returns.
// Everything here reads JSON defensively: a missing or oddly typed field prints as "-", never throws.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace onebill::clients::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  // Columns padded to their widest cell (counted in code points); the last column is not padded.
  void print(std::ostream& out, std::string_view indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

std::size_t display_width(std::string_view utf8);

// A JSON value as one short line: strings as they are, numbers, yes/no, lists joined with ", ", null or missing
// as "-", objects as compact JSON.
std::string text(const nlohmann::json& value);
// text(obj[key]), "-" when obj is not an object or has no such key.
std::string field(const nlohmann::json& obj, std::string_view key);
// obj[key] when it is of the type asked for, else the default: typed reads that never throw.
bool flag(const nlohmann::json& obj, std::string_view key);  // true only for a JSON true
std::int64_t integer_at(const nlohmann::json& obj, std::string_view key, std::int64_t dflt = 0);
std::string string_at(const nlohmann::json& obj, std::string_view key);  // "" unless a string
// A value of obj[key] when it is an array, else an empty array.
const nlohmann::json& list(const nlohmann::json& obj, std::string_view key);
// {"value": 1250000000, "ccy": "CNY"} → "12,500,000.00 CNY" (ISO 4217 minor units).
std::string money(const nlohmann::json& m);
// The first n characters of a long hex id.
std::string short_id(std::string_view id, std::size_t n = 12);

// "  label       value" with labels padded to `width`.
void kv(std::ostream& out, std::string_view label, std::string_view value, std::size_t width = 12);
// A section title line: "\nTITLE".
void section(std::ostream& out, std::string_view title);

}  // namespace onebill::clients::cli
