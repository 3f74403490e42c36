// SPDX-License-Identifier: MIT
#include "kernel/flush_strategy.h"

#include <charconv>
#include <limits>

namespace tlbsim::kernel {

using iommu::IommuStrategyKind;

const std::vector<StrategyInfo>& strategies() {
  static const std::vector<StrategyInfo> all{
      {StrategySide::Cpu, "cpu:per-page", "INVLPG per page however long the range (no ceiling); reclaim flushes each PTE", false, 0},
      {StrategySide::Cpu, "cpu:full-above",
       "per page up to N pages, else one full flush (x86 tlb_single_page_flush_ceiling, default 33); reclaim flushes each PTE", true, 33},
      {StrategySide::Cpu, "cpu:full", "every range flush is a full flush of the ASID; reclaim flushes each PTE", false, 0},
      {StrategySide::Cpu, "cpu:deferred",
       "reclaim queues flushes in tlb_ubc and flushes once at the end (arch_tlbbatch_flush); ranges as full-above:N", true, 33},
      {StrategySide::Iommu, "iommu:per-page", "one command per page and cache, each followed by its own sync", false, 0},
      {StrategySide::Iommu, "iommu:cmdq", "one command per page and cache, queued, one sync per flush point", false, 0},
      {StrategySide::Iommu, "iommu:range", "naturally aligned power-of-two range commands (VT-d PSI mask, SMMUv3 RIL), one sync", false, 0},
      {StrategySide::Iommu, "iommu:full-above", "as cmdq up to N pages, else PASID-wide commands (SMMUv3 CMDQ_MAX_TLBI_OPS: N = 511)", true,
       511},
      {StrategySide::Iommu, "iommu:full", "always PASID-wide IOTLB and ATC commands, one sync", false, 0},
  };
  return all;
}

std::optional<Strategy> parse_strategy(std::string_view spec, std::string* error) {
  const StrategyInfo* info = nullptr;
  std::string_view rest;
  for (const auto& s : strategies()) {
    if (spec.substr(0, s.name.size()) != s.name) continue;
    const std::string_view tail = spec.substr(s.name.size());
    if (!tail.empty() && tail[0] != ':') continue;
    info = &s;
    rest = tail;
    break;
  }
  if (!info) {
    if (error) *error = "unknown strategy '" + std::string(spec) + "' (see tlbsim list)";
    return std::nullopt;
  }
  uint64_t n = info->default_threshold;
  if (!rest.empty()) {
    const std::string_view num = rest.substr(1);
    if (!info->takes_threshold) {
      if (error) *error = "strategy '" + std::string(info->name) + "' takes no threshold";
      return std::nullopt;
    }
    const auto r = std::from_chars(num.data(), num.data() + num.size(), n);
    if (num.empty() || r.ec != std::errc{} || r.ptr != num.data() + num.size()) {
      if (error) *error = "strategy '" + std::string(spec) + "': threshold must be a non-negative integer";
      return std::nullopt;
    }
  }
  Strategy s;
  s.side = info->side;
  s.label = std::string(info->name) + (info->takes_threshold ? ":" + std::to_string(n) : "");
  const std::string_view name = info->name;
  if (s.side == StrategySide::Cpu && n > std::numeric_limits<unsigned>::max()) {
    if (error) *error = "strategy '" + std::string(spec) + "': threshold too large";
    return std::nullopt;
  }
  const auto ceiling = static_cast<unsigned>(n);
  if (name == "cpu:per-page") s.cpu = {std::numeric_limits<unsigned>::max(), false};
  if (name == "cpu:full-above") s.cpu = {ceiling, false};
  if (name == "cpu:full") s.cpu = {0, false};
  if (name == "cpu:deferred") s.cpu = {ceiling, true};
  if (name == "iommu:per-page") s.iommu = {IommuStrategyKind::PerPage, 0};
  if (name == "iommu:cmdq") s.iommu = {IommuStrategyKind::Cmdq, 0};
  if (name == "iommu:range") s.iommu = {IommuStrategyKind::Range, 0};
  if (name == "iommu:full-above") s.iommu = {IommuStrategyKind::FullAbove, n};
  if (name == "iommu:full") s.iommu = {IommuStrategyKind::Full, 0};
  return s;
}

void apply_cpu_strategy(MachineConfig& cfg, const CpuStrategy& s) {
  cfg.tlb_single_page_flush_ceiling = s.ceiling;
  cfg.batch_unmap_flush = s.batch_unmap_flush;
}

}  // namespace tlbsim::kernel
