#include "contracts/tx_context.h"

#include <algorithm>

#include "contracts/reasons.h"
#include "crypto/canonical_json.h"

namespace onebill::contracts {

Error reject(std::string_view code, std::string message) { return make_error(std::string(code), std::move(message)); }

TxContext::TxContext(const Envelope& entry, const BlockContext& block, const StateView& state,
                     const Membership& members, std::string signer_org, DocumentCache* cache)
    : entry_(entry),
      block_(block),
      state_(state),
      members_(members),
      signer_org_(std::move(signer_org)),
      cache_(cache) {}

Status TxContext::require_role(std::string_view role, std::string_view what) const {
  if (signer_has_role(role)) return {};
  return reject(reason::kWrongRole,
                signer_org_ + " lacks role " + std::string(role) + " (" + std::string(what) + ")");
}

std::optional<std::string> TxContext::get(std::string_view key) {
  if (const auto it = writes_.find(key); it != writes_.end()) return it->second;
  auto value = state_.get(key);
  if (!value) {
    if (!fault_) fault_ = value.error();
    return std::nullopt;
  }
  return std::move(value.value());
}

std::shared_ptr<const nlohmann::json> TxContext::load_json(std::string_view id) {
  const std::string key = keys::document(id);
  auto bytes = get(key);
  if (!bytes) return nullptr;
  return parse_doc(id, key, std::move(*bytes));
}

std::shared_ptr<const nlohmann::json> TxContext::parse_doc(std::string_view id, const std::string& key,
                                                           std::string bytes) {
  if (cache_ != nullptr) {
    if (auto tree = cache_->find(key, bytes)) return tree;
  }
  auto json = std::make_shared<nlohmann::json>(nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false));
  if (json->is_discarded() || !json->is_object()) {
    if (!fault_) fault_ = make_error("corrupt_state", "document " + std::string(id) + " is not a JSON object");
    return nullptr;
  }
  if (cache_ != nullptr) cache_->insert(key, std::move(bytes), json);
  return json;
}

bool TxContext::doc_exists(std::string_view id) { return get(keys::document(id)).has_value(); }

Result<std::string> TxContext::kind_of(std::string_view id) {
  auto json = load_json(id);
  if (!json) return reject(reason::kDocNotFound, "no document " + std::string(id));
  const auto it = json->find("kind");
  if (it == json->end() || !it->is_string()) {
    if (!fault_) fault_ = make_error("corrupt_state", "document " + std::string(id) + " has no kind");
    return reject(reason::kDocNotFound, "no document " + std::string(id));
  }
  return it->get<std::string>();
}

template <class D>
Result<D> TxContext::decoded(std::string_view id, std::string_view kind, Result<D> doc) {
  if (doc.ok()) return doc;
  if (doc.error().code == "wrong_kind") return reject(reason::kDocNotFound, doc.error().message);
  if (!fault_) fault_ = doc.error();
  return reject(reason::kDocNotFound, "no " + std::string(kind) + " " + std::string(id));
}

template <class D, class F>
Result<D> TxContext::load(std::string_view id, std::string_view kind, F&& decode) {
  auto json = load_json(id);
  if (!json) return reject(reason::kDocNotFound, "no " + std::string(kind) + " " + std::string(id));
  return decoded<D>(id, kind, decode(*json));
}

// A bill's next entry finds it typed in the cache (saved or decoded by the entry before): no parse, no decode.
// load_bill copies it (and caches a bill it had to decode); take_bill, for an entry that saves the bill when it is
// accepted (which caches the new one), takes it instead of copying and caches nothing.
Result<Bill> TxContext::load_bill(std::string_view id) { return cached_bill(id, /*take=*/false); }
Result<Bill> TxContext::take_bill(std::string_view id) { return cached_bill(id, /*take=*/true); }

