// Warehouse receipts: issue, endorse, withdraw, release (docs/model.md, "Warehouse receipt").
#include <algorithm>

#include "contracts/customs.h"
#include "contracts/handlers.h"
#include "contracts/reasons.h"

namespace onebill::contracts::handlers {
namespace {

bool is_unit(std::string_view s) {  // a UN/ECE Recommendation 20 unit code such as KGM, PCE, CT, TNE
  return !s.empty() && s.size() <= 8 &&
         std::all_of(s.begin(), s.end(), [](char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'); });
}
const Pattern kUnitPattern{is_unit, reason::kBadBody, "a unit code (UN/ECE Rec. 20, e.g. KGM, PCE)"};

Status require_holder(const TxContext& c, const Receipt& w) {
  if (c.signer() == w.meta.holder) return {};
  return reject(reason::kNotHolder, c.signer() + " does not hold receipt " + w.meta.id + " (" + w.meta.holder + " does)");
}

Status not_pledged(const Receipt& w) {
  if (!w.pledge) return {};
  return reject(reason::kPledged, "receipt " + w.meta.id + " is pledged under " + *w.pledge);
}

Status live(const Receipt& w) {
  if (w.meta.status == receipt_status::kLive) return {};
  return reject(reason::kBadState, "receipt " + w.meta.id + " is " + w.meta.status);
}

std::int64_t pending_quantity(const Receipt& w) {
  std::int64_t sum = 0;
  for (const Withdrawal& x : w.withdrawals) {
    if (x.status == "pending") sum += x.quantity;
  }
  return sum;
}

}  // namespace

Status receipt_issue(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  Receipt w;
  const std::string holder = r.matching("holder", kOrgIdPattern);
  c.check_party(r, "holder", holder);
  r.object("goods", [&w](FieldReader& g) {
    w.goods.description = g.text("description", kMaxLongText);
    w.goods.hs = g.matching("hs", kHsPattern);
    w.goods.quantity = g.integer("quantity", 1, kMaxInteger);
    w.goods.unit = g.matching("unit", kUnitPattern);
    w.goods.gross_kg = g.integer("gross_kg", 1, kMaxInteger);
  });
  w.goods.remaining = w.goods.quantity;
  w.location = r.matching("location", kLocodePattern);
  w.lot = r.matching("lot", kDocIdPattern);
  w.bonded = r.boolean("bonded");
  w.source_bill = r.opt_matching("source_bill", kDocIdPattern);
  r.close();
  if (error) return *error;

  if (auto s = c.require_role("warehouse", "receipt.issue"); !s) return s;
  if (c.doc_exists(c.tx().doc)) return reject(reason::kDocExists, "document " + c.tx().doc + " exists");
  if (auto other = c.get(keys::lot(c.signer(), w.lot))) {
    return reject(reason::kLotInUse, "lot " + w.lot + " of " + c.signer() + " backs live receipt " + *other);
  }
  if (w.source_bill) {
    auto bill = c.load_bill(*w.source_bill);
    if (!bill) return bill.error();
    if (bill->meta.status != bill_status::kSurrenderedDelivery && bill->meta.status != bill_status::kAccomplished) {
      return reject(reason::kBadState, "source bill " + bill->meta.id + " is " + bill->meta.status +
                                           ", not surrendered for delivery or accomplished");
    }
    c.note_document(*w.source_bill);
  }

  w.meta = c.new_meta(kind::kReceipt, std::string(receipt_status::kLive), holder);
  c.put(keys::lot(c.signer(), w.lot), w.meta.id);
  c.save(w);
  return {};
}

Status receipt_endorse(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::string to = r.matching("to", kOrgIdPattern);
  c.check_party(r, "to", to);
  r.close();
  if (error) return *error;

  auto w = c.load_receipt(c.tx().doc);
  if (!w) return w.error();
  if (auto s = require_holder(c, *w); !s) return s;
  if (auto s = not_pledged(*w); !s) return s;
  if (auto s = live(*w); !s) return s;
  if (pending_quantity(*w) > 0) return reject(reason::kBadState, "a withdrawal from " + w->meta.id + " is pending");
  if (to == w->meta.holder) return reject(reason::kBadBody, "body.to: " + to + " already holds the receipt");

  c.transfer(w->meta, w->endorsements, to, "endorse");
  c.save(*w);
  return {};
}

Status receipt_withdraw(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::int64_t quantity = r.integer("quantity", 1, kMaxInteger);
  r.close();
  if (error) return *error;

  auto w = c.load_receipt(c.tx().doc);
  if (!w) return w.error();
  if (auto s = require_holder(c, *w); !s) return s;
  if (auto s = not_pledged(*w); !s) return s;
  if (auto s = live(*w); !s) return s;
  const std::int64_t available = w->goods.remaining - pending_quantity(*w);
  if (quantity > available) {
    return reject(reason::kQuantityExceeded, "asked " + std::to_string(quantity) + ", " + std::to_string(available) +
                                                 " " + w->goods.unit + " remain not yet asked for");
  }
  const auto n = static_cast<std::int64_t>(w->withdrawals.size()) + 1;
  w->withdrawals.push_back(Withdrawal{n, quantity, c.signer(), c.height(), "pending", std::nullopt});
  c.save(*w);
  return {};
}

Status receipt_release(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::int64_t quantity = r.integer("quantity", 1, kMaxInteger);
  r.close();
  if (error) return *error;

  auto w = c.load_receipt(c.tx().doc);
  if (!w) return w.error();
  if (c.signer() != w->meta.issuer) {
    return reject(reason::kWrongRole, "only the warehouse " + w->meta.issuer + " releases goods of " + w->meta.id);
  }
  if (auto s = live(*w); !s) return s;
  if (auto s = not_pledged(*w); !s) return s;
  const auto pending = std::find_if(w->withdrawals.begin(), w->withdrawals.end(), [quantity](const Withdrawal& x) {
    return x.status == "pending" && x.quantity == quantity;
  });
  if (pending == w->withdrawals.end()) {
    return reject(reason::kNoPendingWithdrawal, "no pending withdrawal of " + std::to_string(quantity));
  }
  if (!cleared_to_leave(*w)) {
    return reject(reason::kCustomsNotReleased, "bonded goods need a customs release (import, export or transit)");
  }
  if (auto hold = customs_hold(*w)) return reject(reason::kCustomsHold, "customs hold: " + *hold);

  pending->status = "released";
  pending->released = c.height();
  w->goods.remaining -= quantity;
  if (w->goods.remaining == 0) {
    w->meta.status = std::string(receipt_status::kClosed);
    c.erase(keys::lot(w->meta.issuer, w->lot));
  }
  c.save(*w);
  return {};
}

}  // namespace onebill::contracts::handlers
