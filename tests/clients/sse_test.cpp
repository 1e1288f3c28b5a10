// The server-sent events parser: the node's framing, split at every possible byte, CRLF, comments, limits.
#include <catch2/catch.hpp>

#include "clients/sse.h"

using onebill::clients::SseEvent;
using onebill::clients::SseParser;

namespace {

std::vector<SseEvent> feed_all(SseParser& p, const std::vector<std::string>& pieces) {
  std::vector<SseEvent> out;
  for (const auto& piece : pieces) {
    p.feed(piece, [&](const SseEvent& e) {
      out.push_back(e);
      return true;
    });
  }
  return out;
}

}  // namespace

TEST_CASE("SSE: the node's events, whatever the chunking", "[sse]") {
  const std::string stream =
      ": live\n\n"
      "id: 3.0\nevent: entry\ndata: {\"height\":3,\"index\":0}\n\n"
      ": keepalive\n\n"
      "id: 3.1\nevent: entry\ndata: {\"height\":3,\"index\":1}\n\n"
      "event: dropped\ndata: {\"reason\":\"consumer too slow\"}\n\n";
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    SseParser p;
    auto events = feed_all(p, {stream.substr(0, split), stream.substr(split)});
    INFO("split at " << split);
    REQUIRE(events.size() == 3);
    CHECK(events[0].id == "3.0");
    CHECK(events[0].event == "entry");
    CHECK(events[0].data == "{\"height\":3,\"index\":0}");
    CHECK(events[1].id == "3.1");
    CHECK(events[2].event == "dropped");
  }
  SseParser bytewise;
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  CHECK(feed_all(bytewise, bytes).size() == 3);
}

TEST_CASE("SSE: CRLF and CR line ends, multi-line data, no-space values, events without data", "[sse]") {
  SseParser p;
  auto events = feed_all(p, {"data:a\r\ndata: b\r\n\r\n", "event: x\rdata: c\r\r", "event: nodata\n\n", "data\n\n"});
  REQUIRE(events.size() == 3);
  CHECK(events[0].data == "a\nb");
  CHECK(events[0].event == "message");
  CHECK(events[1].event == "x");
  CHECK(events[1].data == "c");
  CHECK(events[2].data.empty());  // a bare "data" line is an empty data line
}

TEST_CASE("SSE: the callback can stop, and over-long lines are refused", "[sse]") {
  SseParser p;
  int seen = 0;
  auto r = p.feed("data: 1\n\ndata: 2\n\n", [&](const SseEvent&) { return ++seen < 1; });
  CHECK(r == SseParser::Feed::stopped);
  CHECK(seen == 1);

  SseParser small(16);
  CHECK(small.feed(std::string(100, 'x'), [](const SseEvent&) { return true; }) == SseParser::Feed::line_too_long);
}
