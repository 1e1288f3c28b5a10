#include "crypto/canonical_json.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace onebill::crypto {
namespace {

using nlohmann::json;

// Eight bytes at a time (SWAR): whether any byte of a word has its high bit set, or needs escaping in a JSON string
// (a control character, '"' or '\\'). Exact as yes/no answers; the byte-wise loops then find which byte.
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
inline std::uint64_t load8(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
inline bool any_high(std::uint64_t w) { return (w & kHighs) != 0; }
inline bool any_zero(std::uint64_t w) { return ((w - kOnes) & ~w & kHighs) != 0; }
inline bool any_needs_escape(std::uint64_t w) {
  const bool control = ((w - kOnes * 0x20) & ~w & kHighs) != 0;  // a byte below 0x20 (high-bit bytes excluded)
  return control || any_zero(w ^ (kOnes * '"')) || any_zero(w ^ (kOnes * '\\'));
}

bool is_ascii(std::string_view s) {
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    if (any_high(load8(s.data() + i))) return false;
  }
  for (; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
  }
  return true;
}

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size() && !any_high(load8(s.data() + i))) {  // eight ASCII bytes
      i += 8;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) {
    if (!out.empty() && p.front() != '[') out += '.';
    out += p;
  }
  return out.empty() ? "(top level)" : out;
}

bool only_digits(std::string_view token) {
  if (!token.empty() && token.front() == '-') token.remove_prefix(1);
  if (token.empty()) return false;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Builds the value while checking the subset, so a bad document is refused at the first offending token and
// never fully materialised. nlohmann's SAX driver is iterative, so deep nesting cannot exhaust the stack: the
// depth limit stops it first.
class StrictBuilder {
 public:
  explicit StrictBuilder(const JsonLimits& limits) : limits_(limits) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) {
    if (v > kMaxSafeInteger || v < -kMaxSafeInteger) return fail_here("integer_range", "integer outside ±(2^53-1)");
    return put(json(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (v > static_cast<json::number_unsigned_t>(kMaxSafeInteger)) {
      return fail_here("integer_range", "integer outside ±(2^53-1)");
    }
    return put(json(static_cast<std::int64_t>(v)));
  }
  bool number_float(json::number_float_t, const std::string& token) {
    if (only_digits(token)) return fail_here("integer_range", "integer outside ±(2^53-1)");
    return fail_here("float", "numbers must be integers (no fraction or exponent): " + token);
  }
  bool string(std::string& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t&) { return fail_here("bad_json", "binary values are not JSON"); }

  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string& k) {
    if (!is_ascii(k)) {
      path_.push_back(k);
      return fail("non_ascii_key", "object keys must be ASCII");
    }
    // One lookup: the member is made here (null until its value comes), and an existing one is a duplicate.
    auto [member, inserted] = stack_.back()->get_ref<json::object_t&>().emplace(std::move(k), json());
    if (!inserted) {
      path_.push_back(member->first);
      return fail("duplicate_key", "the key appears twice in one object");
    }
    pending_key_ = &member->first;  // map nodes stay put
    pending_slot_ = &member->second;
    return true;
  }

  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& ex) {
    // An integer too long even for a double (over about 309 digits) is a number overflow to the lexer; it is
    // still an integer out of range, as a shorter one is.
    constexpr int kNumberOverflow = 406;
    if (!error_ && ex.id == kNumberOverflow && only_digits(token)) {
      return fail_here("integer_range", "integer outside ±(2^53-1)");
    }
    if (!error_) error_ = make_error("bad_json", "at byte " + std::to_string(position) + ": " + ex.what());
    return false;
  }

  Result<json> finish() {
    if (error_) return *error_;
    return std::move(root_);
  }

 private:
  // An error about the value being read now: its path includes the key or index it is stored under.
  bool fail_here(std::string code, std::string message) {
    if (!stack_.empty()) {
      const json& parent = *stack_.back();
      path_.push_back(parent.is_array() ? "[" + std::to_string(parent.size()) + "]" : *pending_key_);
    }
    return fail(std::move(code), std::move(message));
  }

  bool fail(std::string code, std::string message) {
    if (!error_) error_ = make_error(std::move(code), message + " at " + join_path(path_));
    return false;
  }

  json* place(json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    *pending_slot_ = std::move(value);  // the member key() made
    return pending_slot_;
  }

  bool put(json value) {
    place(std::move(value));
    return true;
  }

  bool open(json container) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      return fail("too_deep", "nesting deeper than " + std::to_string(limits_.max_depth));
    }
    if (!stack_.empty()) {
      const json& parent = *stack_.back();
      path_.push_back(parent.is_array() ? "[" + std::to_string(parent.size()) + "]" : *pending_key_);
    }
    stack_.push_back(place(std::move(container)));
    return true;
  }

  bool close() {
    stack_.pop_back();
    if (!stack_.empty()) path_.pop_back();
    return true;
  }

  const JsonLimits& limits_;
  json root_;
  std::vector<json*> stack_;  // pointers stay valid: a container's children are only appended to the last one
  std::vector<std::string> path_;
  const std::string* pending_key_ = nullptr;  // the key of the object member being read, and its value
  json* pending_slot_ = nullptr;
  std::optional<Error> error_;
};

