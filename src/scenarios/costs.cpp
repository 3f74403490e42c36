// SPDX-License-Identifier: MIT
#include "scenarios/costs.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>

#include "scenarios/errors.h"
#include "scenarios/input_file.h"
#include "scenarios/json_document.h"
#include "scenarios/json_positions.h"
#include "scenarios/printable.h"

namespace tlbsim::scenarios {

using json = nlohmann::json;

const std::vector<CostField>& cost_fields() {
  using C = iommu::CostModel;
  static const std::vector<CostField> f{
      {"pte_write", &C::pte_write, "one PTE store"},
      {"cpu_invlpg", &C::cpu_invlpg, "per-page CPU flush"},
      {"cpu_full_flush", &C::cpu_full_flush, "full ASID flush"},
      {"cpu_walk", &C::cpu_walk, "CPU TLB miss walk"},
      {"ipi_first", &C::ipi_first, "shootdown IPI, first remote CPU"},
      {"ipi_each", &C::ipi_each, "shootdown IPI, each further remote CPU"},
      {"iommu_cmd", &C::iommu_cmd, "IOMMU per-page command"},
      {"iommu_range_cmd", &C::iommu_range_cmd, "IOMMU range command"},
      {"iommu_pasid_cmd", &C::iommu_pasid_cmd, "IOMMU PASID/ASID-wide command"},
      {"iommu_sync", &C::iommu_sync, "command-queue sync"},
      {"iotlb_walk", &C::iotlb_walk, "IOTLB miss walk"},
      {"atc_inv_rtt", &C::atc_inv_rtt, "ATS invalidation round trip"},
      {"atc_miss", &C::atc_miss, "ATC miss (ATS translation request)"},
  };
  return f;
}

namespace {

std::string known_keys() {
  std::string s;
  for (const auto& f : cost_fields()) s += (s.empty() ? "" : ", ") + std::string(f.name);
  return s;
}

}  // namespace

void read_costs(const json& obj, const std::string& ptr, iommu::CostModel& base, std::vector<Diagnostic>& diags) {
  auto error = [&](const std::string& p, const std::string& msg) { diags.push_back(Diagnostic{.pointer = p, .message = msg}); };
  if (!obj.is_object()) return error(ptr, std::string("expected an object of cost names to nanoseconds, found ") + obj.type_name());
  for (const auto& [key, value] : obj.items()) {
    const std::string p = ptr + "/" + pointer_token(key);
    const CostField* f = nullptr;
    for (const auto& c : cost_fields())
      if (key == c.name) f = &c;
    if (!f) {
      error(p, "unknown cost " + in_quotes(key) + " (expected one of: " + known_keys() + ")");
      continue;
    }
    if (is_too_large(value)) {
      error(p, "expected at most " + std::to_string(kMaxCostNs) + " ns, found " + shown(value));
      continue;
    }
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
      error(p, std::string("expected a non-negative integer (nanoseconds), found ") + (value.is_number_integer() || is_big_integer(value)
                                                                                           ? "a negative number"
                                                                                       : value.is_number_float() ? "a fraction"
                                                                                                                 : value.type_name()));
      continue;
    }
    const uint64_t v = value.get<uint64_t>();
    if (v > kMaxCostNs) {
      error(p, "expected at most " + std::to_string(kMaxCostNs) + " ns, found " + std::to_string(v));
      continue;
    }
    base.*(f->field) = v;
  }
}

iommu::CostModel parse_costs_text(const std::string& text, const std::string& path, iommu::CostModel base) {
  std::optional<JsonPositions> pos;
  json doc;
  try {
    pos.emplace(text);
    doc = parse_json_document(text);
  } catch (const json::parse_error& e) {
    const TextPos tp = syntax_error_pos(text, e.byte);
    throw ScenarioError({Diagnostic{.file = path, .line = tp.line, .column = tp.column, .message = json_syntax_message(e.what())}});
  }
  std::vector<Diagnostic> diags;
  add_duplicate_keys(*pos, path, diags);
  std::vector<Diagnostic> read;
  read_costs(doc, "", base, read);
  std::vector<std::string> pointers;
  for (const Diagnostic& d : read) pointers.push_back(d.pointer);
  const std::vector<TextPos> places = pos->at(pointers);
  for (size_t i = 0; i < read.size(); ++i) {
    Diagnostic& d = read[i];
    d.file = path;
    d.line = places[i].line;
    d.column = places[i].column;
    diags.push_back(std::move(d));
  }
  // Reported in document order, not in the parser's key order.
  std::stable_sort(diags.begin(), diags.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
  if (!diags.empty()) throw ScenarioError(diags);
  return base;
}

iommu::CostModel load_costs_file(const std::string& path, iommu::CostModel base) {
  return parse_costs_text(read_input_file(path), path, base);
}

}  // namespace tlbsim::scenarios
