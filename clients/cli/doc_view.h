// Documents (GET /v1/documents/{id}) and histories as text for people. The field names are those of
// contracts/documents.h (docs/model.md); unknown kinds and fields still print, as JSON.
#pragma once

#include <iosfwd>

#include <nlohmann/json.hpp>

namespace onebill::clients::cli {

void render_document(std::ostream& out, const nlohmann::json& doc);
// items of GET /v1/documents/{id}/history as a timeline table.
void render_history(std::ostream& out, const std::string& doc, const nlohmann::json& items);

}  // namespace onebill::clients::cli
