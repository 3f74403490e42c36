// SPDX-License-Identifier: MIT
#include "scenarios/ops.h"

#include "kernel/brk.h"
#include "kernel/exit.h"
#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/ksm.h"
#include "kernel/migrate.h"
#include "kernel/mmap.h"
#include "kernel/mprotect.h"
#include "kernel/mremap.h"
#include "kernel/reclaim.h"
#include "kernel/sva.h"
#include "kernel/thp.h"
#include "kernel/vmalloc.h"
#include "kernel/zap.h"

namespace tlbsim::scenarios {

namespace {

using kernel::Task;

/// An access op goes over its pages `repeat` times, one access per page each time.
Task<> accesses(OpContext& c, OpSpec op, bool write) {
  for (uint64_t n = 0; n < op.repeat; ++n)
    for (uint64_t i = 0; i < op.pages; ++i) co_await kernel::user_access(c.k, c.cpu, *c.mm, Vaddr{op.addr + i * kPageSize}, write);
}

Task<> dmas(OpContext& c, OpSpec op, bool write) {
  for (uint64_t n = 0; n < op.repeat; ++n)
    for (uint64_t i = 0; i < op.pages; ++i)
      co_await kernel::device_dma(c.k, c.iommu, c.device, *c.mm, Vaddr{op.addr + i * kPageSize}, write);
}

// Arguments of class type are built into locals before co_await: GCC 12 destroys a temporary
// made by a conditional expression inside a co_await operand twice.
Task<> fork(OpContext& c, OpSpec op) {
  const std::string child = op.name.empty() ? c.mm->name() + ".child" : op.name;
  co_await kernel::sys_fork(c.k, *c.mm, child);
}

AddressSpace& mm_named(kernel::Kernel& k, const std::string& name) {
  if (AddressSpace* mm = k.find_mm(name)) return *mm;
  throw std::logic_error("no mm named " + name);  // validation checked the name
}

/// The frames mapped at [addr, addr + pages) when the op starts (how a test harness would pick
/// pages for reclaim or migration: by what the process maps there).
std::vector<Pfn> mapped_frames(kernel::Kernel& k, const OpSpec& op) {
  std::vector<Pfn> out;
  if (!op.file.empty()) {
    // Page-cache pages of the file, as reclaim's LRU scan or a migration request would find them.
    for (size_t i = 1; i <= k.file_count(); ++i) {
      const kernel::File& f = k.file(static_cast<uint32_t>(i));
      if (f.name != op.file) continue;
      for (uint64_t x = op.index; x < op.index + op.pages && x < f.size(); ++x)
        if (f.page(x) != kNoPfn) out.push_back(f.page(x));
    }
    return out;
  }
  AddressSpace& mm = mm_named(k, op.mm);
  for (uint64_t i = 0; i < op.pages; ++i) {
    const Pte p = mm.pt().leaf(Vaddr{op.addr + i * kPageSize});
    if (p.present() && !p.special()) out.push_back(p.pfn());
  }
  return out;
}

Task<> reclaim(OpContext& c, OpSpec op) {
  co_await kernel::yield_point("shrink_folio_list");
  const std::vector<Pfn> pages = mapped_frames(c.k, op);
  co_await kernel::shrink_folio_list(c.k, pages);
}

/// The kernel migrating pages it picked by PFN, as compaction does: isolate_migratepages_block()
/// takes them off the LRU in one go, migrate_pages() moves them one by one. Pages that could
/// not be isolated, were freed meanwhile or stay busy are counted there, not errors.
Task<> migrate(OpContext& c, OpSpec op) {
  co_await kernel::yield_point("migrate_pages");
  const std::vector<Pfn> isolated = kernel::isolate_migratepages_block(c.k, mapped_frames(c.k, op));
  co_await kernel::migrate_pages(c.k, isolated);
}

/// ksmd's merging of a range into its first page (kernel::ksm_merge_range()).
Task<> ksm_merge_range(OpContext& c, OpSpec op) { co_await kernel::ksm_merge_range(c.k, mm_named(c.k, op.mm), Vaddr{op.addr}, op.pages); }

/// khugepaged's collapse of the 2 MiB at addr (khugepaged_scan_pmd() found 512 PTEs worth it):
/// collapse_huge_page(), which gives up when the PTEs or the VMA do not qualify.
Task<> khugepaged_collapse(OpContext& c, OpSpec op) {
  AddressSpace& mm = mm_named(c.k, op.mm);
  (void)co_await kernel::collapse_huge_page(c.k, mm, Vaddr{op.addr});
}

uint32_t file_id(kernel::Kernel& k, const std::string& name) {
  for (size_t i = 1; i <= k.file_count(); ++i)
    if (k.file(static_cast<uint32_t>(i)).name == name) return static_cast<uint32_t>(i);
  return 0;
}

/// mmap(2) of a file, of anonymous memory, or of shmem (MAP_SHARED with no file: the shmem file
/// shmem_zero_setup() makes, set up by the runner).
Task<> mmap(OpContext& c, const OpSpec& op) {
  kernel::MmapRequest req{.addr = op.addr,
                          .len = op.pages * kPageSize,
                          .writable = op.writable,
                          .shared = op.shared,
                          .fixed = op.fixed,
                          .populate = op.populate,
                          .file = 0,
                          .pgoff = op.index};
  if (!op.file.empty())
    req.file = file_id(c.k, op.file);
  else if (op.shared)
    req.file = c.shmem_files->at(&op);
  co_await kernel::sys_mmap(c.k, *c.mm, req);
}

}  // namespace

const std::vector<OpInfo>& ops() {
  static const std::vector<OpInfo> all{
      {Op::read, ThreadKind::Cpu, kNeedAddr, "user load: TLB lookup, page walk, exc_page_fault -> handle_mm_fault",
       [](OpContext& c, const OpSpec& o) { return accesses(c, o, false); }, false, true},
      {Op::write, ThreadKind::Cpu, kNeedAddr, "user store: TLB lookup, page walk, exc_page_fault -> handle_mm_fault (COW: wp_page_copy)",
       [](OpContext& c, const OpSpec& o) { return accesses(c, o, true); }, false, true},
      {Op::mmap, ThreadKind::Cpu, kNeedAddr | kAddrMaps | kNeedPages | kNeedProt,
       "mmap(2) at addr (MAP_FIXED_NOREPLACE, or MAP_FIXED with \"fixed\": do_munmap of the old range under the write "
       "lock, no downgrade): mmap_region, then mm_populate for MAP_POPULATE",
       [](OpContext& c, const OpSpec& o) { return mmap(c, o); }},
      {Op::brk, ThreadKind::Cpu, kNeedAddr | kAddrMaps,
       "brk(2) to the break addr: do_brk_flags extends the heap VMA (no PTE change); shrinking is __do_munmap with a "
       "downgrade, as munmap",
       [](OpContext& c, const OpSpec& o) { return kernel::sys_brk(c.k, *c.mm, Vaddr{o.addr}); }},
      {Op::munmap, ThreadKind::Cpu, kNeedAddr | kNeedPages, "__do_munmap -> unmap_region -> unmap_vmas, free_pgtables, tlb_finish_mmu",
       [](OpContext& c, const OpSpec& o) { return kernel::sys_munmap(c.k, *c.mm, Vaddr{o.addr}, o.pages * kPageSize); }},
      {Op::madvise_dontneed, ThreadKind::Cpu, kNeedAddr | kNeedPages, "madvise(MADV_DONTNEED) -> zap_page_range",
       [](OpContext& c, const OpSpec& o) { return kernel::madvise_dontneed(c.k, *c.mm, Vaddr{o.addr}, o.pages * kPageSize); }},
      {Op::madvise_free, ThreadKind::Cpu, kNeedAddr | kNeedPages, "madvise(MADV_FREE) -> madvise_free_single_vma",
       [](OpContext& c, const OpSpec& o) { return kernel::madvise_free(c.k, *c.mm, Vaddr{o.addr}, o.pages * kPageSize); }},
      {Op::fork, ThreadKind::Cpu, 0, "fork(2): dup_mmap -> copy_page_range (COW write-protect), flush_tlb_mm",
       [](OpContext& c, const OpSpec& o) { return fork(c, o); }},
      {Op::mremap, ThreadKind::Cpu, kNeedAddr | kNeedPages | kNeedNewAddr,
       "mremap(2) MREMAP_FIXED: move_page_tables -> move_ptes / move_normal_pmd, then unmap the old range (with dontunmap, "
       "MREMAP_DONTUNMAP: keep it mapped, empty)",
       [](OpContext& c, const OpSpec& o) {
         return kernel::sys_mremap(c.k, *c.mm, Vaddr{o.addr}, o.pages * kPageSize, Vaddr{o.new_addr},
                                   kernel::MremapFlags{.dontunmap = o.dontunmap});
       }},
      {Op::mprotect, ThreadKind::Cpu, kNeedAddr | kNeedPages | kNeedProt,
       "mprotect(2): do_mprotect_pkey on an mmu_gather (v5.19+): change_protection_range, tlb_finish_mmu",
       [](OpContext& c, const OpSpec& o) { return kernel::sys_mprotect(c.k, *c.mm, Vaddr{o.addr}, o.pages * kPageSize, o.writable); }},
      {Op::migrate_vma, ThreadKind::Cpu, kNeedAddr | kNeedPages,
       "HMM_DMIRROR_MIGRATE ioctl (lib/test_hmm.c dmirror_migrate): migrate_vma_setup (collect: migration entries, "
       "flush under the PTL; unmap), copy to device-private pages, migrate_vma_pages, migrate_vma_finalize; a later CPU "
       "or device fault brings a page back through migrate_to_ram",
       [](OpContext& c, const OpSpec& o) {
         return kernel::dmirror_migrate(c.k, *c.mm, VaRange{o.addr, o.addr + o.pages * kPageSize});
       }},
      {Op::sva_bind, ThreadKind::Cpu, kNeedDevice,
       "iommu_sva_bind_device() from a driver's open or bind ioctl: the mm's PASID (lowest free, kept to __mmdrop()), "
       "the SVA domain's mmu_notifier_register() under mm_take_all_locks(), set_dev_pasid(); the bond lasts until the "
       "process's last holder of the device file exits",
       [](OpContext& c, const OpSpec& o) {
         const SvaDevice& d = c.devices->at(o.device);
         return kernel::iommu_sva_bind_device_task(c.k, *c.mm, c.k.iommu(d.iommu), 0, d.decoding);
       }},
      {Op::exit, ThreadKind::Cpu, 0,
       "exit_group(2): other threads of the mm die at their next return to user mode; the last "
       "mmput() runs exit_mmap: mmu_notifier_release, fullmm gather",
       [](OpContext& c, const OpSpec&) { return kernel::sys_exit_group(c.k, *c.mm); }},
      {Op::dma_read, ThreadKind::Device, kNeedAddr,
       "device DMA read: ATC, ATS translation, IOTLB, IOMMU walk, PRI -> iommu_sva_handle_iopf",
       [](OpContext& c, const OpSpec& o) { return dmas(c, o, false); }, true, true},
      {Op::dma_write, ThreadKind::Device, kNeedAddr,
       "device DMA write: ATC, ATS translation, IOTLB, IOMMU walk, PRI -> iommu_sva_handle_iopf",
       [](OpContext& c, const OpSpec& o) { return dmas(c, o, true); }, true, true},
      {Op::truncate, ThreadKind::Kernel, kNeedFile | kNeedPages,
       "truncate_pagecache: unmap_mapping_range -> zap_page_range_single, truncate_inode_pages_range",
       [](OpContext& c, const OpSpec& o) { return kernel::truncate_pagecache_range(c.k, file_id(c.k, o.file), o.index, o.pages); }},
      {Op::reclaim, ThreadKind::Kernel, kNeedTarget,
       "shrink_folio_list: try_to_unmap -> try_to_unmap_one (batched flush), try_to_unmap_flush, free",
       [](OpContext& c, const OpSpec& o) { return reclaim(c, o); }},
      {Op::migrate, ThreadKind::Kernel, kNeedTarget,
       "isolate_migratepages_block, migrate_pages -> unmap_and_move: try_to_migrate_one (migration entries), copy, remove_migration_ptes, "
       "free",
       [](OpContext& c, const OpSpec& o) { return migrate(c, o); }},
      {Op::ksm_merge, ThreadKind::Kernel, kNeedMm | kNeedAddr | kNeedPages,
       "ksmd try_to_merge_two_pages: the first page becomes the KSM page, each following one write_protect_page, pages_identical, "
       "replace_page",
       [](OpContext& c, const OpSpec& o) { return ksm_merge_range(c, o); }},
      {Op::khugepaged_collapse, ThreadKind::Kernel, kNeedMm | kNeedAddr,
       "khugepaged collapse_huge_page (anonymous): mmap_write_lock, anon_vma_lock_write, pmdp_collapse_flush, copy the 512 pages, "
       "free them and the PTE table, set_pmd_at; nothing if the PTEs do not qualify",
       [](OpContext& c, const OpSpec& o) { return khugepaged_collapse(c, o); }},
      {Op::khugepaged_retract, ThreadKind::Kernel, kNeedFile,
       "khugepaged collapse_file -> retract_page_tables: mmap_write_trylock, pmdp_collapse_flush, pte_free (notifier bracket since "
       "f268f6cf875f)",
       [](OpContext& c, const OpSpec& o) { return kernel::retract_page_tables(c.k, file_id(c.k, o.file), o.index); }},
      {Op::vfree, ThreadKind::Kernel, kNeedAddr | kNeedPages | kKernelAddr,
       "vfree of a vmalloc area: remove_vm_area -> vunmap_range_noflush (PTEs cleared, tables kept), flush_tlb_kernel_range, "
       "__free_page of each page",
       [](OpContext& c, const OpSpec& o) { return kernel::vfree(c.k, Vaddr{o.addr}, o.pages); }},
      {Op::ioremap_huge, ThreadKind::Kernel, kNeedAddr | kKernelAddr,
       "ioremap of a 2 MiB block: vmap_try_huge_pmd -> pmd_free_pte_page (pmd_clear, flush_tlb_kernel_range, free the PTE "
       "table: pte_free_kernel at once, or from v6.19 pagetable_free_kernel queues it for kernel_pgtable_work), pmd_set_huge",
       [](OpContext& c, const OpSpec& o) { return kernel::ioremap_huge(c.k, Vaddr{o.addr}); }},
      {Op::kernel_pgtable_work, ThreadKind::Kernel, 0,
       "the v6.19 kworker of kernel_pgtable_work: whenever kernel page tables are queued, kernel_pgtable_work_func takes them, "
       "iommu_sva_invalidate_kva_range(PAGE_OFFSET, -1) reaches every SVA mm, then __pagetable_free; returns once no "
       "ioremap_huge op is left to queue one (up to v6.18 nothing is queued)",
       [](OpContext& c, const OpSpec&) { return kernel::kernel_pgtable_work_func(c.k); }},
  };
  return all;
}

const OpInfo* find_op(std::string_view name) {
  const std::optional<Op> op = op_from_name(name);
  return op ? &op_info(*op) : nullptr;
}

const OpInfo& op_info(Op op) { return ops()[static_cast<size_t>(op)]; }

}  // namespace tlbsim::scenarios
