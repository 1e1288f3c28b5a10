// Canonical JSON (crypto/canonical_json.h): RFC 8785 examples inside the onebill subset, onebill's own escaping
// and ordering cases, and every rejection with its exact error code.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "crypto/canonical_json.h"
#include "crypto/hash.h"
#include "tests/crypto/test_util.h"
#include "tests/support/json_identical.h"

using namespace onebill::crypto;
using nlohmann::json;
using onebill::crypto::test::read_json;
using onebill::crypto::test::tohex;
using onebill::crypto::test::unhex;

namespace {

std::string input_of(const json& c) {
  if (c.contains("input_hex")) return to_string(unhex(c["input_hex"].get<std::string>()));
  return c["input"].get<std::string>();
}


// parse_canonical's contract (crypto/canonical_json.h): it reads `text` exactly when parse_strict does and
// canonicalize gives `text` back, and then the same value with the same types.
void check_canonical_reader(const std::string& text, const JsonLimits& limits = {}) {
  INFO("parse_canonical of " << text);
  auto fast = parse_canonical(text, limits);
  auto strict = parse_strict(text, limits);
  const bool canonical = strict.ok() && canonicalize(*strict, limits).ok() && *canonicalize(*strict, limits) == text;
  CHECK(fast.has_value() == canonical);
  if (fast && strict.ok()) CHECK(onebill::testing::identical(*fast, *strict));
}

// parse_strict + canonicalize, and the result is a fixed point.
void check_accept(const json& c) {
  const std::string name = c["name"];
  const std::string input = input_of(c);
  const std::string expected = c["output"];
  INFO("case \"" << name << "\"\ninput:    " << input << "\nexpected: " << expected);
  auto parsed = parse_strict(input);
  if (!parsed.ok()) FAIL_CHECK("rejected: " << parsed.error().code << ": " << parsed.error().message);
  REQUIRE(parsed.ok());
  CHECK(check_subset(*parsed).ok());
  auto out = canonicalize(*parsed);
  REQUIRE(out.ok());
  CHECK(*out == expected);
  CHECK(tohex(as_bytes(*out)) == tohex(as_bytes(expected)));  // byte for byte, in case of invisible characters
  auto again = parse_strict(*out);
  REQUIRE(again.ok());
  auto out2 = canonicalize(*again);
  REQUIRE(out2.ok());
  CHECK(*out2 == expected);
  check_canonical_reader(input);
  check_canonical_reader(expected);
  CHECK(parse_canonical(expected).has_value());
}

void check_reject(const json& c) {
  const std::string name = c["name"];
  const std::string input = input_of(c);
  const std::string code = c["code"];
  INFO("case \"" << name << "\", input " << tohex(as_bytes(input)) << " (" << input << "), expected code " << code);
  auto parsed = parse_strict(input);
  if (parsed.ok()) {
    auto out = canonicalize(*parsed);
    FAIL_CHECK("accepted; canonical form " << (out.ok() ? *out : "(canonicalize failed: " + out.error().code + ")"));
    return;
  }
  CHECK(parsed.error().code == code);
  INFO("message: " << parsed.error().message);
  CHECK_FALSE(parsed.error().message.empty());
  CHECK_FALSE(parse_canonical(input).has_value());
}

std::string nested_arrays(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

std::string nested_objects(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(static_cast<std::size_t>(depth), '}');
  return s;
}

json nested_value(int depth) {
  json v = 1;
  for (int i = 0; i < depth; ++i) v = json::array({std::move(v)});
  return v;
}

}  // namespace

TEST_CASE("canonical JSON: RFC 8785 examples inside the subset", "[canonical_json][vectors]") {
  const auto data = read_json("vectors/canonical_json_rfc8785.json");
  REQUIRE(data["accept"].size() == 4);
  for (const auto& c : data["accept"]) check_accept(c);
}

TEST_CASE("canonical JSON: RFC 8785 examples outside the subset are rejected", "[canonical_json][vectors]") {
  const auto data = read_json("vectors/canonical_json_rfc8785.json");
  REQUIRE(data["reject"].size() == 4);
  for (const auto& c : data["reject"]) check_reject(c);
}

TEST_CASE("canonical JSON: escaping, ordering and integers (onebill cases)", "[canonical_json]") {
  const auto data = read_json("vectors/canonical_json_onebill.json");
  REQUIRE(data["accept"].size() >= 20);
  for (const auto& c : data["accept"]) check_accept(c);
}

TEST_CASE("canonical JSON: rejections with exact codes (onebill cases)", "[canonical_json]") {
  const auto data = read_json("vectors/canonical_json_onebill.json");
  REQUIRE(data["reject"].size() >= 50);
  for (const auto& c : data["reject"]) check_reject(c);
}

TEST_CASE("canonical JSON: -0 is the integer 0 and serializes as 0 (RFC 8785 §3.2.2.3)", "[canonical_json]") {
  const std::pair<const char*, const char*> cases[] = {{"-0", "0"}, {"[-0]", "[0]"}, {"{\"a\":-0}", "{\"a\":0}"}};
  for (const auto& [text, canonical] : cases) {
    INFO("input " << text);
    auto r = parse_strict(text);
    REQUIRE(r.ok());
    CHECK(*canonicalize(*r) == canonical);
  }
}

TEST_CASE("canonical JSON: nesting 10,000 deep is too_deep, without a crash", "[canonical_json]") {
  for (int depth : {33, 100, 10000, 100000}) {
    INFO("depth " << depth);
    auto a = parse_strict(nested_arrays(depth));
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().code == "too_deep");
    auto o = parse_strict(nested_objects(depth));
    REQUIRE_FALSE(o.ok());
    CHECK(o.error().code == "too_deep");
    // Unclosed nesting: refused one way or the other.
    CHECK_FALSE(parse_strict(std::string(static_cast<std::size_t>(depth), '[')).ok());
  }
}

