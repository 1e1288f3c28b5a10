// Reading an audit bundle's text (docs/formats/bundle.md) fast, accepting exactly what the strict parser accepts.
// Internal to the verifier (clients/audit/verify.cpp); a header so the tests can hold it against the strict parser.
//
// Two pieces:
//   - split(): where each top-level field's value and each element of `entries` starts and ends (strings with their
//     escapes, nested brackets), in one pass. It only cuts: every piece is then parsed strictly.
//   - parse_entry(): one element of `entries`. A hand parser reads the fixed shape of an entry (integers, status,
//     reads, hex proofs) without building a JSON tree; the envelope goes to the strict parser and
//     contracts::envelope_from_json, as before. The hand parser gives up on anything it is not sure of — an escape
//     it does not decode (\u), a number that is not a plain integer, upper-case hex, an unknown, missing or repeated
//     field, a wrong type, a control character or invalid UTF-8 in a string — and the entry is then parsed by
//     crypto::parse_strict and ledger::BundleEntry::from_json, which give the same entry or the exact error they
//     always gave. So what it accepts is a subset of what they accept, read to the same value (tests/audit holds it
//     to that, tests/fuzz/bundle_fuzz too).
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/envelope.h"
#include "crypto/canonical_json.h"
#include "crypto/hash.h"
#include "node/ledger/bundle.h"

