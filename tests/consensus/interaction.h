// Scenario scripts in the style of etcd-raft's interaction tests, but with assertions instead of full traces:
// a text file of commands (build a cluster, campaign, partition, deliver, tick, propose, compact...) and
// `expect ...` lines that check the outcome. The language is documented in tests/data/raft/README.md.
#pragma once

#include <string>
#include <vector>

namespace onebill::consensus::testing {

// Runs the script at `path`. Returns one "file:line: what" per failed expectation or command; empty if all held.
std::vector<std::string> run_script(const std::string& path);

}  // namespace onebill::consensus::testing