Status check_value(const json& v, const JsonLimits& limits, int depth, std::vector<std::string>& path) {
  switch (v.type()) {
    case json::value_t::null:
    case json::value_t::boolean:
      return {};
    case json::value_t::number_integer: {
      auto n = v.get<std::int64_t>();
      if (n > kMaxSafeInteger || n < -kMaxSafeInteger) {
        return make_error("integer_range", "integer outside ±(2^53-1) at " + join_path(path));
      }
      return {};
    }
    case json::value_t::number_unsigned:
      if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxSafeInteger)) {
        return make_error("integer_range", "integer outside ±(2^53-1) at " + join_path(path));
      }
      return {};
    case json::value_t::number_float:
      return make_error("float", "numbers must be integers at " + join_path(path));
    case json::value_t::string:
      if (!valid_utf8(v.get_ref<const std::string&>())) {
        return make_error("bad_json", "string is not valid UTF-8 at " + join_path(path));
      }
      return {};
    case json::value_t::binary:
    case json::value_t::discarded:
      return make_error("bad_json", "not a JSON value at " + join_path(path));
    case json::value_t::array:
    case json::value_t::object:
      break;
  }
  if (depth >= limits.max_depth) {
    return make_error("too_deep", "nesting deeper than " + std::to_string(limits.max_depth));
  }
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      path.push_back("[" + std::to_string(i) + "]");
      Status s = check_value(v[i], limits, depth + 1, path);
      path.pop_back();
      if (!s) return s;
    }
    return {};
  }
  for (const auto& [k, child] : v.items()) {
    path.push_back(k);
    if (!is_ascii(k)) return make_error("non_ascii_key", "object keys must be ASCII at " + join_path(path));
    Status s = check_value(child, limits, depth + 1, path);
    path.pop_back();
    if (!s) return s;
  }
  return {};
}

void write_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied: everything but '"', '\\' and controls goes as is
  for (std::size_t i = 0; i < s.size(); ++i) {
    while (i + 8 <= s.size() && !any_needs_escape(load8(s.data() + i))) i += 8;  // eight bytes as they are
    if (i >= s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0x0f]);
    }
  }
  out.append(s.data() + run, s.size() - run);  // '/' and non-ASCII UTF-8 as is (RFC 8785 §3.2.2.2)
  out.push_back('"');
}

// Checks and writes in one pass, as check_value would judge: false at the first problem, without saying what or
// where (canonicalize then asks check_value, which names it). Object members come out in key order: nlohmann's
// object type is a std::map ordered by byte-wise string comparison, which for ASCII keys is RFC 8785's UTF-16 order.
bool write_checked(std::string& out, const json& v, const JsonLimits& limits, int depth) {
  switch (v.type()) {
    case json::value_t::null: out += "null"; return true;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return true;
    case json::value_t::number_integer: {
      auto n = v.get<std::int64_t>();
      if (n > kMaxSafeInteger || n < -kMaxSafeInteger) return false;
      out += std::to_string(n);
      return true;
    }
    case json::value_t::number_unsigned: {
      auto n = v.get<std::uint64_t>();
      if (n > static_cast<std::uint64_t>(kMaxSafeInteger)) return false;
      out += std::to_string(n);
      return true;
    }
    case json::value_t::string: {
      const auto& str = v.get_ref<const std::string&>();
      if (!valid_utf8(str)) return false;
      write_string(out, str);
      return true;
    }
    case json::value_t::array: {
      if (depth >= limits.max_depth) return false;
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_ref<const json::array_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        if (!write_checked(out, e, limits, depth + 1)) return false;
      }
      out.push_back(']');
      return true;
    }
    case json::value_t::object: {
      if (depth >= limits.max_depth) return false;
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.get_ref<const json::object_t&>()) {
        if (!is_ascii(k)) return false;
        if (!first) out.push_back(',');
        first = false;
        write_string(out, k);
        out.push_back(':');
        if (!write_checked(out, e, limits, depth + 1)) return false;
      }
      out.push_back('}');
      return true;
    }
    case json::value_t::number_float:
    case json::value_t::binary:
    case json::value_t::discarded:
      return false;
  }
  return false;
}

