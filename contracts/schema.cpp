#include "contracts/schema.h"

#include <algorithm>

#include "contracts/identifiers.h"
#include "contracts/membership.h"
#include "contracts/reasons.h"

namespace onebill::contracts {
namespace {

constexpr std::string_view kBadBody = reason::kBadBody;

bool is_pem_public_key(std::string_view s) {
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
  if (s.size() > 4096) return false;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  if (!s.starts_with(kBegin) || !s.ends_with(kEnd) || s.size() < kBegin.size() + kEnd.size()) return false;
  const std::string_view inner = s.substr(kBegin.size(), s.size() - kBegin.size() - kEnd.size());
  bool any = false;
  for (char c : inner) {
    const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                     c == '/' || c == '=';
    if (!b64 && c != '\n' && c != '\r') return false;
    any = any || b64;
  }
  return any;
}

bool is_endpoint(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || s.size() > 255) return false;
  const std::string_view host = s.substr(0, colon);
  const std::string_view port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return false;
  }
  int p = 0;
  for (char c : port) p = p * 10 + (c - '0');
  if (p < 1 || p > 65535) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '[' || c == ']' || c == ':';
  });
}

}  // namespace

const Pattern kDocIdPattern{is_doc_id, kBadBody, "a document id"};
const Pattern kOrgIdPattern{is_org_id, kBadBody, "an organisation id"};
const Pattern kKeyIdPattern{is_key_id, kBadBody, "a key id org/name"};
const Pattern kLocodePattern{is_locode, reason::kBadLocode, "a UN/LOCODE"};
const Pattern kContainerPattern{is_container_number, reason::kBadContainer, "an ISO 6346 container number"};
const Pattern kIsoTypePattern{is_iso_size_type, kBadBody, "an ISO 6346 size-and-type code"};
const Pattern kHsPattern{is_hs_code, reason::kBadHs, "an HS code of 6 to 10 digits"};
const Pattern kCurrencyPattern{is_currency, reason::kBadCurrency, "an active ISO 4217 currency"};
const Pattern kDatePattern{is_date, kBadBody, "a date YYYY-MM-DD"};
const Pattern kRolePattern{is_role, kBadBody, "a role"};
const Pattern kPemPattern{is_pem_public_key, kBadBody, "a PEM public key"};
const Pattern kEndpointPattern{is_endpoint, kBadBody, "host:port"};

FieldReader::FieldReader(const nlohmann::json& value, std::string path, std::optional<Error>& error)
    : value_(value), path_(std::move(path)), error_(error) {
  if (ok() && !value_.is_object()) fail(kBadBody, "", "expected an object");
}

std::string FieldReader::field_path(std::string_view key) const {
  return key.empty() ? path_ : path_ + "." + std::string(key);
}

void FieldReader::fail(std::string_view code, std::string_view key, std::string_view message) {
  if (!ok()) return;
  error_ = make_error(std::string(code), field_path(key) + ": " + std::string(message));
}

const nlohmann::json* FieldReader::find(std::string_view key) {
  if (!ok() || !value_.is_object()) return nullptr;
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  const auto it = value_.find(key);
  return it == value_.end() ? nullptr : &*it;
}

const nlohmann::json* FieldReader::require(std::string_view key) {
  const nlohmann::json* v = find(key);
  if (!ok()) return nullptr;
  if (v == nullptr || v->is_null()) {
    fail(kBadBody, key, "missing");
    return nullptr;
  }
  return v;
}

bool FieldReader::has(std::string_view key) {
  const nlohmann::json* v = find(key);
  return v != nullptr && !v->is_null();
}

std::string FieldReader::check_string(std::string_view key, const nlohmann::json& v, std::size_t max_len,
                                      const Pattern* pattern) {
  if (!v.is_string()) {
    fail(kBadBody, key, pattern ? "expected " + std::string(pattern->expected) : "expected a string");
    return {};
  }
  const auto& s = v.get_ref<const std::string&>();
  if (pattern != nullptr) {
    if (!pattern->valid(s)) fail(pattern->code, key, "expected " + std::string(pattern->expected) + ", got \"" +
                                                         s.substr(0, 80) + "\"");
  } else if (s.empty()) {
    fail(kBadBody, key, "empty");
  } else if (s.size() > max_len) {
    fail(kBadBody, key, "longer than " + std::to_string(max_len) + " bytes");
  }
  return ok() ? s : std::string{};
}

std::string FieldReader::text(std::string_view key, std::size_t max_len) {
  const nlohmann::json* v = require(key);
  return v ? check_string(key, *v, max_len, nullptr) : std::string{};
}

