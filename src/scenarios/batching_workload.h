// SPDX-License-Identifier: MIT
#pragma once
/// Batching workloads: one kernel path over N pages (munmap dense and sparse, MADV_DONTNEED,
/// fork, mremap, migration, reclaim) on a machine whose mm is bound to an SVA device, under one
/// CPU strategy and one IOMMU strategy, followed by the CPU and the device re-touching a working
/// set outside the range, so that invalidating more than the range pays in refills. The
/// detector reads the run's event log and counts the stale-translation windows it opened, and
/// how many of them outlived the free of their frame or page table.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iommu/cost_model.h"
#include "kernel/flush_strategy.h"
#include "model/types.h"
#include "scenarios/memory_estimate.h"

namespace tlbsim::scenarios {

enum class Workload : uint8_t { MunmapDense, MunmapSparse, MadvDontneed, Fork, Mremap, Migrate, Reclaim };

struct WorkloadInfo {
  Workload workload;
  std::string_view name;
  std::string_view description;
  /// Data frames a run holds at once per page of N: the range's pages, four times N for
  /// reclaim's file (one page in four is reclaimed), two for migration (source and target).
  uint64_t frames_per_page;
  /// Bytes a run needs per page of N: the most measured under the strategies that send most
  /// (iommu:per-page, cpu:per-page; `/usr/bin/time -f %M tlbsim sweep --workload W --sizes
  /// 262144 --strategies S`, docs/scale-out.md), plus a quarter, rounded up.
  uint64_t bytes_per_page;
};
const std::vector<WorkloadInfo>& workloads();
const WorkloadInfo* find_workload(std::string_view name);

/// Where the workload's mappings sit: the working set in its own VMA below the range the path
/// works on, so a working set of more pages than fit between the two would run into the range.
inline constexpr uint64_t kWorkloadWorkingSetBase = 0x10000000;  // 256 MiB
inline constexpr uint64_t kWorkloadRangeBase = 0x40000000;       // 1 GiB
inline constexpr uint64_t kMaxWorkingSetPages = (kWorkloadRangeBase - kWorkloadWorkingSetBase) / kPageSize;

struct WorkloadParams {
  Workload workload = Workload::MunmapDense;
  uint64_t pages = 64;               ///< N
  unsigned vmas = 100;               ///< fork: the N pages spread over this many VMAs
  uint64_t cpu_working_set = 512;    ///< pages CPU 0 touches before and re-touches after
  uint64_t device_working_set = 64;  ///< pages the device touches before and re-touches after
  /// Pages of the range the CPU and the device translate before the path runs, so the path has
  /// cached translations to invalidate (and the detector something to watch).
  uint64_t range_touched = 16;
  /// Whether the device has an ATC (PCIe ATS); without one only the IOTLB caches translations.
  bool device_ats = true;
  std::string policy = "fixed";
  kernel::CpuStrategy cpu{};
  iommu::IommuStrategy iommu{};
  iommu::CostModel cost{};
};

struct WorkloadResult {
  /// Counters over the path and the re-touch only (setup excluded).
  iommu::CostCounters cpu;    ///< cpu_flushes, cpu_flush_ns
  iommu::CostCounters iommu;  ///< commands, syncs, iommu_ns, misses, refill_ns, sec_inv_requests
  uint64_t cpu_refills = 0;   ///< CPU TLB misses in the working-set re-touch
  uint64_t cpu_refill_ns = 0;
  /// Stale-translation windows the detector found in the whole run that stayed open past the
  /// free of their frame or table page (classes freed, reused, table-freed): the unsafe ones.
  uint64_t windows = 0;
  /// Every window, including the stale ones every path has between clearing a PTE and the
  /// flush that follows (closed before anything is freed).
  uint64_t all_windows = 0;
  /// Frames the run made (PhysMem::frames_total(): the most in use at once, since a freed frame
  /// is taken again before a new one is made), page tables included.
  uint64_t frames = 0;
  uint64_t cpu_side_ns() const { return cpu.cpu_flush_ns + cpu_refill_ns; }
  uint64_t iommu_side_ns() const { return iommu.iommu_ns + iommu.refill_ns; }
  uint64_t invalidation_ns() const { return cpu.cpu_flush_ns + iommu.iommu_ns; }
  uint64_t refill_misses() const { return cpu_refills + iommu.iotlb_misses + iommu.atc_misses; }
};

/// What one run of the workload needs, from its parameters before anything is built: frames
/// (the range, the working set, page tables for the mm and for fork's child or mremap's
/// destination) and bytes (the measured figures above, per page of N, of the working set and
/// of fork's VMAs, over the loader's fixed base). `largest` names the option that contributes
/// most ("--sizes", "--vmas", "--cpu-working-set"). Not a proof, a measured bound with a margin:
/// a test checks the frames against real runs.
MemoryEstimate estimate_workload(const WorkloadParams& p);

/// Build the machine, run the path to completion, re-touch, detect. Throws std::invalid_argument
/// for an unknown policy, zero pages, a working set over kMaxWorkingSetPages or an estimate
/// over the model's frames; an InvariantViolation if the model breaks a check.
WorkloadResult run_workload(const WorkloadParams& p);

}  // namespace tlbsim::scenarios
