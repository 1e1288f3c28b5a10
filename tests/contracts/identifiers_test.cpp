// Identifier validators (TRANSACTIONS.md, "Common rules").
#include <catch2/catch.hpp>

#include "contracts/identifiers.h"

using namespace onebill::contracts;

TEST_CASE("contracts: document and organisation ids follow the catalogue's patterns", "[contracts][ids]") {
  CHECK(is_doc_id("OB-2026-000001"));
  CHECK(is_doc_id("a"));
  CHECK(is_doc_id("WR:TJ.2026_01-x"));
  CHECK(is_doc_id(std::string(64, 'A')));
  CHECK_FALSE(is_doc_id(std::string(65, 'A')));
  CHECK_FALSE(is_doc_id(""));
  CHECK_FALSE(is_doc_id("-leading"));
  CHECK_FALSE(is_doc_id(".x"));
  CHECK_FALSE(is_doc_id("has space"));
  CHECK_FALSE(is_doc_id("slash/no"));
  CHECK_FALSE(is_doc_id("\xc3\xa9t\xc3\xa9"));

  CHECK(is_org_id("crct"));
  CHECK(is_org_id("0bank_1-x"));
  CHECK(is_org_id(std::string(32, 'a')));
  CHECK_FALSE(is_org_id(std::string(33, 'a')));
  CHECK_FALSE(is_org_id("Crct"));
  CHECK_FALSE(is_org_id("_crct"));
  CHECK_FALSE(is_org_id("cr.ct"));
  CHECK_FALSE(is_org_id(""));

  CHECK(is_key_id("crct/k1"));
  CHECK(key_org("crct/k1") == "crct");
  CHECK_FALSE(is_key_id("crct"));
  CHECK_FALSE(is_key_id("crct/"));
  CHECK_FALSE(is_key_id("CRCT/k1"));
  CHECK_FALSE(is_key_id("crct/k1/x"));
}

TEST_CASE("contracts: ISO 6346 container numbers are checked by their check digit", "[contracts][ids]") {
  CHECK(is_container_number("CSQU3054383"));  // the catalogue's example
  CHECK(iso6346_check_digit("CSQU305438") == 3);
  CHECK(is_container_number("MSCU1234566"));
  CHECK(is_container_number("TGHU7654320"));  // remainder 10 counts as 0
  for (char d = '0'; d <= '9'; ++d) {
    if (d != '3') CHECK_FALSE(is_container_number(std::string("CSQU305438") + d));
  }
  CHECK_FALSE(is_container_number("CSQX3054383"));  // category must be U, J or Z
  CHECK_FALSE(is_container_number("CSQU305438"));   // too short
  CHECK_FALSE(is_container_number("csqu3054383"));
  CHECK_FALSE(is_container_number("CSQU30543833"));
  CHECK_FALSE(is_container_number("CSQU30A4383"));
  CHECK(is_iso_size_type("45G1"));
  CHECK(is_iso_size_type("L5G1"));
  CHECK_FALSE(is_iso_size_type("45g1"));
  CHECK_FALSE(is_iso_size_type("45G"));
}

TEST_CASE("contracts: UN/LOCODE, HS codes and currencies", "[contracts][ids]") {
  for (const char* code : {"CNTSN", "KZDZH", "CNAKL", "DEDUI", "PLMAL", "KRPUS", "USNY2", "GBLO9"}) {
    CHECK(is_locode(code));
  }
  CHECK_FALSE(is_locode("CNTS"));
  CHECK_FALSE(is_locode("CN TSN"));
  CHECK_FALSE(is_locode("cntsn"));
  CHECK_FALSE(is_locode("CNTS1"));  // 0 and 1 are not allowed (confusable with O and I)
  CHECK_FALSE(is_locode("CNTS0"));
  CHECK_FALSE(is_locode("C1TSN"));

  CHECK(is_hs_code("850760"));
  CHECK(is_hs_code("8507600010"));
  CHECK_FALSE(is_hs_code("85076"));
  CHECK_FALSE(is_hs_code("85076000101"));
  CHECK_FALSE(is_hs_code("8507.60"));

  for (const char* ccy : {"CNY", "EUR", "USD", "KZT", "PLN", "KRW", "RUB", "JPY", "XCG", "ZWG", "SLE", "VED"}) {
    CHECK(is_currency(ccy));
  }
  for (const char* ccy : {"XXX", "XTS", "XAU", "XDR", "BOV", "HRK", "ANG", "SLL", "ZWL", "cny", "CN", "CNYY", "RMB"}) {
    CHECK_FALSE(is_currency(ccy));
  }
}

TEST_CASE("contracts: dates are real calendar dates", "[contracts][ids]") {
  CHECK(is_date("2026-11-25"));
  CHECK(is_date("2024-02-29"));
  CHECK(is_date("2000-02-29"));
  CHECK_FALSE(is_date("1900-02-29"));
  CHECK_FALSE(is_date("2026-02-29"));
  CHECK_FALSE(is_date("2026-04-31"));
  CHECK_FALSE(is_date("2026-13-01"));
  CHECK_FALSE(is_date("2026-00-10"));
  CHECK_FALSE(is_date("2026-1-01"));
  CHECK_FALSE(is_date("2026/11/25"));
  CHECK_FALSE(is_date("0000-01-01"));
  CHECK(days_from_date("1970-01-01") == 0);
  CHECK(days_from_date("2026-11-25") == 20782);
  CHECK(date_from_millis(0) == "1970-01-01");
  CHECK(date_from_millis(1795600800000) == "2026-11-25");
  CHECK(date_from_millis(-1) == "1969-12-31");
  CHECK(date_from_millis(951782400000) == "2000-02-29");
}