TEST_CASE("canonical JSON: depth limit boundary", "[canonical_json]") {
  // max_depth counts nested objects and arrays: "[]" has depth 1, so 32 levels pass and 33 do not.
  auto ok_arrays = parse_strict(nested_arrays(32));
  CHECK(ok_arrays.ok());
  auto ok_objects = parse_strict(nested_objects(32));
  CHECK(ok_objects.ok());
  CHECK(parse_strict(nested_arrays(33)).error().code == "too_deep");
  CHECK(parse_strict(nested_objects(33)).error().code == "too_deep");

  JsonLimits small;
  small.max_depth = 3;
  CHECK(parse_strict("[[[1]]]", small).ok());
  CHECK(parse_strict("{\"a\":[{\"b\":1}]}", small).ok());
  auto deep = parse_strict("[[[[1]]]]", small);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().code == "too_deep");
  auto deep_mixed = parse_strict("{\"a\":[{\"b\":[]}]}", small);
  REQUIRE_FALSE(deep_mixed.ok());
  CHECK(deep_mixed.error().code == "too_deep");
  // Scalars have no depth.
  JsonLimits zero;
  zero.max_depth = 0;
  CHECK(parse_strict("1", zero).ok());
}

TEST_CASE("canonical JSON: input over max_bytes is too_large", "[canonical_json]") {
  JsonLimits small;
  small.max_bytes = 10;
  CHECK(parse_strict("[1,2,3,44]", small).ok());  // exactly 10 bytes
  auto r = parse_strict("[1,2,3,444]", small);    // 11 bytes
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "too_large");
  auto ws = parse_strict("[1,2,3,4]  ", small);   // 11 bytes, the extra ones whitespace
  REQUIRE_FALSE(ws.ok());
  CHECK(ws.error().code == "too_large");

  // The default limit is 1 MiB of input.
  const std::size_t mib = std::size_t{1} << 20;
  const std::string exact = "\"" + std::string(mib - 2, 'x') + "\"";
  REQUIRE(exact.size() == mib);
  CHECK(parse_strict(exact).ok());
  const std::string over = "\"" + std::string(mib - 1, 'x') + "\"";
  auto big = parse_strict(over);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == "too_large");
  // Size is checked first: a large input that is also invalid is too_large.
  auto big_bad = parse_strict(std::string(2 * mib, '['));
  REQUIRE_FALSE(big_bad.ok());
  CHECK(big_bad.error().code == "too_large");
}

