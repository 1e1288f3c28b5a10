// Runs the scenario scripts in tests/data/raft (language: tests/data/raft/README.md), one test case each.
#include <catch2/catch.hpp>

#include <string>

#include "tests/consensus/interaction.h"

namespace {

void run(const std::string& name) {
  std::vector<std::string> failures =
      onebill::consensus::testing::run_script(std::string(ONEBILL_TEST_DATA) + "/raft/" + name + ".txt");
  for (const std::string& f : failures) UNSCOPED_INFO(f);
  CHECK(failures.empty());
}

}  // namespace

TEST_CASE("scenario: election", "[raft][scenario]") { run("election"); }
TEST_CASE("scenario: pre-vote", "[raft][scenario]") { run("prevote"); }
TEST_CASE("scenario: check-quorum", "[raft][scenario]") { run("check_quorum"); }
TEST_CASE("scenario: leader transfer", "[raft][scenario]") { run("leader_transfer"); }
TEST_CASE("scenario: log conflict repair", "[raft][scenario]") { run("log_conflict"); }
TEST_CASE("scenario: learner catch-up", "[raft][scenario]") { run("learner"); }
TEST_CASE("scenario: add and remove voters", "[raft][scenario]") { run("membership"); }
TEST_CASE("scenario: snapshot after compaction", "[raft][scenario]") { run("snapshot"); }
TEST_CASE("scenario: partitioned old leader", "[raft][scenario]") { run("partitioned_leader"); }
TEST_CASE("scenario: flow control and batching", "[raft][scenario]") { run("flow_control"); }
