#include "tests/integration/schedule.h"

#include <algorithm>
#include <numeric>
#include <set>
#include <thread>

#include "tests/integration/workload.h"

namespace onebill::faults {
namespace {

using Clock = std::chrono::steady_clock;

void hold(int ms, const std::atomic<bool>& abort) {
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (!abort && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

std::string names(const FaultCluster& c, const std::vector<std::size_t>& nodes) {
  std::string out;
  for (auto i : nodes) out += (out.empty() ? "" : ",") + c.id(i);
  return out;
}

// `count` nodes: the leader first when `with_leader` (and one is known), the others picked at random.
std::vector<std::size_t> choose(std::size_t size, int leader, int count, bool with_leader, std::uint64_t pick) {
  std::vector<std::size_t> others;
  for (std::size_t i = 0; i < size; ++i) {
    if (static_cast<int>(i) != leader) others.push_back(i);
  }
  std::uint64_t rng = pick;
  for (std::size_t i = others.size(); i > 1; --i) std::swap(others[i - 1], others[next_random(rng) % i]);
  std::vector<std::size_t> out;
  if (with_leader && leader >= 0) out.push_back(static_cast<std::size_t>(leader));
  for (auto i : others) {
    if (static_cast<int>(out.size()) >= count) break;
    out.push_back(i);
  }
  return out;
}

void cut_between(FaultCluster& c, const std::vector<std::size_t>& a, const std::vector<std::size_t>& b, LinkMode m) {
  for (auto x : a) {
    for (auto y : b) {
      c.set_link(x, y, m);
      c.set_link(y, x, m);
    }
  }
}

std::string leader_note(int leader, const FaultCluster& c) {
  return leader >= 0 ? " (leader " + c.id(static_cast<std::size_t>(leader)) + ")" : " (no leader known)";
}

}  // namespace

const char* fault_name(FaultKind k) {
  switch (k) {
    case FaultKind::kill: return "kill";
    case FaultKind::pause: return "pause";
    case FaultKind::partition: return "partition";
    case FaultKind::isolate: return "isolate";
    case FaultKind::bridge: return "bridge";
    case FaultKind::one_way: return "one_way";
    case FaultKind::torn_tail: return "torn_tail";
    case FaultKind::disk_full: return "disk_full";
    case FaultKind::mixed: return "mixed";
  }
  return "?";
}

Plan make_plan(std::uint64_t seed, int nodes, int clients, const std::vector<FaultKind>& only) {
  std::uint64_t rng = seed ^ 0x6f6e6562696c6cULL;  // "onebill"
  next_random(rng);
  Plan p;
  p.seed = seed;
  p.nodes = nodes > 0 ? nodes : (next_random(rng) % 2 == 0 ? 3 : 5);
  p.clients = clients;
  p.snapshot_interval = next_random(rng) % 2 == 0 ? 0 : 60;  // often: compaction and snapshot installs under faults
  p.disk_node = static_cast<std::size_t>(next_random(rng) % static_cast<std::uint64_t>(p.nodes));
  std::vector<FaultKind> kinds = only;
  if (kinds.empty()) {
    for (int k = 0; k < kFaultKinds; ++k) kinds.push_back(static_cast<FaultKind>(k));
  }
  const int minority = (p.nodes - 1) / 2;
  for (int round = 0; round < 6; ++round) {
    std::vector<FaultKind> order = kinds;
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[next_random(rng) % i]);
    for (auto kind : order) {
      FaultStep s;
      s.kind = kind;
      s.count = static_cast<int>(random_between(rng, 1, minority));
      s.leader = next_random(rng) % 2 == 0;
      s.blackhole = next_random(rng) % 2 == 0;
      s.gap_ms = static_cast<int>(random_between(rng, 300, 1000));
      s.pick = next_random(rng);
      switch (kind) {
        case FaultKind::kill: s.hold_ms = static_cast<int>(random_between(rng, 300, 2500)); break;
        case FaultKind::pause: s.hold_ms = static_cast<int>(random_between(rng, 1000, 2500)); break;
        case FaultKind::torn_tail: s.hold_ms = static_cast<int>(random_between(rng, 200, 1500)); break;
        default: s.hold_ms = static_cast<int>(random_between(rng, 1000, 3000)); break;
      }
      p.steps.push_back(s);
    }
  }
  return p;
}

std::string describe(const FaultStep& s) {
  std::string d = fault_name(s.kind);
  if (s.kind == FaultKind::kill || s.kind == FaultKind::pause || s.kind == FaultKind::partition ||
      s.kind == FaultKind::mixed) {
    d += " " + std::to_string(s.count) + (s.leader ? " incl. leader" : "");
  }
  if (s.kind == FaultKind::torn_tail) d += s.leader ? " leader" : " follower";
  if (s.kind == FaultKind::partition || s.kind == FaultKind::isolate || s.kind == FaultKind::bridge ||
      s.kind == FaultKind::one_way || s.kind == FaultKind::mixed) {
    d += s.blackhole ? " blackhole" : " drop";
  }
  return d + " " + std::to_string(s.hold_ms) + "ms";
}

Injected inject(FaultCluster& c, const FaultStep& step, Timeline& timeline, const std::atomic<bool>& abort) {
  Injected r;
  const int leader = c.leader();
  const std::size_t n = c.size();
  const LinkMode mode = step.blackhole ? LinkMode::blackhole : LinkMode::drop;
  const std::string how = step.blackhole ? " (blackhole)" : " (drop)";
  auto say = [&](const std::string& what) {
    r.what = what;
    timeline.say("fault " + what);
  };
  if (leader < 0 && (step.kind == FaultKind::isolate || step.kind == FaultKind::one_way)) {
    r.skipped = true;
    say(std::string(fault_name(step.kind)) + ": skipped, no leader known");
    return r;
  }
  switch (step.kind) {
    case FaultKind::kill: {
      auto nodes = choose(n, leader, step.count, step.leader, step.pick);
      say("kill -9 " + names(c, nodes) + leader_note(leader, c));
      for (auto i : nodes) {
        c.note(i, "kill -9");
        c.kill(i);
      }
      hold(step.hold_ms, abort);
      for (auto i : nodes) {
        c.note(i, "restart");
        c.start(i);
      }
      break;
    }
    case FaultKind::pause: {
      auto nodes = choose(n, leader, step.count, step.leader, step.pick);
      say("SIGSTOP " + names(c, nodes) + " for " + std::to_string(step.hold_ms) + " ms" + leader_note(leader, c));
      for (auto i : nodes) {
        c.note(i, "SIGSTOP");
        c.pause(i);
      }
      hold(step.hold_ms, abort);
      for (auto i : nodes) {
        c.resume(i);
        c.note(i, "SIGCONT");
      }
      break;
    }
    case FaultKind::partition:
    case FaultKind::mixed: {
      auto minority = choose(n, leader, step.count, step.leader, step.pick);
      std::vector<std::size_t> majority;
      for (std::size_t i = 0; i < n; ++i) {
        if (std::find(minority.begin(), minority.end(), i) == minority.end()) majority.push_back(i);
      }
      std::size_t victim = majority[(step.pick >> 16) % majority.size()];
      bool mixed = step.kind == FaultKind::mixed;
      say("partition " + names(c, minority) + " | " + names(c, majority) + how + leader_note(leader, c) +
          (mixed ? ", then kill -9 " + c.id(victim) + " halfway" : ""));
      cut_between(c, minority, majority, mode);
      if (mixed) {
        hold(step.hold_ms / 2, abort);
        c.note(victim, "kill -9 (during a partition)");
        c.kill(victim);
        hold(step.hold_ms / 2, abort);
        c.note(victim, "restart (the partition heals next)");
        c.start(victim);
        hold(300, abort);
      } else {
        hold(step.hold_ms, abort);
      }
      c.heal_links();
      break;
    }
    case FaultKind::isolate: {
      std::vector<std::size_t> rest;
      for (std::size_t i = 0; i < n; ++i) {
        if (static_cast<int>(i) != leader) rest.push_back(i);
      }
      say("isolate leader " + c.id(static_cast<std::size_t>(leader)) + how);
      cut_between(c, {static_cast<std::size_t>(leader)}, rest, mode);
      hold(step.hold_ms, abort);
      c.heal_links();
      break;
    }
    case FaultKind::bridge: {
      // The bridge (the leader, or a random node), then the others shuffled into two halves.
      auto order = choose(n, leader, static_cast<int>(n), step.leader, step.pick);
      std::size_t bridge = order[0];
      std::vector<std::size_t> left, right;
      for (std::size_t k = 1; k < order.size(); ++k) (k % 2 ? left : right).push_back(order[k]);
      say("bridge " + names(c, left) + " <-> " + c.id(bridge) + " <-> " + names(c, right) + how +
          leader_note(leader, c));
      cut_between(c, left, right, mode);
      hold(step.hold_ms, abort);
      c.heal_links();
      break;
    }
    case FaultKind::one_way: {
      auto l = static_cast<std::size_t>(leader);
      bool outbound = step.pick % 2 == 0;
      say(std::string("one-way: ") + (outbound ? "messages from leader " + c.id(l) + " to everyone lost"
                                               : "messages to leader " + c.id(l) + " from everyone lost") + how);
      for (std::size_t i = 0; i < n; ++i) {
        if (i != l) outbound ? c.set_link(l, i, mode) : c.set_link(i, l, mode);
      }
      hold(step.hold_ms, abort);
      c.heal_links();
      break;
    }
    case FaultKind::torn_tail: {
      auto i = choose(n, leader, 1, step.leader, step.pick)[0];
      c.note(i, "kill -9, then a torn tail");
      c.kill(i);
      std::string error;
      std::string cut = c.tear_tail(i, step.pick >> 8, error);
      say("torn tail on " + c.id(i) + (static_cast<int>(i) == leader ? " (leader)" : "") + ": " +
          (error.empty() ? cut : "could not read its log: " + error));
      c.note(i, cut.empty() ? error : cut);
      hold(step.hold_ms, abort);
      c.note(i, "restart");
      c.start(i);
      break;
    }
    case FaultKind::disk_full: {
      auto node = c.tmpfs_node();
      if (!node) {
        r.skipped = true;
        say("disk_full: skipped, no tmpfs (" + c.mount_error() + ")");
        break;
      }
      std::uintmax_t slack = 64 * 1024 + (step.pick % (448 * 1024));
      std::string what = c.fill_disk(slack);
      say("disk full on " + c.id(*node) + ": " + what);
      c.note(*node, "disk full: " + what);
      hold(step.hold_ms, abort);
      auto s = c.status(*node);
      std::string role = s.is_object() ? text_field(s, "role") : "no answer";
      timeline.say("  " + c.id(*node) + " role at the end of the full disk: " + role);
      r.what += "; role then: " + role;
      c.free_disk();
      c.note(*node, "space given back; restart (SIGTERM)");
      c.stop(*node);
      c.start(*node);
      break;
    }
  }
  return r;
}

}  // namespace onebill::faults
