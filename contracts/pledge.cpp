// Pledges: a loan secured on a bill or a warehouse receipt (docs/model.md, "Pledge").
#include <variant>

#include "contracts/bill_rules.h"
#include "contracts/customs.h"
#include "contracts/handlers.h"
#include "contracts/identifiers.h"
#include "contracts/reasons.h"

namespace onebill::contracts::handlers {
namespace {

// A bill or a receipt seen as collateral.
class Collateral {
 public:
  explicit Collateral(std::variant<Bill, Receipt> doc) : doc_(std::move(doc)) {}

  DocMeta& meta() { return std::visit([](auto& d) -> DocMeta& { return d.meta; }, doc_); }
  std::optional<std::string>& pledge() {
    return std::visit([](auto& d) -> std::optional<std::string>& { return d.pledge; }, doc_);
  }
  std::vector<std::string>& pledges() {
    return std::visit([](auto& d) -> std::vector<std::string>& { return d.pledges; }, doc_);
  }
  std::vector<Endorsement>& endorsements() {
    return std::visit([](auto& d) -> std::vector<Endorsement>& { return d.endorsements; }, doc_);
  }
  std::string_view kind() const { return std::holds_alternative<Bill>(doc_) ? kind::kBill : kind::kReceipt; }

  // bad_state when the collateral cannot be pledged now, whoever holds it.
  Status pledgeable() const {
    if (const Bill* b = std::get_if<Bill>(&doc_)) {
      if (!bill_is_negotiable(*b)) return reject(reason::kBadState, "bill " + b->meta.id + " is " + b->meta.status);
      return {};
    }
    const Receipt& w = std::get<Receipt>(doc_);
    if (w.meta.status != receipt_status::kLive) return reject(reason::kBadState, "receipt " + w.meta.id + " is closed");
    for (const Withdrawal& x : w.withdrawals) {
      if (x.status == "pending") return reject(reason::kBadState, "a withdrawal from " + w.meta.id + " is pending");
    }
    return {};
  }
  bool needs_customs() const {
    return std::visit([](const auto& d) { return pledge_needs_customs(d); }, doc_);
  }
  bool open_discrepancy() const {
    const Bill* b = std::get_if<Bill>(&doc_);
    return b != nullptr && has_open_discrepancy(*b);
  }
  std::optional<std::string> hold() const {
    return std::visit([](const auto& d) { return customs_hold(d); }, doc_);
  }
  void save(TxContext& c) {
    std::visit([&c](auto& d) { c.save(d); }, doc_);
  }

