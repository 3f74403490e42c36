// SPDX-License-Identifier: MIT
#include "kernel/sva.h"

#include <bit>

#include "iommu/inv_strategy.h"

namespace tlbsim::kernel {

using iommu::InvCmd;
using iommu::InvCmdKind;

const std::vector<DecodingInfo>& decodings() {
  static const std::vector<DecodingInfo> all{
      {SvaDecoding::AmdV2, "amd-v2", iommu::IommuKind::AmdV2,
       "AMD IOMMUv2: one page if start and end-1 share a page, else the whole PASID; (~0,~0) flushes page ~0"},
      {SvaDecoding::IntelSvm, "intel-svm", iommu::IommuKind::IntelSvm,
       "Intel SVM before e7ad6c2a4b1a: power-of-two PSI chunks; (0,-1) and (~0,~0) overflow to no invalidation"},
      {SvaDecoding::IntelSvmFixed, "intel-svm-e7ad6c2a4b1a", iommu::IommuKind::IntelSvm,
       "Intel SVM with e7ad6c2a4b1a: (0,-1) invalidates the whole PASID and device TLB"},
      {SvaDecoding::SmmuV3Old, "smmu-v3-6.0", iommu::IommuKind::SmmuV3,
       "Arm SMMUv3 SVA as in v6.0: TLBI per page (none for size 0, none with BTM), ATC span (size 0 = all)"},
      {SvaDecoding::SmmuV3, "smmu-v3", iommu::IommuKind::SmmuV3,
       "Arm SMMUv3 SVA as in v6.6: size 0 or >= 512 pages is one TLBI ASID (38b14e2e3de9, d5afb4b47e13)"},
  };
  return all;
}

const DecodingInfo* find_decoding(std::string_view name) {
  for (const auto& d : decodings())
    if (d.name == name) return &d;
  return nullptr;
}

namespace {

constexpr uint64_t kMaxModelledTlbiOps = uint64_t{1} << 16;
/// CMDQ_MAX_TLBI_OPS = 1 << (PAGE_SHIFT - 3) = 512 with 4 KiB pages.
constexpr iommu::IommuStrategy kCmdqMaxTlbiOps{iommu::IommuStrategyKind::FullAbove, (uint64_t{1} << (kPageShift - 3)) - 1};

uint64_t page_end(uint64_t start, uint64_t bytes) {
  const uint64_t e = start + bytes;
  return e < start ? kFlushAll : e;  // the command's span runs to the top of the address space
}

void iotlb_range(iommu::Iommu& io, Pasid p, uint64_t start, uint64_t end, const char* func) {
  io.queue().submit(InvCmd{.kind = InvCmdKind::IotlbRange, .pasid = p.value(), .start = start, .end = end, .func = func});
}
void iotlb_pasid(iommu::Iommu& io, Pasid p, const char* func) {
  io.queue().submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = p.value(), .start = 0, .end = kFlushAll, .func = func});
}
void atc_range(iommu::Iommu& io, Pasid p, uint16_t dev, uint64_t start, uint64_t end, const char* func) {
  io.queue().submit(InvCmd{.kind = InvCmdKind::AtcRange, .pasid = p.value(), .start = start, .end = end, .device = dev, .func = func});
}
void atc_all(iommu::Iommu& io, Pasid p, uint16_t dev, const char* func) {
  io.queue().submit(InvCmd{.kind = InvCmdKind::AtcAll, .pasid = p.value(), .start = 0, .end = kFlushAll, .device = dev, .func = func});
}

/// __flush_pasid(): IOMMU TLB first and wait, then the device ATCs and wait, so an ATC cannot
/// be refilled from a still-stale IOMMU TLB.
void amd_flush_pasid(iommu::Iommu& io, Pasid p, uint64_t address, bool all) {
  if (all)
    iotlb_pasid(io, p, "__flush_pasid");
  else
    iotlb_range(io, p, address, page_end(address, kPageSize), "__flush_pasid");
  io.queue().sync("domain_flush_complete");
  for (uint16_t d : io.devices_of(p)) {
    if (!io.device_ats(d)) continue;
    if (all)
      atc_all(io, p, d, "__flush_pasid");
    else
      atc_range(io, p, d, address, page_end(address, kPageSize), "__flush_pasid");
  }
  io.queue().sync("domain_flush_complete");
}

