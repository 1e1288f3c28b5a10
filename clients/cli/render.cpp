#include "clients/cli/render.h"

#include <algorithm>
#include <ostream>

namespace onebill::clients::cli {

std::size_t display_width(std::string_view utf8) {
  std::size_t n = 0;
  for (char c : utf8) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;  // count lead bytes only
  }
  return n;
}

void Table::print(std::ostream& out, std::string_view indent) const {
  std::vector<std::size_t> widths(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(cells[i]));
    }
  };
  measure(headers_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s(indent);
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string& cell = i < cells.size() ? cells[i] : std::string();
      s += cell;
      if (i + 1 < widths.size()) s += std::string(widths[i] - display_width(cell) + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
}

std::string text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return s.empty() ? "-" : s;
  }
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number()) return v.dump();
  if (v.is_array()) {
    if (v.empty()) return "-";
    std::string out;
    for (const auto& item : v) out += (out.empty() ? "" : ", ") + text(item);
    return out;
  }
  return v.dump();
}

std::string field(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  return it == obj.end() ? "-" : text(*it);
}

bool flag(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return false;
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

std::int64_t integer_at(const nlohmann::json& obj, std::string_view key, std::int64_t dflt) {
  if (!obj.is_object()) return dflt;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<std::int64_t>() : dflt;
}

std::string string_at(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const nlohmann::json& list(const nlohmann::json& obj, std::string_view key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_array() ? *it : kEmpty;
}

namespace {

int minor_digits(std::string_view ccy) {
  static constexpr std::string_view kZero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                               "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::string_view kThree[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  if (std::find(std::begin(kZero), std::end(kZero), ccy) != std::end(kZero)) return 0;
  if (std::find(std::begin(kThree), std::end(kThree), ccy) != std::end(kThree)) return 3;
  return 2;
}

}  // namespace

std::string money(const nlohmann::json& m) {
  if (!m.is_object() || !m.contains("value") || !m["value"].is_number_integer()) return text(m);
  const std::string ccy = string_at(m, "ccy");
  std::int64_t v = m["value"].get<std::int64_t>();
  const bool negative = v < 0;
  std::string digits = std::to_string(negative ? -v : v);
  const int minor = minor_digits(ccy);
  while (static_cast<int>(digits.size()) <= minor) digits.insert(0, "0");
  std::string whole = digits.substr(0, digits.size() - static_cast<std::size_t>(minor));
  std::string frac = digits.substr(digits.size() - static_cast<std::size_t>(minor));
  std::string grouped;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(whole[i]);
  }
  return (negative ? "-" : "") + grouped + (minor > 0 ? "." + frac : "") + (ccy.empty() ? "" : " " + ccy);
}

std::string short_id(std::string_view id, std::size_t n) {
  return id.size() <= n ? std::string(id) : std::string(id.substr(0, n));
}

void kv(std::ostream& out, std::string_view label, std::string_view value, std::size_t width) {
  out << "  " << label;
  if (label.size() < width) out << std::string(width - label.size(), ' ');
  out << " " << value << "\n";
}

void section(std::ostream& out, std::string_view title) { out << "\n" << title << "\n"; }

}  // namespace onebill::clients::cli
