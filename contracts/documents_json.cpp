// JSON form of documents (docs/model.md, "Document state"). nlohmann's exceptions stay inside this file.
#include "contracts/documents.h"

#include <stdexcept>

#include "contracts/state.h"

namespace onebill::contracts {

using nlohmann::json;

namespace {

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

template <class T>
std::optional<T> get_opt(const json& j, const char* key) {
  const json& v = j.at(key);
  if (v.is_null()) return std::nullopt;
  return v.get<T>();
}

template <class T>
T get(const json& j, const char* key) {
  return j.at(key).get<T>();
}

void write_meta(json& j, const DocMeta& m) {
  j["id"] = m.id;
  j["kind"] = m.kind;
  j["status"] = m.status;
  j["issuer"] = m.issuer;
  j["holder"] = m.holder;
  j["version"] = m.version;
  j["head"] = m.head;
  j["height"] = m.height;
  j["created"] = m.created;
}

void read_meta(const json& j, DocMeta& m) {
  m.id = get<std::string>(j, "id");
  m.kind = get<std::string>(j, "kind");
  m.status = get<std::string>(j, "status");
  m.issuer = get<std::string>(j, "issuer");
  m.holder = get<std::string>(j, "holder");
  m.version = get<std::int64_t>(j, "version");
  m.head = get<std::string>(j, "head");
  m.height = get<std::int64_t>(j, "height");
  m.created = get<std::int64_t>(j, "created");
}

template <class D, class F>
Result<D> decode(const json& j, std::string_view kind, F&& read) {
  try {
    D doc;
    read_meta(j, doc.meta);
    if (doc.meta.kind != kind) {
      return make_error("wrong_kind", doc.meta.id + " is a " + doc.meta.kind + ", not a " + std::string(kind));
    }
    read(doc);
    return doc;
  } catch (const json::exception& e) {
    return make_error("corrupt_state", std::string(kind) + " document: " + e.what());
  } catch (const std::invalid_argument& e) {  // a value of the right type that is not valid (a malformed hash)
    return make_error("corrupt_state", std::string(kind) + " document: " + e.what());
  }
}

}  // namespace

// Element types: nlohmann's ADL hooks, so vectors of them convert directly.
void to_json(json& j, const Money& m) { j = json{{"value", m.value}, {"ccy", m.ccy}}; }
void from_json(const json& j, Money& m) {
  m.value = get<std::int64_t>(j, "value");
  m.ccy = get<std::string>(j, "ccy");
}

void to_json(json& j, const CustomsDecision& d) {
  j = json{{"n", d.n},           {"procedure", d.procedure}, {"declaration", d.declaration}, {"decision", d.decision},
           {"equipment", d.equipment}, {"by", d.by},        {"height", d.height},            {"tx", d.tx}};
}
void from_json(const json& j, CustomsDecision& d) {
  d.n = get<std::int64_t>(j, "n");
  d.procedure = get<std::string>(j, "procedure");
  d.declaration = get<std::string>(j, "declaration");
  d.decision = get<std::string>(j, "decision");
  d.equipment = get<std::vector<std::string>>(j, "equipment");
  d.by = get<std::string>(j, "by");
  d.height = get<std::int64_t>(j, "height");
  d.tx = get<std::string>(j, "tx");
}

void to_json(json& j, const Endorsement& e) {
  j = json{{"from", e.from}, {"to", e.to}, {"via", e.via}, {"height", e.height}, {"tx", e.tx}};
}
void from_json(const json& j, Endorsement& e) {
  e.from = get<std::string>(j, "from");
  e.to = get<std::string>(j, "to");
  e.via = get<std::string>(j, "via");
  e.height = get<std::int64_t>(j, "height");
  e.tx = get<std::string>(j, "tx");
}

void to_json(json& j, const LegEvent& e) {
  j = json{{"event", e.event},   {"at", e.at},           {"by", e.by},
           {"as", e.as},         {"equipment", e.equipment}, {"gross_kg", opt(e.gross_kg)},
           {"vehicle", opt(e.vehicle)}, {"height", e.height}, {"tx", e.tx}};
}
void from_json(const json& j, LegEvent& e) {
  e.event = get<std::string>(j, "event");
  e.at = get<std::string>(j, "at");
  e.by = get<std::string>(j, "by");
  e.as = get<std::string>(j, "as");
  e.equipment = get<std::vector<std::string>>(j, "equipment");
  e.gross_kg = get_opt<std::int64_t>(j, "gross_kg");
  e.vehicle = get_opt<std::string>(j, "vehicle");
  e.height = get<std::int64_t>(j, "height");
  e.tx = get<std::string>(j, "tx");
}

void to_json(json& j, const LegReport& r) {
  j = json{{"as", r.as}, {"event", r.event}, {"at", r.at}, {"by", r.by}, {"equipment", r.equipment}};
}
void from_json(const json& j, LegReport& r) {
  r.as = get<std::string>(j, "as");
  r.event = get<std::string>(j, "event");
  r.at = get<std::string>(j, "at");
  r.by = get<std::string>(j, "by");
  r.equipment = get<std::vector<std::string>>(j, "equipment");
}

void to_json(json& j, const Leg& l) {
  j = json{{"mode", l.mode},     {"carrier", l.carrier}, {"from", l.from},    {"to", l.to},
           {"vehicle", opt(l.vehicle)}, {"status", l.status}, {"event_count", l.event_count},
           {"events_hash", l.events_hash}, {"reports", l.reports}};
}
void from_json(const json& j, Leg& l) {
  l.mode = get<std::string>(j, "mode");
  l.carrier = get<std::string>(j, "carrier");
  l.from = get<std::string>(j, "from");
  l.to = get<std::string>(j, "to");
  l.vehicle = get_opt<std::string>(j, "vehicle");
  l.status = get<std::string>(j, "status");
  l.event_count = get<std::int64_t>(j, "event_count");
  l.events_hash = get<std::string>(j, "events_hash");
  if (!crypto::digest_from_hex(l.events_hash)) throw std::invalid_argument("events_hash is not a digest");
  l.reports = get<std::vector<LegReport>>(j, "reports");
}

void to_json(json& j, const Equipment& e) {
  j = json{{"ref", e.ref}, {"iso_code", e.iso_code}, {"seals", e.seals}, {"current_seals", e.current_seals}};
}
void from_json(const json& j, Equipment& e) {
  e.ref = get<std::string>(j, "ref");
  e.iso_code = get<std::string>(j, "iso_code");
  e.seals = get<std::vector<std::string>>(j, "seals");
  e.current_seals = get<std::vector<std::string>>(j, "current_seals");
}

void to_json(json& j, const CargoLine& c) {
  j = json{{"description", c.description}, {"hs", c.hs},       {"packages", c.packages},
           {"gross_kg", c.gross_kg},       {"equipment_ref", c.equipment_ref}};
}
void from_json(const json& j, CargoLine& c) {
  c.description = get<std::string>(j, "description");
  c.hs = get<std::string>(j, "hs");
  c.packages = get<std::int64_t>(j, "packages");
  c.gross_kg = get<std::int64_t>(j, "gross_kg");
  c.equipment_ref = get<std::string>(j, "equipment_ref");
}

void to_json(json& j, const Discrepancy& d) {
  j = json{{"n", d.n},
           {"code", d.code},
           {"detail", d.detail},
           {"by", d.by},
           {"height", d.height},
           {"leg", d.leg},
           {"resolved", d.resolved},
           {"note", opt(d.note)},
           {"resolved_by", opt(d.resolved_by)},
           {"resolved_height", opt(d.resolved_height)}};
}
void from_json(const json& j, Discrepancy& d) {
  d.n = get<std::int64_t>(j, "n");
  d.code = get<std::string>(j, "code");
  d.detail = get<std::string>(j, "detail");
  d.by = get<std::string>(j, "by");
  d.height = get<std::int64_t>(j, "height");
  d.leg = get<std::int64_t>(j, "leg");
  d.resolved = get<bool>(j, "resolved");
  d.note = get_opt<std::string>(j, "note");
  d.resolved_by = get_opt<std::string>(j, "resolved_by");
  d.resolved_height = get_opt<std::int64_t>(j, "resolved_height");
}

void to_json(json& j, const Surrender& s) {
  j = json{{"for", s.purpose}, {"reason", opt(s.reason)}, {"by", s.by},
           {"height", s.height}, {"status", s.status}, {"note", opt(s.note)}, {"answered", opt(s.answered)}};
}
void from_json(const json& j, Surrender& s) {
  s.purpose = get<std::string>(j, "for");
  s.reason = get_opt<std::string>(j, "reason");
  s.by = get<std::string>(j, "by");
  s.height = get<std::int64_t>(j, "height");
  s.status = get<std::string>(j, "status");
  s.note = get_opt<std::string>(j, "note");
  s.answered = get_opt<std::int64_t>(j, "answered");
}

void to_json(json& j, const Withdrawal& w) {
  j = json{{"n", w.n},           {"quantity", w.quantity}, {"by", w.by},
           {"height", w.height}, {"status", w.status},     {"released", opt(w.released)}};
}
void from_json(const json& j, Withdrawal& w) {
  w.n = get<std::int64_t>(j, "n");
  w.quantity = get<std::int64_t>(j, "quantity");
  w.by = get<std::string>(j, "by");
  w.height = get<std::int64_t>(j, "height");
  w.status = get<std::string>(j, "status");
  w.released = get_opt<std::int64_t>(j, "released");
}

void to_json(json& j, const PledgeApproval& a) {
  j = json{{"by", a.by}, {"approve", a.approve}, {"reference", a.reference}, {"height", a.height}};
}
void from_json(const json& j, PledgeApproval& a) {
  a.by = get<std::string>(j, "by");
  a.approve = get<bool>(j, "approve");
  a.reference = get<std::string>(j, "reference");
  a.height = get<std::int64_t>(j, "height");
}

void to_json(json& j, const ProposalApproval& a) { j = json{{"org", a.org}, {"height", a.height}}; }
void from_json(const json& j, ProposalApproval& a) {
  a.org = get<std::string>(j, "org");
  a.height = get<std::int64_t>(j, "height");
}

json to_json(const Bill& b) {
  json j;
  write_meta(j, b.meta);
  j["document_type"] = b.document_type;
  j["to_order"] = b.to_order;
  j["parties"] = json{{"shipper", b.parties.shipper},
                      {"consignee", opt(b.parties.consignee)},
                      {"notify", b.parties.notify}};
  j["place_of_receipt"] = b.place_of_receipt;
  j["place_of_delivery"] = b.place_of_delivery;
  j["legs"] = b.legs;
  j["equipment"] = b.equipment;
  j["cargo"] = b.cargo;
  j["declared_value"] = opt(b.declared_value);
  j["endorsements"] = b.endorsements;
  j["pledge"] = opt(b.pledge);
  j["pledges"] = b.pledges;
  j["customs"] = b.customs;
  j["discrepancies"] = b.discrepancies;
  j["surrenders"] = b.surrenders;
  j["void_reason"] = opt(b.void_reason);
  j["delivered_to"] = opt(b.delivered_to);
  return j;
}

Result<Bill> bill_from_json(const json& j) {
  return decode<Bill>(j, kind::kBill, [&j](Bill& b) {
    b.document_type = get<std::string>(j, "document_type");
    b.to_order = get<bool>(j, "to_order");
    const json& parties = j.at("parties");
    b.parties.shipper = get<std::string>(parties, "shipper");
    b.parties.consignee = get_opt<std::string>(parties, "consignee");
    b.parties.notify = get<std::vector<std::string>>(parties, "notify");
    b.place_of_receipt = get<std::string>(j, "place_of_receipt");
    b.place_of_delivery = get<std::string>(j, "place_of_delivery");
    b.legs = get<std::vector<Leg>>(j, "legs");
    b.equipment = get<std::vector<Equipment>>(j, "equipment");
    b.cargo = get<std::vector<CargoLine>>(j, "cargo");
    b.declared_value = get_opt<Money>(j, "declared_value");
    b.endorsements = get<std::vector<Endorsement>>(j, "endorsements");
    b.pledge = get_opt<std::string>(j, "pledge");
    b.pledges = get<std::vector<std::string>>(j, "pledges");
    b.customs = get<std::vector<CustomsDecision>>(j, "customs");
    b.discrepancies = get<std::vector<Discrepancy>>(j, "discrepancies");
    b.surrenders = get<std::vector<Surrender>>(j, "surrenders");
    b.void_reason = get_opt<std::string>(j, "void_reason");
    b.delivered_to = get_opt<std::string>(j, "delivered_to");
  });
}

json to_json(const Receipt& r) {
  json j;
  write_meta(j, r.meta);
  j["goods"] = json{{"description", r.goods.description}, {"hs", r.goods.hs},
                    {"quantity", r.goods.quantity},       {"unit", r.goods.unit},
                    {"gross_kg", r.goods.gross_kg},       {"remaining", r.goods.remaining}};
  j["location"] = r.location;
  j["lot"] = r.lot;
  j["bonded"] = r.bonded;
  j["source_bill"] = opt(r.source_bill);
  j["endorsements"] = r.endorsements;
  j["pledge"] = opt(r.pledge);
  j["locked"] = r.pledge.has_value();  // derived: a receipt is locked while a pledge on it is active
  j["pledges"] = r.pledges;
  j["customs"] = r.customs;
  j["withdrawals"] = r.withdrawals;
  return j;
}

Result<Receipt> receipt_from_json(const json& j) {
  return decode<Receipt>(j, kind::kReceipt, [&j](Receipt& r) {
    const json& g = j.at("goods");
    r.goods.description = get<std::string>(g, "description");
    r.goods.hs = get<std::string>(g, "hs");
    r.goods.quantity = get<std::int64_t>(g, "quantity");
    r.goods.unit = get<std::string>(g, "unit");
    r.goods.gross_kg = get<std::int64_t>(g, "gross_kg");
    r.goods.remaining = get<std::int64_t>(g, "remaining");
    r.location = get<std::string>(j, "location");
    r.lot = get<std::string>(j, "lot");
    r.bonded = get<bool>(j, "bonded");
    r.source_bill = get_opt<std::string>(j, "source_bill");
    r.endorsements = get<std::vector<Endorsement>>(j, "endorsements");
    r.pledge = get_opt<std::string>(j, "pledge");
    r.pledges = get<std::vector<std::string>>(j, "pledges");
    r.customs = get<std::vector<CustomsDecision>>(j, "customs");
    r.withdrawals = get<std::vector<Withdrawal>>(j, "withdrawals");
  });
}

json to_json(const Pledge& p) {
  json j;
  write_meta(j, p.meta);
  j["collateral"] = p.collateral;
  j["collateral_kind"] = p.collateral_kind;
  j["bank"] = p.bank;
  j["pledgor"] = p.pledgor;
  j["amount"] = p.amount;
  j["due"] = p.due;
  j["approvals"] = p.approvals;
  j["note"] = opt(p.note);
  j["activated"] = opt(p.activated);
  j["closed"] = opt(p.closed);
  return j;
}

Result<Pledge> pledge_from_json(const json& j) {
  return decode<Pledge>(j, kind::kPledge, [&j](Pledge& p) {
    p.collateral = get<std::string>(j, "collateral");
    p.collateral_kind = get<std::string>(j, "collateral_kind");
    p.bank = get<std::string>(j, "bank");
    p.pledgor = get<std::string>(j, "pledgor");
    p.amount = get<Money>(j, "amount");
    p.due = get<std::string>(j, "due");
    p.approvals = get<std::vector<PledgeApproval>>(j, "approvals");
    p.note = get_opt<std::string>(j, "note");
    p.activated = get_opt<std::int64_t>(j, "activated");
    p.closed = get_opt<std::int64_t>(j, "closed");
  });
}

json to_json(const Proposal& p) {
  json j;
  write_meta(j, p.meta);
  j["action"] = p.action;
  j["params"] = p.params;
  j["approvals"] = p.approvals;
  j["executed"] = opt(p.executed);
  j["failure"] = opt(p.failure);
  return j;
}

Result<Proposal> proposal_from_json(const json& j) {
  return decode<Proposal>(j, kind::kProposal, [&j](Proposal& p) {
    p.action = get<std::string>(j, "action");
    p.params = j.at("params");
    p.approvals = get<std::vector<ProposalApproval>>(j, "approvals");
    p.executed = get_opt<std::int64_t>(j, "executed");
    p.failure = get_opt<std::string>(j, "failure");
  });
}

json to_json(const LegEvent& e) {
  json j;
  to_json(j, e);
  return j;
}

Result<std::string> next_events_hash(crypto::HashAlg alg, std::string_view previous_hex, std::string_view event_json) {
  auto prev = crypto::digest_from_hex(previous_hex);
  if (!prev) return make_error("corrupt_state", "an events_hash is not a digest");
  crypto::Hasher h(alg);
  h.update(crypto::ByteView(prev->data(), prev->size())).update(event_json);
  return crypto::hex(h.finish());
}

Result<json> bill_view(json doc, const StateView& state, crypto::HashAlg alg) {
  if (!doc.is_object()) return doc;
  const auto kind_it = doc.find("kind");
  if (kind_it == doc.end() || *kind_it != std::string(kind::kBill)) return doc;
  const auto id_it = doc.find("id");
  if (id_it == doc.end() || !id_it->is_string()) return make_error("corrupt_state", "a bill without an id");
  const std::string id = id_it->get<std::string>();
  auto legs = doc.find("legs");
  if (legs == doc.end() || !legs->is_array()) return make_error("corrupt_state", "bill " + id + " has no legs");
  for (std::size_t i = 0; i < legs->size(); ++i) {
    json& leg = (*legs)[i];
    const std::string where = "bill " + id + " leg " + std::to_string(i);
    const auto count = leg.is_object() ? leg.find("event_count") : leg.end();
    if (count == leg.end() || !count->is_number_integer() || count->get<std::int64_t>() < 0 ||
        count->get<std::int64_t>() > kMaxLegEvents) {
      return make_error("corrupt_state", where + ": no event_count");
    }
    const auto chain = leg.find("events_hash");
    if (chain == leg.end() || !chain->is_string()) return make_error("corrupt_state", where + ": no events_hash");
    std::string hash(kNoEventsHash);
    json events = json::array();
    for (std::int64_t n = 1; n <= count->get<std::int64_t>(); ++n) {
      auto raw = state.get(keys::leg_event(id, static_cast<std::int64_t>(i), n));
      if (!raw) return raw.error();
      if (!raw->has_value()) return make_error("corrupt_state", where + ": event " + std::to_string(n) + " is missing");
      json e = json::parse(**raw, nullptr, false);
      if (!e.is_object()) return make_error("corrupt_state", where + ": event " + std::to_string(n) + " is unreadable");
      auto next = next_events_hash(alg, hash, **raw);
      if (!next) return next.error();
      hash = std::move(*next);
      events.push_back(std::move(e));
    }
    if (hash != chain->get<std::string>()) {
      return make_error("corrupt_state", where + ": its stored events do not chain to its events_hash");
    }
    leg["events"] = std::move(events);
  }
  return doc;
}

}  // namespace onebill::contracts
