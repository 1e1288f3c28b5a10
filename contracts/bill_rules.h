// Internal to contracts: rules about bills shared by several handlers (bill_route.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "contracts/documents.h"
#include "contracts/membership.h"
#include "contracts/schema.h"
#include "contracts/tx_context.h"

namespace onebill::contracts {

// Order of leg statuses: planned 0, gated_in 1, loaded 2, departed 3, arrived 4, discharged 5, gated_out 6.
int leg_rank(std::string_view leg_status);

// issued (no leg departed), in_transit (some leg departed, the last not arrived) or arrived (the last leg arrived):
// the status a bill has, or returns to, when no surrender is pending.
std::string transport_status(const Bill& bill);
bool last_leg_arrived(const Bill& bill);

// A bill is live until accomplished, voided or switched to paper; while live its containers stay indexed.
bool bill_is_live(const Bill& bill);
// issued, in_transit or arrived: no surrender pending or done, not terminal. Only such a bill can be endorsed,
// surrendered or pledged.
bool bill_is_negotiable(const Bill& bill);
// Removes the bill's containers from idx/equipment when it stops being live.
void release_equipment(TxContext& c, const Bill& bill);

bool has_open_discrepancy(const Bill& bill);
const Equipment* find_equipment(const Bill& bill, std::string_view ref);

// Reads a legs array [{mode, carrier, from, to, vehicle?}] (shape and identifiers only).
std::vector<Leg> read_legs(FieldReader& r, std::string_view key);
// The route rules of bill.issue / bill.amend: legs chain from place_of_receipt to place_of_delivery (bad_route) and
// each leg's carrier is an active organisation with the mode's role (wrong_carrier): sea -> sea_carrier,
// rail -> rail_carrier, road -> road_carrier or mto.
Status check_route(const std::vector<Leg>& legs, std::string_view place_of_receipt,
                   std::string_view place_of_delivery, const Membership& members);

}  // namespace onebill::contracts
