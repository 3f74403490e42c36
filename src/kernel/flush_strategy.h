// SPDX-License-Identifier: MIT
#pragma once
/// The registry of invalidation strategies a user can sweep, CPU side and IOMMU side, each with
/// a one-line description (listed by `tlbsim list`). A strategy is written "side:name" or
/// "side:name:N" for one that takes a threshold, e.g. "cpu:full-above:33", "iommu:cmdq".
/// CPU strategies set the machine's flush_tlb_mm_range() ceiling and reclaim's batching; IOMMU
/// strategies replace a driver decoding in the SVA notifier (kernel/sva_strategy.h).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iommu/inv_strategy.h"
#include "kernel/kernel.h"

namespace tlbsim::kernel {

enum class StrategySide : uint8_t { Cpu, Iommu };

/// What a CPU-side strategy sets on the machine.
struct CpuStrategy {
  /// tlb_single_page_flush_ceiling: ranges of more pages become a full flush.
  unsigned ceiling = 33;
  /// TTU_BATCH_FLUSH for reclaim (tlb_ubc, one flush before the frees).
  bool batch_unmap_flush = true;
};

struct StrategyInfo {
  StrategySide side;
  std::string_view name;  ///< "cpu:per-page", "iommu:full-above", ...
  std::string_view description;
  bool takes_threshold = false;
  uint64_t default_threshold = 0;
};
const std::vector<StrategyInfo>& strategies();

/// One parsed strategy: its side, its label ("cpu:full-above:33") and its settings.
struct Strategy {
  StrategySide side = StrategySide::Cpu;
  std::string label;
  CpuStrategy cpu{};
  iommu::IommuStrategy iommu{};
};
/// Parse "side:name[:N]"; nullopt and `error` set if the name is unknown or N is malformed.
std::optional<Strategy> parse_strategy(std::string_view spec, std::string* error);

/// The machine with a CPU-side strategy in force.
void apply_cpu_strategy(MachineConfig& cfg, const CpuStrategy& s);

}  // namespace tlbsim::kernel
