// The top-level members of compact JSON, found without decoding it: for what the node reads from the contracts'
// canonical JSON (RFC 8785, no whitespace) on hot or long paths — a document's listing fields on every block, an
// entry's signer and nonce in a state snapshot. Values are stepped over by bracket depth, not validated: callers
// use it only where the bytes are canonical JSON someone else checked, or where what it reads is checked anyway.
// Anything unusual (whitespace, an escape in a key, unbalanced brackets) makes it give up, and the caller then
// takes a full parse.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace onebill::node {

namespace top_level_detail {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  template <class F>
  bool run(F&& member) {
    if (!eat('{')) return false;
    if (eat('}')) return at_end();
    for (;;) {
      const auto k = plain_string();
      if (!k || !eat(':')) return false;
      const std::size_t start = i_;
      if (!skip_value()) return false;
      if (!member(*k, s_.substr(start, i_ - start))) return false;
      if (eat(',')) continue;
      return eat('}') && at_end();
    }
  }

  // A string with no escapes and no control characters; its content.
  std::optional<std::string_view> plain_string() {
    if (!eat('"')) return std::nullopt;
    const std::size_t start = i_;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"') return s_.substr(start, i_++ - start);
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      ++i_;
    }
    return std::nullopt;
  }
  bool at_end() const { return i_ == s_.size(); }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  // Any string, escapes included (only stepped over).
  bool skip_string() {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\') ++i_;
    }
    return false;
  }
  // One value: nested containers by depth, strings by their quotes, scalars up to the next delimiter.
  bool skip_value() {
    int depth = 0;
    do {
      const char c = peek();
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
          const char d = s_[i_];
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

}  // namespace top_level_detail

// Calls member(key, raw value text) for each top-level member of the JSON object `s`, in order; false when `s` is
// not such an object as described above, or when `member` returns false.
template <class F>
bool each_top_level_member(std::string_view s, F&& member) {
  return top_level_detail::Scanner(s).run(member);
}

// The content of a raw JSON string value (as each_top_level_member gives it) that has no escapes or control
// characters; nullopt for any other value.
inline std::optional<std::string_view> plain_string_value(std::string_view raw) {
  top_level_detail::Scanner scan(raw);
  auto s = scan.plain_string();
  return s && scan.at_end() ? s : std::nullopt;
}

}  // namespace onebill::node
