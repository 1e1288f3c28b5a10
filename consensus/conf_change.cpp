#include "consensus/conf_change.h"

#include <algorithm>
#include <string>

#include "consensus/errors.h"

namespace onebill::consensus {
namespace {

constexpr std::uint8_t kConfChangeVersion = 1;
constexpr std::size_t kConfChangeBytes = 10;

void insert_sorted(std::vector<NodeId>& ids, NodeId id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) ids.insert(it, id);
}

void erase_id(std::vector<NodeId>& ids, NodeId id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) ids.erase(it);
}

}  // namespace

bool ConfState::is_voter(NodeId id) const { return std::binary_search(voters.begin(), voters.end(), id); }
bool ConfState::is_learner(NodeId id) const { return std::binary_search(learners.begin(), learners.end(), id); }

const char* to_string(ConfChangeType type) {
  switch (type) {
    case ConfChangeType::kAddVoter: return "add-voter";
    case ConfChangeType::kRemoveVoter: return "remove-voter";
    case ConfChangeType::kAddLearner: return "add-learner";
    case ConfChangeType::kPromoteLearner: return "promote-learner";
  }
  return "unknown";
}

ConfState apply_conf_change(const ConfState& conf, const ConfChange& change) {
  ConfState next = conf;
  if (change.node == kNoNode) return next;
  switch (change.type) {
    case ConfChangeType::kAddVoter:
      erase_id(next.learners, change.node);
      insert_sorted(next.voters, change.node);
      break;
    case ConfChangeType::kRemoveVoter:
      erase_id(next.voters, change.node);
      erase_id(next.learners, change.node);
      break;
    case ConfChangeType::kAddLearner:
      if (!next.is_voter(change.node)) insert_sorted(next.learners, change.node);
      break;
    case ConfChangeType::kPromoteLearner:
      if (next.is_learner(change.node)) {
        erase_id(next.learners, change.node);
        insert_sorted(next.voters, change.node);
      }
      break;
  }
  return next;
}

Status check_conf_change(const ConfState& conf, const ConfChange& change) {
  if (change.node == kNoNode) return make_error(kErrInvalidConfChange, "node id 0 is reserved");
  ConfState next = apply_conf_change(conf, change);
  if (next == conf) {
    return make_error(kErrInvalidConfChange, std::string(to_string(change.type)) + " of node " +
                                                 std::to_string(change.node) + " changes nothing");
  }
  if (next.voters.empty()) return make_error(kErrInvalidConfChange, "cannot remove the last voter");
  return Status::success();
}

Bytes encode_conf_change(const ConfChange& change) {
  Bytes out;
  out.reserve(kConfChangeBytes);
  out.push_back(kConfChangeVersion);
  out.push_back(static_cast<std::uint8_t>(change.type));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(change.node >> (8 * i)));
  return out;
}

Result<ConfChange> decode_conf_change(const Bytes& data) {
  if (data.size() != kConfChangeBytes) return make_error(kErrDecode, "conf change: must be 10 bytes");
  if (data[0] != kConfChangeVersion) return make_error(kErrDecode, "conf change: unknown version");
  if (data[1] > static_cast<std::uint8_t>(ConfChangeType::kPromoteLearner)) {
    return make_error(kErrDecode, "conf change: unknown type");
  }
  ConfChange change;
  change.type = static_cast<ConfChangeType>(data[1]);
  for (int i = 0; i < 8; ++i) change.node |= static_cast<NodeId>(data[2 + static_cast<std::size_t>(i)]) << (8 * i);
  return change;
}

}  // namespace onebill::consensus