namespace onebill::audit::text {

// Each piece of a bundle (an entry, the blocks, ...) is parsed strictly, with these limits.
inline const crypto::JsonLimits kPieceLimits{.max_bytes = std::size_t{1} << 30, .max_depth = 40};

inline std::size_t skip_ws(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// The end of the string starting at t[i] == '"' (one past its closing quote), or npos. A quote closes the string
// when an even number of backslashes precede it (each backslash escapes the next character).
inline std::size_t skip_string(std::string_view t, std::size_t i) {
  const std::size_t first = i + 1;
  for (std::size_t from = first; from < t.size();) {
    const void* q = std::memchr(t.data() + from, '"', t.size() - from);
    if (q == nullptr) return std::string_view::npos;
    const auto at = static_cast<std::size_t>(static_cast<const char*>(q) - t.data());
    std::size_t backslashes = 0;
    while (at - backslashes > first && t[at - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return at + 1;
    from = at + 1;
  }
  return std::string_view::npos;
}

// The end of the value starting at t[i], or npos. Scalars end at the next delimiter; the strict parser judges them.
inline std::size_t skip_value(std::string_view t, std::size_t i) {
  if (i >= t.size()) return std::string_view::npos;
  if (t[i] == '"') return skip_string(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    for (; i < t.size(); ++i) {
      const char c = t[i];
      if (c == '"') {
        i = skip_string(t, i);
        if (i == std::string_view::npos) return i;
        --i;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n' && t[i] != '\t' &&
         t[i] != '\r') {
    ++i;
  }
  return i;
}

using Pieces = std::vector<std::pair<std::string, std::string_view>>;

// The elements of the array whose text starts at t[i] == '[', and the end of the array; nullopt when it is not one.
inline std::optional<std::size_t> split_array(std::string_view t, std::size_t i, std::vector<std::string_view>& out) {
  i = skip_ws(t, i + 1);
  if (i < t.size() && t[i] == ']') return i + 1;
  while (i < t.size()) {
    const std::size_t end = skip_value(t, i);
    if (end == std::string_view::npos || end == i) return std::nullopt;
    out.push_back(t.substr(i, end - i));
    i = skip_ws(t, end);
    if (i < t.size() && t[i] == ',') {
      i = skip_ws(t, i + 1);
      continue;
    }
    if (i < t.size() && t[i] == ']') return i + 1;
    return std::nullopt;
  }
  return std::nullopt;
}

// The pieces of a JSON object (key -> value text) or array (value texts); nullopt when the text is not one. With
// `elements`, the elements of the object's first value under the key `elements_of` are cut in the same pass when
// that value is an array whose elements are each one value (else *elements stays nullopt): the same pieces as
// split() of that value would give, for a value the strict parser accepts.
inline std::optional<Pieces> split(std::string_view t, bool object, std::string_view elements_of = {},
                                   std::optional<std::vector<std::string_view>>* elements = nullptr) {
  Pieces out;
  std::size_t i = skip_ws(t, 0);
  if (i >= t.size() || t[i] != (object ? '{' : '[')) return std::nullopt;
  i = skip_ws(t, i + 1);
  const auto closed = [&](std::size_t at) { return skip_ws(t, at + 1) == t.size() ? std::optional(out) : std::nullopt; };
  if (i < t.size() && t[i] == (object ? '}' : ']')) return closed(i);
  bool cut = false;
  while (i < t.size()) {
    std::string key;
    if (object) {
      const std::size_t end = t[i] == '"' ? skip_string(t, i) : std::string_view::npos;
      if (end == std::string_view::npos) return std::nullopt;
      nlohmann::json k = nlohmann::json::parse(t.substr(i, end - i), nullptr, false);
      if (!k.is_string()) return std::nullopt;
      key = k.get<std::string>();
      i = skip_ws(t, end);
      if (i >= t.size() || t[i] != ':') return std::nullopt;
      i = skip_ws(t, i + 1);
    }
    std::size_t end = std::string_view::npos;
    if (elements != nullptr && !cut && key == elements_of && i < t.size() && t[i] == '[') {
      cut = true;
      std::vector<std::string_view> cuts;
      if (const auto array_end = split_array(t, i, cuts)) {
        end = *array_end;
        *elements = std::move(cuts);
      } else {
        end = skip_value(t, i);
      }
    } else {
      end = skip_value(t, i);
    }
    if (end == std::string_view::npos || end == i) return std::nullopt;
    out.emplace_back(std::move(key), t.substr(i, end - i));
    i = skip_ws(t, end);
    if (i < t.size() && t[i] == ',') {
      i = skip_ws(t, i + 1);
      continue;
    }
    if (i < t.size() && t[i] == (object ? '}' : ']')) return closed(i);
    return std::nullopt;
  }
  return std::nullopt;
}

namespace detail {

// Bytes a JSON string may hold as they are, that need no decoding: printable ASCII except '"' and '\\'.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  t[0x7f] = true;
  return t;
}();

constexpr std::array<std::int8_t, 256> kHexLower = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = 0; c < 10; ++c) t[static_cast<std::size_t>('0' + c)] = static_cast<std::int8_t>(c);
  for (int c = 0; c < 6; ++c) t[static_cast<std::size_t>('a' + c)] = static_cast<std::int8_t>(10 + c);
  return t;
}();

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) that
// starts at p[0] >= 0x80, or 0.
inline std::size_t utf8_length(const unsigned char* p, const unsigned char* end) {
  const unsigned c = p[0];
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 1;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 2;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) <= n) return 0;
  for (std::size_t k = 1; k <= n; ++k) {
    if ((p[k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3f);
  }
  if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n + 1;
}

// A cursor over one entry's text. Every reader returns false to give up (the strict parser then decides).
class Reader {
 public:
  explicit Reader(std::string_view t) : p_(t.data()), end_(t.data() + t.size()), begin_(t.data()) {}

  void ws() {
    const char* from = p_;
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
    spaced_ = spaced_ || p_ != from;
  }
  bool at_end() {
    ws();
    return p_ == end_;
  }
  bool peek(char c) {
    ws();
    return p_ < end_ && *p_ == c;
  }
  bool take(char c) {
    if (!peek(c)) return false;
    ++p_;
    return true;
  }
  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }
  const char* pos() const { return p_; }
  void seek(const char* p) { p_ = p; }

  // A string decoded into `out` (cleared first): the escapes \" \\ \/ \b \f \n \r \t, and UTF-8 checked.
  // `ascii`: give up on any byte above 0x7f (object keys must be ASCII).
  bool string(std::string& out, bool ascii = false) {
    bool canonical = true;
    return string(out, ascii, canonical);
  }
  // The same; `canonical` turns false when the text is not the string's canonical form (an escaped '/').
  bool string(std::string& out, bool ascii, bool& canonical) {
    out.clear();
    if (!take('"')) return false;
    for (;;) {
      const char* q = p_;
      while (q < end_ && kPlain[static_cast<unsigned char>(*q)]) ++q;
      out.append(p_, q);
      p_ = q;
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (end_ - p_ < 2) return false;
        char d = 0;
        switch (p_[1]) {
          case '"': d = '"'; break;
          case '\\': d = '\\'; break;
          case '/':
            d = '/';
            canonical = false;  // RFC 8785 writes it as it is
            break;
          case 'b': d = '\b'; break;
          case 'f': d = '\f'; break;
          case 'n': d = '\n'; break;
          case 'r': d = '\r'; break;
          case 't': d = '\t'; break;
          default: return false;  // \u and anything else: the strict parser
        }
        out.push_back(d);
        p_ += 2;
        continue;
      }
      if (c < 0x20 || ascii) return false;
      const std::size_t n = utf8_length(reinterpret_cast<const unsigned char*>(p_), reinterpret_cast<const unsigned char*>(end_));
      if (n == 0) return false;
      out.append(p_, n);
      p_ += n;
    }
  }

  // A plain non-negative integer up to 2^53 - 1 (no sign, no leading zero, no fraction or exponent).
  bool integer(std::int64_t& out) {
    ws();
    const char* q = p_;
    std::int64_t v = 0;
    while (q < end_ && *q >= '0' && *q <= '9') {
      if (q - p_ >= 16) return false;
      v = v * 10 + (*q - '0');
      ++q;
    }
    if (q == p_ || (*p_ == '0' && q - p_ > 1) || v > crypto::kMaxSafeInteger) return false;
    if (q < end_ && (*q == '.' || *q == 'e' || *q == 'E')) return false;
    p_ = q;
    out = v;
    return true;
  }

  // A digest: exactly 64 lower-case hex digits in quotes.
  bool digest(crypto::Digest& out) {
    ws();
    if (end_ - p_ < 66 || *p_ != '"' || p_[65] != '"') return false;
    const auto* h = reinterpret_cast<const unsigned char*>(p_ + 1);
    for (std::size_t k = 0; k < crypto::kDigestSize; ++k) {
      const int hi = kHexLower[h[2 * k]];
      const int lo = kHexLower[h[2 * k + 1]];
      if ((hi | lo) < 0) return false;
      out[k] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    p_ += 66;
    return true;
  }

  // An array of at most 64 digests.
  bool digests(std::vector<crypto::Digest>& out) {
    if (!take('[')) return false;
    if (take(']')) return true;
    do {
      if (out.size() == 64) return false;
      if (!digest(out.emplace_back())) return false;
    } while (take(','));
    return take(']');
  }

  bool literal(std::string_view word) {
    ws();
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return false;
    p_ += word.size();
    return true;
  }

  // A JSON value as crypto::parse_strict builds it (every integer an int64 within +-(2^53 - 1), no fractions, ASCII
  // keys, each once), nested at most kMaxDepth deep. `canonical` turns false when the text is not the value's
  // RFC 8785 form (crypto::canonicalize): a space, keys out of order, an escaped '/', "-0".
  static constexpr int kMaxDepth = 24;
  // `naturals_unsigned`: non-negative integers as nlohmann::json::parse makes them (unsigned), not as parse_strict.
  bool value(nlohmann::json& out, int depth, bool& canonical, bool naturals_unsigned = false) {
    ws();
    if (p_ == end_) return false;
    if (*p_ == '{' || *p_ == '[') {
      if (depth >= kMaxDepth) return false;
      const bool object = *p_ == '{';
      ++p_;
      if (object) {
        out = nlohmann::json::object();
        if (take('}')) return true;
        auto& members = out.get_ref<nlohmann::json::object_t&>();
        std::string key;
        const std::string* last = nullptr;
        do {
          if (!string(key, true, canonical) || !take(':')) return false;
          if (last != nullptr && !(*last < key)) canonical = false;
          auto [it, fresh] = members.try_emplace(std::move(key));
          if (!fresh || !value(it->second, depth + 1, canonical, naturals_unsigned)) return false;
          last = &it->first;
        } while (take(','));
        return take('}');
      }
      out = nlohmann::json::array();
      if (take(']')) return true;
      auto& elements = out.get_ref<nlohmann::json::array_t&>();
      do {
        if (!value(elements.emplace_back(), depth + 1, canonical, naturals_unsigned)) return false;
      } while (take(','));
      return take(']');
    }
    if (*p_ == '"') {
      std::string text;
      if (!string(text, false, canonical)) return false;
      out = std::move(text);
      return true;
    }
    if (literal("true")) {
      out = true;
    } else if (literal("false")) {
      out = false;
    } else if (literal("null")) {
      out = nullptr;
    } else {
      const bool negative = *p_ == '-';
      if (negative) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;  // "- 1" too
      std::int64_t n = 0;
      if (!integer(n)) return false;
      if (negative && n == 0) canonical = false;
      if (negative) {
        out = -n;
      } else if (naturals_unsigned) {
        out = static_cast<std::uint64_t>(n);
      } else {
        out = n;
      }
    }
    return true;
  }

  // The tx of an envelope, checked as contracts::tx_from_json checks it.
  bool tx(contracts::Tx& out, bool& canonical) {
    enum Field { kType, kDoc, kSigner, kNonce, kTs, kBody, kCount };
    static constexpr std::array<std::string_view, kCount> kNames = {"type", "doc", "signer", "nonce", "ts", "body"};
    std::bitset<kCount> seen;
    std::string key;
    std::string last;
    if (!take('{')) return false;
    do {
      if (!string(key, true, canonical) || !take(':')) return false;
      if (!last.empty() && !(last < key)) canonical = false;
      std::size_t f = 0;
      while (f < kCount && kNames[f] != key) ++f;
      if (f == kCount || seen.test(f)) return false;
      seen.set(f);
      switch (f) {
        case kType:
          if (!string(out.type, false, canonical) || out.type.empty() || out.type.size() > 64) return false;
          break;
        case kDoc:
          if (!string(out.doc, false, canonical) || out.doc.empty() || out.doc.size() > 256) return false;
          break;
        case kSigner:
          if (!string(out.signer, false, canonical) || out.signer.empty() || out.signer.size() > 128) return false;
          break;
        case kTs:
          if (!string(out.ts, false, canonical) || out.ts.size() > 64) return false;
          break;
        case kNonce:
          if (!integer(out.nonce)) return false;
          break;
        default:
          if (!peek('{') || !value(out.body, 1, canonical)) return false;
          break;
      }
      last = std::move(key);
    } while (take(','));
    return take('}') && seen.all();
  }

  // The envelope {"tx", "sig"}, as contracts::envelope_from_json reads it: its canonical bytes are the tx's text
  // when that is canonical already, else what crypto::canonicalize writes.
  bool envelope(contracts::Envelope& out, crypto::HashAlg alg) {
    bool seen_tx = false;
    bool seen_sig = false;
    std::string key;
    std::string sig;
    bool canonical = true;
    std::string_view tx_text;
    if (!take('{')) return false;
    do {
      if (!string(key, true) || !take(':')) return false;
      if (key == "tx" && !seen_tx) {
        seen_tx = true;
        ws();
        const char* from = p_;
        spaced_ = false;
        if (!tx(out.tx, canonical)) return false;
        canonical = canonical && !spaced_;
        tx_text = std::string_view(from, static_cast<std::size_t>(p_ - from));
      } else if (key == "sig" && !seen_sig) {
        seen_sig = true;
        if (!string(sig) || sig.empty()) return false;
      } else {
        return false;
      }
    } while (take(','));
    if (!take('}') || !seen_tx || !seen_sig) return false;
    auto raw = crypto::base64_decode(sig);
    if (!raw) return false;
    out.sig = std::move(*raw);
    if (canonical) {
      out.canonical_tx = tx_text;
    } else {
      auto c = contracts::canonical_tx(out.tx);
      if (!c) return false;
      out.canonical_tx = std::move(*c);
    }
    out.id = crypto::hex(crypto::hash(alg, out.canonical_tx));
    return true;
  }

 private:
  const char* p_;
  const char* end_;
  const char* begin_;
  bool spaced_ = false;  // ws() skipped something since it was last cleared
};

}  // namespace detail

// The fast reading of one element of `entries` (see the file comment), or nullopt to leave it to the strict parser.
inline std::optional<ledger::BundleEntry> parse_entry_fast(std::string_view t, crypto::HashAlg alg) {
  using detail::Reader;
  if (t.size() > kPieceLimits.max_bytes) return std::nullopt;
  enum Field { kHeight, kIndex, kBlockEntries, kEnvelope, kStatus, kReads, kResultProof, kReason, kLeaf, kLogProof, kCount };
  static constexpr std::array<std::string_view, kCount> kNames = {
      "height", "index", "block_entries", "envelope", "status", "reads", "result_proof", "reason", "leaf", "log_proof"};
  Reader r(t);
  ledger::BundleEntry e;
  std::bitset<kCount> seen;
  std::string key;
  std::string status;
  std::string value;
  std::int64_t n = 0;
  if (!r.take('{')) return std::nullopt;
  if (r.peek('}')) return std::nullopt;  // missing fields
  do {
    if (!r.string(key, true) || !r.take(':')) return std::nullopt;
    std::size_t f = 0;
    while (f < kCount && kNames[f] != key) ++f;
    if (f == kCount || seen.test(f)) return std::nullopt;
    seen.set(f);
    switch (f) {
      case kHeight:
        if (!r.integer(n)) return std::nullopt;
        e.height = n;
        break;
      case kIndex:
        if (!r.integer(n)) return std::nullopt;
        e.index = static_cast<std::uint64_t>(n);
        break;
      case kBlockEntries:
        if (!r.integer(n)) return std::nullopt;
        e.block_entries = static_cast<std::uint64_t>(n);
        break;
      case kLeaf:
        if (!r.integer(n)) return std::nullopt;
        e.leaf = static_cast<std::uint64_t>(n);
        break;
      case kEnvelope:
        if (!r.envelope(e.envelope, alg)) return std::nullopt;
        break;
      case kStatus:
        if (!r.string(status)) return std::nullopt;
        if (status != "accepted" && status != "rejected") return std::nullopt;
        e.accepted = status == "accepted";
        break;
      case kReason:
        if (!r.string(e.reason)) return std::nullopt;
        break;
      case kReads:
        if (!r.take('{')) return std::nullopt;
        if (r.take('}')) break;
        do {
          if (!r.string(key, true) || !r.take(':')) return std::nullopt;
          if (e.reads.count(key) != 0 || e.elided.count(key) != 0) return std::nullopt;
          if (r.literal("null")) {
            e.reads.emplace(std::move(key), std::nullopt);
          } else if (r.peek('"')) {
            if (!r.string(value)) return std::nullopt;
            e.reads.emplace(std::move(key), std::move(value));
          } else {
            crypto::Digest d{};
            std::string hash_key;
            if (!r.take('{') || !r.string(hash_key, true) || hash_key != "hash" || !r.take(':') || !r.digest(d) ||
                !r.take('}')) {
              return std::nullopt;
            }
            e.elided.emplace(std::move(key), d);
          }
        } while (r.take(','));
        if (!r.take('}')) return std::nullopt;
        break;
      case kResultProof:
        if (!r.digests(e.result_proof)) return std::nullopt;
        break;
      case kLogProof:
        if (!r.digests(e.log_proof)) return std::nullopt;
        break;
      default:
        return std::nullopt;
    }
  } while (r.take(','));
  if (!r.take('}') || !r.at_end()) return std::nullopt;
  for (std::size_t f = 0; f < kReason; ++f) {
    if (!seen.test(f)) return std::nullopt;
  }
  if (e.accepted == seen.test(kReason) || e.accepted != seen.test(kLeaf) || e.accepted != seen.test(kLogProof)) {
    return std::nullopt;
  }
  return e;
}

// A document's state as nlohmann::json::parse(text, nullptr, false) reads it (discarded when it is not JSON): the
// hand reader for what the contracts write (canonical JSON), else nlohmann's parser.
inline nlohmann::json parse_document(std::string_view t) {
  detail::Reader r(t);
  nlohmann::json out;
  bool canonical = true;
  if (r.peek('{') && r.value(out, 0, canonical, true) && r.at_end()) return out;
  return nlohmann::json::parse(t, nullptr, false);
}

// Element `i` of `entries`, as the verifier reads it: the fast reading, else the strict one with its errors
// ("bad_json" for text that is not strict JSON, "bad_bundle" for JSON that is not an entry).
inline Result<ledger::BundleEntry> parse_entry(std::string_view t, std::size_t i, crypto::HashAlg alg) {
  if (auto e = parse_entry_fast(t, alg)) return std::move(*e);
  const std::string where = "bundle.entries[" + std::to_string(i) + "]";
  // Strict: a duplicate key, a float or a number beyond 2^53 is refused, so no reader sees another bundle.
  auto j = crypto::parse_strict(t, kPieceLimits);
  if (!j) return make_error("bad_json", where + ": " + j.error().code + ": " + j.error().message);
  return ledger::BundleEntry::from_json(*j, where, alg);
}

}  // namespace onebill::audit::text
