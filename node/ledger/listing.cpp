#include "node/ledger/listing.h"

#include <nlohmann/json.hpp>

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

// The fast path for what the contracts store (RFC 8785 canonical JSON, no whitespace): walks the top-level members
// and skips every other value by bracket depth, without decoding or validating it (a document's bytes were written
// by the contracts' canonicalizer, so they are valid JSON; the listing index is a local aid, not part of any hash).
// Returns nullopt on anything unusual (whitespace, an escape in a key or a wanted value, unbalanced brackets), and
// the caller then asks the full SAX reader. For valid JSON both give the same answer (listing_index_test).
class TopLevelScanner {
 public:
  explicit TopLevelScanner(std::string_view s) : s_(s) {}

  std::optional<Listed> run() {
    Listed out;
    if (!eat('{')) return std::nullopt;
    if (eat('}')) return at_end() ? std::optional<Listed>(out) : std::nullopt;
    for (;;) {
      auto k = plain_string();
      if (!k || !eat(':')) return std::nullopt;
      std::string* field = *k == "kind" ? &out.kind : *k == "holder" ? &out.holder : *k == "status" ? &out.status : nullptr;
      if (field != nullptr && peek() == '"') {
        auto v = plain_string();
        if (!v) return std::nullopt;
        field->assign(*v);
      } else if (!skip_value()) {
        return std::nullopt;
      }
      if (eat(',')) continue;
      if (eat('}')) return at_end() ? std::optional<Listed>(out) : std::nullopt;
      return std::nullopt;
    }
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  bool at_end() const { return i_ == s_.size(); }
  // A string with no escapes and no control characters; its content.
  std::optional<std::string_view> plain_string() {
    if (!eat('"')) return std::nullopt;
    std::size_t start = i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '"') return s_.substr(start, i_++ - start);
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      ++i_;
    }
    return std::nullopt;
  }
  // Any string, escapes included (only stepped over).
  bool skip_string() {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\') ++i_;
    }
    return false;
  }
  // One value: nested containers by depth, strings by their quotes, scalars up to the next delimiter.
  bool skip_value() {
    int depth = 0;
    do {
      char c = peek();
      if (c == '"') {
        if (!skip_string()) return false;
      } else if (c == '{' || c == '[') {
        ++depth;
        ++i_;
      } else if (c == '}' || c == ']') {
        if (--depth < 0) return false;
        ++i_;
      } else if (c == ',' || c == ':') {
        if (depth == 0) return false;
        ++i_;
      } else if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                 (c >= 'A' && c <= 'Z')) {
        ++i_;
        while (i_ < s_.size()) {
          char d = s_[i_];
          if (d == ',' || d == '}' || d == ']' || d == ':') break;
          if (d == '"' || d == '{' || d == '[' || static_cast<unsigned char>(d) <= 0x20) return false;
          ++i_;
        }
      } else {
        return false;
      }
    } while (depth > 0);
    return true;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<Listed> listed_by_parser(std::string_view doc) {
  ListedReader reader;
  if (!json::sax_parse(doc, &reader) || !reader.is_object) return std::nullopt;
  return std::move(reader.out);
}

std::optional<Listed> listed(std::string_view doc) {
  if (auto fast = TopLevelScanner(doc).run()) return fast;
  return listed_by_parser(doc);
}

}  // namespace onebill::node