// Reads canonical text only (see parse_canonical): anything else makes it stop with false at once.
class CanonicalReader {
 public:
  CanonicalReader(std::string_view text, int max_depth)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

  bool document(json& out) { return value(out, 0) && p_ == end_; }

 private:
  // `depth`: the containers around this value (parse_strict refuses a container inside max_depth others).
  bool value(json& out, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': {
        std::string s;
        if (!string(s)) return false;
        out = std::move(s);
        return true;
      }
      case 't': return literal("true", json(true), out);
      case 'f': return literal("false", json(false), out);
      case 'n': return literal("null", json(nullptr), out);
      default: return number(out);
    }
  }

  bool object(json& out, int depth) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = json::object();
    auto& members = out.get_ref<json::object_t&>();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      if (p_ == end_ || *p_ != '"') return false;
      std::string k;
      if (!string(k) || !is_ascii(k)) return false;
      if (!members.empty() && !(std::prev(members.end())->first < k)) return false;  // out of order, or twice
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      json v;
      if (!value(v, depth + 1)) return false;
      members.emplace_hint(members.end(), std::move(k), std::move(v));  // after the last: no search
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != '}') return false;
      ++p_;
      return true;
    }
  }

  bool array(json& out, int depth) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = json::array();
    auto& items = out.get_ref<json::array_t&>();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      items.emplace_back();
      if (!value(items.back(), depth + 1)) return false;
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != ']') return false;
      ++p_;
      return true;
    }
  }

  bool literal(std::string_view word, json v, json& out) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    out = std::move(v);
    return true;
  }

  // An integer as canonicalize() writes it: no '+', no leading zero, no "-0", no fraction or exponent.
  bool number(json& out) {
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    std::int64_t n = 0;
    if (*p_ == '0') {
      if (negative) return false;
      ++p_;
    } else {
      int digits = 0;
      for (; p_ != end_ && *p_ >= '0' && *p_ <= '9'; ++p_) {
        if (++digits > 16) return false;  // 2^53 - 1 has 16 digits
        n = n * 10 + (*p_ - '0');
      }
      if (n > kMaxSafeInteger) return false;
    }
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E' || (*p_ >= '0' && *p_ <= '9'))) return false;
    out = json(negative ? -n : n);  // a signed integer, as parse_strict stores every number
    return true;
  }

  // A string as write_string() escapes it: '"', '\\' and \b \f \n \r \t by their short escapes, other controls as
  // \u00xx (lower-case hex), everything else — '/', DEL, UTF-8 — as is.
  bool string(std::string& out) {
    ++p_;  // the opening quote
    const char* run = p_;
    bool high = false;
    for (;;) {
      while (end_ - p_ >= 8) {
        const std::uint64_t w = load8(p_);
        if (any_needs_escape(w) || any_high(w)) break;
        p_ += 8;
      }
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.append(run, static_cast<std::size_t>(p_ - run));
        ++p_;
        return !high || valid_utf8(out);
      }
      if (c < 0x20) return false;  // a raw control character
      if (c >= 0x80) {
        high = true;
        ++p_;
        continue;
      }
      if (c != '\\') {
        ++p_;
        continue;
      }
      out.append(run, static_cast<std::size_t>(p_ - run));
      if (end_ - p_ < 2) return false;
      const char e = p_[1];
      p_ += 2;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          if (end_ - p_ < 4 || p_[0] != '0' || p_[1] != '0') return false;
          const int hi = lower_hex(p_[2]), lo = lower_hex(p_[3]);
          if (hi < 0 || hi > 1 || lo < 0) return false;
          const char ch = static_cast<char>(hi * 16 + lo);
          if (ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' || ch == '\t') return false;  // short forms
          out.push_back(ch);
          p_ += 4;
          break;
        }
        default: return false;  // "\/" and the like: valid JSON, but not canonical
      }
      run = p_;
    }
  }

  static int lower_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }

  const char* p_;
  const char* end_;
  int max_depth_;
};

}  // namespace

