// customs.decide and the queries other rules make about customs decisions.
#include "contracts/customs.h"

#include <algorithm>

#include "contracts/bill_rules.h"
#include "contracts/handlers.h"
#include "contracts/reasons.h"

namespace onebill::contracts {
namespace {

constexpr std::string_view kProcedures[] = {"export", "import", "transit"};

bool is_hold(const CustomsDecision& d) { return d.decision == "held" || d.decision == "inspection"; }

std::vector<std::string> containers_of(const Bill& bill) {
  std::vector<std::string> refs;
  for (const Equipment& e : bill.equipment) refs.push_back(e.ref);
  return refs;
}

std::string describe(const CustomsDecision& d, std::string_view ref) {
  std::string s = d.procedure + " " + d.decision + " (declaration " + d.declaration + ")";
  if (!ref.empty()) s.append(" on ").append(ref);
  return s;
}

}  // namespace

const CustomsDecision* decision_in_force(const std::vector<CustomsDecision>& decisions, std::string_view procedure,
                                         std::string_view ref) {
  const CustomsDecision* found = nullptr;
  for (const CustomsDecision& d : decisions) {
    if (d.procedure != procedure) continue;
    if (ref.empty() || d.equipment.empty() ||
        std::find(d.equipment.begin(), d.equipment.end(), ref) != d.equipment.end()) {
      found = &d;
    }
  }
  return found;
}

std::optional<std::string> customs_hold(const std::vector<CustomsDecision>& decisions,
                                        const std::vector<std::string>& containers) {
  for (std::string_view procedure : kProcedures) {
    if (containers.empty()) {
      const CustomsDecision* d = decision_in_force(decisions, procedure, "");
      if (d != nullptr && is_hold(*d)) return describe(*d, "");
    }
    for (const std::string& ref : containers) {
      const CustomsDecision* d = decision_in_force(decisions, procedure, ref);
      if (d != nullptr && is_hold(*d)) return describe(*d, ref);
    }
  }
  return std::nullopt;
}

std::optional<std::string> customs_hold(const Bill& bill) { return customs_hold(bill.customs, containers_of(bill)); }
std::optional<std::string> customs_hold(const Receipt& receipt) { return customs_hold(receipt.customs, {}); }

bool released_for_import(const Bill& bill) {
  return !bill.equipment.empty() && std::all_of(bill.equipment.begin(), bill.equipment.end(), [&](const auto& e) {
    const CustomsDecision* d = decision_in_force(bill.customs, "import", e.ref);
    return d != nullptr && d->decision == "released";
  });
}

bool cleared_to_leave(const Receipt& receipt) {
  if (!receipt.bonded) return true;
  for (std::string_view procedure : {"export", "transit"}) {
    const CustomsDecision* d = decision_in_force(receipt.customs, procedure, "");
    if (d != nullptr && d->decision == "released") return true;
  }
  return false;
}

bool pledge_needs_customs(const Bill& bill) { return !released_for_import(bill); }
bool pledge_needs_customs(const Receipt& receipt) { return receipt.bonded; }

namespace handlers {

// customs.decide on a bill or a receipt (docs/model.md, "Customs").
Status customs_decide(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  CustomsDecision d;
  d.procedure = r.choice("procedure", {"export", "import", "transit"});
  d.declaration = r.text("declaration", 64);
  d.decision = r.choice("decision", {"released", "held", "inspection"});
  d.equipment = r.opt_strings("equipment", 1, 500, &kContainerPattern).value_or(std::vector<std::string>{});
  r.close();
  if (error) return *error;
  if (auto s = c.require_role("customs", "customs.decide"); !s) return s;

  auto kind = c.kind_of(c.tx().doc);
  if (!kind) return kind.error();
  d.by = c.signer();
  d.height = c.height();
  d.tx = c.tx_id();
  std::sort(d.equipment.begin(), d.equipment.end());

  if (*kind == kind::kBill) {
    auto bill = c.load_bill(c.tx().doc);
    if (!bill) return bill.error();
    if (!bill_is_live(*bill)) return reject(reason::kBadState, "bill is " + bill->meta.status);
    for (const std::string& ref : d.equipment) {
      if (find_equipment(*bill, ref) == nullptr) {
        return reject(reason::kUnknownEquipment, "container " + ref + " is not on bill " + bill->meta.id);
      }
    }
    d.n = static_cast<std::int64_t>(bill->customs.size()) + 1;
    bill->customs.push_back(std::move(d));
    c.save(*bill);
    return {};
  }
  if (*kind == kind::kReceipt) {
    auto receipt = c.load_receipt(c.tx().doc);
    if (!receipt) return receipt.error();
    if (receipt->meta.status != receipt_status::kLive) return reject(reason::kBadState, "receipt is closed");
    if (!d.equipment.empty()) {
      return reject(reason::kUnknownEquipment, "a warehouse receipt lists no containers (" + d.equipment[0] + ")");
    }
    // An import release clears the goods: duty paid, they are no longer under bond.
    if (d.procedure == "import" && d.decision == "released") receipt->bonded = false;
    d.n = static_cast<std::int64_t>(receipt->customs.size()) + 1;
    receipt->customs.push_back(std::move(d));
    c.save(*receipt);
    return {};
  }
  return reject(reason::kDocNotFound, c.tx().doc + " is a " + *kind + ", not a bill or a receipt");
}

}  // namespace handlers
}  // namespace onebill::contracts
