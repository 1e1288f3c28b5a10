#include "clients/sse.h"

namespace onebill::clients {

SseParser::Feed SseParser::feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event) {
  for (char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // CRLF: the line already ended at CR
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      std::string text = std::move(partial_);
      partial_.clear();
      if (!line(text, on_event)) return Feed::stopped;
      continue;
    }
    if (partial_.size() >= max_line_) return Feed::line_too_long;
    partial_.push_back(c);
  }
  return Feed::more;
}

bool SseParser::line(std::string_view text, const std::function<bool(const SseEvent&)>& on_event) {
  if (text.empty()) {  // dispatch
    bool keep_going = true;
    if (has_data_) keep_going = on_event(current_);
    current_ = SseEvent{};
    has_data_ = false;
    return keep_going;
  }
  if (text.front() == ':') return true;  // comment / keep-alive
  auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) current_.data.push_back('\n');
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  } else if (field == "id") {
    current_.id = std::string(value);
  }
  return true;
}

}  // namespace onebill::clients