void amd_v2(iommu::Iommu& io, Pasid p, uint64_t start, uint64_t end) {
  // mn_invalidate_range(): both ends in one page -> amd_iommu_flush_page(), else the whole PASID.
  if ((start ^ (end - 1)) < kPageSize)
    amd_flush_pasid(io, p, start & ~(kPageSize - 1), false);
  else
    amd_flush_pasid(io, p, 0, true);
}

/// intel_flush_svm_range_dev() for one device, each qi_flush_* a synchronous qi_submit_sync().
void intel_flush_range(iommu::Iommu& io, Pasid p, uint64_t address, uint64_t pages) {
  // __roundup_pow_of_two(0) is 1 << 64, which x86 computes as 1: align is one page.
  const uint64_t rounded = pages == 0 ? 1 : std::bit_ceil(pages);
  const unsigned shift = static_cast<unsigned>(std::countr_zero(rounded));
  // A span of 2^52 pages or more makes `1ULL << (VTD_PAGE_SHIFT + shift)` a shift by 64 or more:
  // undefined in C, and x86's SHL masks the count, so the kernel gets 1 << (count & 63). The
  // model does the same (for 2^52 pages, align 1: start == end and nothing is flushed).
  const uint64_t align = uint64_t{1} << ((kPageShift + shift) & 63);
  uint64_t start = address & ~(align - 1);
  const uint64_t end = (address + (pages << kPageShift) + align - 1) & ~(align - 1);
  for (; start < end; start += align) {
    const uint64_t chunk = align >> kPageShift;
    if (chunk == 0) break;  // WARN_ON(!pages) in __flush_svm_range_dev()
    iotlb_range(io, p, start, page_end(start, align), "qi_flush_piotlb");
    io.queue().sync("qi_submit_sync");
    for (uint16_t d : io.devices_of(p)) {
      if (!io.device_ats(d)) continue;
      atc_range(io, p, d, start, page_end(start, align), "qi_flush_dev_iotlb_pasid");
      io.queue().sync("qi_submit_sync");
    }
    if (start + align < start) break;
  }
}

void intel_flush_all(iommu::Iommu& io, Pasid p) {
  // intel_flush_svm_all() (e7ad6c2a4b1a): PASID-selective PIOTLB and the maximal device-TLB span.
  iotlb_pasid(io, p, "qi_flush_piotlb");
  io.queue().sync("qi_submit_sync");
  for (uint16_t d : io.devices_of(p)) {
    if (!io.device_ats(d)) continue;
    atc_all(io, p, d, "qi_flush_dev_iotlb_pasid");
    io.queue().sync("qi_submit_sync");
  }
}

/// arm_smmu_atc_inv_domain(): one naturally aligned span covering [start, start+size); 0 = all.
void smmu_atc_inv(iommu::Iommu& io, Pasid p, uint64_t start, uint64_t size) {
  for (uint16_t d : io.devices_of(p)) {
    if (!io.device_ats(d)) continue;
    if (size == 0) {
      atc_all(io, p, d, "arm_smmu_atc_inv_domain");
    } else {
      const uint64_t first = start >> kPageShift, last = (start + size - 1) >> kPageShift;
      unsigned log2 = 0;
      while ((first >> log2) != (last >> log2)) ++log2;
      if (log2 + kPageShift >= 64) {
        // A span of 2^64 bytes (a range reaching the top of the address space, as a (0, -1)
        // flush does): the command's size covers every address.
        atc_range(io, p, d, 0, kFlushAll, "arm_smmu_atc_inv_domain");
        continue;
      }
      const uint64_t span_start = (first >> log2) << (log2 + kPageShift);
      atc_range(io, p, d, span_start, page_end(span_start, uint64_t{1} << (log2 + kPageShift)), "arm_smmu_atc_inv_domain");
    }
  }
  io.queue().sync("arm_smmu_cmdq_issue_cmdlist (CMD_SYNC)");
}

