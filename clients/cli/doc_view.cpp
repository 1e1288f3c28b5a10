#include "clients/cli/doc_view.h"

#include <ostream>

#include "clients/cli/render.h"

namespace onebill::clients::cli {
namespace {

using nlohmann::json;

void header(std::ostream& out, const json& d, const std::string& title) {
  out << title << "\n";
  kv(out, "status", field(d, "status"));
  kv(out, "issuer", field(d, "issuer"));
  kv(out, "holder", field(d, "holder"));
  std::string version = field(d, "version");
  if (version != "-" && version != "1") kv(out, "version", version);
  kv(out, "updated",
     "height " + field(d, "height") + " by entry " + short_id(field(d, "head")) + " (created at height " +
         field(d, "created") + ")");
}

void endorsements(std::ostream& out, const json& d) {
  const json& list_ = list(d, "endorsements");
  if (list_.empty()) return;
  section(out, "Endorsements");
  Table t({"HEIGHT", "FROM", "TO", "VIA", "ENTRY"});
  for (const auto& e : list_)
    t.row({field(e, "height"), field(e, "from"), field(e, "to"), field(e, "via"), short_id(field(e, "tx"))});
  t.print(out, "  ");
}

void customs(std::ostream& out, const json& d) {
  const json& list_ = list(d, "customs");
  if (list_.empty()) return;
  section(out, "Customs decisions");
  Table t({"#", "PROCEDURE", "DECLARATION", "DECISION", "EQUIPMENT", "BY", "HEIGHT"});
  for (const auto& c : list_) {
    std::string eq = field(c, "equipment");
    t.row({field(c, "n"), field(c, "procedure"), field(c, "declaration"), field(c, "decision"),
           eq == "-" ? "(all)" : eq, field(c, "by"), field(c, "height")});
  }
  t.print(out, "  ");
}

void pledge_line(std::ostream& out, const json& d) {
  const std::string active = field(d, "pledge");
  const json& all = list(d, "pledges");
  if (active == "-" && all.empty()) return;
  section(out, "Pledge");
  kv(out, "active", active == "-" ? "none" : active + " (the document is locked)");
  if (!all.empty()) kv(out, "history", text(all));
}

void bill(std::ostream& out, const json& d) {
  std::string kind = field(d, "document_type");
  kind += flag(d, "to_order") ? ", to order" : ", straight";
  header(out, d, "bill " + field(d, "id") + "  (" + kind + ")");
  const json& p = d.contains("parties") ? d["parties"] : json::object();
  kv(out, "shipper", field(p, "shipper"));
  kv(out, "consignee",
     field(p, "consignee") == "-" ? (flag(d, "to_order") ? "- (to order)" : "-") : field(p, "consignee"));
  if (!list(p, "notify").empty()) kv(out, "notify", field(p, "notify"));
  kv(out, "route", field(d, "place_of_receipt") + " -> " + field(d, "place_of_delivery"));
  if (d.contains("declared_value") && !d["declared_value"].is_null()) kv(out, "value", money(d["declared_value"]));
  if (d.contains("void_reason") && !d["void_reason"].is_null()) kv(out, "voided", field(d, "void_reason"));
  if (d.contains("delivered_to") && !d["delivered_to"].is_null())
    kv(out, "delivered", "to " + field(d, "delivered_to"));

  const json& legs = list(d, "legs");
  if (!legs.empty()) {
    section(out, "Legs");
    for (std::size_t i = 0; i < legs.size(); ++i) {
      const json& leg = legs[i];
      out << "  " << i << "  " << field(leg, "mode") << "  " << field(leg, "from") << " -> " << field(leg, "to")
          << "  carrier " << field(leg, "carrier");
      if (field(leg, "vehicle") != "-") out << "  vehicle " << field(leg, "vehicle");
      out << "  [" << field(leg, "status") << "]\n";
      const json& events = list(leg, "events");
      if (events.empty()) continue;
      Table t({"HEIGHT", "EVENT", "AT", "SIGNED BY", "EQUIPMENT", "GROSS KG", "ENTRY"});
      for (const auto& e : events) {
        t.row({field(e, "height"), field(e, "event"), field(e, "at"), field(e, "by") + " (" + field(e, "as") + ")",
               field(e, "equipment"), field(e, "gross_kg"), short_id(field(e, "tx"))});
      }
      t.print(out, "       ");
    }
  }
  const json& equipment = list(d, "equipment");
  if (!equipment.empty()) {
    section(out, "Equipment");
    Table t({"CONTAINER", "TYPE", "SEALS (ISSUED)", "SEALS (LAST KNOWN)"});
    for (const auto& e : equipment) {
      t.row({field(e, "ref"), field(e, "iso_code"), field(e, "seals"), field(e, "current_seals")});
    }
    t.print(out, "  ");
  }
  const json& cargo = list(d, "cargo");
  if (!cargo.empty()) {
    section(out, "Cargo");
    Table t({"DESCRIPTION", "HS", "PACKAGES", "GROSS KG", "CONTAINER"});
    for (const auto& c : cargo) {
      t.row({field(c, "description"), field(c, "hs"), field(c, "packages"), field(c, "gross_kg"),
             field(c, "equipment_ref")});
    }
    t.print(out, "  ");
  }
  endorsements(out, d);
  pledge_line(out, d);
  customs(out, d);
  const json& disc = list(d, "discrepancies");
  if (!disc.empty()) {
    std::size_t open = 0;
    for (const auto& x : disc) open += flag(x, "resolved") ? 0 : 1;
    section(out, "Discrepancies (" + std::to_string(open) + " open)");
    Table t({"#", "CODE", "LEG", "BY", "HEIGHT", "STATE", "DETAIL"});
    for (const auto& x : disc) {
      std::string state = flag(x, "resolved")
                              ? "resolved h" + field(x, "resolved_height") + " by " + field(x, "resolved_by") +
                                    (field(x, "note") == "-" ? "" : ": " + field(x, "note"))
                              : "OPEN";
      t.row({field(x, "n"), field(x, "code"), field(x, "leg"), field(x, "by"), field(x, "height"), state,
             field(x, "detail")});
    }
    t.print(out, "  ");
  }
  const json& surrenders = list(d, "surrenders");
  if (!surrenders.empty()) {
    section(out, "Surrenders");
    Table t({"HEIGHT", "FOR", "REASON", "BY", "STATE", "ANSWERED", "NOTE"});
    for (const auto& s : surrenders) {
      t.row({field(s, "height"), field(s, "for"), field(s, "reason"), field(s, "by"), field(s, "status"),
             field(s, "answered"), field(s, "note")});
    }
    t.print(out, "  ");
  }
}

void receipt(std::ostream& out, const json& d) {
  header(out, d, "warehouse receipt " + field(d, "id"));
  const json& g = d.contains("goods") ? d["goods"] : json::object();
  kv(out, "goods", field(g, "description") + " (HS " + field(g, "hs") + ")");
  kv(out, "quantity",
     field(g, "remaining") + " of " + field(g, "quantity") + " " + field(g, "unit") + " remaining, " +
         field(g, "gross_kg") + " kg gross");
  kv(out, "location", field(d, "location") + ", lot " + field(d, "lot"));
  kv(out, "bonded", field(d, "bonded"));
  if (field(d, "source_bill") != "-") kv(out, "from bill", field(d, "source_bill"));
  endorsements(out, d);
  pledge_line(out, d);
  customs(out, d);
  const json& w = list(d, "withdrawals");
  if (!w.empty()) {
    section(out, "Withdrawals");
    Table t({"#", "QUANTITY", "BY", "HEIGHT", "STATE", "RELEASED AT"});
    for (const auto& x : w) {
      t.row({field(x, "n"), field(x, "quantity"), field(x, "by"), field(x, "height"), field(x, "status"),
             field(x, "released")});
    }
    t.print(out, "  ");
  }
}

void pledge(std::ostream& out, const json& d) {
  header(out, d, "pledge " + field(d, "id"));
  kv(out, "collateral", field(d, "collateral") + " (" + field(d, "collateral_kind") + ")");
  kv(out, "pledgor", field(d, "pledgor"));
  kv(out, "bank", field(d, "bank"));
  kv(out, "amount", d.contains("amount") ? money(d["amount"]) : "-");
  kv(out, "due", field(d, "due"));
  if (field(d, "activated") != "-") kv(out, "active from", "height " + field(d, "activated"));
  if (field(d, "closed") != "-") kv(out, "closed", "height " + field(d, "closed"));
  if (field(d, "note") != "-") kv(out, "note", field(d, "note"));
  const json& a = list(d, "approvals");
  if (!a.empty()) {
    section(out, "Customs approvals");
    Table t({"HEIGHT", "BY", "APPROVED", "REFERENCE"});
    for (const auto& x : a) t.row({field(x, "height"), field(x, "by"), field(x, "approve"), field(x, "reference")});
    t.print(out, "  ");
  }
}

void proposal(std::ostream& out, const json& d) {
  header(out, d, "governance proposal " + field(d, "id"));
  kv(out, "action", field(d, "action"));
  kv(out, "params", d.contains("params") ? d["params"].dump() : "-");
  if (field(d, "executed") != "-") kv(out, "executed", "height " + field(d, "executed"));
  if (field(d, "failure") != "-") kv(out, "failed", field(d, "failure"));
  const json& a = list(d, "approvals");
  if (!a.empty()) {
    section(out, "Approvals");
    Table t({"HEIGHT", "ORG"});
    for (const auto& x : a) t.row({field(x, "height"), field(x, "org")});
    t.print(out, "  ");
  }
}

}  // namespace

void render_document(std::ostream& out, const json& doc) {
  const std::string kind = field(doc, "kind");
  if (kind == "bill") {
    bill(out, doc);
  } else if (kind == "receipt") {
    receipt(out, doc);
  } else if (kind == "pledge") {
    pledge(out, doc);
  } else if (kind == "proposal") {
    proposal(out, doc);
  } else {
    header(out, doc, kind + " " + field(doc, "id"));
    out << doc.dump(2) << "\n";
  }
}

void render_history(std::ostream& out, const std::string& doc, const json& items) {
  out << "history of " << doc << ": " << items.size() << (items.size() == 1 ? " entry" : " entries") << "\n";
  Table t({"HEIGHT", "TS", "TYPE", "SIGNER", "OUTCOME", "ENTRY"});
  for (const auto& it : items) {
    std::string outcome = field(it, "status");
    if (it.contains("reason")) outcome += ": " + field(it, "reason");
    std::string where = field(it, "height") + "." + field(it, "index");
    std::string type = field(it, "type");
    if (field(it, "doc") != "-" && field(it, "doc") != doc) type += " (on " + field(it, "doc") + ")";
    t.row({where, field(it, "ts"), type, field(it, "signer"), outcome, short_id(field(it, "id"))});
  }
  t.print(out, "  ");
}

}  // namespace onebill::clients::cli
