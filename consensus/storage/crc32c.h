// CRC-32C (Castagnoli; RFC 3720 §B.4), reflected, as in iSCSI and LevelDB's own log: the checksum of each Raft log
// record and snapshot (leveldb_storage.cpp). Uses the CPU's crc32 instruction where there is one (x86-64 with
// SSE 4.2, checked at run time), a table otherwise; both give the same value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace onebill::consensus {

// The CRC of `n` bytes at `data`, continuing from `crc` (0 to start): crc32c(crc32c(0, a), b) == crc32c(0, a‖b).
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n);
// The table-driven form alone (for tests that compare the two).
std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t n);

}  // namespace onebill::consensus
