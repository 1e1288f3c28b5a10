// bill.issue: a multimodal transport document comes into being (docs/model.md, "bill.issue").
#include <algorithm>

#include "contracts/bill_rules.h"
#include "contracts/handlers.h"
#include "contracts/reasons.h"

namespace onebill::contracts::handlers {

namespace {
constexpr std::int64_t kMaxKg = 1'000'000'000;  // a cargo line of up to a million tonnes: bounds integer sums
}  // namespace

Status bill_issue(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  Bill b;
  b.document_type = r.choice("document_type", {"BOL", "SWB"});
  b.to_order = r.boolean("to_order");
  b.parties.shipper = r.matching("shipper", kOrgIdPattern);
  c.check_party(r, "shipper", b.parties.shipper);
  b.parties.consignee = r.opt_matching("consignee", kOrgIdPattern);
  if (b.parties.consignee) c.check_party(r, "consignee", *b.parties.consignee);
  b.parties.notify = r.strings("notify", 0, 16, &kOrgIdPattern);
  for (std::size_t i = 0; i < b.parties.notify.size(); ++i) {
    c.check_party(r, "notify[" + std::to_string(i) + "]", b.parties.notify[i]);
  }
  const std::string holder = r.matching("holder", kOrgIdPattern);
  c.check_party(r, "holder", holder);
  b.place_of_receipt = r.matching("place_of_receipt", kLocodePattern);
  b.place_of_delivery = r.matching("place_of_delivery", kLocodePattern);
  b.legs = read_legs(r, "legs");
  r.objects("equipment", 1, 500, [&b](FieldReader& e, std::size_t) {
    Equipment eq;
    eq.ref = e.matching("ref", kContainerPattern);
    if (e.ok() && find_equipment(b, eq.ref) != nullptr) e.fail(reason::kBadBody, "ref", "container listed twice");
    eq.iso_code = e.matching("iso_code", kIsoTypePattern);
    eq.seals = e.strings("seals", 0, 8, nullptr);
    eq.current_seals = eq.seals;
    std::sort(eq.current_seals.begin(), eq.current_seals.end());
    b.equipment.push_back(std::move(eq));
  });
  r.objects("cargo", 1, 1000, [&b](FieldReader& l, std::size_t) {
    CargoLine line;
    line.description = l.text("description", kMaxLongText);
    line.hs = l.matching("hs", kHsPattern);
    line.packages = l.integer("packages", 1, kMaxKg);
    line.gross_kg = l.integer("gross_kg", 1, kMaxKg);
    line.equipment_ref = l.matching("equipment_ref", kContainerPattern);
    if (l.ok() && find_equipment(b, line.equipment_ref) == nullptr) {
      l.fail(reason::kUnknownEquipment, "equipment_ref", "container " + line.equipment_ref + " is not listed");
    }
    b.cargo.push_back(std::move(line));
  });
  b.declared_value = r.opt_money("declared_value", 0);
  r.close();
  if (error) return *error;
  if (b.document_type == "SWB" && b.to_order) {
    return reject(reason::kBadBody, "body.to_order: a sea waybill (SWB) cannot be to order");
  }
  if (!b.to_order && !b.parties.consignee) {
    return reject(reason::kBadBody, "body.consignee: required unless the bill is to order");
  }

  if (auto s = c.require_role("mto", "bill.issue"); !s) return s;
  if (c.doc_exists(c.tx().doc)) return reject(reason::kDocExists, "document " + c.tx().doc + " exists");
  if (auto s = check_route(b.legs, b.place_of_receipt, b.place_of_delivery, c.members()); !s) return s;
  for (const Equipment& e : b.equipment) {
    if (auto other = c.get(keys::equipment(e.ref))) {
      return reject(reason::kEquipmentInUse, "container " + e.ref + " is on live bill " + *other);
    }
  }

  b.meta = c.new_meta(kind::kBill, std::string(bill_status::kIssued), holder);
  for (const Equipment& e : b.equipment) c.put(keys::equipment(e.ref), b.meta.id);
  c.save(std::move(b));
  return {};
}

}  // namespace onebill::contracts::handlers
