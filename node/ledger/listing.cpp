#include "node/ledger/listing.h"

#include <nlohmann/json.hpp>

#include "node/ledger/top_level.h"

namespace onebill::node {
namespace {

using nlohmann::json;

// Picks the three top-level string fields of a document in one SAX pass, without building the document: on
// every block this runs twice per written document (before and after), and building the whole JSON tree of a bill
// with all its events was the largest single cost of applying a block (docs/performance.md, profile).
class ListedReader final : public nlohmann::json_sax<json> {
 public:
  Listed out;
  bool is_object = false;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool string(string_t& s) override {
    if (depth_ == 1 && field_ != nullptr) *field_ = s;
    return value();
  }
  bool key(string_t& k) override {
    if (depth_ == 1) field_ = k == "kind" ? &out.kind : k == "holder" ? &out.holder : k == "status" ? &out.status : nullptr;
    return true;
  }
  bool start_object(std::size_t) override {
    if (depth_ == 0) is_object = true;
    return open();
  }
  bool start_array(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool value() {
    if (depth_ == 1) field_ = nullptr;
    return true;
  }
  bool open() {
    value();
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  int depth_ = 0;
  std::string* field_ = nullptr;
};

}  // namespace

std::optional<Listed> listed_by_parser(std::string_view doc) {
  ListedReader reader;
  if (!json::sax_parse(doc, &reader) || !reader.is_object) return std::nullopt;
  return std::move(reader.out);
}

std::optional<Listed> listed(std::string_view doc) {
  // The fast path for what the contracts store (canonical JSON, node/ledger/top_level.h); for valid JSON it gives
  // the full parser's answer (listing_index_test). The listing index is a local aid, not part of any hash.
  Listed out;
  const bool scanned = each_top_level_member(doc, [&out](std::string_view k, std::string_view v) {
    std::string* field = k == "kind" ? &out.kind : k == "holder" ? &out.holder : k == "status" ? &out.status : nullptr;
    if (field == nullptr || !v.starts_with('"')) return true;  // another member, or not a string: ""
    const auto plain = plain_string_value(v);
    if (plain) field->assign(*plain);
    return plain.has_value();
  });
  if (scanned) return out;
  return listed_by_parser(doc);
}

}  // namespace onebill::node