TEST_CASE("canonical JSON: error messages name the key path", "[canonical_json]") {
  auto f = parse_strict(R"({"tx":{"body":{"amount":{"value":1.5}}}})");
  REQUIRE_FALSE(f.ok());
  CHECK(f.error().code == "float");
  CHECK_THAT(f.error().message, Catch::Contains("tx.body.amount.value"));
  auto i = parse_strict(R"({"tx":{"body":{"amount":{"value":9007199254740992}}}})");
  REQUIRE_FALSE(i.ok());
  CHECK(i.error().code == "integer_range");
  CHECK_THAT(i.error().message, Catch::Contains("tx.body.amount.value"));
  // Longer than any double can hold (the lexer's number overflow): still an integer out of range, with its path.
  for (const std::string& digits : {std::string(400, '9'), "-" + std::string(400, '9')}) {
    auto huge = parse_strict(R"({"tx":{"nonce":)" + digits + "}}");
    REQUIRE_FALSE(huge.ok());
    CHECK(huge.error().code == "integer_range");
    CHECK_THAT(huge.error().message, Catch::Contains("tx.nonce"));
  }
  auto huge_float = parse_strict(R"({"x":1)" + std::string(400, '0') + ".5}");
  REQUIRE_FALSE(huge_float.ok());
  CHECK(huge_float.error().code != "integer_range");
  auto d = parse_strict(R"({"tx":{"body":{"memo":"a","memo":"b"}}})");
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == "duplicate_key");
  CHECK_THAT(d.error().message, Catch::Contains("tx.body"));
}

TEST_CASE("canonical JSON: values built in code", "[canonical_json]") {
  json v = {{"z", 1}, {"a", {{"y", true}, {"b", nullptr}}}, {"m", json::array({3, "x", -4})}};
  auto out = canonicalize(v);
  REQUIRE(out.ok());
  CHECK(*out == R"({"a":{"b":null,"y":true},"m":[3,"x",-4],"z":1})");
  CHECK(check_subset(v).ok());

  // Integers: signed and unsigned storage, at and beyond the limits.
  CHECK(canonicalize(json(kMaxSafeInteger)).value() == "9007199254740991");
  CHECK(canonicalize(json(-kMaxSafeInteger)).value() == "-9007199254740991");
  CHECK(canonicalize(json(std::uint64_t{5})).value() == "5");
  CHECK(canonicalize(json(std::uint64_t{9007199254740991u})).value() == "9007199254740991");
  for (const json& bad : {json(kMaxSafeInteger + 1), json(-kMaxSafeInteger - 1), json(std::uint64_t{1} << 53),
                          json(std::numeric_limits<std::int64_t>::min()), json(std::numeric_limits<std::uint64_t>::max())}) {
    INFO("value " << bad.dump());
    auto r = canonicalize(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "integer_range");
    auto s = check_subset(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == "integer_range");
  }
  // Floating-point values, even whole ones.
  for (const json& bad : {json(1.5), json(1.0), json(0.0), json(-0.0), json(1e300), json(std::nan("")),
                          json::array({1, 2.5})}) {
    INFO("value " << bad.dump());
    auto r = canonicalize(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "float");
  }
  // Non-ASCII keys.
  for (const json& bad : {json{{"caf\xc3\xa9", 1}}, json{{"ok", {{"\xe2\x82\xac", 1}}}}}) {
    auto r = canonicalize(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "non_ascii_key");
  }
  // Depth.
  CHECK(canonicalize(nested_value(32)).ok());
  auto deep = canonicalize(nested_value(33));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().code == "too_deep");
  auto deep_check = check_subset(nested_value(1000));
  REQUIRE_FALSE(deep_check.ok());
  CHECK(deep_check.error().code == "too_deep");
  // Invalid UTF-8 inside a string value built in code, and binary values: refused.
  CHECK_FALSE(canonicalize(json("\xff")).ok());
  CHECK_FALSE(canonicalize(json::binary({1, 2, 3})).ok());
}

