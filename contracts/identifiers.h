// Validators for the identifiers the catalogue checks instead of trusting (TRANSACTIONS.md, "Common rules").
//
// All functions are pure, total (any input, no exceptions) and locale-independent: they look at bytes, never at
// the C locale, and implement the patterns by hand (no std::regex).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace onebill::contracts {

// ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$ — documents (bills, receipts, pledges, proposals) and warehouse lots.
bool is_doc_id(std::string_view s);
// ^[a-z0-9][a-z0-9_-]{0,31}$ — organisations (and nodes).
bool is_org_id(std::string_view s);
// "org/name": an organisation id, '/', and a name matching ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
bool is_key_id(std::string_view s);
// The organisation part of a key id ("crct/k1" -> "crct"); empty if there is no '/'.
std::string_view key_org(std::string_view key_id);

// ISO 6346 container number: 3-letter owner code, category U/J/Z, 6-digit serial, check digit (CSQU3054383).
bool is_container_number(std::string_view s);
// The ISO 6346 check digit of the first 10 characters (owner, category, serial), or nullopt if they are malformed.
std::optional<int> iso6346_check_digit(std::string_view first10);
// ISO 6346 size-and-type code: 4 characters of 0-9 / A-Z (for example "22G1", "45G1", "L5G1").
bool is_iso_size_type(std::string_view s);

// UN/LOCODE as written without the space: 2 letters A-Z (country) + 3 of A-Z or 2-9 (place), e.g. "CNTSN".
bool is_locode(std::string_view s);
// Harmonized System code: 6 to 10 ASCII digits, no dots.
bool is_hs_code(std::string_view s);
// An active ISO 4217 currency usable for money (funds codes, precious metals and testing codes excluded).
bool is_currency(std::string_view s);

// A calendar date YYYY-MM-DD (proleptic Gregorian, years 0001-9999, leap years checked).
bool is_date(std::string_view s);
// Days since 1970-01-01 of a date that is_date() accepts; nullopt otherwise.
std::optional<std::int64_t> days_from_date(std::string_view s);
// The UTC calendar date (YYYY-MM-DD) of a time in milliseconds since the Unix epoch (negative allowed).
std::string date_from_millis(std::int64_t ms);

}  // namespace onebill::contracts
