#include <algorithm>

#include "contracts/bill_rules.h"
#include "contracts/reasons.h"

namespace onebill::contracts {

int leg_rank(std::string_view s) {
  constexpr std::string_view kOrder[] = {leg_status::kPlanned, leg_status::kGatedIn,    leg_status::kLoaded,
                                         leg_status::kDeparted, leg_status::kArrived,   leg_status::kDischarged,
                                         leg_status::kGatedOut};
  for (int i = 0; i < 7; ++i) {
    if (kOrder[i] == s) return i;
  }
  return 0;
}

bool last_leg_arrived(const Bill& bill) {
  return !bill.legs.empty() && leg_rank(bill.legs.back().status) >= leg_rank(leg_status::kArrived);
}

std::string transport_status(const Bill& bill) {
  if (last_leg_arrived(bill)) return std::string(bill_status::kArrived);
  const bool departed = std::any_of(bill.legs.begin(), bill.legs.end(), [](const Leg& l) {
    return leg_rank(l.status) >= leg_rank(leg_status::kDeparted);
  });
  return std::string(departed ? bill_status::kInTransit : bill_status::kIssued);
}

bool bill_is_live(const Bill& bill) {
  return bill.meta.status != bill_status::kAccomplished && bill.meta.status != bill_status::kVoided &&
         bill.meta.status != bill_status::kSwitchedToPaper;
}

bool bill_is_negotiable(const Bill& bill) {
  return bill.meta.status == bill_status::kIssued || bill.meta.status == bill_status::kInTransit ||
         bill.meta.status == bill_status::kArrived;
}

void release_equipment(TxContext& c, const Bill& bill) {
  for (const Equipment& e : bill.equipment) c.erase(keys::equipment(e.ref));
}

bool has_open_discrepancy(const Bill& bill) {
  return std::any_of(bill.discrepancies.begin(), bill.discrepancies.end(),
                     [](const Discrepancy& d) { return !d.resolved; });
}

const Equipment* find_equipment(const Bill& bill, std::string_view ref) {
  const auto it = std::find_if(bill.equipment.begin(), bill.equipment.end(),
                               [ref](const Equipment& e) { return e.ref == ref; });
  return it == bill.equipment.end() ? nullptr : &*it;
}

std::vector<Leg> read_legs(FieldReader& r, std::string_view key) {
  std::vector<Leg> legs;
  r.objects(key, 1, 16, [&legs](FieldReader& l, std::size_t) {
    Leg leg;
    leg.mode = l.choice("mode", {"sea", "rail", "road"});
    leg.carrier = l.matching("carrier", kOrgIdPattern);
    leg.from = l.matching("from", kLocodePattern);
    leg.to = l.matching("to", kLocodePattern);
    leg.vehicle = l.opt_text("vehicle", 128);
    legs.push_back(std::move(leg));
  });
  return legs;
}

Status check_route(const std::vector<Leg>& legs, std::string_view place_of_receipt,
                   std::string_view place_of_delivery, const Membership& members) {
  if (legs.empty()) return reject(reason::kBadRoute, "a bill needs at least one leg");
  if (legs.front().from != place_of_receipt) {
    return reject(reason::kBadRoute, "legs[0].from " + legs.front().from + " is not the place of receipt " +
                                         std::string(place_of_receipt));
  }
  for (std::size_t i = 0; i < legs.size(); ++i) {
    const Leg& leg = legs[i];
    const std::string at = "legs[" + std::to_string(i) + "]";
    if (leg.from == leg.to) return reject(reason::kBadRoute, at + " goes from " + leg.from + " to itself");
    if (i + 1 < legs.size() && leg.to != legs[i + 1].from) {
      return reject(reason::kBadRoute, at + ".to " + leg.to + " does not meet legs[" + std::to_string(i + 1) +
                                           "].from " + legs[i + 1].from);
    }
    const bool ok = leg.mode == "sea"    ? members.has_role(leg.carrier, "sea_carrier")
                    : leg.mode == "rail" ? members.has_role(leg.carrier, "rail_carrier")
                                         : members.has_role(leg.carrier, "road_carrier") ||
                                               members.has_role(leg.carrier, "mto");
    if (!ok) {
      return reject(reason::kWrongCarrier,
                    at + ".carrier " + leg.carrier + " is not an active " + leg.mode + " carrier");
    }
  }
  if (legs.back().to != place_of_delivery) {
    return reject(reason::kBadRoute, "the last leg ends at " + legs.back().to + ", not at the place of delivery " +
                                         std::string(place_of_delivery));
  }
  return {};
}

}  // namespace onebill::contracts