TEST_CASE("canonical JSON: key order and whitespace do not change the bytes or the hash", "[canonical_json]") {
  const char* a = R"({"from":"acct:1","to":"acct:2","amount":{"value":100,"currency":"CNY"},"seq":[1,2]})";
  const char* b = "{\n  \"seq\" : [ 1 , 2 ],\n  \"amount\" : { \"currency\" : \"CNY\", \"value\" : 100 },\n"
                  "  \"to\" : \"acct:2\", \"from\" : \"acct:1\"\n}";
  auto pa = parse_strict(a);
  auto pb = parse_strict(b);
  REQUIRE(pa.ok());
  REQUIRE(pb.ok());
  auto ca = canonicalize(*pa);
  auto cb = canonicalize(*pb);
  REQUIRE(ca.ok());
  REQUIRE(cb.ok());
  CHECK(*ca == *cb);
  CHECK(*ca == R"({"amount":{"currency":"CNY","value":100},"from":"acct:1","seq":[1,2],"to":"acct:2"})");
  CHECK(hash(HashAlg::sha256, *ca) == hash(HashAlg::sha256, *cb));
}

namespace {
// Writes a tree through CanonicalWriter, members in the tree's (sorted) order: what typed writers do by hand.
void write_tree(CanonicalWriter& w, const json& v) {
  switch (v.type()) {
    case json::value_t::null: w.null_value(); break;
    case json::value_t::boolean: w.boolean(v.get<bool>()); break;
    case json::value_t::number_integer: w.integer(v.get<std::int64_t>()); break;
    case json::value_t::number_unsigned: w.integer(static_cast<std::int64_t>(v.get<std::uint64_t>())); break;
    case json::value_t::string: w.string(v.get_ref<const std::string&>()); break;
    case json::value_t::array:
      w.begin_array();
      for (const auto& e : v) write_tree(w, e);
      w.end_array();
      break;
    case json::value_t::object:
      w.begin_object();
      for (const auto& [k, e] : v.items()) {
        w.key(k);
        write_tree(w, e);
      }
      w.end_object();
      break;
    default: FAIL("not in the subset");
  }
}
}  // namespace

