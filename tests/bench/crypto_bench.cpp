// crypto_bench: signing, verification, hashing and Merkle operations, for comparison with `openssl speed`
// (tests/bench/crypto-vs-openssl runs both and prints the ratios).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"
#include "crypto/p256_table.h"

namespace {

using namespace onebill::crypto;

SigAlg alg_arg(const benchmark::State& state) { return static_cast<SigAlg>(state.range(0)); }

// Messages the size of a short digest-sized payload (what `openssl speed` signs) and of a typical entry.
std::string message(std::size_t size) { return std::string(size, 'm'); }

void BM_Sign(benchmark::State& state) {
  auto key = PrivateKey::generate(alg_arg(state));
  std::string msg = message(static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) {
    auto sig = key->sign(msg);
    benchmark::DoNotOptimize(sig);
  }
  state.SetLabel(std::string(sig_alg_name(key->alg())));
  state.SetItemsProcessed(state.iterations());
}

void BM_Verify(benchmark::State& state) {
  auto key = PrivateKey::generate(alg_arg(state));
  std::string msg = message(static_cast<std::size_t>(state.range(1)));
  auto sig = key->sign(msg);
  PublicKey pub = key->public_key();
  for (auto _ : state) {
    bool ok = pub.verify(msg, *sig);
    if (!ok) std::abort();
    benchmark::DoNotOptimize(ok);
  }
  state.SetLabel(std::string(sig_alg_name(key->alg())));
  state.SetItemsProcessed(state.iterations());
}

// ECDSA P-256 with each key's table of multiples (crypto/p256_table.h), as a node verifies its members' keys once
// they are in heavy use: range(0) keys taken in turn (64 tables are about 10 MB, more than the caches hold),
// range(1) the message size.
void BM_VerifyWithTable(benchmark::State& state) {
  const auto keys = static_cast<std::size_t>(state.range(0));
  std::string msg = message(static_cast<std::size_t>(state.range(1)));
  std::vector<PublicKey> pubs;
  std::vector<Bytes> sigs;
  for (std::size_t k = 0; k < keys; ++k) {
    auto key = PrivateKey::generate(SigAlg::ecdsa_p256);
    pubs.push_back(key->public_key());
    sigs.push_back(*key->sign(msg));
    if (!pubs.back().build_table()) std::abort();
  }
  std::size_t k = 0;
  for (auto _ : state) {
    bool ok = pubs[k].verify(msg, sigs[k]);
    if (!ok) std::abort();
    benchmark::DoNotOptimize(ok);
    if (++k == keys) k = 0;
  }
  state.SetLabel("ecdsa-p256, " + std::to_string(keys) + (keys == 1 ? " key" : " keys"));
  state.SetItemsProcessed(state.iterations());
}

// What a table costs to build, once per key.
void BM_BuildTable(benchmark::State& state) {
  auto key = PrivateKey::generate(SigAlg::ecdsa_p256);
  for (auto _ : state) {
    PublicKey fresh = *PublicKey::from_der(key->public_key().to_der(), SigAlg::ecdsa_p256);
    if (!fresh.build_table()) std::abort();
  }
  state.SetLabel("ecdsa-p256");
  state.SetItemsProcessed(state.iterations());
}

void BM_Hash(benchmark::State& state) {
  auto alg = static_cast<HashAlg>(state.range(0));
  std::string data = message(static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(hash(alg, data));
  state.SetLabel(std::string(hash_alg_name(alg)));
  state.SetBytesProcessed(state.iterations() * state.range(1));
}

void BM_MerkleAppend(benchmark::State& state) {
  MemoryMerkleStore store;
  MerkleLog log(HashAlg::sha256, store);
  Digest leaf = leaf_hash(HashAlg::sha256, as_bytes("entry"));
  for (auto _ : state) benchmark::DoNotOptimize(log.append(leaf));
  state.SetItemsProcessed(state.iterations());
}

void BM_MerkleVerifyInclusion(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  MemoryMerkleStore store;
  MerkleLog log(HashAlg::sha256, store);
  std::vector<Digest> leaves;
  for (std::uint64_t i = 0; i < n; ++i) {
    leaves.push_back(leaf_hash(HashAlg::sha256, as_bytes(std::to_string(i))));
    log.append(leaves.back());
  }
  Digest root = *log.root();
  std::uint64_t index = n / 3;
  auto proof = *log.inclusion_proof(index, n);
  for (auto _ : state) {
    bool ok = verify_inclusion(HashAlg::sha256, leaves[index], index, n, proof, root);
    if (!ok) std::abort();
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

// The inverse modulo the P-256 group order that every table verification computes (of the signature's s).
void BM_InverseModOrder(benchmark::State& state) {
  std::vector<Digest> values;
  for (int i = 0; values.size() < 256; ++i) {
    Digest d = hash(HashAlg::sha256, as_bytes(std::to_string(i)));
    unsigned char out[32];
    if (detail::P256Table::inverse_mod_order(d.data(), out)) values.push_back(d);  // skips the rare d >= n
  }
  std::size_t i = 0;
  unsigned char out[32];
  for (auto _ : state) {
    bool ok = detail::P256Table::inverse_mod_order(values[i++ % values.size()].data(), out);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

constexpr auto kEd = static_cast<int64_t>(SigAlg::ed25519);
constexpr auto kP256 = static_cast<int64_t>(SigAlg::ecdsa_p256);
constexpr auto kSm2 = static_cast<int64_t>(SigAlg::sm2);

BENCHMARK(BM_Sign)->ArgsProduct({{kEd, kP256, kSm2}, {32, 700}});
BENCHMARK(BM_Verify)->ArgsProduct({{kEd, kP256, kSm2}, {32, 700}});
BENCHMARK(BM_VerifyWithTable)->ArgsProduct({{1, 64}, {32, 700}});
BENCHMARK(BM_InverseModOrder);
BENCHMARK(BM_BuildTable)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Hash)->ArgsProduct({{static_cast<int64_t>(HashAlg::sha256), static_cast<int64_t>(HashAlg::sm3)},
                                 {64, 700, 16384}});
BENCHMARK(BM_MerkleAppend);
BENCHMARK(BM_MerkleVerifyInclusion)->Arg(1 << 10)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
