// Helpers for the paper and feature tests: a RawNode over a MemoryStorage set up with a given log and hard
// state, and a pump that moves messages between such nodes.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

#include "consensus/memory_storage.h"
#include "consensus/raw_node.h"

namespace onebill::consensus::testing {

inline const ConfState kThree{{1, 2, 3}, {}};

inline Message msg(MessageType type, NodeId from, NodeId to, Term term) {
  Message m;
  m.type = type;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

struct TestNode {
  TestNode(NodeId id, ConfState conf, const std::vector<Term>& log_terms = {}, HardState hs = {},
           bool pre_vote = false, bool check_quorum = false)
      : storage(std::move(conf)) {
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < log_terms.size(); ++i) entries.push_back(Entry{log_terms[i], i + 1, EntryType::kNormal, {}});
    if (!storage.append(entries).ok()) throw std::logic_error("bad log");
    storage.set_hard_state(hs);
    config.id = id;
    config.pre_vote = pre_vote;
    config.check_quorum = check_quorum;
    config.check_invariants = true;
    config.on_fatal = [](const Error& e) { throw std::logic_error(e.code + ": " + e.message); };
    start();
  }

  void start() {
    auto r = RawNode::create(config, storage);
    if (!r) throw std::logic_error(r.error().message);
    node.emplace(std::move(*r));
  }

  // Carries out every pending Ready (persist, apply) and returns the messages to send.
  std::vector<Message> flush() {
    std::vector<Message> out;
    while (node->has_ready()) {
      Ready rd = node->ready();
      if (rd.snapshot && !storage.apply_snapshot(*rd.snapshot).ok()) throw std::logic_error("snapshot");
      if (!storage.append(rd.entries).ok()) throw std::logic_error("append");
      if (rd.hard_state) storage.set_hard_state(*rd.hard_state);
      for (Message& m : rd.messages) out.push_back(std::move(m));
      for (Entry& e : rd.committed_entries) applied.push_back(std::move(e));
      node->advance();
    }
    return out;
  }

  RaftStatus status() const { return node->status(); }
  RawNode& operator*() { return *node; }
  RawNode* operator->() { return &*node; }

  MemoryStorage storage;
  Config config;
  std::optional<RawNode> node;
  std::vector<Entry> applied;
};

// Delivers messages among `nodes` (flushing each after every step) until none are left; messages to nodes not
// in the map are dropped. Returns how many were delivered.
inline int pump(std::map<NodeId, TestNode*> nodes, std::vector<Message> msgs = {}) {
  for (auto& [id, n] : nodes) {
    for (Message& m : n->flush()) msgs.push_back(std::move(m));
  }
  int delivered = 0;
  while (!msgs.empty()) {
    std::vector<Message> next;
    for (Message& m : msgs) {
      auto it = nodes.find(m.to);
      if (it == nodes.end()) continue;
      ++delivered;
      if (!(*it->second)->step(m).ok()) throw std::logic_error("step refused a message");
      for (Message& out : it->second->flush()) next.push_back(std::move(out));
    }
    msgs = std::move(next);
  }
  return delivered;
}

inline std::vector<Message> of_type(const std::vector<Message>& msgs, MessageType type) {
  std::vector<Message> out;
  for (const Message& m : msgs) {
    if (m.type == type) out.push_back(m);
  }
  return out;
}

}  // namespace onebill::consensus::testing