TEST_CASE("canonical JSON: the typed writer gives canonicalize()'s bytes and refuses what it refuses",
          "[canonical_json]") {
  const json cases = json::array({
      json::parse(R"({"b":[1,-2,{"z":null,"a":true}],"a":"x\"y\\z\u0001\n/é€😀","c":{},"d":[]})"),
      json::parse(R"([])"),
      json::parse(R"("just a string")"),
      json::parse(R"({"n":9007199254740991,"m":-9007199254740991,"e":[[],[[]],{"k":{"k":{}}}]})"),
      // Keys the writer escapes (their order is checked on the keys, not on their escaped text), and strings long
      // enough for the eight-byte scans, with what needs escaping or checking after an ASCII run.
      json::parse(R"({"\u0001":1,"\"q":2,"a\nb":3,"a\\b":{"\u001f":[],"x":"y"},"ab":4,"b":5})"),
      json::parse(R"(["abcdefghijklmnopqrstuvwxyz0123456789","abcdefghijklmnop\u00e9xyz","abcdefghijklmnopq\"r\\s\u0002",
                      "abcdefgh","\u00e9\u20ac\ud83d\ude00abcdefghijklmnop","abcdefghijklmnopqrstuvwxyz\ud83d\ude00"])"),
  });
  for (const auto& c : cases) {
    CanonicalWriter w;
    write_tree(w, c);
    INFO(c.dump());
    REQUIRE(w.ok());
    auto expected = canonicalize(c);
    REQUIRE(expected.ok());
    CHECK(w.text() == *expected);
  }
  {
    CanonicalWriter w;  // keys out of order
    w.begin_object();
    w.key("b");
    w.integer(1);
    w.key("a");
    w.integer(2);
    w.end_object();
    CHECK_FALSE(w.ok());
  }
  {
    CanonicalWriter w;  // a repeated key
    w.begin_object();
    w.key("a");
    w.integer(1);
    w.key("a");
    w.integer(2);
    w.end_object();
    CHECK_FALSE(w.ok());
  }
  for (const auto& [first, second] : {std::pair<std::string, std::string>{"b\"", "a"}, {"a\"", "a\""},
                                      {"a\n", "a\n"}, {"b", "a\""}}) {
    CanonicalWriter w;  // the same with keys that are escaped
    INFO(first << " then " << second);
    w.begin_object();
    w.key(first);
    w.integer(1);
    w.key(second);
    w.integer(2);
    w.end_object();
    CHECK_FALSE(w.ok());
  }
  {
    CanonicalWriter w;  // a value without its key
    w.begin_object();
    w.integer(1);
    w.end_object();
    CHECK_FALSE(w.ok());
  }
  {
    CanonicalWriter w;  // beyond the safe integers
    w.integer(kMaxSafeInteger + 1);
    CHECK_FALSE(w.ok());
  }
  for (const std::string& bad : {std::string("\xc3\x28", 2), std::string("abcdefghijklmnop\xc3\x28"),
                                 std::string("abcdefghijklmnop\xed\xa0\x80"), std::string("abcdefgh\xff")}) {
    CanonicalWriter w;  // not UTF-8 (also after an ASCII run)
    w.string(bad);
    CHECK_FALSE(w.ok());
  }
  {
    CanonicalWriter w;  // a non-ASCII key
    w.begin_object();
    w.key("é");
    w.null_value();
    w.end_object();
    CHECK_FALSE(w.ok());
  }
}

TEST_CASE("canonical JSON: the typed writer takes a whole tree as one value", "[canonical_json]") {
  const json body = json::parse(R"({"z":[1,{"y":"é","b":null}],"a":"q\"uote"})");
  CanonicalWriter w;
  w.begin_object();
  w.key("body");
  w.value(body);
  w.key("n");
  w.integer(7);
  w.end_object();
  REQUIRE(w.ok());
  auto expected = canonicalize(json{{"body", body}, {"n", 7}});
  REQUIRE(expected.ok());
  CHECK(w.text() == *expected);

  CanonicalWriter in_array;
  in_array.begin_array();
  in_array.value(json(1));
  in_array.value(json::array({true, false}));
  in_array.end_array();
  REQUIRE(in_array.ok());
  CHECK(in_array.text() == "[1,[true,false]]");

  for (const json& outside : {json(1.5), json{{"é", 1}}, json(kMaxSafeInteger + 1), json(std::string("\xc3\x28", 2))}) {
    CanonicalWriter bad;
    bad.value(outside);
    CHECK_FALSE(bad.ok());
  }
}

namespace {
// RFC 8785 §3.2.2.2 string escaping, one byte at a time: the reference the writer's word-at-a-time scan must match.
std::string reference_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0x0f]);
        } else {
          out.push_back(ch);
        }
    }
  }
  return out + "\"";
}
}  // namespace

