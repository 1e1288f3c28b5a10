#include "node/metrics.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace onebill::node {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string label_text(const Labels& labels, const std::string& extra_key = {}, const std::string& extra = {}) {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k + "=\"" + escape_label(v) + "\"";
  }
  if (!extra_key.empty()) {
    if (!first) out += ",";
    out += extra_key + "=\"" + extra + "\"";
  }
  return out + "}";
}

std::string number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back the same
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double v) {
  auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  std::lock_guard lock(mu_);
  ++counts_[i];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard lock(mu_);
  std::uint64_t running = 0;
  for (auto c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

Metrics::Family& Metrics::family(const std::string& name, const std::string& help, Kind kind) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.kind = kind;
    it->second.help = help;
  } else if (it->second.kind != kind) {
    throw std::logic_error("metric " + name + " used with two kinds");  // a programming error, found by tests
  }
  return it->second;
}

Counter& Metrics::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Kind::counter).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Metrics::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Kind::gauge).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Metrics::histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                              const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = family(name, help, Kind::histogram).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    switch (f.kind) {
      case Kind::counter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [l, c] : f.counters) out += name + label_text(l) + " " + std::to_string(c->value()) + "\n";
        break;
      case Kind::gauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [l, g] : f.gauges) out += name + label_text(l) + " " + std::to_string(g->value()) + "\n";
        break;
      case Kind::histogram:
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [l, h] : f.histograms) {
          auto s = h->snapshot();
          for (std::size_t i = 0; i < s.bounds.size(); ++i) {
            out += name + "_bucket" + label_text(l, "le", number(s.bounds[i])) + " " +
                   std::to_string(s.cumulative[i]) + "\n";
          }
          out += name + "_bucket" + label_text(l, "le", "+Inf") + " " + std::to_string(s.cumulative.back()) + "\n";
          out += name + "_sum" + label_text(l) + " " + number(s.sum) + "\n";
          out += name + "_count" + label_text(l) + " " + std::to_string(s.count) + "\n";
        }
        break;
    }
  }
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};
}

}  // namespace onebill::node
