// EventHub: applied entries as server-sent events (GET /v1/events).
//
// Each subscriber has a filter (document, type) and a bounded queue. publish_block() appends matching events to
// every queue; a subscriber whose queue is full — a consumer too slow to keep up — is dropped (its stream ends
// with an `event: dropped` line), so no consumer can hold the node back or grow its memory.
// I/O thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "node/ledger/ledger.h"

namespace onebill::node {

struct EventFilter {
  std::optional<std::string> doc;
  std::optional<std::string> type;
  bool matches(const nlohmann::json& event) const;
};

// One event line set for the SSE stream: "id: {height}.{index}\nevent: entry\ndata: {json}\n\n".
std::string sse_event(const nlohmann::json& event);
// The event of one entry: {"height","index","id","type","doc","signer","status","reason"?, "documents"}.
nlohmann::json entry_event(std::int64_t height, std::size_t index, const contracts::Envelope& e,
                           const contracts::Outcome& o);

class EventHub {
 public:
  struct Subscriber {
    explicit Subscriber(boost::asio::io_context& io) : wake(io) {}
    EventFilter filter;
    std::deque<std::string> queue;
    boost::asio::steady_timer wake;  // cancelled when the queue gains data or the subscriber is dropped
    bool dropped = false;
    std::int64_t skip_through = 0;  // live events at or below this height were already replayed
  };

  static constexpr std::size_t kMaxQueue = 10000;

  explicit EventHub(boost::asio::io_context& io) : io_(io) {}

  std::shared_ptr<Subscriber> subscribe(EventFilter filter);
  void unsubscribe(const std::shared_ptr<Subscriber>& s);
  void publish_block(const AppliedBlock& block);
  void close();  // ends every stream (shutdown)
  std::size_t subscribers() const { return subs_.size(); }
  std::uint64_t dropped_total() const { return dropped_total_; }

 private:
  boost::asio::io_context& io_;
  std::list<std::shared_ptr<Subscriber>> subs_;
  std::uint64_t dropped_total_ = 0;
};

}  // namespace onebill::node
