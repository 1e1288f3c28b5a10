#include "contracts/identifiers.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace onebill::contracts {
namespace {

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_upper(c) || is_lower(c) || is_digit(c); }

// Active ISO 4217 codes (list one, current as of 2025), sorted. Left out on purpose: funds codes (BOV, CHE, CHW,
// CLF, COU, MXV, USN, UYI, UYW), precious metals and units of account (XAG, XAU, XBA-XBD, XDR, XPD, XPT, XSU, XUA),
// testing and "no currency" (XTS, XXX), and withdrawn codes (ANG after XCG, CUC, HRK, SLL, ZWL after ZWG).
constexpr std::string_view kCurrencies[] = {
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP",
    "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
    "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK",
    "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP",
    "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG",
    "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
};
static_assert(std::is_sorted(std::begin(kCurrencies), std::end(kCurrencies)));

// ISO 6346 letter values: A=10, then counting up but skipping multiples of 11 (11, 22, 33).
int iso6346_letter_value(char c) {
  int v = 10;
  for (char l = 'A'; l < c; ++l) {
    ++v;
    if (v % 11 == 0) ++v;
  }
  return v;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

int digits(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// Howard Hinnant's days_from_civil / civil_from_days (public domain), integer arithmetic only.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

bool is_doc_id(std::string_view s) {
  if (s.empty() || s.size() > 64 || !is_alnum(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == ':' || c == '-'; });
}

bool is_org_id(std::string_view s) {
  if (s.empty() || s.size() > 32 || !(is_lower(s[0]) || is_digit(s[0]))) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '-'; });
}

std::string_view key_org(std::string_view key_id) {
  const auto slash = key_id.find('/');
  return slash == std::string_view::npos ? std::string_view{} : key_id.substr(0, slash);
}

bool is_key_id(std::string_view s) {
  const auto slash = s.find('/');
  if (slash == std::string_view::npos || !is_org_id(s.substr(0, slash))) return false;
  const std::string_view name = s.substr(slash + 1);
  if (name.empty() || name.size() > 64 || !is_alnum(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [](char c) { return is_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::optional<int> iso6346_check_digit(std::string_view s) {
  if (s.size() != 10) return std::nullopt;
  long sum = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const char c = s[i];
    int v = 0;
    if (i < 4) {
      if (!is_upper(c)) return std::nullopt;
      v = iso6346_letter_value(c);
    } else {
      if (!is_digit(c)) return std::nullopt;
      v = c - '0';
    }
    sum += static_cast<long>(v) << i;
  }
  return static_cast<int>(sum % 11 % 10);
}

bool is_container_number(std::string_view s) {
  if (s.size() != 11 || !is_digit(s[10])) return false;
  const char category = s[3];
  if (category != 'U' && category != 'J' && category != 'Z') return false;
  const auto check = iso6346_check_digit(s.substr(0, 10));
  return check && *check == s[10] - '0';
}

bool is_iso_size_type(std::string_view s) {
  return s.size() == 4 && std::all_of(s.begin(), s.end(), [](char c) { return is_upper(c) || is_digit(c); });
}

bool is_locode(std::string_view s) {
  if (s.size() != 5 || !is_upper(s[0]) || !is_upper(s[1])) return false;
  return std::all_of(s.begin() + 2, s.end(), [](char c) { return is_upper(c) || (c >= '2' && c <= '9'); });
}

bool is_hs_code(std::string_view s) {
  return s.size() >= 6 && s.size() <= 10 && std::all_of(s.begin(), s.end(), is_digit);
}

bool is_currency(std::string_view s) {
  return std::binary_search(std::begin(kCurrencies), std::end(kCurrencies), s);
}

bool is_date(std::string_view s) { return days_from_date(s).has_value(); }

std::optional<std::int64_t> days_from_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!is_digit(s[i])) return std::nullopt;
  }
  const int y = digits(s.substr(0, 4));
  const int m = digits(s.substr(5, 2));
  const int d = digits(s.substr(8, 2));
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

std::string date_from_millis(std::int64_t ms) {
  std::int64_t days = ms / 86'400'000;
  if (ms % 86'400'000 < 0) --days;  // floor for times before 1970
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y0 = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = y0 + (m <= 2 ? 1 : 0);
  std::string out(10, '0');
  auto put = [&out](std::size_t at, std::size_t width, std::int64_t v) {
    for (std::size_t i = 0; i < width; ++i) {
      out[at + width - 1 - i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, 4, y < 0 ? 0 : y);
  out[4] = '-';
  put(5, 2, m);
  out[7] = '-';
  put(8, 2, d);
  return out;
}

}  // namespace onebill::contracts