std::optional<json> parse_canonical(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) return std::nullopt;
  json out;
  CanonicalReader reader(text, limits.max_depth);
  if (!reader.document(out)) return std::nullopt;
  return out;
}

void CanonicalWriter::value_prefix() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!levels_.empty()) {
    Level& l = levels_.back();
    if (l.object) ok_ = false;  // a value in an object without its key
    if (!l.first) out_.push_back(',');
    l.first = false;
  }
}

void CanonicalWriter::integer(std::int64_t n) {
  value_prefix();
  if (n > kMaxSafeInteger || n < -kMaxSafeInteger) ok_ = false;
  out_ += std::to_string(n);
}

void CanonicalWriter::string(std::string_view s) {
  value_prefix();
  // Most strings are ASCII with nothing to escape: one pass tells, and they are copied whole.
  std::size_t i = 0;
  while (i + 8 <= s.size()) {
    const std::uint64_t w = load8(s.data() + i);
    if (any_high(w) || any_needs_escape(w)) break;
    i += 8;
  }
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80 || c < 0x20 || c == '"' || c == '\\') break;
    ++i;
  }
  if (i == s.size()) {
    out_.push_back('"');
    out_.append(s);
    out_.push_back('"');
    return;
  }
  if (!valid_utf8(s.substr(i))) ok_ = false;  // the part before is ASCII
  write_string(out_, s);
}

void CanonicalWriter::begin_object() {
  value_prefix();
  out_.push_back('{');
  levels_.push_back(Level{true, true, 0, 0, false, {}});
}

void CanonicalWriter::key(std::string_view k) {
  if (levels_.empty() || !levels_.back().object || after_key_) {
    ok_ = false;
    return;
  }
  Level& l = levels_.back();
  if (!l.first) {
    const std::string_view last =
        l.key_copied ? std::string_view(l.key_copy) : std::string_view(out_).substr(l.key_at, l.key_size);
    if (k <= last) ok_ = false;  // byte order is RFC 8785's for ASCII keys
    out_.push_back(',');
  }
  l.first = false;
  after_key_ = true;
  // Keys are short and plain (printable ASCII without '"' or '\\'): written as they are.
  const bool plain = std::all_of(k.begin(), k.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
  });
  if (plain) {
    out_.push_back('"');
    l.key_at = out_.size();
    l.key_size = k.size();
    l.key_copied = false;
    out_.append(k);
    out_.append("\":", 2);
    return;
  }
  if (!is_ascii(k)) ok_ = false;
  write_string(out_, k);
  l.key_copied = true;
  l.key_copy.assign(k);
  out_.push_back(':');
}

void CanonicalWriter::value(const json& v) {
  value_prefix();
  if (!write_checked(out_, v, JsonLimits{}, 0)) ok_ = false;
}

void CanonicalWriter::begin_array() {
  value_prefix();
  out_.push_back('[');
  levels_.push_back(Level{false, true, 0, 0, false, {}});
}

Result<json> parse_strict(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error("too_large", "JSON text of " + std::to_string(text.size()) + " bytes is over the limit of " +
                                       std::to_string(limits.max_bytes));
  }
  // nlohmann's parser stops at a NUL byte as if the input ended there; a raw NUL is never valid JSON (inside a
  // string it must be escaped), so refuse it rather than let "{}\0anything" read as "{}".
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    return make_error("bad_json", "a NUL byte at offset " + std::to_string(nul));
  }
  StrictBuilder builder(limits);
  try {
    json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, true);
  } catch (const std::exception& e) {  // nlohmann may throw on internal limits; never let it escape
    return make_error("bad_json", e.what());
  }
  return builder.finish();
}

Status check_subset(const json& value, const JsonLimits& limits) {
  std::vector<std::string> path;
  return check_value(value, limits, 0, path);
}

Result<std::string> canonicalize(const json& value, const JsonLimits& limits) {
  std::string out;
  if (write_checked(out, value, limits, 0)) return out;
  if (Status s = check_subset(value, limits); !s) return s.error();
  return make_error("bad_json", "value cannot be canonicalized");  // not reached: the two judge alike
}

}  // namespace onebill::crypto
