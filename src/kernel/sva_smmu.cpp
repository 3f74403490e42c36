// SPDX-License-Identifier: MIT
// Arm SMMUv3: arm_smmu_mm_invalidate_range() (v6.0), arm_smmu_mm_arch_invalidate_secondary_tlbs()
// (v6.6), the SVA domain's notifier from d38c28dbefee (v6.11), and the arm_smmu_invs
// invalidation of v7.1 (4202fddd01c7). Mainline primer section 4.
#include "iommu/inv_strategy.h"
#include "kernel/sva_commands.h"

namespace tlbsim::kernel::sva_cmd {

namespace {

constexpr uint64_t kMaxModelledTlbiOps = uint64_t{1} << 16;
/// CMDQ_MAX_TLBI_OPS = 1 << (PAGE_SHIFT - 3) = 512 with 4 KiB pages.
constexpr iommu::IommuStrategy kCmdqMaxTlbiOps{iommu::IommuStrategyKind::FullAbove, (uint64_t{1} << (kPageShift - 3)) - 1};
constexpr const char* kCmdSync = "arm_smmu_cmdq_issue_cmdlist (CMD_SYNC)";

/// arm_smmu_atc_inv_domain() / arm_smmu_atc_inv_to_cmd(): one naturally aligned span covering
/// [start, start+size); size 0 = all.
Task<> smmu_atc_inv(iommu::Iommu& io, Pasid p, uint64_t start, uint64_t size) {
  for (uint16_t d : io.devices_of(p)) {
    if (!io.device_ats(d)) continue;
    if (size == 0) {
      atc_all(io, p, d, "arm_smmu_atc_inv_domain");
    } else {
      const uint64_t first = start >> kPageShift, last = (start + size - 1) >> kPageShift;
      unsigned log2 = 0;
      while ((first >> log2) != (last >> log2)) ++log2;
      // A span of 2^64 bytes (a range reaching the top of the address space, as a (0, -1)
      // flush does) covers every address.
      const auto [s, e] = block(start, log2);
      atc_range(io, p, d, VaRange{s, e}, "arm_smmu_atc_inv_domain");
    }
  }
  co_await complete_batch(io, kCmdSync);
}

Task<> smmu_tlbi_range(iommu::Iommu& io, Pasid p, uint64_t start, uint64_t size) {
  // __arm_smmu_tlb_inv_range(): one TLBI_NH_VA per granule (leaf = false for SVA), then CMD_SYNC.
  if (size == 0) co_return;
  const uint64_t pages = (size + kPageSize - 1) >> kPageShift;
  if (pages > kMaxModelledTlbiOps) {
    // A range this large is the CVE-2023-52484 soft lockup: model it as one command covering the
    // range instead of enumerating up to 2^52 per-page TLBIs.
    iotlb_range(io, p, VaRange{start, span_end(start, size)}, "arm_smmu_tlb_inv_range_asid (per-page loop)");
  } else {
    for (uint64_t i = 0; i < pages; ++i)
      iotlb_range(io, p, VaRange{start + (i << kPageShift), span_end(start + (i << kPageShift), kPageSize)}, "arm_smmu_tlb_inv_range_asid");
  }
  co_await complete_batch(io, kCmdSync);
}

Task<> tlbi_asid(iommu::Iommu& io, Pasid p) {
  iotlb_pasid(io, p, "arm_smmu_tlb_inv_asid");
  co_await complete_batch(io, kCmdSync);
}

}  // namespace

Task<> smmu_invalidate(iommu::Iommu& io, SvaDecoding d, Pasid p, VaRange inv) {
  const uint64_t start = inv.lo(), end = inv.hi();
  const uint64_t range = end - start;  // mm ranges are exclusive; IOMMU sizes are lengths
  const bool v66 = d != SvaDecoding::SmmuV3Old;
  // d5afb4b47e13: without RANGE_INV, size >= CMDQ_MAX_TLBI_OPS pages becomes one TLBI ASID: the
  // full-above strategy with 511 as its largest per-page range (size >> PAGE_SHIFT >= 512; the
  // ULONG_MAX of a (0, -1) request too). v7.1's arm_smmu_domain_inv_range() keeps the rule
  // ((granule / 8) * granule = 2 MiB) and also makes size 0 ASID-wide.
  const uint64_t size = v66 && iommu::over_threshold(kCmdqMaxTlbiOps, range >> kPageShift) ? 0 : range;
  // Up to v6.10 an SMMU with BTM relied on the CPU's broadcast TLBI and issued none; from
  // d38c28dbefee the SVA domain has its own ASID and always issues it.
  const bool tlbi = d == SvaDecoding::SmmuV3_611 || d == SvaDecoding::SmmuV3_71 || !io.config().btm;
  if (tlbi) {
    if (v66 && size == 0)
      co_await tlbi_asid(io, p);
    else
      co_await smmu_tlbi_range(io, p, start, size);
  }
  // v7.1: the ATC command is built from the unreduced (start, size), after the TLBI's sync
  // ("ATS must be after a sync of the S1/S2 invalidations"). Before, the reduced size: 0 = all.
  co_await smmu_atc_inv(io, p, start, d == SvaDecoding::SmmuV3_71 ? range : size);
}

}  // namespace tlbsim::kernel::sva_cmd
