// Single-server membership changes (thesis §4.1): the configuration arithmetic every node applies alike.
#include <catch2/catch.hpp>

#include "consensus/conf_change.h"
#include "consensus/errors.h"

using namespace onebill::consensus;
using onebill::Status;

TEST_CASE("§4.1: each change adds, removes or promotes exactly one server", "[conf]") {
  ConfState c{{1, 2, 3}, {}};
  CHECK(apply_conf_change(c, {ConfChangeType::kAddVoter, 4}) == ConfState{{1, 2, 3, 4}, {}});
  CHECK(apply_conf_change(c, {ConfChangeType::kRemoveVoter, 2}) == ConfState{{1, 3}, {}});
  ConfState with_learner = apply_conf_change(c, {ConfChangeType::kAddLearner, 5});
  CHECK(with_learner == ConfState{{1, 2, 3}, {5}});
  CHECK(apply_conf_change(with_learner, {ConfChangeType::kPromoteLearner, 5}) == ConfState{{1, 2, 3, 5}, {}});
  CHECK(apply_conf_change(with_learner, {ConfChangeType::kAddVoter, 5}) == ConfState{{1, 2, 3, 5}, {}});
  CHECK(apply_conf_change(with_learner, {ConfChangeType::kRemoveVoter, 5}) == c);
}

TEST_CASE("changes that do not apply leave the configuration as it is", "[conf]") {
  ConfState c{{1, 2, 3}, {4}};
  CHECK(apply_conf_change(c, {ConfChangeType::kAddVoter, 2}) == c);
  CHECK(apply_conf_change(c, {ConfChangeType::kAddLearner, 2}) == c);  // no demotion
  CHECK(apply_conf_change(c, {ConfChangeType::kPromoteLearner, 9}) == c);
  CHECK(apply_conf_change(c, {ConfChangeType::kRemoveVoter, 9}) == c);
  CHECK(apply_conf_change(c, {ConfChangeType::kAddVoter, kNoNode}) == c);
}

TEST_CASE("a leader refuses changes that change nothing or remove the last voter", "[conf]") {
  ConfState c{{1}, {2}};
  CHECK(check_conf_change(c, {ConfChangeType::kAddVoter, 3}).ok());
  CHECK(check_conf_change(c, {ConfChangeType::kPromoteLearner, 2}).ok());
  Status s = check_conf_change(c, {ConfChangeType::kRemoveVoter, 1});
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == kErrInvalidConfChange);
  CHECK_FALSE(check_conf_change(c, {ConfChangeType::kAddVoter, 1}).ok());
  CHECK_FALSE(check_conf_change(c, {ConfChangeType::kAddLearner, kNoNode}).ok());
  CHECK(c.is_voter(1));
  CHECK(c.is_learner(2));
  CHECK_FALSE(c.is_member(3));
}
