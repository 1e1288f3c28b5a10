#include "tests/consensus/interaction.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "consensus/errors.h"
#include "tests/consensus/cluster.h"

namespace onebill::consensus::testing {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::uint64_t number(const std::string& s) {
  std::size_t used = 0;
  unsigned long long v = std::stoull(s, &used);
  if (used != s.size()) throw std::invalid_argument("not a number: " + s);
  return v;
}

std::vector<NodeId> id_list(const std::string& csv) {
  std::vector<NodeId> out;
  std::stringstream in(csv);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(number(part));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<NodeId>& ids) {
  std::string out;
  for (NodeId id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

bool parse_bool(const std::string& s) {
  if (s == "true" || s == "on") return true;
  if (s == "false" || s == "off") return false;
  throw std::invalid_argument("not a boolean: " + s);
}

Role parse_role(const std::string& s) {
  if (s == "follower") return Role::kFollower;
  if (s == "pre-candidate") return Role::kPreCandidate;
  if (s == "candidate") return Role::kCandidate;
  if (s == "leader") return Role::kLeader;
  throw std::invalid_argument("unknown role: " + s);
}

MessageType parse_type(const std::string& s) {
  for (std::uint8_t t = 0; t <= kMaxMessageType; ++t) {
    if (s == to_string(static_cast<MessageType>(t))) return static_cast<MessageType>(t);
  }
  throw std::invalid_argument("unknown message type: " + s);
}

ConfChangeType parse_change(const std::string& s) {
  for (std::uint8_t t = 0; t <= static_cast<std::uint8_t>(ConfChangeType::kPromoteLearner); ++t) {
    if (s == to_string(static_cast<ConfChangeType>(t))) return static_cast<ConfChangeType>(t);
  }
  throw std::invalid_argument("unknown configuration change: " + s);
}

// One script run: the cluster plus the interpreter.
class Script {
 public:
  explicit Script(std::string path) : path_(std::move(path)) {}

  std::vector<std::string> run() {
    std::ifstream in(path_);
    if (!in) return {path_ + ": cannot open"};
    std::string line;
    while (std::getline(in, line)) {
      ++line_no_;
      if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      std::vector<std::string> words = split(line);
      if (words.empty()) continue;
      try {
        execute(words);
      } catch (const std::exception& e) {
        fail(std::string("error: ") + e.what());
      }
    }
    return failures_;
  }

 private:
  void fail(const std::string& what) { failures_.push_back(path_ + ":" + std::to_string(line_no_) + ": " + what); }

  // Splits off a trailing "=> code": the command must fail with that error code.
  static std::string expected_error(std::vector<std::string>& w) {
    if (w.size() >= 2 && w[w.size() - 2] == "=>") {
      std::string code = w.back();
      w.resize(w.size() - 2);
      return code;
    }
    return "";
  }

  void check_status(const Status& s, const std::string& want_error) {
    if (want_error.empty()) {
      if (!s) fail("unexpected error " + s.error().code + ": " + s.error().message);
    } else if (s) {
      fail("expected error " + want_error + ", got success");
    } else if (s.error().code != want_error) {
      fail("expected error " + want_error + ", got " + s.error().code);
    }
  }

  std::vector<NodeId> ids_from(const std::vector<std::string>& w, std::size_t from) {
    std::vector<NodeId> out;
    for (std::size_t i = from; i < w.size(); ++i) out.push_back(number(w[i]));
    if (out.empty()) out = cluster_.ids();
    return out;
  }

  void execute(std::vector<std::string> w) {
    std::string want_error = expected_error(w);
    const std::string& cmd = w[0];
    if (cmd == "expect") {
      expect(w);
    } else if (cmd == "add-nodes") {
      ConfState genesis;
      NodeOptions options;
      for (std::size_t i = 2; i < w.size(); ++i) {
        auto eq = w[i].find('=');
        if (eq == std::string::npos) throw std::invalid_argument("expected key=value: " + w[i]);
        std::string key = w[i].substr(0, eq);
        std::string value = w[i].substr(eq + 1);
        if (key == "voters") genesis.voters = id_list(value);
        else if (key == "learners") genesis.learners = id_list(value);
        else if (key == "pre-vote") options.pre_vote = parse_bool(value);
        else if (key == "check-quorum") options.check_quorum = parse_bool(value);
        else if (key == "election") options.election_tick = static_cast<int>(number(value));
        else if (key == "heartbeat") options.heartbeat_tick = static_cast<int>(number(value));
        else if (key == "max-msg-bytes") options.max_size_per_msg = number(value);
        else if (key == "max-inflight") options.max_inflight_msgs = number(value);
        else if (key == "chunk") options.snapshot_chunk_bytes = number(value);
        else throw std::invalid_argument("unknown option " + key);
      }
      cluster_.add_nodes(static_cast<int>(number(w.at(1))), genesis, options);
    } else if (cmd == "campaign") {
      check_status(cluster_.raw(number(w.at(1))).campaign(), want_error);
    } else if (cmd == "propose") {
      check_status(cluster_.raw(number(w.at(1))).propose(to_bytes(w.at(2))), want_error);
    } else if (cmd == "propose-batch") {
      std::vector<Bytes> batch;
      for (std::size_t i = 2; i < w.size(); ++i) batch.push_back(to_bytes(w[i]));
      check_status(cluster_.raw(number(w.at(1))).propose_batch(std::move(batch)), want_error);
    } else if (cmd == "propose-conf") {
      ConfChange cc{parse_change(w.at(2)), number(w.at(3))};
      check_status(cluster_.raw(number(w.at(1))).propose_conf_change(cc), want_error);
    } else if (cmd == "transfer-leadership") {
      check_status(cluster_.raw(number(w.at(1))).transfer_leadership(number(w.at(2))), want_error);
    } else if (cmd == "tick" || cmd == "tick-election" || cmd == "tick-heartbeat") {
      int times = 1;
      std::vector<std::string> args(w.begin(), w.end());
      if (args.size() > 1 && args.back().size() > 1 && args.back()[0] == 'x') {
        times = static_cast<int>(number(args.back().substr(1)));
        args.pop_back();
      }
      std::vector<NodeId> ids = ids_from(args, 1);
      if (cmd == "tick-election") {
        // All listed nodes tick together, one tick at a time, until one of them changes role or term (it
        // campaigned, or a leader stepped down) — at most two election timeouts, which always covers a randomized
        // timeout. Like a real cluster, where everyone's clock runs.
        for (int t = 0; t < times; ++t) {
          std::map<NodeId, RaftStatus> before;
          int limit = 0;
          for (NodeId id : ids) {
            before[id] = cluster_.raw(id).status();
            limit = std::max(limit, 2 * cluster_.node(id).config.election_tick);
          }
          bool changed = false;
          for (int i = 0; i < limit && !changed; ++i) {
            for (NodeId id : ids) cluster_.tick(id, 1);
            for (NodeId id : ids) {
              RaftStatus now = cluster_.raw(id).status();
              changed = changed || now.role != before[id].role || now.hard_state.term != before[id].hard_state.term;
            }
          }
        }
      } else {
        for (NodeId id : ids) {
          cluster_.tick(id, (cmd == "tick-heartbeat" ? cluster_.node(id).config.heartbeat_tick : 1) * times);
        }
      }
    } else if (cmd == "process-ready") {
      for (NodeId id : ids_from(w, 1)) cluster_.process_ready(id);
    } else if (cmd == "deliver-msgs") {
      std::vector<NodeId> to = ids_from(w, 1);
      cluster_.deliver(std::set<NodeId>(to.begin(), to.end()));
    } else if (cmd == "drop-msgs") {
      std::vector<NodeId> to = ids_from(w, 1);
      cluster_.drop(std::set<NodeId>(to.begin(), to.end()));
    } else if (cmd == "lose-next") {
      cluster_.lose_next(parse_type(w.at(1)), number(w.at(2)));
    } else if (cmd == "stabilize") {
      cluster_.stabilize();
    } else if (cmd == "partition") {
      std::vector<std::set<NodeId>> groups(1);
      for (std::size_t i = 1; i < w.size(); ++i) {
        if (w[i] == "/") {
          groups.emplace_back();
        } else {
          groups.back().insert(number(w[i]));
        }
      }
      cluster_.partition(groups);
    } else if (cmd == "isolate") {
      cluster_.partition({{number(w.at(1))}});
    } else if (cmd == "heal") {
      cluster_.heal();
    } else if (cmd == "compact") {
      check_status(cluster_.compact(number(w.at(1)), number(w.at(2))), want_error);
    } else if (cmd == "crash") {
      cluster_.crash(number(w.at(1)));
    } else if (cmd == "restart") {
      check_status(cluster_.restart(number(w.at(1))), want_error);
    } else {
      throw std::invalid_argument("unknown command " + cmd);
    }
  }

  // expect <what> ...
  void expect(const std::vector<std::string>& w) {
    const std::string& what = w.at(1);
    if (what == "role") {
      NodeId id = number(w.at(2));
      Role want = parse_role(w.at(3));
      Role got = cluster_.raw(id).status().role;
      if (got != want) fail("node " + w[2] + " is " + to_string(got) + ", expected " + w[3]);
    } else if (what == "leader") {  // expect leader <id> term <t>
      NodeId id = number(w.at(2));
      Term term = number(w.at(4));
      RaftStatus st = cluster_.raw(id).status();
      if (st.role != Role::kLeader || st.hard_state.term != term) {
        fail("node " + w[2] + " is " + to_string(st.role) + " in term " + std::to_string(st.hard_state.term) +
             ", expected leader in term " + w[4]);
      }
    } else if (what == "term") {  // expect term <id...> <t>
      Term term = number(w.back());
      for (std::size_t i = 2; i + 1 < w.size(); ++i) {
        Term got = cluster_.raw(number(w[i])).status().hard_state.term;
        if (got != term) fail("node " + w[i] + " is in term " + std::to_string(got) + ", expected " + w.back());
      }
    } else if (what == "lead") {  // expect lead <id...> <leader>
      NodeId want = number(w.back());
      for (std::size_t i = 2; i + 1 < w.size(); ++i) {
        NodeId got = cluster_.raw(number(w[i])).status().lead;
        if (got != want) fail("node " + w[i] + " follows " + std::to_string(got) + ", expected " + w.back());
      }
    } else if (what == "commit") {  // expect commit <id...> <index>
      Index want = number(w.back());
      for (std::size_t i = 2; i + 1 < w.size(); ++i) {
        Index got = cluster_.raw(number(w[i])).status().hard_state.commit;
        if (got != want) fail("node " + w[i] + " commit is " + std::to_string(got) + ", expected " + w.back());
      }
    } else if (what == "applied") {  // expect applied <id...> : <data...> ("-" for nothing)
      auto colon = std::find(w.begin(), w.end(), ":");
      if (colon == w.end()) throw std::invalid_argument("expect applied <ids> : <data...>");
      std::vector<std::string> want(colon + 1, w.end());
      if (want.size() == 1 && want[0] == "-") want.clear();
      for (auto it = w.begin() + 2; it != colon; ++it) {
        std::vector<std::string> got;
        for (const auto& [i, data] : cluster_.node(number(*it)).app.entries) got.push_back(data);
        if (got != want) {
          std::string g;
          for (const std::string& s : got) g += " " + s;
          fail("node " + *it + " applied [" + g + " ]");
        }
      }
    } else if (what == "log") {  // expect log <id> <index>:<term>[:<data>] ... (every entry first..last)
      expect_log(number(w.at(2)), std::vector<std::string>(w.begin() + 3, w.end()));
    } else if (what == "first-index" || what == "last-index") {  // expect last-index <id...> <index>
      Index want = number(w.back());
      for (std::size_t i = 2; i + 1 < w.size(); ++i) {
        RaftStatus st = cluster_.raw(number(w[i])).status();
        Index got = what == "first-index" ? st.first_index : st.last_index;
        if (got != want) fail("node " + w[i] + " " + what + " is " + std::to_string(got) + ", expected " + w.back());
      }
    } else if (what == "logs-equal") {  // expect logs-equal <id...>
      expect_logs_equal(std::vector<std::string>(w.begin() + 2, w.end()));
    } else if (what == "config") {  // expect config <id...> voters=1,2,3 [learners=4]
      ConfState want;
      std::vector<NodeId> ids;
      for (std::size_t i = 2; i < w.size(); ++i) {
        if (w[i].rfind("voters=", 0) == 0) want.voters = id_list(w[i].substr(7));
        else if (w[i].rfind("learners=", 0) == 0) want.learners = id_list(w[i].substr(9));
        else ids.push_back(number(w[i]));
      }
      for (NodeId id : ids) {
        ConfState got = cluster_.raw(id).status().conf;
        if (got != want) {
          fail("node " + std::to_string(id) + " has voters=" + join(got.voters) + " learners=" + join(got.learners));
        }
      }
    } else if (what == "msgs") {  // expect msgs <count>
      std::size_t want = number(w.at(2));
      if (cluster_.in_flight().size() != want) {
        fail(std::to_string(cluster_.in_flight().size()) + " messages in flight, expected " + w[2]);
      }
    } else if (what == "msg" || what == "no-msg") {  // expect msg <from> <to> <type>
      NodeId from = number(w.at(2));
      NodeId to = number(w.at(3));
      MessageType type = parse_type(w.at(4));
      bool found = std::any_of(cluster_.in_flight().begin(), cluster_.in_flight().end(), [&](const Message& m) {
        return m.from == from && m.to == to && m.type == type;
      });
      if (found != (what == "msg")) fail(std::string(found ? "a" : "no") + " " + w[4] + " from " + w[2] + " to " + w[3] + " in flight");
    } else if (what == "progress") {  // expect progress <leader> <peer> <state> [match=<i>]
      RaftStatus st = cluster_.raw(number(w.at(2))).status();
      auto it = st.progress.find(number(w.at(3)));
      if (it == st.progress.end()) {
        fail("node " + w[2] + " tracks no progress for " + w[3]);
        return;
      }
      if (it->second.state != w.at(4)) fail("progress of " + w[3] + " is " + it->second.state + ", expected " + w[4]);
      if (w.size() > 5 && w[5].rfind("match=", 0) == 0 && it->second.match != number(w[5].substr(6))) {
        fail("progress of " + w[3] + " has match " + std::to_string(it->second.match) + ", expected " + w[5]);
      }
    } else if (what == "snapshot") {  // expect snapshot <id> <index>
      Index got = cluster_.node(number(w.at(2))).storage->snapshot_meta().index;
      if (got != number(w.at(3))) fail("node " + w[2] + " snapshot at " + std::to_string(got) + ", expected " + w[3]);
    } else {
      throw std::invalid_argument("unknown expectation " + what);
    }
  }

  void expect_log(NodeId id, const std::vector<std::string>& want) {
    RaftStatus st = cluster_.raw(id).status();
    const MemoryStorage& storage = *cluster_.node(id).storage;
    std::vector<std::string> got;
    if (st.last_index >= st.first_index) {
      Result<std::vector<Entry>> entries = storage.entries(st.first_index, st.last_index + 1, UINT64_MAX);
      if (!entries) throw std::logic_error("node " + std::to_string(id) + " log unreadable (unprocessed Ready?)");
      for (const Entry& e : *entries) {
        std::string text = std::to_string(e.index) + ":" + std::to_string(e.term);
        if (e.type == EntryType::kConfChange) {
          Result<ConfChange> cc = decode_conf_change(e.data);
          text += std::string(":") + (cc ? to_string(cc->type) + std::string("/") + std::to_string(cc->node) : "?");
        } else if (!e.data.empty()) {
          text += ":" + to_text(e.data);
        }
        got.push_back(text);
      }
    }
    // Entries without data in the expectation match any data.
    bool ok = got.size() == want.size();
    for (std::size_t i = 0; ok && i < got.size(); ++i) {
      ok = got[i] == want[i] || (std::count(want[i].begin(), want[i].end(), ':') == 1 && got[i].rfind(want[i] + ":", 0) == 0);
    }
    if (!ok) {
      std::string g;
      for (const std::string& s : got) g += " " + s;
      fail("node " + std::to_string(id) + " log is [" + g + " ]");
    }
  }

  // Same last index, and the same term at every index both still hold (compaction may differ).
  void expect_logs_equal(const std::vector<std::string>& ids) {
    std::map<Index, Term> reference;
    Index reference_last = 0;
    for (const std::string& s : ids) {
      NodeId id = number(s);
      RaftStatus st = cluster_.raw(id).status();
      std::map<Index, Term> terms;
      for (Index i = st.first_index; i <= st.last_index; ++i) {
        Result<Term> t = cluster_.node(id).storage->term(i);
        if (t) terms.emplace(i, *t);
      }
      if (s == ids.front()) {
        reference = std::move(terms);
        reference_last = st.last_index;
        continue;
      }
      bool same = st.last_index == reference_last;
      for (const auto& [i, t] : terms) {
        auto it = reference.find(i);
        if (it != reference.end() && it->second != t) same = false;
      }
      if (!same) fail("node " + s + " log differs from node " + ids.front() + "'s");
    }
  }

  std::string path_;
  int line_no_ = 0;
  Cluster cluster_;
  std::vector<std::string> failures_;
};

}  // namespace

std::vector<std::string> run_script(const std::string& path) { return Script(path).run(); }

}  // namespace onebill::consensus::testing