std::optional<std::string> FieldReader::opt_text(std::string_view key, std::size_t max_len) {
  const nlohmann::json* v = find(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  auto s = check_string(key, *v, max_len, nullptr);
  return ok() ? std::optional<std::string>(std::move(s)) : std::nullopt;
}

std::string FieldReader::matching(std::string_view key, const Pattern& pattern) {
  const nlohmann::json* v = require(key);
  return v ? check_string(key, *v, kMaxText, &pattern) : std::string{};
}

std::optional<std::string> FieldReader::opt_matching(std::string_view key, const Pattern& pattern) {
  const nlohmann::json* v = find(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  auto s = check_string(key, *v, kMaxText, &pattern);
  return ok() ? std::optional<std::string>(std::move(s)) : std::nullopt;
}

std::string FieldReader::choice(std::string_view key, std::initializer_list<std::string_view> allowed) {
  auto s = opt_choice(key, allowed);
  if (!s && ok()) fail(kBadBody, key, "missing");
  return s.value_or(std::string{});
}

std::optional<std::string> FieldReader::opt_choice(std::string_view key,
                                                   std::initializer_list<std::string_view> allowed) {
  const nlohmann::json* v = find(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  std::string list;
  for (std::string_view a : allowed) list.append(list.empty() ? "" : "|").append(a);
  if (!v->is_string() ||
      std::find(allowed.begin(), allowed.end(), v->get_ref<const std::string&>()) == allowed.end()) {
    fail(kBadBody, key, "expected one of " + list);
    return std::nullopt;
  }
  return v->get<std::string>();
}

bool FieldReader::boolean(std::string_view key) {
  const nlohmann::json* v = require(key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) {
    fail(kBadBody, key, "expected true or false");
    return false;
  }
  return v->get<bool>();
}

std::optional<bool> FieldReader::opt_boolean(std::string_view key) {
  if (!has(key)) return std::nullopt;
  const bool b = boolean(key);
  return ok() ? std::optional<bool>(b) : std::nullopt;
}

std::int64_t FieldReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const nlohmann::json* v = require(key);
  if (v == nullptr) return 0;
  const bool in_range = (v->is_number_unsigned() && v->get<std::uint64_t>() <= static_cast<std::uint64_t>(max) &&
                         static_cast<std::int64_t>(v->get<std::uint64_t>()) >= min) ||
                        (v->is_number_integer() && !v->is_number_unsigned() && v->get<std::int64_t>() >= min &&
                         v->get<std::int64_t>() <= max);
  if (!in_range) {
    fail(kBadBody, key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return 0;
  }
  return v->get<std::int64_t>();
}

std::optional<std::int64_t> FieldReader::opt_integer(std::string_view key, std::int64_t min, std::int64_t max) {
  if (!has(key)) return std::nullopt;
  const std::int64_t n = integer(key, min, max);
  return ok() ? std::optional<std::int64_t>(n) : std::nullopt;
}

Money FieldReader::money(std::string_view key, std::int64_t min_value) {
  Money m;
  object(key, [&](FieldReader& r) {
    m.value = r.integer("value", min_value, kMaxInteger);
    m.ccy = r.matching("ccy", kCurrencyPattern);
  });
  return m;
}

std::optional<Money> FieldReader::opt_money(std::string_view key, std::int64_t min_value) {
  if (!has(key)) return std::nullopt;
  Money m = money(key, min_value);
  return ok() ? std::optional<Money>(std::move(m)) : std::nullopt;
}

std::vector<std::string> FieldReader::strings(std::string_view key, std::size_t min, std::size_t max,
                                              const Pattern* pattern, bool unique) {
  const nlohmann::json* v = require(key);
  std::vector<std::string> out;
  if (v == nullptr) return out;
  if (!v->is_array()) {
    fail(kBadBody, key, "expected an array");
    return out;
  }
  if (v->size() < min || v->size() > max) {
    fail(kBadBody, key, "expected " + std::to_string(min) + " to " + std::to_string(max) + " elements");
    return out;
  }
  for (std::size_t i = 0; i < v->size() && ok(); ++i) {
    const std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    std::string s = check_string(item_key, (*v)[i], kMaxText, pattern);
    if (ok() && unique && std::find(out.begin(), out.end(), s) != out.end()) {
      fail(kBadBody, item_key, "duplicate \"" + s + "\"");
    }
    out.push_back(std::move(s));
  }
  if (!ok()) out.clear();
  return out;
}

std::optional<std::vector<std::string>> FieldReader::opt_strings(std::string_view key, std::size_t min,
                                                                 std::size_t max, const Pattern* pattern,
                                                                 bool unique) {
  if (!has(key)) return std::nullopt;
  auto v = strings(key, min, max, pattern, unique);
  return ok() ? std::optional<std::vector<std::string>>(std::move(v)) : std::nullopt;
}

const nlohmann::json* FieldReader::raw(std::string_view key) { return find(key); }

void FieldReader::close() {
  if (!ok() || !value_.is_object()) return;
  for (const auto& [key, value] : value_.items()) {  // nlohmann objects iterate in key order: deterministic
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      fail(kBadBody, key, "unknown field");
      return;
    }
  }
}

}  // namespace onebill::contracts