TEST_CASE("canonical JSON: strings escaped and checked alike wherever the special byte falls in a word",
          "[canonical_json]") {
  // Every byte that needs an escape, bytes next to those boundaries, and UTF-8 of 2, 3 and 4 bytes, each put at
  // every offset of ASCII padding of many lengths, so it lands anywhere in (and across) the 8-byte words scanned.
  std::vector<std::string> specials;
  for (int c = 0; c < 0x20; ++c) specials.push_back(std::string(1, static_cast<char>(c)));
  for (const char* s : {"\"", "\\", " ", "!", "#", "[", "]", "\x7f", "/", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
    specials.emplace_back(s);
  }
  for (std::size_t len = 0; len <= 24; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      for (const auto& sp : specials) {
        std::string s(len, 'a');
        s.insert(at, sp);
        CanonicalWriter w;
        w.string(s);
        INFO("len " << len << " at " << at << " byte " << static_cast<int>(static_cast<unsigned char>(sp[0])));
        REQUIRE(w.ok());
        REQUIRE(w.text() == reference_string(s));
        auto parsed = parse_strict(w.text());
        REQUIRE(parsed.ok());
        REQUIRE(parsed->get<std::string>() == s);
      }
    }
  }
  // Bytes that are not UTF-8 (a lone continuation byte, an overlong lead, a surrogate, a truncated sequence, a
  // code point over U+10FFFF) are refused wherever they fall, and so is a non-ASCII key.
  for (const char* bad : {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\xff"}) {
    for (std::size_t len = 0; len <= 17; ++len) {
      for (std::size_t at = 0; at <= len; ++at) {
        std::string s(len, 'a');
        s.insert(at, bad);
        CanonicalWriter w;
        w.string(s);
        INFO("len " << len << " at " << at);
        CHECK_FALSE(w.ok());
        CanonicalWriter k;
        k.begin_object();
        k.key(s);
        CHECK_FALSE(k.ok());
      }
    }
  }
}

// The fast reader of signed bytes (parse_canonical): canonical text only, and exactly what parse_strict reads.
TEST_CASE("canonical JSON: the canonical reader takes canonical text only, as parse_strict reads it", "[canonical_json]") {
  for (const char* text : {"{}", "[]", "\"\"", "0", "-1", "9007199254740991", "-9007199254740991", "true", "false",
                           "null", R"({"a":1,"b":[1,2,{"c":null}],"d":"x"})", R"({"":0,"A":1,"a":2,"b":3})",
                           R"("\"\\\b\f\n\r\t\u0000\u001f\u000b/")", "\"\x7f\"",
                           "\"\xe5\xa4\x9a\xe5\xbc\x8f\xe8\x81\x94\xe8\xbf\x90\"",  // 多式联运
                           "\"\xf0\x9f\x9a\x82\"", R"({"a\"b":1,"a\\b":2})", R"([[[[]]]])"}) {
    INFO(text);
    check_canonical_reader(text);
    CHECK(parse_canonical(text).has_value());
  }
  // Valid JSON, even inside the subset, but not canonical: refused (the caller's strict path names why).
  for (const char* text : {" {}", "{} ", "{ }", "[1, 2]", R"({"b":1,"a":2})", R"({"a":1,"a":1})", "-0", "01", "1.0",
                           "1e2", "1E2", "+1", "9007199254740992", "-9007199254740992", "12345678901234567",
                           R"("\/")", R"("\u0041")", R"("\u001F")", R"("\u0008")", R"("\u000a")", R"("\ud83d\ude82")",
                           "\"\x01\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "{\"\xc3\xa9\":1}", "[1]x", "[1,]", "[,1]",
                           "{\"a\":1,}", "\"abc", "tru", "nul", "[", "", "{\"a\"}", "{\"a\":}", "\"\\", "\"\\u00",
                           "\"\\u00g0\""}) {
    INFO(text);
    check_canonical_reader(text);
    CHECK_FALSE(parse_canonical(text).has_value());
  }
}

