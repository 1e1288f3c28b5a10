// Internal to contracts: what a rule handler sees while it applies one entry.
//
// A handler is `Status handler(TxContext&)`: it reads the body and the state, and either returns a rejection (an
// Error whose code is a reason of reasons.h) having written nothing that matters — the dispatcher drops all writes
// of a rejected entry — or returns success after staging its writes here. State that cannot be read or decoded is a
// fault, not a rejection: the context records it and the dispatcher returns it as an Error whatever the handler
// answered.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/apply.h"
#include "contracts/doc_cache.h"
#include "contracts/documents.h"
#include "contracts/schema.h"

namespace onebill::contracts {

// A rejection with the given reason code.
Error reject(std::string_view code, std::string message);

class TxContext {
 public:
  // `cache` (may be null) remembers parsed documents across entries and blocks (doc_cache.h).
  TxContext(const Envelope& entry, const BlockContext& block, const StateView& state, const Membership& members,
            std::string signer_org, DocumentCache* cache = nullptr);

  const Tx& tx() const { return entry_.tx; }
  const std::string& tx_id() const { return entry_.id; }
  const nlohmann::json& body() const { return entry_.tx.body; }
  const BlockContext& block() const { return block_; }
  std::int64_t height() const { return block_.height; }
  const Membership& members() const { return members_; }
  const std::string& signer() const { return signer_org_; }  // the signing organisation
  bool signer_has_role(std::string_view role) const { return members_.has_role(signer_org_, role); }
  // wrong_role unless the signing organisation has `role`.
  Status require_role(std::string_view role, std::string_view what) const;

  // Raw state, through this entry's own staged writes.
  std::optional<std::string> get(std::string_view key);
  void put(const std::string& key, std::string value) { writes_.insert_or_assign(key, std::move(value)); }
  void erase(const std::string& key) { writes_.insert_or_assign(key, std::nullopt); }
  // Stages canonical(value) and returns the staged bytes; a value outside the canonical subset is a fault (nullptr).
  const std::string* put_json(const std::string& key, const nlohmann::json& value);
  // Records state that cannot be read or decoded (the first fault wins); the dispatcher returns it.
  void fail(Error e) {
    if (!fault_) fault_ = std::move(e);
  }

  // Documents. load_* reject with doc_not_found when the id is absent or of another kind.
  bool doc_exists(std::string_view id);
  Result<std::string> kind_of(std::string_view id);  // doc_not_found when absent
  Result<Bill> load_bill(std::string_view id);
  // load_bill for an entry that saves the bill when accepted: the cached bill is handed over rather than copied.
  Result<Bill> take_bill(std::string_view id);
  Result<Receipt> load_receipt(std::string_view id);
  Result<Pledge> load_pledge(std::string_view id);
  Result<Proposal> load_proposal(std::string_view id);
  // Stamps head = this entry, height = this block, stages the canonical JSON, and notes the id in documents().
  void save(Bill& doc);  // written canonically without a JSON tree, and kept typed in the cache
  void save(Bill&& doc);  // the same, the bill moved into the cache instead of copied (the caller is done with it)
  void save(Receipt& doc) { save_doc(doc); }
  void save(Pledge& doc) { save_doc(doc); }
  void save(Proposal& doc) { save_doc(doc); }
  // A new document's header: kind, id = tx.doc, issuer = signer, created = height.
  DocMeta new_meta(std::string_view kind, std::string status, std::string holder) const;
  // Hands a document to a new holder and records the step in its endorsement chain (from, to, how, here).
  void transfer(DocMeta& meta, std::vector<Endorsement>& chain, const std::string& to, std::string via) const {
    chain.push_back(Endorsement{meta.holder, to, std::move(via), height(), tx_id()});
    meta.holder = to;
  }

  // A body field that names an organisation must name an active one that can hold rights (not auditor-only).
  void check_party(FieldReader& r, std::string_view key, const std::string& org) const;

  void note_document(std::string_view id);
  const std::vector<std::string>& documents() const { return documents_; }
  WriteSet& writes() { return writes_; }
  std::optional<MembershipChange>& membership_change() { return membership_change_; }
  const std::optional<Error>& fault() const { return fault_; }

 private:
  template <class D>
  void save_doc(D& doc) {
    stamp(doc.meta);  // before serializing: the stored head and height are this entry's
    save_json(doc.meta.id, to_json(doc));
  }
  void stamp(DocMeta& meta) const;
  void save_json(const std::string& id, nlohmann::json doc);
  // The document's parsed JSON object (from the cache when it holds these very bytes); nullptr when absent or, with
  // a fault recorded, not a JSON object.
  std::shared_ptr<const nlohmann::json> load_json(std::string_view id);
  // The same for the stored `bytes` of document `id` at `key`.
  std::shared_ptr<const nlohmann::json> parse_doc(std::string_view id, const std::string& key, std::string bytes);
  // A decoded document as load() answers: wrong_kind and undecodable both reject doc_not_found, the second also
  // recording a fault.
  template <class D>
  Result<D> decoded(std::string_view id, std::string_view kind, Result<D> doc);
  template <class D, class F>
  Result<D> load(std::string_view id, std::string_view kind, F&& decode);
  // load_bill (take false) and take_bill (take true).
  Result<Bill> cached_bill(std::string_view id, bool take);

  const Envelope& entry_;
  BlockContext block_;
  const StateView& state_;
  const Membership& members_;
  std::string signer_org_;
  DocumentCache* cache_;
  WriteSet writes_;
  std::vector<std::string> documents_;
  std::optional<MembershipChange> membership_change_;
  std::optional<Error> fault_;
};

}  // namespace onebill::contracts
