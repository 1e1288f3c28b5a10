// The listing index's view of a document: its top-level kind, holder and status (GET /v1/documents?holder=&
// status=&type=). The ledger reads them from each written document before and after a block and moves the
// document's index entries (node/ledger/ledger.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace onebill::node {

struct Listed {
  std::string kind, holder, status;  // "" when absent or not a string
};

// The three fields of a JSON object; nullopt when `doc` is not a JSON object. Tries a scanner that skips values
// without decoding them first (documents are the contracts' canonical JSON) and falls back to a full SAX parse.
std::optional<Listed> listed(std::string_view doc);

// The listing index's fields, by name, with the member that holds each: what the index keys of a document are made
// of (key::listing(name, value, doc) for each non-empty value).
inline constexpr std::pair<const char*, std::string Listed::*> kListedFields[] = {
    {"kind", &Listed::kind}, {"holder", &Listed::holder}, {"status", &Listed::status}};

// The full SAX parse alone (for tests that check the fast path gives the same answer).
std::optional<Listed> listed_by_parser(std::string_view doc);

}  // namespace onebill::node