TEST_CASE("canonical JSON: the canonical reader keeps parse_strict's depth and size limits", "[canonical_json]") {
  for (int depth : {1, 2, 3, 4, 5}) {
    check_canonical_reader(nested_arrays(depth), JsonLimits{1 << 20, 4});
    check_canonical_reader(nested_objects(depth), JsonLimits{1 << 20, 4});
  }
  CHECK(parse_canonical(nested_arrays(4), JsonLimits{1 << 20, 4}).has_value());
  CHECK_FALSE(parse_canonical(nested_arrays(5), JsonLimits{1 << 20, 4}).has_value());
  CHECK(parse_canonical(nested_arrays(32)).has_value());
  CHECK_FALSE(parse_canonical(nested_arrays(33)).has_value());
  CHECK_FALSE(parse_canonical(nested_arrays(10000)).has_value());  // refused at the limit, not by the stack
  const std::string big = "\"" + std::string(300, 'x') + "\"";
  check_canonical_reader(big, JsonLimits{256, 4});
  CHECK_FALSE(parse_canonical(big, JsonLimits{256, 4}).has_value());
  CHECK(parse_canonical(big, JsonLimits{302, 4}).has_value());
}

// Random values inside the subset, canonicalized, read back the same; and every one-byte change of their text is
// read exactly when it is itself canonical (deterministic: a fixed seed, bounded work).
TEST_CASE("canonical JSON: the canonical reader agrees with parse_strict on random values and their mutations",
          "[canonical_json]") {
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  const std::string alphabet[] = {"a", "b", "Z", "0", "\"", "\\", "/", "\x01", "\n", "\x1f", "\x7f", " ",
                                  "\xc3\xa9", "\xe4\xb8\x80", "\xf0\x9f\x9a\x82"};
  auto text = [&] {
    std::string s;
    for (std::uint64_t n = next() % 12; n > 0; --n) s += alphabet[next() % std::size(alphabet)];
    return s;
  };
  std::function<json(int)> value = [&](int depth) -> json {
    switch (next() % (depth < 4 ? 7 : 5)) {
      case 0: return nullptr;
      case 1: return next() % 2 == 0;
      case 2: {
        const std::int64_t magnitudes[] = {0, 1, 9, 10, 99, 12345, kMaxSafeInteger};
        std::int64_t v = magnitudes[next() % std::size(magnitudes)];
        return next() % 2 == 0 ? v : -v;
      }
      case 3:
      case 4: return text();
      case 5: {
        json a = json::array();
        for (std::uint64_t n = next() % 4; n > 0; --n) a.push_back(value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (std::uint64_t n = next() % 4; n > 0; --n) {
          std::string k;
          for (std::uint64_t m = next() % 4; m > 0; --m) k += static_cast<char>(0x20 + next() % 0x5f);
          o[k] = value(depth + 1);
        }
        return o;
      }
    }
  };
  const char replacements[] = {' ', '"', '\\', '0', '1', '-', '.', 'e', 'u', ',', ':', '{', '}', '[', ']', 'a',
                               '\x01', '\x7f', '\xc3', '\x80', '/', 'n', 't'};
  int mutated_read = 0;
  for (int round = 0; round < 400; ++round) {
    json v = value(0);
    auto canonical = canonicalize(v);
    REQUIRE(canonical.ok());
    auto fast = parse_canonical(*canonical);
    REQUIRE(fast.has_value());
    auto strict = parse_strict(*canonical);
    REQUIRE(strict.ok());
    CHECK(onebill::testing::identical(*fast, *strict));
    for (int k = 0; k < 8 && !canonical->empty(); ++k) {
      std::string m = *canonical;
      const std::size_t at = next() % m.size();
      switch (next() % 3) {
        case 0: m[at] = replacements[next() % std::size(replacements)]; break;
        case 1: m.insert(at, 1, replacements[next() % std::size(replacements)]); break;
        default: m.erase(at, 1);
      }
      check_canonical_reader(m);
      mutated_read += parse_canonical(m).has_value() ? 1 : 0;
    }
  }
  CHECK(mutated_read > 0);  // some mutations are canonical text of another value, and are read
}
