#include "tests/bench/bench_workload.h"

#include <atomic>
#include <thread>

#include "contracts/envelope.h"
#include "contracts/identifiers.h"
#include "crypto/hash.h"

namespace onebill::bench {
namespace {

using nlohmann::json;

constexpr int kContainers = 4;  // per bill; every event lists them all with their seals

// A valid ISO 6346 container number, unique per (lane, serial): owner code from the lane, category U.
std::string container(int lane, int serial) {
  std::string s;
  for (int i = 0, v = lane; i < 3; ++i, v /= 26) s.insert(s.begin(), static_cast<char>('A' + v % 26));
  s += 'U';
  std::string digits = std::to_string(serial % 1000000);
  s += std::string(6 - digits.size(), '0') + digits;
  s += std::to_string(*contracts::iso6346_check_digit(s));
  return s;
}

json equipment(const std::vector<std::string>& refs, int bill, bool with_seals) {
  json eq = json::array();
  for (std::size_t i = 0; i < refs.size(); ++i) {
    json item = {{"ref", refs[i]}};
    if (with_seals) {
      std::string seal = "CN-TSN-" + std::to_string(1000000 + bill) + "-";
      item["seals"] = {seal + std::to_string(2 * i), seal + std::to_string(2 * i + 1)};
    }
    eq.push_back(item);
  }
  return eq;
}

json bill_body(const std::vector<std::string>& refs, int bill) {
  json cargo = json::array();
  for (const auto& r : refs) {
    cargo.push_back({{"description", "Lithium-ion battery modules, 20 pallets"},
                     {"hs", "850760"},
                     {"packages", 20},
                     {"gross_kg", 10000},
                     {"equipment_ref", r}});
  }
  json eq = equipment(refs, bill, true);
  for (auto& e : eq) e["iso_code"] = "45G1";
  return {{"document_type", "BOL"},
          {"to_order", true},
          {"shipper", "rail"},
          {"consignee", nullptr},
          {"notify", {"bank"}},
          {"holder", "rail"},
          {"place_of_receipt", "CNTSN"},
          {"place_of_delivery", "DEDUI"},
          {"legs",
           {{{"mode", "rail"}, {"carrier", "rail"}, {"from", "CNTSN"}, {"to", "KZDOS"}, {"vehicle", "X8044"}},
            {{"mode", "rail"}, {"carrier", "rail"}, {"from", "KZDOS"}, {"to", "DEDUI"}, {"vehicle", "X8044-PL"}}}},
          {"equipment", eq},
          {"cargo", cargo},
          {"declared_value", {{"value", 1250000000}, {"ccy", "CNY"}}}};
}

struct Step {
  std::string type, doc;
  bool bank = false;  // signed with the bank key
  json body;
};

// One cycle of the mix for lane `lane`, cycle number `cycle` (document ids and containers unique per both).
std::vector<Step> cycle_steps(int lane, int cycle) {
  std::vector<Step> out;
  std::string tag = std::to_string(lane) + "-" + std::to_string(cycle);
  for (int b = 0; b < 2; ++b) {
    int bill = cycle * 2 + b;
    std::string doc = "OB-BENCH-" + tag + "-" + std::to_string(b);
    std::vector<std::string> refs;
    for (int c = 0; c < kContainers; ++c) refs.push_back(container(lane, bill * kContainers + c));
    out.push_back({"bill.issue", doc, false, bill_body(refs, bill)});
    struct Ev {
      int leg;
      const char* event;
      const char* at;
      bool with_equipment;
    };
    static const Ev kEvents[] = {
        {0, "gate_in", "CNTSN", true},       {0, "loaded", "CNTSN", true},   {0, "departed", "CNTSN", true},
        {0, "border_crossed", "KZDOS", true}, {0, "arrived", "KZDOS", true},  {0, "discharged", "KZDOS", true},
        {0, "gate_out", "KZDOS", true},      {1, "gate_in", "KZDOS", true},   {1, "loaded", "KZDOS", true},
        {1, "departed", "KZDOS", true},      {1, "gauge_changed", "PLMAL", true}, {1, "arrived", "DEDUI", true},
        {1, "discharged", "DEDUI", true}};
    for (const auto& ev : kEvents) {
      // The weight the bill declares for its containers, plus 150 kg: within the 2 % that cross-verification
      // tolerates, so the journey opens no discrepancy (a bench run that opened one per event measured a bill that
      // grows with every report, which no real journey does).
      const auto gross = static_cast<std::int64_t>(10000 * refs.size() + 150);
      json body = {{"leg", ev.leg}, {"event", ev.event}, {"at", ev.at}, {"gross_kg", gross},
                   {"vehicle", ev.leg == 0 ? "X8044 Tianjin-Dostyk, wagon set 12 of 44, locomotive HXD3C-0123, crew TJ-7, train 2026-11-25 No. 40817 via Erenhot-Zamyn-Uud"
                                      : "X8044-PL Dostyk-Duisburg, wagon set 7 of 40, 1520/1435 mm bogies, transshipped at Dostyk, next Malaszewicze PLMAL"}};
      if (ev.with_equipment) body["equipment"] = equipment(refs, bill, true);
      out.push_back({"bill.event", doc, false, body});
    }
  }
  std::string receipt = "WR-BENCH-" + tag;
  std::string pledge = "PL-BENCH-" + tag;
  out.push_back({"receipt.issue", receipt, false,
                 {{"holder", "rail"},
                  {"goods",
                   {{"description", "Electrolytic copper cathodes, grade A, LME registered brand, strapped bundles"},
                    {"hs", "740311"},
                    {"quantity", 100},
                    {"unit", "TNE"},
                    {"gross_kg", 100000}}},
                  {"location", "CNTSN"},
                  {"lot", "LOT-BENCH-" + tag},
                  {"bonded", false}}});
  out.push_back({"pledge.request", pledge, false,
                 {{"collateral", receipt},
                  {"bank", "bank"},
                  {"amount", {{"value", 800000000}, {"ccy", "CNY"}}},
                  {"due", "2099-12-31"}}});
  out.push_back({"pledge.accept", pledge, true, json::object()});
  out.push_back({"pledge.release", pledge, true, json::object()});
  out.push_back({"receipt.withdraw", receipt, false, {{"quantity", 40}}});
  out.push_back({"receipt.release", receipt, false, {{"quantity", 40}}});
  return out;
}

}  // namespace

std::vector<std::vector<Entry>> make_entries(const BenchNet& net, int keys, int lanes, std::size_t per_lane,
                                             unsigned threads) {
  std::vector<std::vector<Entry>> out(static_cast<std::size_t>(lanes));
  // Nonces: lanes of one slot interleave (see the header).
  int per_slot = (lanes + keys - 1) / keys;
  std::atomic<int> next{0};
  auto work = [&] {
    for (int lane = next++; lane < lanes; lane = next++) {
      int slot = lane % keys;
      std::int64_t rail_j = 0, bank_j = 0;
      auto& entries = out[static_cast<std::size_t>(lane)];
      entries.reserve(per_lane);
      for (int cycle = 0; entries.size() < per_lane; ++cycle) {
        for (auto& s : cycle_steps(lane, cycle)) {
          if (entries.size() >= per_lane) break;
          std::int64_t& j = s.bank ? bank_j : rail_j;
          contracts::Tx tx;
          tx.type = s.type;
          tx.doc = s.doc;
          tx.signer = std::string(s.bank ? "bank" : "rail") + "/k" + std::to_string(slot);
          tx.nonce = (j++) * per_slot + lane / keys;
          tx.ts = "2026-11-25T10:00:00Z";
          tx.body = std::move(s.body);
          auto canonical = contracts::canonical_tx(tx);
          const auto& key = s.bank ? net.bank_key(slot) : net.rail_key(slot);
          auto sig = key.sign(*canonical);
          auto env = contracts::make_envelope(std::move(tx), std::move(*sig), crypto::HashAlg::sha256);
          entries.push_back({env->id, env->tx.type, contracts::envelope_to_json(*env).dump()});
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < std::max(1u, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return out;
}

}  // namespace onebill::bench
