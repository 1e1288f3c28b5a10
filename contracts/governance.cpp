// gov.propose / gov.approve: membership changes by majority of the active organisations (docs/model.md,
// "Governance").
#include <algorithm>

#include "contracts/handlers.h"
#include "contracts/reasons.h"

namespace onebill::contracts::handlers {
namespace {

// Executes the proposal when approvals from active organisations exceed half of the active organisations. The
// action is checked again against the membership of this moment: if it no longer applies (say the key was revoked
// by another proposal meanwhile) the proposal ends `failed`, with the reason, and membership is unchanged.
void maybe_execute(TxContext& c, Proposal& p) {
  const auto approvals = static_cast<std::size_t>(std::count_if(
      p.approvals.begin(), p.approvals.end(),
      [&c](const ProposalApproval& a) { return c.members().is_active_org(a.org); }));
  if (approvals * 2 <= c.members().active_org_count()) return;
  if (auto s = c.members().check_change(p.action, p.params); !s) {
    p.meta.status = std::string(proposal_status::kFailed);
    p.failure = s.error().message;
    return;
  }
  MembershipChange change{p.action, p.params, p.meta.id, c.height(), c.block().index};
  c.put_json(keys::membership_change(c.height(), c.block().index), change.to_json());
  c.membership_change() = std::move(change);
  p.meta.status = std::string(proposal_status::kExecuted);
  p.executed = c.height();
}

}  // namespace

Status gov_propose(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  Proposal p;
  p.action = r.choice("action", {"org.add", "org.remove", "key.add", "key.revoke", "node.add", "node.remove",
                                 "role.set"});
  const nlohmann::json* params = r.raw("params");
  if (r.ok() && (params == nullptr || !params->is_object())) r.fail(reason::kBadBody, "params", "expected an object");
  r.close();
  if (error) return *error;
  if (auto s = c.members().check_change(p.action, *params); !s) return s;
  if (c.doc_exists(c.tx().doc)) return reject(reason::kDocExists, "document " + c.tx().doc + " exists");

  p.params = *params;
  p.meta = c.new_meta(kind::kProposal, std::string(proposal_status::kOpen), c.signer());
  p.approvals.push_back(ProposalApproval{c.signer(), c.height()});
  maybe_execute(c, p);
  c.save(p);
  return {};
}

Status gov_approve(TxContext& c) {
  std::optional<Error> error;
  FieldReader r(c.body(), "body", error);
  r.close();
  if (error) return *error;

  auto p = c.load_proposal(c.tx().doc);
  if (!p) return p.error();
  if (p->meta.status != proposal_status::kOpen) {
    return reject(reason::kBadState, "proposal " + p->meta.id + " is " + p->meta.status);
  }
  if (std::any_of(p->approvals.begin(), p->approvals.end(),
                  [&c](const ProposalApproval& a) { return a.org == c.signer(); })) {
    return reject(reason::kBadState, c.signer() + " has already approved proposal " + p->meta.id);
  }
  p->approvals.push_back(ProposalApproval{c.signer(), c.height()});
  maybe_execute(c, *p);
  c.save(*p);
  return {};
}

}  // namespace onebill::contracts::handlers
