#include "node/events.h"

namespace onebill::node {

bool EventFilter::matches(const nlohmann::json& event) const {
  if (type && event.value("type", "") != *type) return false;
  if (doc) {
    if (event.value("doc", "") == *doc) return true;
    for (const auto& d : event.value("documents", nlohmann::json::array())) {
      if (d == *doc) return true;
    }
    return false;
  }
  return true;
}

std::string sse_event(const nlohmann::json& event) {
  return "id: " + std::to_string(event.value("height", std::int64_t{0})) + "." +
         std::to_string(event.value("index", std::int64_t{0})) + "\nevent: entry\ndata: " + event.dump() + "\n\n";
}

nlohmann::json entry_event(std::int64_t height, std::size_t index, const contracts::Envelope& e,
                           const contracts::Outcome& o) {
  nlohmann::json j = {{"height", height},          {"index", index},   {"id", e.id},
                      {"type", e.tx.type},         {"doc", e.tx.doc},  {"signer", e.tx.signer},
                      {"status", o.accepted ? "accepted" : "rejected"}, {"documents", o.documents}};
  if (!o.accepted) j["reason"] = o.reason;
  return j;
}

std::shared_ptr<EventHub::Subscriber> EventHub::subscribe(EventFilter filter) {
  auto s = std::make_shared<Subscriber>(io_);
  s->filter = std::move(filter);
  subs_.push_back(s);
  return s;
}

void EventHub::unsubscribe(const std::shared_ptr<Subscriber>& s) { subs_.remove(s); }

void EventHub::publish_block(const AppliedBlock& block) {
  if (subs_.empty()) return;  // no event is built for nobody (this runs for every block)
  for (std::size_t i = 0; i < block.entries.size(); ++i) {
    nlohmann::json ev = entry_event(block.header.height, i, block.entries[i], block.outcomes[i]);
    std::string text;
    for (auto it = subs_.begin(); it != subs_.end();) {
      auto& s = *it;
      if (block.header.height <= s->skip_through || !s->filter.matches(ev)) {
        ++it;
        continue;
      }
      if (s->queue.size() >= kMaxQueue) {
        s->dropped = true;
        ++dropped_total_;
        s->wake.cancel();
        it = subs_.erase(it);
        continue;
      }
      if (text.empty()) text = sse_event(ev);
      s->queue.push_back(text);
      s->wake.cancel();
      ++it;
    }
  }
}

void EventHub::close() {
  for (auto& s : subs_) {
    s->dropped = true;
    s->wake.cancel();
  }
  subs_.clear();
}

}  // namespace onebill::node