void smmu_tlbi_range(iommu::Iommu& io, Pasid p, uint64_t start, uint64_t size) {
  // __arm_smmu_tlb_inv_range(): one TLBI_NH_VA per granule (leaf = false for SVA), then CMD_SYNC.
  if (size == 0) return;
  const uint64_t pages = (size + kPageSize - 1) >> kPageShift;
  if (pages > kMaxModelledTlbiOps) {
    // A range this large is the CVE-2023-52484 soft lockup: model it as one command covering the
    // range instead of enumerating up to 2^52 per-page TLBIs.
    iotlb_range(io, p, start, page_end(start, size), "arm_smmu_tlb_inv_range_asid (per-page loop)");
  } else {
    for (uint64_t i = 0; i < pages; ++i)
      iotlb_range(io, p, start + (i << kPageShift), page_end(start + (i << kPageShift), kPageSize),
                  "arm_smmu_tlb_inv_range_asid");
  }
  io.queue().sync("arm_smmu_cmdq_issue_cmdlist (CMD_SYNC)");
}

void smmu_v3(iommu::Iommu& io, Pasid p, uint64_t start, uint64_t end, bool v66) {
  uint64_t size = end - start;  // mm ranges are exclusive; IOMMU sizes are lengths
  // d5afb4b47e13: without RANGE_INV, size >= CMDQ_MAX_TLBI_OPS pages becomes one TLBI ASID: the
  // full-above strategy with 511 as its largest per-page range (size >> PAGE_SHIFT >= 512; the
  // ULONG_MAX of a (0, -1) request too).
  if (v66 && iommu::over_threshold(kCmdqMaxTlbiOps, size >> kPageShift)) size = 0;
  if (!io.config().btm) {
    if (v66 && size == 0) {
      iotlb_pasid(io, p, "arm_smmu_tlb_inv_asid");
      io.queue().sync("arm_smmu_cmdq_issue_cmdlist (CMD_SYNC)");
    } else {
      smmu_tlbi_range(io, p, start, size);
    }
  }
  smmu_atc_inv(io, p, start, size);
}

}  // namespace

void sva_invalidate(iommu::Iommu& io, SvaDecoding decoding, Pasid p, uint64_t start, uint64_t end) {
  switch (decoding) {
    case SvaDecoding::AmdV2: amd_v2(io, p, start, end); break;
    case SvaDecoding::IntelSvmFixed:
      if (start == 0 && end == kFlushAll) {
        intel_flush_all(io, p);
        break;
      }
      [[fallthrough]];
    case SvaDecoding::IntelSvm: intel_flush_range(io, p, start, (end - start + kPageSize - 1) >> kPageShift); break;
    case SvaDecoding::SmmuV3Old: smmu_v3(io, p, start, end, false); break;
    case SvaDecoding::SmmuV3: smmu_v3(io, p, start, end, true); break;
  }
}

std::string SvaMmu::name() const {
  for (const auto& d : decodings())
    if (d.decoding == m_decoding) return "sva(" + std::string(d.name) + ", pasid " + std::to_string(m_pasid.value()) + ")";
  return "sva";
}

void SvaMmu::invalidate_secondary_tlbs(Kernel&, AddressSpace&, uint64_t start, uint64_t end) {
  ++m_iommu.counters().sec_inv_requests;
  sva_invalidate(m_iommu, m_decoding, m_pasid, start, end);
}

void sva_mm_release(iommu::Iommu& io, Pasid pasid) {
  // mn_release/intel_mm_release/arm_smmu_mm_release: stop translation, then drop everything.
  for (uint16_t d : io.devices_of(pasid))
    if (io.device_ats(d)) atc_all(io, pasid, d, "mmu_notifier release");
  iotlb_pasid(io, pasid, "mmu_notifier release");
  io.queue().sync("mmu_notifier release");
  io.unbind_pasid(pasid);
}

void SvaMmu::release(Kernel&, AddressSpace&) { sva_mm_release(m_iommu, m_pasid); }

void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& io, uint16_t device, Pasid pasid,
                           const std::function<std::unique_ptr<SecondaryMmu>()>& make_notifier) {
  const bool first = io.devices_of(pasid).empty();
  io.bind(device, pasid, k.walk_context(mm));
  mm.set_pasid(pasid);
  if (first) k.register_notifier(mm.id(), make_notifier());
}

void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& io, uint16_t device, Pasid pasid, SvaDecoding decoding) {
  iommu_sva_bind_device(k, mm, io, device, pasid, [&] { return std::make_unique<SvaMmu>(io, decoding, pasid); });
}

}  // namespace tlbsim::kernel