Result<Bill> TxContext::cached_bill(std::string_view id, bool take) {
  if (cache_ == nullptr) return load<Bill>(id, kind::kBill, bill_from_json);
  const std::string key = keys::document(id);
  auto bytes = get(key);
  if (!bytes) return reject(reason::kDocNotFound, "no bill " + std::string(id));
  if (take) {
    if (auto bill = cache_->take_bill(key, *bytes)) return bill.use_count() == 1 ? std::move(*bill) : Bill(*bill);
  } else if (auto bill = cache_->find_bill(key, *bytes)) {
    return Bill(*bill);
  }
  auto json = parse_doc(id, key, *bytes);
  if (!json) return reject(reason::kDocNotFound, "no bill " + std::string(id));
  Result<Bill> doc = decoded<Bill>(id, kind::kBill, bill_from_json(*json));
  if (!take && doc.ok()) cache_->insert_bill(key, std::move(*bytes), std::make_shared<Bill>(*doc));
  return doc;
}

void TxContext::save(Bill& doc) {
  stamp(doc.meta);  // the caller's bill shows the stamp too, as before there was a moving form
  save(Bill(doc));
}

void TxContext::save(Bill&& doc) {
  stamp(doc.meta);  // before serializing: the stored head and height are this entry's
  std::string key = keys::document(doc.meta.id);
  auto bytes = canonical_bill(doc);
  if (!bytes) {
    if (!fault_) fault_ = bytes.error();
    return;
  }
  std::string id = doc.meta.id;
  // Kept for the next entry on the bill (as save_json keeps trees: the cache answers only for these bytes).
  if (cache_ != nullptr) cache_->insert_bill(key, *bytes, std::make_shared<Bill>(std::move(doc)));
  put(key, std::move(bytes.value()));
  note_document(id);
}
Result<Receipt> TxContext::load_receipt(std::string_view id) {
  return load<Receipt>(id, kind::kReceipt, receipt_from_json);
}
Result<Pledge> TxContext::load_pledge(std::string_view id) { return load<Pledge>(id, kind::kPledge, pledge_from_json); }
Result<Proposal> TxContext::load_proposal(std::string_view id) {
  return load<Proposal>(id, kind::kProposal, proposal_from_json);
}

void TxContext::stamp(DocMeta& meta) const {
  meta.head = entry_.id;
  meta.height = block_.height;
}

const std::string* TxContext::put_json(const std::string& key, const nlohmann::json& value) {
  auto bytes = crypto::canonicalize(value);
  if (!bytes) {
    if (!fault_) fault_ = make_error("corrupt_state", key + ": " + bytes.error().message);
    return nullptr;
  }
  auto [it, added] = writes_.insert_or_assign(key, std::move(bytes.value()));
  (void)added;
  return &*it->second;
}

void TxContext::save_json(const std::string& id, nlohmann::json doc) {
  const std::string key = keys::document(id);
  auto bytes = crypto::canonicalize(doc);
  if (!bytes) {
    if (!fault_) fault_ = make_error("corrupt_state", key + ": " + bytes.error().message);
    return;
  }
  // Kept for the next entry that loads these bytes. Rejected entries' writes are dropped, but what a rejected
  // entry saved is still a faithful parse of those bytes, and the cache answers only for the same bytes.
  if (cache_ != nullptr) cache_->insert(key, *bytes, std::make_shared<const nlohmann::json>(std::move(doc)));
  put(key, std::move(bytes.value()));
  note_document(id);
}

DocMeta TxContext::new_meta(std::string_view kind, std::string status, std::string holder) const {
  DocMeta m;
  m.id = entry_.tx.doc;
  m.kind = std::string(kind);
  m.status = std::move(status);
  m.issuer = signer_org_;
  m.holder = std::move(holder);
  m.version = 1;
  m.created = block_.height;
  return m;
}

void TxContext::check_party(FieldReader& r, std::string_view key, const std::string& org) const {
  if (!r.ok()) return;
  const Org* o = members_.org(org);
  if (o == nullptr || !o->active) return r.fail(reason::kBadBody, key, org + " is not an active organisation");
  if (o->roles.size() == 1 && o->roles.front() == "auditor") {
    r.fail(reason::kBadBody, key, org + " is an auditor and cannot hold or receive rights");
  }
}

void TxContext::note_document(std::string_view id) {
  const auto it = std::lower_bound(documents_.begin(), documents_.end(), id);
  if (it == documents_.end() || *it != id) documents_.insert(it, std::string(id));
}

}  // namespace onebill::contracts
