// Server-sent events (the text/event-stream format of the WHATWG HTML standard, §9.2), as GET /v1/events sends
// them: "id: H.I\nevent: entry\ndata: {json}\n\n", with ": comment" lines as keep-alives.
//
// Fed bytes in pieces of any size; calls back once per complete event (a blank line ends one). Lines end in LF,
// CRLF or CR; several data lines are joined with LF; comment lines and unknown fields are ignored; an event with no
// data is not delivered. A line longer than max_line is an error (a stream that is not SSE must not grow memory).
// Not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace onebill::clients {

struct SseEvent {
  std::string id;
  std::string event = "message";  // the field's default
  std::string data;
};

class SseParser {
 public:
  enum class Feed { more, stopped, line_too_long };

  explicit SseParser(std::size_t max_line = std::size_t{4} << 20) : max_line_(max_line) {}

  // Stops early (Feed::stopped) when on_event returns false.
  Feed feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event);

 private:
  bool line(std::string_view text, const std::function<bool(const SseEvent&)>& on_event);

  std::size_t max_line_;
  std::string partial_;
  bool after_cr_ = false;
  SseEvent current_;
  bool has_data_ = false;
};

}  // namespace onebill::clients
