// A bill's life after issue: endorse, resolve, surrender, answer, amend, deliver, void (docs/model.md, "Bill").
#include <algorithm>

#include "contracts/bill_rules.h"
#include "contracts/customs.h"
#include "contracts/handlers.h"
#include "contracts/reasons.h"

namespace onebill::contracts::handlers {
namespace {

Status require_issuer(const TxContext& c, const Bill& b, std::string_view action) {
  if (c.signer() == b.meta.issuer) return {};
  return reject(reason::kWrongRole, "only the issuer " + b.meta.issuer + " may " + std::string(action));
}

Status require_holder(const TxContext& c, const Bill& b) {
  if (c.signer() == b.meta.holder) return {};
  return reject(reason::kNotHolder, c.signer() + " does not hold bill " + b.meta.id + " (" + b.meta.holder + " does)");
}

Status not_pledged(const Bill& b) {
  if (!b.pledge) return {};
  return reject(reason::kPledged, "bill " + b.meta.id + " is pledged under " + *b.pledge);
}

bool pending_surrender(const Bill& b) {
  return b.meta.status == bill_status::kPendingDelivery || b.meta.status == bill_status::kPendingAmendment;
}

Status negotiable(const Bill& b) {
  if (pending_surrender(b)) return reject(reason::kBadState, "a surrender of bill " + b.meta.id + " is pending");
  if (!bill_is_negotiable(b)) return reject(reason::kBadState, "bill " + b.meta.id + " is " + b.meta.status);
  return {};
}

}  // namespace

Status bill_endorse(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::string to = r.matching("to", kOrgIdPattern);
  c.check_party(r, "to", to);
  r.close();
  if (error) return *error;

  auto b = c.load_bill(c.tx().doc);
  if (!b) return b.error();
  if (auto s = require_holder(c, *b); !s) return s;
  if (!b->to_order) return reject(reason::kBadState, "bill " + b->meta.id + " is not to order: it cannot be endorsed");
  if (auto s = not_pledged(*b); !s) return s;
  if (auto s = negotiable(*b); !s) return s;
  if (to == b->meta.holder) return reject(reason::kBadBody, "body.to: " + to + " already holds the bill");

  c.transfer(b->meta, b->endorsements, to, "endorse");
  c.save(*b);
  return {};
}

Status bill_resolve(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::int64_t n = r.integer("discrepancy", 1, kMaxInteger);
  const std::string note = r.text("note", kMaxLongText);
  r.close();
  if (error) return *error;

  auto b = c.load_bill(c.tx().doc);
  if (!b) return b.error();
  if (auto s = require_issuer(c, *b, "resolve a discrepancy"); !s) return s;
  if (n > static_cast<std::int64_t>(b->discrepancies.size())) {
    return reject(reason::kBadBody, "body.discrepancy: bill has no discrepancy " + std::to_string(n));
  }
  Discrepancy& d = b->discrepancies[static_cast<std::size_t>(n - 1)];
  if (d.resolved) return reject(reason::kBadState, "discrepancy " + std::to_string(n) + " is already resolved");
  d.resolved = true;
  d.note = note;
  d.resolved_by = c.signer();
  d.resolved_height = c.height();
  c.save(*b);
  return {};
}

Status bill_surrender(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::string purpose = r.choice("for", {"delivery", "amendment"});
  const auto why = r.opt_choice("reason", {"COD", "SWTP", "SWI"});
  if (r.ok() && purpose == "amendment" && !why) r.fail(reason::kBadBody, "reason", "required for an amendment");
  if (r.ok() && purpose == "delivery" && why) r.fail(reason::kBadBody, "reason", "only for an amendment");
  r.close();
  if (error) return *error;

  auto b = c.load_bill(c.tx().doc);
  if (!b) return b.error();
  if (auto s = require_holder(c, *b); !s) return s;
  if (auto s = not_pledged(*b); !s) return s;
  if (auto s = negotiable(*b); !s) return s;
  if (purpose == "delivery") {
    if (!last_leg_arrived(*b)) return reject(reason::kNotArrived, "the last leg of " + b->meta.id + " has not arrived");
    if (!released_for_import(*b)) {
      return reject(reason::kCustomsNotReleased, "customs has not released every container for import");
    }
    if (auto hold = customs_hold(*b)) return reject(reason::kCustomsHold, "customs hold: " + *hold);
    if (has_open_discrepancy(*b)) return reject(reason::kOpenDiscrepancy, "bill has an open discrepancy");
  }

  b->surrenders.push_back(Surrender{purpose, why, c.signer(), c.height(), "pending", std::nullopt, std::nullopt});
  b->meta.status = std::string(purpose == "delivery" ? bill_status::kPendingDelivery : bill_status::kPendingAmendment);
  c.save(*b);
  return {};
}

Status bill_answer(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const bool accept = r.boolean("accept");
  const auto note = r.opt_text("note", kMaxLongText);
  r.close();
  if (error) return *error;

  auto b = c.load_bill(c.tx().doc);
  if (!b) return b.error();
  if (auto s = require_issuer(c, *b, "answer a surrender"); !s) return s;
  if (!pending_surrender(*b) || b->surrenders.empty() || b->surrenders.back().status != "pending") {
    return reject(reason::kNoPendingSurrender, "no surrender of " + b->meta.id + " is pending");
  }
  Surrender& s = b->surrenders.back();
  s.status = accept ? "accepted" : "rejected";
  s.note = note;
  s.answered = c.height();
  if (!accept) {
    b->meta.status = transport_status(*b);
  } else if (s.purpose == "delivery") {
    b->meta.status = std::string(bill_status::kSurrenderedDelivery);
  } else if (s.reason == "SWTP") {
    b->meta.status = std::string(bill_status::kSwitchedToPaper);
    release_equipment(c, *b);
  } else {
    b->meta.status = std::string(bill_status::kSurrenderedAmendment);
  }
  c.save(*b);
  return {};
}

Status bill_amend(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  bool consignee_given = false;
  std::optional<std::string> consignee;
  std::optional<std::vector<std::string>> notify;
  std::optional<std::string> place_of_delivery;
  std::optional<std::vector<Leg>> legs;
  r.object("changes", [&](FieldReader& ch) {
    if (ch.raw("consignee") != nullptr) {  // present, possibly null (no consignee: to-order bills only)
      consignee_given = true;
      consignee = ch.opt_matching("consignee", kOrgIdPattern);
      if (consignee) c.check_party(ch, "consignee", *consignee);
    }
    notify = ch.opt_strings("notify", 0, 16, &kOrgIdPattern);
    for (std::size_t i = 0; notify && i < notify->size(); ++i) {
      c.check_party(ch, "notify[" + std::to_string(i) + "]", (*notify)[i]);
    }
    place_of_delivery = ch.opt_matching("place_of_delivery", kLocodePattern);
    if (ch.has("legs")) legs = read_legs(ch, "legs");
    if (ch.ok() && !consignee_given && !notify && !place_of_delivery && !legs) ch.fail(reason::kBadBody, "", "no change");
  });
  r.close();
  if (error) return *error;

  auto b = c.load_bill(c.tx().doc);
  if (!b) return b.error();
  if (auto s = require_issuer(c, *b, "amend"); !s) return s;
  if (b->meta.status != bill_status::kSurrenderedAmendment || b->surrenders.empty()) {
    return reject(reason::kBadState, "bill " + b->meta.id + " is " + b->meta.status + ", not surrendered for amendment");
  }
  Surrender& surrender = b->surrenders.back();
  if (surrender.reason != "COD" && surrender.reason != "SWI") {
    return reject(reason::kBadState, "the surrender's reason does not allow an amendment");
  }
  if (consignee_given) {
    if (!consignee && !b->to_order) return reject(reason::kBadBody, "body.changes.consignee: required unless to order");
    b->parties.consignee = consignee;
  }
  if (notify) b->parties.notify = *notify;
  if (place_of_delivery) b->place_of_delivery = *place_of_delivery;
  if (legs) {
    // Departed legs are history: they must stay as they are. A leg that has not departed may change; if it stays
    // the same (mode, carrier, from, to) it keeps its status and events.
    for (std::size_t i = 0; i < b->legs.size(); ++i) {
      const Leg& old = b->legs[i];
      if (leg_rank(old.status) < leg_rank(leg_status::kDeparted)) continue;
      if (i >= legs->size() || (*legs)[i].mode != old.mode || (*legs)[i].carrier != old.carrier ||
          (*legs)[i].from != old.from || (*legs)[i].to != old.to) {
        return reject(reason::kBadRoute, "legs[" + std::to_string(i) + "] has departed and cannot change");
      }
    }
    std::vector<bool> kept(b->legs.size(), false);
    for (std::size_t i = 0; i < legs->size(); ++i) {
      Leg& leg = (*legs)[i];
      if (i < b->legs.size() && leg.mode == b->legs[i].mode && leg.carrier == b->legs[i].carrier &&
          leg.from == b->legs[i].from && leg.to == b->legs[i].to) {
        std::optional<std::string> vehicle = leg.vehicle ? leg.vehicle : b->legs[i].vehicle;
        leg = b->legs[i];
        leg.vehicle = std::move(vehicle);
        kept[i] = true;
      }
    }
    // A replaced leg's events go with it (they stay in the ledger's history), so the new leg at that index starts
    // its events from 1.
    for (std::size_t i = 0; i < b->legs.size(); ++i) {
      if (kept[i]) continue;
      for (std::int64_t n = 1; n <= b->legs[i].event_count; ++n) {
        c.erase(keys::leg_event(b->meta.id, static_cast<std::int64_t>(i), n));
      }
    }
    b->legs = std::move(*legs);
  }
  if (auto s = check_route(b->legs, b->place_of_receipt, b->place_of_delivery, c.members()); !s) return s;

  b->meta.version += 1;
  b->surrenders.back().status = "amended";
  b->meta.status = transport_status(*b);
  c.save(*b);
  return {};
}

Status bill_deliver(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::string to = r.matching("to", kOrgIdPattern);
  r.close();
  if (error) return *error;

  auto b = c.load_bill(c.tx().doc);
  if (!b) return b.error();
  if (auto s = require_issuer(c, *b, "deliver"); !s) return s;
  if (b->meta.status != bill_status::kSurrenderedDelivery) {
    return reject(reason::kBadState, "bill " + b->meta.id + " is " + b->meta.status + ", not surrendered for delivery");
  }
  if (to != b->meta.holder) {
    return reject(reason::kNotHolder, "body.to: " + to + " is not the holder " + b->meta.holder);
  }
  b->meta.status = std::string(bill_status::kAccomplished);
  b->delivered_to = to;
  release_equipment(c, *b);
  c.save(*b);
  return {};
}

Status bill_void(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::string why = r.text("reason", kMaxLongText);
  r.close();
  if (error) return *error;

  auto b = c.load_bill(c.tx().doc);
  if (!b) return b.error();
  if (auto s = require_issuer(c, *b, "void"); !s) return s;
  if (auto s = not_pledged(*b); !s) return s;
  if (b->meta.status != bill_status::kIssued) {
    return reject(reason::kBadState, "bill " + b->meta.id + " is " + b->meta.status + ", not issued");
  }
  if (!b->endorsements.empty()) return reject(reason::kBadState, "bill " + b->meta.id + " has been endorsed");
  if (!b->pledges.empty()) return reject(reason::kBadState, "bill " + b->meta.id + " has been pledged");
  b->meta.status = std::string(bill_status::kVoided);
  b->void_reason = why;
  release_equipment(c, *b);
  c.save(*b);
  return {};
}

}  // namespace onebill::contracts::handlers