 private:
  std::variant<Bill, Receipt> doc_;
};

Result<Collateral> load_collateral(TxContext& c, const std::string& id) {
  auto kind = c.kind_of(id);
  if (!kind) return kind.error();
  if (*kind == kind::kBill) {
    auto b = c.load_bill(id);
    if (!b) return b.error();
    return Collateral(std::move(b.value()));
  }
  if (*kind == kind::kReceipt) {
    auto w = c.load_receipt(id);
    if (!w) return w.error();
    return Collateral(std::move(w.value()));
  }
  return reject(reason::kDocNotFound, id + " is a " + *kind + ", not a bill or a receipt");
}

bool before_acceptance(const Pledge& p) {
  return p.meta.status == pledge_status::kRequested || p.meta.status == pledge_status::kApproved;
}

Status require_bank(const TxContext& c, const Pledge& p) {
  if (c.signer() == p.bank) return {};
  return reject(reason::kWrongRole, "only the named bank " + p.bank + " may act on pledge " + p.meta.id);
}

Status empty_body(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  r.close();
  if (error) return *error;
  return {};
}

// Loads the pledge in tx.doc after checking an empty body.
Result<Pledge> load_for_action(TxContext& c) {
  if (auto s = empty_body(c); !s) return s.error();
  return c.load_pledge(c.tx().doc);
}

void close_pledge(TxContext& c, Pledge& p, std::string_view status) {
  p.meta.status = std::string(status);
  p.closed = c.height();
  c.save(p);
  c.note_document(p.collateral);
}

// release / enforce: the pledge ends and the collateral unlocks (after `change`, e.g. a new holder).
template <class F>
Status end_active(TxContext& c, std::string_view status, F&& change) {
  auto p = load_for_action(c);
  if (!p) return p.error();
  if (auto s = require_bank(c, *p); !s) return s;
  if (p->meta.status != pledge_status::kActive) {
    return reject(reason::kBadState, "pledge " + p->meta.id + " is " + p->meta.status + ", not active");
  }
  auto col = load_collateral(c, p->collateral);
  if (!col) return col.error();
  change(*col, *p);
  col->pledge().reset();
  c.erase(keys::active_pledge(p->collateral));
  col->save(c);
  close_pledge(c, *p, status);
  return {};
}

}  // namespace

Status pledge_request(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  Pledge p;
  p.collateral = r.matching("collateral", kDocIdPattern);
  p.bank = r.matching("bank", kOrgIdPattern);
  p.amount = r.money("amount", 1);
  p.due = r.matching("due", kDatePattern);
  if (r.ok() && p.due < date_from_millis(c.block().time_ms)) r.fail(reason::kBadBody, "due", "in the past");
  if (r.ok() && p.bank == c.signer()) r.fail(reason::kBadBody, "bank", "a pledgor cannot lend to itself");
  r.close();
  if (error) return *error;
  if (!c.members().has_role(p.bank, "bank")) return reject(reason::kWrongRole, p.bank + " is not an active bank");
  if (c.doc_exists(c.tx().doc)) return reject(reason::kDocExists, "document " + c.tx().doc + " exists");

  auto col = load_collateral(c, p.collateral);
  if (!col) return col.error();
  if (col->meta().holder != c.signer()) {
    return reject(reason::kNotHolder, c.signer() + " does not hold " + p.collateral + " (" + col->meta().holder + " does)");
  }
  if (col->pledge()) return reject(reason::kAlreadyPledged, p.collateral + " is pledged under " + *col->pledge());
  if (auto s = col->pledgeable(); !s) return s;

  p.meta = c.new_meta(kind::kPledge, std::string(pledge_status::kRequested), p.bank);
  p.pledgor = c.signer();
  p.collateral_kind = std::string(col->kind());
  c.save(p);
  c.note_document(p.collateral);
  return {};
}

Status pledge_approve(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const bool approve = r.boolean("approve");
  const std::string reference = r.text("reference", 64);
  r.close();
  if (error) return *error;
  if (auto s = c.require_role("customs", "pledge.approve"); !s) return s;

  auto p = c.load_pledge(c.tx().doc);
  if (!p) return p.error();
  if (p->meta.status != pledge_status::kRequested) {
    return reject(reason::kBadState, "pledge " + p->meta.id + " is " + p->meta.status + ", not requested");
  }
  p->approvals.push_back(PledgeApproval{c.signer(), approve, reference, c.height()});
  if (approve) {
    p->meta.status = std::string(pledge_status::kApproved);
    c.save(*p);
    c.note_document(p->collateral);
  } else {
    close_pledge(c, *p, pledge_status::kDeclined);
  }
  return {};
}

Status pledge_accept(TxContext& c) {
  auto p = load_for_action(c);
  if (!p) return p.error();
  if (auto s = require_bank(c, *p); !s) return s;
  if (!before_acceptance(*p)) {
    return reject(reason::kBadState, "pledge " + p->meta.id + " is " + p->meta.status);
  }
  if (p->due < date_from_millis(c.block().time_ms)) {
    return reject(reason::kBadState, "pledge " + p->meta.id + " fell due on " + p->due);
  }
  auto col = load_collateral(c, p->collateral);
  if (!col) return col.error();
  if (col->meta().holder != p->pledgor) {
    return reject(reason::kNotHolder, p->pledgor + " no longer holds " + p->collateral);
  }
  if (col->pledge()) return reject(reason::kAlreadyPledged, p->collateral + " is pledged under " + *col->pledge());
  if (auto s = col->pledgeable(); !s) return s;
  if (p->meta.status != pledge_status::kApproved && col->needs_customs()) {
    return reject(reason::kCustomsApprovalRequired, p->collateral + " is bonded goods: customs must approve the pledge");
  }
  if (col->open_discrepancy()) return reject(reason::kOpenDiscrepancy, p->collateral + " has an open discrepancy");
  if (auto hold = col->hold()) return reject(reason::kCustomsHold, "customs hold: " + *hold);

  p->meta.status = std::string(pledge_status::kActive);
  p->activated = c.height();
  col->pledge() = p->meta.id;
  col->pledges().push_back(p->meta.id);
  c.put(keys::active_pledge(p->collateral), p->meta.id);
  col->save(c);
  c.save(*p);
  return {};
}

Status pledge_decline(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const auto note = r.opt_text("note", kMaxLongText);
  r.close();
  if (error) return *error;
  auto p = c.load_pledge(c.tx().doc);
  if (!p) return p.error();
  if (auto s = require_bank(c, *p); !s) return s;
  if (!before_acceptance(*p)) return reject(reason::kBadState, "pledge " + p->meta.id + " is " + p->meta.status);
  p->note = note;
  close_pledge(c, *p, pledge_status::kDeclined);
  return {};
}

Status pledge_cancel(TxContext& c) {
  auto p = load_for_action(c);
  if (!p) return p.error();
  if (c.signer() != p->pledgor) {
    return reject(reason::kWrongRole, "only the pledgor " + p->pledgor + " may cancel pledge " + p->meta.id);
  }
  if (!before_acceptance(*p)) return reject(reason::kBadState, "pledge " + p->meta.id + " is " + p->meta.status);
  close_pledge(c, *p, pledge_status::kCancelled);
  return {};
}

Status pledge_release(TxContext& c) {
  return end_active(c, pledge_status::kReleased, [](Collateral&, const Pledge&) {});
}

Status pledge_enforce(TxContext& c) {
  return end_active(c, pledge_status::kEnforced, [&c](Collateral& col, const Pledge& p) {
    c.transfer(col.meta(), col.endorsements(), p.bank, "pledge.enforce");
  });
}

}  // namespace onebill::contracts::handlers
