#include "tests/integration/leveldb_tail.h"

#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

namespace onebill::faults {
namespace {

constexpr std::size_t kBlockSize = 32768;
constexpr std::size_t kHeaderSize = 7;  // crc32c (4), length (2, little-endian), type (1)
enum RecordType { kZero = 0, kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

bool get_varint32(std::string_view& in, std::uint32_t& v) {
  v = 0;
  for (int shift = 0; shift <= 28 && !in.empty(); shift += 7) {
    auto byte = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<std::uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool get_slice(std::string_view& in, std::string_view& out) {
  std::uint32_t n = 0;
  if (!get_varint32(in, n) || in.size() < n) return false;
  out = in.substr(0, n);
  in.remove_prefix(n);
  return true;
}

std::uint64_t le64(std::string_view s, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(s[at + i])) << (8 * i);
  return v;
}

// Whether a write batch (LevelDB's rep: seq (8), count (4), then records) may have been written with sync = true.
// `hard_state` carries the (term, vote) of the previous r/h seen.
bool maybe_synced(std::string_view batch, std::optional<std::pair<std::uint64_t, std::uint64_t>>& hard_state) {
  if (batch.size() < 12) return true;  // not a batch we understand: do not tear into it
  std::string_view in = batch.substr(12);
  if (in.empty()) return true;  // an empty batch is written only to sync (Store::sync_archive)
  bool synced = false;
  while (!in.empty()) {
    char tag = in.front();
    in.remove_prefix(1);
    std::string_view key, value;
    if (!get_slice(in, key)) return true;
    if (tag == 1 && !get_slice(in, value)) return true;
    if (tag != 0 && tag != 1) return true;
    if (key == "r/h" && tag == 1 && value.size() == 25) {
      std::pair<std::uint64_t, std::uint64_t> tv{le64(value, 1), le64(value, 9)};
      if (!hard_state || *hard_state != tv) synced = true;
      hard_state = tv;
    } else if (key.substr(0, 2) == "r/" || key == "x/genesis" || key.substr(0, 9) == "x/signer/" ||
               key == "x/installing" || key == "x/diverged" || key == "x/sync") {
      synced = true;
    }
  }
  return synced;
}

}  // namespace

LogTail find_unsynced_tail(const std::filesystem::path& db_dir) {
  LogTail t;
  std::error_code ec;
  std::uint64_t newest = 0;
  for (const auto& e : std::filesystem::directory_iterator(db_dir, ec)) {
    const auto name = e.path().filename().string();
    if (e.path().extension() != ".log" || name.size() <= 4) continue;
    std::uint64_t number = 0;
    bool digits = true;
    for (char c : name.substr(0, name.size() - 4)) {
      if (c < '0' || c > '9') digits = false;
      else number = number * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (digits && (t.file.empty() || number > newest)) newest = number, t.file = e.path();
  }
  if (ec) t.error = "cannot list " + db_dir.string() + ": " + ec.message();
  if (t.file.empty()) {
    if (t.error.empty()) t.error = "no LevelDB log file in " + db_dir.string();
    return t;
  }
  std::ifstream in(t.file, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    t.error = "cannot read " + t.file.string();
    return t;
  }
  t.size = data.size();
  std::optional<std::pair<std::uint64_t, std::uint64_t>> hard_state;
  std::string batch;
  bool in_fragmented = false;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t left_in_block = kBlockSize - pos % kBlockSize;
    if (left_in_block < kHeaderSize) {  // the block's trailer is zero padding
      pos += left_in_block;
      continue;
    }
    if (data.size() - pos < kHeaderSize) break;  // a header cut short: the end of what was written
    std::size_t length = static_cast<std::uint8_t>(data[pos + 4]) | (static_cast<std::size_t>(static_cast<std::uint8_t>(data[pos + 5])) << 8);
    int type = static_cast<std::uint8_t>(data[pos + 6]);
    if (type == kZero && length == 0) break;  // preallocated, never written
    if (pos + kHeaderSize + length > data.size()) break;  // a record cut short
    std::string_view payload(data.data() + pos + kHeaderSize, length);
    std::size_t end = pos + kHeaderSize + length;
    pos = end;
    if (type == kFull || type == kFirst) {
      batch.assign(payload);
      in_fragmented = type == kFirst;
      if (type == kFirst) continue;
    } else if ((type == kMiddle || type == kLast) && in_fragmented) {
      batch.append(payload);
      if (type == kMiddle) continue;
      in_fragmented = false;
    } else {
      continue;  // a fragment without its start: skipped, as LevelDB's reader does
    }
    ++t.batches;
    if (maybe_synced(batch, hard_state)) {
      t.synced_end = end;
      t.unsynced_batches = 0;
    } else {
      ++t.unsynced_batches;
    }
  }
  return t;
}

}  // namespace onebill::faults
