#include "consensus/codec.h"

#include <string>

#include "consensus/errors.h"

namespace onebill::consensus {
namespace {

constexpr std::uint8_t kFlagReject = 1;
constexpr std::uint8_t kFlagSnapshotDone = 2;
constexpr std::size_t kFixedHeaderBytes = 3 + 7 * 8;
constexpr std::size_t kEntryHeaderBytes = 8 + 8 + 1 + 4;

class Writer {
 public:
  explicit Writer(std::size_t size) { out_.reserve(size); }
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void bytes(const Bytes& b) {
    u32(static_cast<std::uint32_t>(b.size()));
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void ids(const std::vector<NodeId>& ids) {
    u32(static_cast<std::uint32_t>(ids.size()));
    for (NodeId id : ids) u64(id);
  }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

// Reads fixed-width little-endian fields; every read checks the remaining length first. After the first failure
// every read fails and returns zero, so callers check ok() once per logical step.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  bool ok() const { return ok_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  bool need(std::size_t n) {
    if (!ok_ || remaining() < n) ok_ = false;
    return ok_;
  }
  std::uint8_t u8() { return need(1) ? in_[pos_++] : 0; }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in_[pos_++]) << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in_[pos_++]) << (8 * i);
    return v;
  }
  Bytes bytes() {
    std::uint32_t n = u32();
    if (!need(n)) return {};
    Bytes b(in_.begin() + static_cast<std::ptrdiff_t>(pos_), in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return b;
  }
  // A count of items of at least `min_item_bytes` each: refused if the rest of the input could not hold them, so
  // a forged count never makes us reserve memory the input does not back.
  std::uint32_t count(std::size_t min_item_bytes) {
    std::uint32_t n = u32();
    if (ok_ && static_cast<std::uint64_t>(n) * min_item_bytes > remaining()) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

Error decode_error(const std::string& what) { return make_error(kErrDecode, "message: " + what); }

// Member lists must be strictly increasing and free of the reserved id 0 (ConfState's invariant).
bool valid_ids(const std::vector<NodeId>& ids) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kNoNode || (i > 0 && ids[i - 1] >= ids[i])) return false;
  }
  return true;
}

bool disjoint(const std::vector<NodeId>& a, const std::vector<NodeId>& b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) return false;
    if (a[i] < b[j]) ++i; else ++j;
  }
  return true;
}

}  // namespace

std::size_t encoded_size(const Message& msg) {
  std::size_t n = kFixedHeaderBytes + 4;
  for (const Entry& e : msg.entries) n += kEntryHeaderBytes + e.data.size();
  n += 8 + 8 + 4 + 8 * msg.snapshot.conf_state.voters.size() + 4 + 8 * msg.snapshot.conf_state.learners.size();
  n += 8 + 4 + msg.snapshot_data.size() + 4 + msg.context.size();
  return n;
}

Bytes encode(const Message& msg) {
  Writer w(encoded_size(msg));
  w.u8(kCodecVersion);
  w.u8(static_cast<std::uint8_t>(msg.type));
  w.u8(static_cast<std::uint8_t>((msg.reject ? kFlagReject : 0) | (msg.snapshot_done ? kFlagSnapshotDone : 0)));
  w.u64(msg.from);
  w.u64(msg.to);
  w.u64(msg.term);
  w.u64(msg.log_term);
  w.u64(msg.index);
  w.u64(msg.commit);
  w.u64(msg.reject_hint);
  w.u32(static_cast<std::uint32_t>(msg.entries.size()));
  for (const Entry& e : msg.entries) {
    w.u64(e.term);
    w.u64(e.index);
    w.u8(static_cast<std::uint8_t>(e.type));
    w.bytes(e.data);
  }
  w.u64(msg.snapshot.index);
  w.u64(msg.snapshot.term);
  w.ids(msg.snapshot.conf_state.voters);
  w.ids(msg.snapshot.conf_state.learners);
  w.u64(msg.snapshot_offset);
  w.bytes(msg.snapshot_data);
  w.bytes(msg.context);
  return w.take();
}

Result<Message> decode(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxMessageBytes) return decode_error("larger than kMaxMessageBytes");
  Reader r(bytes);
  Message msg;
  std::uint8_t version = r.u8();
  if (!r.ok()) return decode_error("empty input");
  if (version != kCodecVersion) return decode_error("unknown version " + std::to_string(version));
  std::uint8_t type = r.u8();
  std::uint8_t flags = r.u8();
  if (!r.ok()) return decode_error("truncated header");
  if (type > kMaxMessageType) return decode_error("unknown type " + std::to_string(type));
  if ((flags & ~(kFlagReject | kFlagSnapshotDone)) != 0) return decode_error("unknown flag bits");
  msg.type = static_cast<MessageType>(type);
  msg.reject = (flags & kFlagReject) != 0;
  msg.snapshot_done = (flags & kFlagSnapshotDone) != 0;
  msg.from = r.u64();
  msg.to = r.u64();
  msg.term = r.u64();
  msg.log_term = r.u64();
  msg.index = r.u64();
  msg.commit = r.u64();
  msg.reject_hint = r.u64();
  std::uint32_t entry_count = r.count(kEntryHeaderBytes);
  if (!r.ok()) return decode_error("truncated header or entry count too large");
  msg.entries.reserve(entry_count);
  for (std::uint32_t i = 0; i < entry_count; ++i) {
    Entry e;
    e.term = r.u64();
    e.index = r.u64();
    std::uint8_t entry_type = r.u8();
    e.data = r.bytes();
    if (!r.ok()) return decode_error("truncated entry " + std::to_string(i));
    if (entry_type > static_cast<std::uint8_t>(EntryType::kConfChange)) {
      return decode_error("unknown entry type " + std::to_string(entry_type));
    }
    e.type = static_cast<EntryType>(entry_type);
    msg.entries.push_back(std::move(e));
  }
  msg.snapshot.index = r.u64();
  msg.snapshot.term = r.u64();
  std::uint32_t voters = r.count(8);
  msg.snapshot.conf_state.voters.reserve(voters);
  for (std::uint32_t i = 0; i < voters; ++i) msg.snapshot.conf_state.voters.push_back(r.u64());
  std::uint32_t learners = r.count(8);
  msg.snapshot.conf_state.learners.reserve(learners);
  for (std::uint32_t i = 0; i < learners; ++i) msg.snapshot.conf_state.learners.push_back(r.u64());
  if (!r.ok()) return decode_error("truncated snapshot metadata");
  const ConfState& conf = msg.snapshot.conf_state;
  if (!valid_ids(conf.voters) || !valid_ids(conf.learners) || !disjoint(conf.voters, conf.learners)) {
    return decode_error("member lists must be sorted, non-zero and disjoint");
  }
  msg.snapshot_offset = r.u64();
  msg.snapshot_data = r.bytes();
  msg.context = r.bytes();
  if (!r.ok()) return decode_error("truncated snapshot chunk or context");
  if (r.remaining() != 0) return decode_error(std::to_string(r.remaining()) + " trailing bytes");
  return msg;
}

}  // namespace onebill::consensus
