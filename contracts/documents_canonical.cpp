// A bill's stored bytes, and a leg event record's, written straight from the typed document
// (crypto::CanonicalWriter), without the JSON tree to_json() builds: the same bytes as canonicalize(to_json(...)) —
// the contracts tests check that for every bill state and event record they reach. Members are written in key
// order (the writer refuses any other).
#include "contracts/documents.h"

#include "crypto/canonical_json.h"

namespace onebill::contracts {
namespace {

using W = crypto::CanonicalWriter;

void str(W& w, std::string_view k, std::string_view v) { w.key(k), w.string(v); }
void num(W& w, std::string_view k, std::int64_t v) { w.key(k), w.integer(v); }
void opt_str(W& w, std::string_view k, const std::optional<std::string>& v) {
  w.key(k);
  v ? w.string(*v) : w.null_value();
}
void opt_num(W& w, std::string_view k, const std::optional<std::int64_t>& v) {
  w.key(k);
  v ? w.integer(*v) : w.null_value();
}
void strings(W& w, std::string_view k, const std::vector<std::string>& v) {
  w.key(k);
  w.begin_array();
  for (const auto& s : v) w.string(s);
  w.end_array();
}
template <class T, class F>
void objects(W& w, std::string_view k, const std::vector<T>& v, F&& write) {
  w.key(k);
  w.begin_array();
  for (const auto& e : v) {
    w.begin_object();
    write(e);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

Result<std::string> canonical_event(const LegEvent& e) {
  W w(256);
  w.begin_object();
  str(w, "as", e.as);
  str(w, "at", e.at);
  str(w, "by", e.by);
  strings(w, "equipment", e.equipment);
  str(w, "event", e.event);
  opt_num(w, "gross_kg", e.gross_kg);
  num(w, "height", e.height);
  str(w, "tx", e.tx);
  opt_str(w, "vehicle", e.vehicle);
  w.end_object();
  if (!w.ok()) {
    auto named = crypto::canonicalize(to_json(e));
    return make_error("corrupt_state", "an event record of " + e.tx + ": " +
                                           (named ? std::string("not written canonically") : named.error().message));
  }
  return w.take();
}

Result<std::string> canonical_bill(const Bill& b) {
  W w(4096);  // a bill under load is about 2.3 kB: one allocation
  w.begin_object();
  objects(w, "cargo", b.cargo, [&](const CargoLine& c) {
    str(w, "description", c.description);
    str(w, "equipment_ref", c.equipment_ref);
    num(w, "gross_kg", c.gross_kg);
    str(w, "hs", c.hs);
    num(w, "packages", c.packages);
  });
  num(w, "created", b.meta.created);
  objects(w, "customs", b.customs, [&](const CustomsDecision& d) {
    str(w, "by", d.by);
    str(w, "decision", d.decision);
    str(w, "declaration", d.declaration);
    strings(w, "equipment", d.equipment);
    num(w, "height", d.height);
    num(w, "n", d.n);
    str(w, "procedure", d.procedure);
    str(w, "tx", d.tx);
  });
  w.key("declared_value");
  if (b.declared_value) {
    w.begin_object();
    str(w, "ccy", b.declared_value->ccy);
    num(w, "value", b.declared_value->value);
    w.end_object();
  } else {
    w.null_value();
  }
  opt_str(w, "delivered_to", b.delivered_to);
  objects(w, "discrepancies", b.discrepancies, [&](const Discrepancy& d) {
    str(w, "by", d.by);
    str(w, "code", d.code);
    str(w, "detail", d.detail);
    num(w, "height", d.height);
    num(w, "leg", d.leg);
    num(w, "n", d.n);
    opt_str(w, "note", d.note);
    w.key("resolved"), w.boolean(d.resolved);
    opt_str(w, "resolved_by", d.resolved_by);
    opt_num(w, "resolved_height", d.resolved_height);
  });
  str(w, "document_type", b.document_type);
  objects(w, "endorsements", b.endorsements, [&](const Endorsement& e) {
    str(w, "from", e.from);
    num(w, "height", e.height);
    str(w, "to", e.to);
    str(w, "tx", e.tx);
    str(w, "via", e.via);
  });
  objects(w, "equipment", b.equipment, [&](const Equipment& e) {
    strings(w, "current_seals", e.current_seals);
    str(w, "iso_code", e.iso_code);
    str(w, "ref", e.ref);
    strings(w, "seals", e.seals);
  });
  str(w, "head", b.meta.head);
  num(w, "height", b.meta.height);
  str(w, "holder", b.meta.holder);
  str(w, "id", b.meta.id);
  str(w, "issuer", b.meta.issuer);
  str(w, "kind", b.meta.kind);
  objects(w, "legs", b.legs, [&](const Leg& l) {
    str(w, "carrier", l.carrier);
    num(w, "event_count", l.event_count);
    str(w, "events_hash", l.events_hash);
    str(w, "from", l.from);
    str(w, "mode", l.mode);
    objects(w, "reports", l.reports, [&](const LegReport& r) {
      str(w, "as", r.as);
      str(w, "at", r.at);
      str(w, "by", r.by);
      strings(w, "equipment", r.equipment);
      str(w, "event", r.event);
    });
    str(w, "status", l.status);
    str(w, "to", l.to);
    opt_str(w, "vehicle", l.vehicle);
  });
  w.key("parties");
  w.begin_object();
  opt_str(w, "consignee", b.parties.consignee);
  strings(w, "notify", b.parties.notify);
  str(w, "shipper", b.parties.shipper);
  w.end_object();
  str(w, "place_of_delivery", b.place_of_delivery);
  str(w, "place_of_receipt", b.place_of_receipt);
  opt_str(w, "pledge", b.pledge);
  strings(w, "pledges", b.pledges);
  str(w, "status", b.meta.status);
  objects(w, "surrenders", b.surrenders, [&](const Surrender& s) {
    opt_num(w, "answered", s.answered);
    str(w, "by", s.by);
    str(w, "for", s.purpose);
    num(w, "height", s.height);
    opt_str(w, "note", s.note);
    opt_str(w, "reason", s.reason);
    str(w, "status", s.status);
  });
  w.key("to_order"), w.boolean(b.to_order);
  num(w, "version", b.meta.version);
  opt_str(w, "void_reason", b.void_reason);
  w.end_object();
  if (!w.ok()) {
    // Outside the canonical subset (a string that is not UTF-8, an integer out of range): the tree path names it.
    auto named = crypto::canonicalize(to_json(b));
    return make_error("corrupt_state", "bill " + b.meta.id + ": " +
                                           (named ? std::string("not written canonically") : named.error().message));
  }
  return w.take();
}

}  // namespace onebill::contracts
