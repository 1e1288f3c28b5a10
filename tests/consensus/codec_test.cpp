// The wire codec (codec.h): exact round trips, the byte layout documented in docs/consensus.md, and a clean
// error — never a crash — for every malformed input.
#include <catch2/catch.hpp>

#include <cstring>

#include "consensus/codec.h"
#include "consensus/conf_change.h"
#include "consensus/errors.h"

using namespace onebill::consensus;

namespace {

Message full_message() {
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = 1;
  m.to = 0x0102030405060708ULL;
  m.term = 7;
  m.log_term = 6;
  m.index = 41;
  m.entries = {Entry{6, 42, EntryType::kNormal, {'a', 'b'}},
               Entry{7, 43, EntryType::kConfChange, encode_conf_change({ConfChangeType::kAddLearner, 9})}};
  m.commit = 40;
  m.reject = true;
  m.reject_hint = 39;
  m.snapshot = SnapshotMeta{30, 5, ConfState{{1, 2, 3}, {9}}};
  m.snapshot_offset = 1024;
  m.snapshot_data = {0xde, 0xad};
  m.snapshot_done = true;
  m.context = kCampaignTransfer;
  return m;
}

}  // namespace

TEST_CASE("codec: every field survives a round trip", "[codec]") {
  Message m = full_message();
  Bytes bytes = encode(m);
  CHECK(bytes.size() == encoded_size(m));
  auto back = decode(bytes);
  REQUIRE(back.ok());
  CHECK(*back == m);

  for (std::uint8_t t = 0; t <= kMaxMessageType; ++t) {
    Message simple;
    simple.type = static_cast<MessageType>(t);
    simple.from = 2;
    simple.to = 3;
    auto r = decode(encode(simple));
    REQUIRE(r.ok());
    CHECK(*r == simple);
  }
}

TEST_CASE("codec: the byte layout is the documented one", "[codec]") {
  Message m;
  m.type = MessageType::kAppendResponse;  // 1
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.index = 0x0102;
  m.reject = true;
  m.entries = {Entry{3, 0x0103, EntryType::kNormal, {'x'}}};
  Bytes b = encode(m);
  // version, type, flags
  REQUIRE(b.size() == 3 + 7 * 8 + 4 + (8 + 8 + 1 + 4 + 1) + 8 + 8 + 4 + 4 + 8 + 4 + 4);
  CHECK(b[0] == kCodecVersion);
  CHECK(b[1] == 1);
  CHECK(b[2] == 1);
  // from, to, term: u64 little-endian
  CHECK(b[3] == 1);
  CHECK(b[11] == 2);
  CHECK(b[19] == 3);
  // log_term at 27, index at 35 (0x0102 little-endian), commit at 43, reject_hint at 51
  CHECK(b[35] == 0x02);
  CHECK(b[36] == 0x01);
  // entry count (u32) at 59, then the entry: term, index, type, length, data
  CHECK(b[59] == 1);
  CHECK(b[63] == 3);
  CHECK(b[71] == 0x03);
  CHECK(b[72] == 0x01);
  CHECK(b[79] == 0);   // EntryType::kNormal
  CHECK(b[80] == 1);   // data length
  CHECK(b[84] == 'x');
  // then snapshot index, term, voter count, learner count, offset, data length, context length — all zero
  for (std::size_t i = 85; i < b.size(); ++i) CHECK(b[i] == 0);
}

TEST_CASE("codec: malformed input is an error, never a crash", "[codec]") {
  Bytes good = encode(full_message());

  SECTION("every truncation") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      auto r = decode(std::span<const std::uint8_t>(good.data(), n));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == kErrDecode);
    }
  }
  SECTION("trailing bytes") {
    Bytes b = good;
    b.push_back(0);
    CHECK_FALSE(decode(b).ok());
  }
  SECTION("unknown version, type, flag bits, entry type") {
    Bytes b = good;
    b[0] = 2;
    CHECK_FALSE(decode(b).ok());
    b = good;
    b[1] = kMaxMessageType + 1;
    CHECK_FALSE(decode(b).ok());
    b = good;
    b[2] = 4;
    CHECK_FALSE(decode(b).ok());
    b = good;
    b[59 + 4 + 16] = 2;  // first entry's type
    CHECK_FALSE(decode(b).ok());
  }
  SECTION("counts and lengths larger than the input") {
    Bytes b = good;
    b[59] = 0xff;
    b[60] = 0xff;
    b[61] = 0xff;
    b[62] = 0xff;
    CHECK_FALSE(decode(b).ok());
    b = good;
    b[59 + 4 + 17] = 0xff;  // first entry's data length
    b[59 + 4 + 20] = 0x7f;
    CHECK_FALSE(decode(b).ok());
  }
  SECTION("member lists unsorted, overlapping or with id 0") {
    for (ConfState bad : {ConfState{{2, 1}, {}}, ConfState{{1, 2}, {2}}, ConfState{{0, 1}, {}},
                          ConfState{{1, 1}, {}}}) {
      Message m;
      m.snapshot.conf_state = bad;
      auto r = decode(encode(m));
      CHECK_FALSE(r.ok());
    }
  }
  SECTION("over the size limit") {
    Bytes huge(kMaxMessageBytes + 1, 0);
    std::memcpy(huge.data(), good.data(), good.size());
    CHECK_FALSE(decode(huge).ok());
  }
  SECTION("random corruption of valid encodings") {
    std::uint64_t x = 88172645463325252ULL;
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    int decoded = 0;
    for (int i = 0; i < 20000; ++i) {
      Bytes b = good;
      int flips = 1 + static_cast<int>(next() % 4);
      for (int f = 0; f < flips; ++f) b[next() % b.size()] = static_cast<std::uint8_t>(next());
      if (next() % 8 == 0) b.resize(next() % b.size());
      auto r = decode(b);
      if (r.ok()) {
        ++decoded;
        CHECK(encode(*r) == b);  // whatever decodes is canonical: it re-encodes to the same bytes
      }
    }
    CHECK(decoded > 0);
  }
}

TEST_CASE("codec: configuration changes", "[codec][conf]") {
  ConfChange cc{ConfChangeType::kPromoteLearner, 0x1122334455667788ULL};
  Bytes b = encode_conf_change(cc);
  REQUIRE(b.size() == 10);
  CHECK(b[0] == 1);
  CHECK(b[1] == 3);
  CHECK(b[2] == 0x88);
  auto back = decode_conf_change(b);
  REQUIRE(back.ok());
  CHECK(*back == cc);
  b[1] = 4;
  CHECK_FALSE(decode_conf_change(b).ok());
  b[1] = 3;
  b[0] = 0;
  CHECK_FALSE(decode_conf_change(b).ok());
  b.pop_back();
  CHECK_FALSE(decode_conf_change(b).ok());
}
