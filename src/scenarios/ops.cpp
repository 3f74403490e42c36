// SPDX-License-Identifier: MIT
#include "scenarios/ops.h"

#include "kernel/fault.h"
#include "kernel/zap.h"

namespace tlbsim::scenarios {

namespace {

using kernel::Task;

Task<> accesses(OpContext& c, OpSpec op, bool write) {
  for (uint64_t i = 0; i < op.pages; ++i) co_await kernel::user_access(c.k, c.cpu, *c.mm, op.addr + i * kPageSize, write);
}

Task<> dmas(OpContext& c, OpSpec op, bool write) {
  for (uint64_t i = 0; i < op.pages; ++i)
    co_await kernel::device_dma(c.k, c.iommu, c.device, *c.mm, op.addr + i * kPageSize, write);
}

uint32_t file_id(kernel::Kernel& k, const std::string& name) {
  for (size_t i = 1; i <= k.file_count(); ++i)
    if (k.file(static_cast<uint32_t>(i)).name == name) return static_cast<uint32_t>(i);
  return 0;
}

}  // namespace

const std::vector<OpInfo>& ops() {
  static const std::vector<OpInfo> all{
      {"read", ThreadKind::Cpu, kNeedAddr, "user load: TLB lookup, page walk, exc_page_fault -> handle_mm_fault",
       [](OpContext& c, const OpSpec& o) { return accesses(c, o, false); }},
      {"write", ThreadKind::Cpu, kNeedAddr, "user store: TLB lookup, page walk, exc_page_fault -> handle_mm_fault (COW: wp_page_copy)",
       [](OpContext& c, const OpSpec& o) { return accesses(c, o, true); }},
      {"munmap", ThreadKind::Cpu, kNeedAddr | kNeedPages, "__do_munmap -> unmap_region -> unmap_vmas, free_pgtables, tlb_finish_mmu",
       [](OpContext& c, const OpSpec& o) { return kernel::sys_munmap(c.k, *c.mm, o.addr, o.pages * kPageSize); }},
      {"madvise_dontneed", ThreadKind::Cpu, kNeedAddr | kNeedPages, "madvise(MADV_DONTNEED) -> zap_page_range",
       [](OpContext& c, const OpSpec& o) { return kernel::madvise_dontneed(c.k, *c.mm, o.addr, o.pages * kPageSize); }},
      {"madvise_free", ThreadKind::Cpu, kNeedAddr | kNeedPages, "madvise(MADV_FREE) -> madvise_free_single_vma",
       [](OpContext& c, const OpSpec& o) { return kernel::madvise_free(c.k, *c.mm, o.addr, o.pages * kPageSize); }},
      {"exit", ThreadKind::Cpu, 0, "exit_mmap: mmu_notifier_release, fullmm gather",
       [](OpContext& c, const OpSpec&) { return kernel::exit_mmap(c.k, *c.mm); }},
      {"dma_read", ThreadKind::Device, kNeedAddr, "device DMA read: ATC, ATS translation, IOTLB, IOMMU walk, PRI -> iommu_sva_handle_iopf",
       [](OpContext& c, const OpSpec& o) { return dmas(c, o, false); }},
      {"dma_write", ThreadKind::Device, kNeedAddr, "device DMA write: ATC, ATS translation, IOTLB, IOMMU walk, PRI -> iommu_sva_handle_iopf",
       [](OpContext& c, const OpSpec& o) { return dmas(c, o, true); }},
      {"truncate", ThreadKind::Kernel, kNeedFile | kNeedPages, "truncate_pagecache: unmap_mapping_range -> zap_page_range_single, truncate_inode_pages_range",
       [](OpContext& c, const OpSpec& o) { return kernel::truncate_pagecache_range(c.k, file_id(c.k, o.file), o.index, o.pages); }},
  };
  return all;
}

const OpInfo* find_op(std::string_view name) {
  for (const OpInfo& o : ops())
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace tlbsim::scenarios
