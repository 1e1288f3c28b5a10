// bill.event: what carriers and ports report along the legs, and the cross-verification that opens discrepancies
// (docs/model.md, "Leg events" and "Discrepancies").
#include <algorithm>

#include "contracts/bill_rules.h"
#include "contracts/handlers.h"
#include "contracts/reasons.h"

namespace onebill::contracts::handlers {
namespace {

constexpr std::int64_t kMaxReportedKg = 10'000'000'000'000;  // 10^13 kg: far above any train or ship

struct Reported {
  std::string ref;
  std::optional<std::vector<std::string>> seals;  // sorted
};

bool is_port_event(std::string_view e) {
  return e == "gate_in" || e == "loaded" || e == "discharged" || e == "gate_out";
}
bool at_origin(std::string_view e) { return e == "gate_in" || e == "loaded" || e == "departed"; }
bool at_destination(std::string_view e) { return e == "arrived" || e == "discharged" || e == "gate_out"; }
bool needs_equipment(std::string_view e) { return is_port_event(e) || e == "arrived"; }

void open_discrepancy(Bill& b, std::string_view code, std::string detail, const TxContext& c, std::size_t leg) {
  Discrepancy d;
  d.n = static_cast<std::int64_t>(b.discrepancies.size()) + 1;
  d.code = std::string(code);
  d.detail = std::move(detail);
  d.by = c.signer();
  d.height = c.height();
  d.leg = static_cast<std::int64_t>(leg);
  b.discrepancies.push_back(std::move(d));
}

std::string join(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s.append(i ? "," : "").append(v[i]);
  return s + "]";
}

// The carrier's own order: gate_in? < loaded < departed < (border_crossed | gauge_changed)* < arrived <
// discharged? < gate_out?. Returns the leg's new status, or nullopt if `event` is out of order.
std::optional<std::string_view> carrier_step(std::string_view status, std::string_view event, bool prev_arrived) {
  using namespace leg_status;
  if (event == "gate_in" && status == kPlanned) return kGatedIn;
  if (event == "loaded" && (status == kPlanned || status == kGatedIn) && prev_arrived) return kLoaded;
  if (event == "departed" && status == kLoaded && prev_arrived) return kDeparted;
  if ((event == "border_crossed" || event == "gauge_changed") && status == kDeparted) return kDeparted;
  if (event == "arrived" && status == kDeparted) return kArrived;
  if (event == "discharged" && status == kArrived) return kDischarged;
  if (event == "gate_out" && (status == kArrived || status == kDischarged)) return kGatedOut;
  return std::nullopt;
}

}  // namespace

Status bill_event(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  const std::int64_t leg_index = r.integer("leg", 0, 15);
  const std::string event = r.choice("event", {"gate_in", "loaded", "departed", "border_crossed", "gauge_changed",
                                               "arrived", "discharged", "gate_out"});
  const std::string at = r.matching("at", kLocodePattern);
  std::vector<Reported> reported;
  if (r.has("equipment")) {
    r.objects("equipment", 0, 500, [&reported](FieldReader& e, std::size_t) {
      Reported item;
      item.ref = e.matching("ref", kContainerPattern);
      item.seals = e.opt_strings("seals", 0, 8, nullptr);
      if (item.seals) std::sort(item.seals->begin(), item.seals->end());
      if (e.ok() && std::any_of(reported.begin(), reported.end(), [&](const Reported& x) { return x.ref == item.ref; })) {
        e.fail(reason::kBadBody, "ref", "container listed twice");
      }
      reported.push_back(std::move(item));
    });
  }
  const auto gross_kg = r.opt_integer("gross_kg", 0, kMaxReportedKg);
  const auto vehicle = r.opt_text("vehicle", 128);
  if (r.ok() && reported.empty() && needs_equipment(event)) {
    r.fail(reason::kBadBody, "equipment", "required for " + event);
  }
  r.close();
  if (error) return *error;

  auto loaded_bill = c.take_bill(c.tx().doc);  // saved below when accepted
  if (!loaded_bill) return loaded_bill.error();
  Bill& b = *loaded_bill;
  if (!bill_is_live(b)) return reject(reason::kBadState, "bill " + b.meta.id + " is " + b.meta.status);
  const auto li = static_cast<std::size_t>(leg_index);
  if (li >= b.legs.size()) {
    return reject(reason::kBadBody, "body.leg: bill has " + std::to_string(b.legs.size()) + " legs");
  }
  Leg& leg = b.legs[li];
  if (leg.event_count >= kMaxLegEvents) {
    return reject(reason::kBadState, "leg " + std::to_string(li) + " has " + std::to_string(kMaxLegEvents) + " events");
  }

  // Who reports: the leg's carrier, or a port at one of the leg's ends.
  std::string as;
  if (c.signer() == leg.carrier && c.members().is_active_org(leg.carrier)) {
    as = "carrier";
  } else if (c.signer_has_role("port")) {
    as = "port";
    if (!is_port_event(event)) return reject(reason::kWrongCarrier, "only the leg's carrier reports " + event);
    if (at != leg.from && at != leg.to) {
      return reject(reason::kWrongCarrier, "a port reports at the leg's ends " + leg.from + " or " + leg.to);
    }
    const Org* port = c.members().org(c.signer());
    if (!port->locations.empty() &&
        !std::binary_search(port->locations.begin(), port->locations.end(), at)) {
      return reject(reason::kWrongCarrier, c.signer() + " is not a port at " + at);
    }
  } else {
    return reject(reason::kWrongCarrier,
                  c.signer() + " is neither the carrier of leg " + std::to_string(li) + " nor a port");
  }
  if (at_origin(event) && at != leg.from) {
    return reject(reason::kBadBody, "body.at: " + event + " happens at the leg's origin " + leg.from);
  }
  if (at_destination(event) && at != leg.to) {
    return reject(reason::kBadBody, "body.at: " + event + " happens at the leg's destination " + leg.to);
  }
  for (const Reported& item : reported) {
    if (find_equipment(b, item.ref) == nullptr) {
      return reject(reason::kUnknownEquipment, "container " + item.ref + " is not on bill " + b.meta.id);
    }
  }

  // Order.
  const bool prev_arrived = li == 0 || leg_rank(b.legs[li - 1].status) >= leg_rank(leg_status::kArrived);
  if (as == "carrier") {
    const auto next = carrier_step(leg.status, event, prev_arrived);
    if (!next) {
      return reject(reason::kLegOutOfOrder, event + " on leg " + std::to_string(li) + " (" + leg.status + ")" +
                                                (prev_arrived ? "" : ": the previous leg has not arrived"));
    }
    leg.status = std::string(*next);
  } else {
    const bool origin = event == "gate_in" || event == "loaded";
    const bool in_order = origin ? leg_rank(leg.status) < leg_rank(leg_status::kArrived) &&
                                       (event != "loaded" || prev_arrived)
                                 : leg_rank(leg.status) >= leg_rank(leg_status::kArrived);
    const bool repeated = std::any_of(leg.reports.begin(), leg.reports.end(), [&](const LegReport& e) {
      return e.as == "port" && e.event == event && e.at == at;
    });
    if (!in_order || repeated) {
      return reject(reason::kLegOutOfOrder, "port " + event + " on leg " + std::to_string(li) + " (" + leg.status +
                                                (repeated ? ", already reported)" : ")"));
    }
  }

  // Cross-verification: accepted, but discrepancies are opened for the issuer to resolve.
  std::vector<std::string> refs;
  for (const Reported& item : reported) refs.push_back(item.ref);
  std::sort(refs.begin(), refs.end());
  for (const Reported& item : reported) {
    if (!item.seals) continue;
    auto eq = std::find_if(b.equipment.begin(), b.equipment.end(), [&](const Equipment& e) { return e.ref == item.ref; });
    if (*item.seals == eq->current_seals) continue;
    if (!(as == "carrier" && event == "gauge_changed")) {
      open_discrepancy(b, discrepancy::kSealMismatch,
                       item.ref + ": seals " + join(*item.seals) + " reported at " + at + " by " + c.signer() +
                           ", last known " + join(eq->current_seals),
                       c, li);
    }
    eq->current_seals = *item.seals;  // the latest observation (or the re-seal at a gauge change)
  }
  if (gross_kg) {
    std::int64_t expected = 0;
    for (const CargoLine& line : b.cargo) {
      if (refs.empty() || std::binary_search(refs.begin(), refs.end(), line.equipment_ref)) expected += line.gross_kg;
    }
    const std::int64_t diff = *gross_kg > expected ? *gross_kg - expected : expected - *gross_kg;
    if (diff * 100 > expected * 2) {  // more than 2 %, in integers
      open_discrepancy(b, discrepancy::kWeightMismatch,
                       "gross " + std::to_string(*gross_kg) + " kg reported at " + at + " by " + c.signer() +
                           ", bill says " + std::to_string(expected) + " kg" + (refs.empty() ? "" : " for " + join(refs)),
                       c, li);
    }
  }
  if (as == "carrier" && event == "arrived") {
    // What the carrier loaded (it loads once per leg: carrier_step) must all arrive.
    const auto loaded = std::find_if(leg.reports.begin(), leg.reports.end(),
                                     [](const LegReport& e) { return e.as == "carrier" && e.event == "loaded"; });
    const std::vector<std::string> none;
    for (const std::string& ref : loaded == leg.reports.end() ? none : loaded->equipment) {
      if (!std::binary_search(refs.begin(), refs.end(), ref)) {
        open_discrepancy(b, discrepancy::kEquipmentMissing,
                         ref + ": loaded on leg " + std::to_string(li) + " but missing at arrival at " + at, c, li);
      }
    }
  }
  if (is_port_event(event)) {
    const std::string other = as == "carrier" ? "port" : "carrier";
    for (auto it = leg.reports.rbegin(); it != leg.reports.rend(); ++it) {
      if (it->as != other || it->event != event || it->at != at) continue;
      if (it->equipment != refs) {
        open_discrepancy(b, discrepancy::kEquipmentMismatch,
                         event + " at " + at + ": " + c.signer() + " reports " + join(refs) + ", " + it->by +
                             " reported " + join(it->equipment),
                         c, li);
      }
      break;
    }
  }

  if (as == "carrier" && vehicle) leg.vehicle = vehicle;
  leg.event_count += 1;
  // The record as stored (canonical JSON) extends the leg's events_hash chain.
  auto record = canonical_event(LegEvent{event, at, c.signer(), as, refs, gross_kg, vehicle, c.height(), c.tx_id()});
  if (!record) {
    c.fail(record.error());
    return {};
  }
  auto chained = next_events_hash(c.members().hash_alg(), leg.events_hash, *record);
  if (!chained) {
    c.fail(chained.error());
    return {};
  }
  c.put(keys::leg_event(b.meta.id, leg_index, leg.event_count), std::move(*record));
  leg.events_hash = std::move(*chained);
  if (is_port_event(event)) leg.reports.push_back(LegReport{as, event, at, c.signer(), refs});
  if (bill_is_negotiable(b)) b.meta.status = transport_status(b);
  c.save(std::move(b));
  return {};
}

}  // namespace onebill::contracts::handlers
