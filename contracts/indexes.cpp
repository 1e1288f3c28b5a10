#include "contracts/indexes.h"

#include "contracts/bill_rules.h"
#include "contracts/documents.h"
#include "contracts/state.h"

namespace onebill::contracts {

Result<std::vector<std::pair<std::string, std::string>>> index_records(const nlohmann::json& doc) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto kind_it = doc.is_object() ? doc.find("kind") : doc.end();
  if (kind_it == doc.end() || !kind_it->is_string()) return out;
  const auto& kind_name = kind_it->get_ref<const std::string&>();
  if (kind_name == kind::kBill) {
    auto bill = bill_from_json(doc);
    if (!bill) return bill.error();
    if (bill_is_live(*bill)) {
      for (const Equipment& e : bill->equipment) out.emplace_back(keys::equipment(e.ref), bill->meta.id);
    }
  } else if (kind_name == kind::kReceipt) {
    auto receipt = receipt_from_json(doc);
    if (!receipt) return receipt.error();
    if (receipt->meta.status == receipt_status::kLive) {
      out.emplace_back(keys::lot(receipt->meta.issuer, receipt->lot), receipt->meta.id);
    }
  } else if (kind_name == kind::kPledge) {
    auto pledge = pledge_from_json(doc);
    if (!pledge) return pledge.error();
    if (pledge->meta.status == pledge_status::kActive) {
      out.emplace_back(keys::active_pledge(pledge->collateral), pledge->meta.id);
    }
  }
  return out;
}

}  // namespace onebill::contracts
