// Single-server membership changes (thesis §4.1): one voter added, removed or promoted at a time, so that any two
// consecutive configurations have overlapping majorities.
//
// A configuration change travels as a log entry of type kConfChange and takes effect on each node as soon as the
// entry is appended to that node's log, committed or not (thesis §4.1); if the entry is later truncated away, the
// node goes back to the previous configuration. apply_conf_change is the one deterministic rule every node uses,
// so every node that has the same log computes the same configuration.
#pragma once

#include <cstdint>

#include "consensus/types.h"
#include "crypto/result.h"

namespace onebill::consensus {

// The numeric values are part of the encoding: never renumber.
enum class ConfChangeType : std::uint8_t {
  kAddVoter = 0,        // add a voter (if it is a learner, promote it)
  kRemoveVoter = 1,     // remove a node, voter or learner, from the configuration
  kAddLearner = 2,      // add a non-voting member that receives the log
  kPromoteLearner = 3,  // turn a learner into a voter
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNoNode;

  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

const char* to_string(ConfChangeType type);

// The configuration after `change`. Total and deterministic: a change that does not apply (adding a voter twice,
// promoting a node that is not a learner, adding a voter as a learner) leaves the configuration unchanged.
ConfState apply_conf_change(const ConfState& conf, const ConfChange& change);

// Whether a leader should accept `change` as a proposal against `conf`: it must change something, and it must not
// remove the last voter. Returns kErrInvalidConfChange otherwise.
Status check_conf_change(const ConfState& conf, const ConfChange& change);

// The bytes of a kConfChange entry: version byte 1, type (u8), node id (u64 little-endian); 10 bytes exactly.
Bytes encode_conf_change(const ConfChange& change);
Result<ConfChange> decode_conf_change(const Bytes& data);

}  // namespace onebill::consensus
