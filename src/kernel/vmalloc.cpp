// SPDX-License-Identifier: MIT
#include "kernel/vmalloc.h"

#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {

PageTable& kernel_tables(Kernel& k) {
  TLBSIM_CHECK(k.init_mm() != nullptr, "a kernel-half path with no kernel half set up");
  return *k.init_mm();
}

/// flush_tlb_kernel_range(): INVLPG (or a full flush) on every CPU. The model's CPUs run user
/// code only and never cache a kernel translation, so it drops nothing; it is shown because
/// it is the only flush these paths make, and no release calls a notifier from it (the
/// e37d5a2d60a3 series' v1 did, the merged one hooks the table free instead).
void flush_tlb_kernel_range(Kernel& k, uint64_t start, uint64_t end) {
  trace_call(k, "flush_tlb_kernel_range", kInitMm, VaRange{start, end});
}

}  // namespace

void vmalloc_setup(Kernel& k, Vaddr addr_va, uint64_t pages) {
  const uint64_t addr = addr_va.value();
  PageTable& pt = kernel_tables(k);
  trace_call(k, "__vmalloc_node_range", kInitMm, VaRange{addr, addr + pages * kPageSize});
  for (uint64_t i = 0; i < pages; ++i) {
    const uint64_t va = addr + i * kPageSize;
    const Pfn p = k.mem().alloc(FrameKind::Kernel, 0, static_cast<uint32_t>(i), "__vmalloc_area_node");
    pt.set(pt.alloc(Vaddr{va}, 1, "pte_alloc_kernel"), Vaddr{va}, Pte::make(p, true, false), "vmap_pte_range");
  }
}

Task<> vfree(Kernel& k, Vaddr addr_va, uint64_t pages) {
  const uint64_t addr = addr_va.value();
  PageTable& pt = kernel_tables(k);
  trace_call(k, "vfree", kInitMm, VaRange{addr, addr + pages * kPageSize});
  std::vector<Pfn> freed;
  co_await yield_point("vunmap_range_noflush");
  for (uint64_t i = 0; i < pages; ++i) {
    const uint64_t va = addr + i * kPageSize;
    const PteRef r = pt.lookup(Vaddr{va}, 1);
    if (!r.valid()) continue;
    const Pte old = pt.set(r, Vaddr{va}, Pte{}, "vunmap_pte_range");
    if (old.present()) freed.push_back(old.pfn());
  }
  co_await yield_point("purge_vmap_area_lazy");
  flush_tlb_kernel_range(k, addr, addr + pages * kPageSize);
  co_await yield_point("vfree: __free_page");
  for (Pfn p : freed) k.mem().free(p, "vfree");
}

Task<> ioremap_huge(Kernel& k, Vaddr addr_va) {
  const uint64_t addr = addr_va.value();
  PageTable& pt = kernel_tables(k);
  trace_call(k, "ioremap", kInitMm, VaRange{addr, addr + kPmdSize});
  co_await yield_point("vmap_try_huge_pmd");
  const PteRef pmd = pt.alloc(addr_va, 2, "pmd_alloc");
  const Pte e = pt.get(pmd);
  if (e.present() && !e.huge()) {
    // pmd_free_pte_page(): the caller guarantees the PTE table maps nothing any more.
    const Pfn table = e.pfn();
    pt.set(pmd, addr_va, Pte{}, "pmd_free_pte_page: pmd_clear");
    pt.note_table_freed();  // unlinked from the tree; whoever frees it owns it now
    flush_tlb_kernel_range(k, addr, addr + kPageSize - 1);
    co_await yield_point("pagetable_free");
    if (k.policy().deferred_kernel_pgtable_free) {
      // pagetable_free() of a PT_kernel table -> pagetable_free_kernel(): onto
      // kernel_pgtable_work's list, schedule_work(). It stays allocated until the worker runs.
      trace_call(k, "pagetable_free_kernel", kInitMm, VaRange{addr, addr + kPmdSize});
      k.kernel_pgtable_work().queue(table);
    } else {
      k.mem().free(table, "pte_free_kernel");
    }
  }
  k.kernel_pgtable_work().producer_done();
  co_await yield_point("pmd_set_huge");
  // An MMIO BAR: physical addresses above the end of RAM, 2 MiB aligned.
  const uint32_t bar = (k.mem().config().max_frames + kPtrsPerTable - 1) & ~(kPtrsPerTable - 1);
  pt.set(pmd, addr_va, Pte::make(Pfn{bar}, true, false).with(Pte::kHuge), "pmd_set_huge");
}

Task<> kernel_pgtable_work_func(Kernel& k) {
  for (;;) {
    KernelPgtableWork& work = k.kernel_pgtable_work();
    co_await wait_until("schedule_work", [&work] { return work.ready(); });
    std::vector<Pfn> tables = work.take();
    if (tables.empty()) co_return;  // nothing queued, and no ioremap op left to queue
    trace_call(k, "kernel_pgtable_work_func", kInitMm);
    co_await iommu_sva_invalidate_kva_range(k, VaRange{kPageOffset, kFlushAll});
    co_await yield_point("__pagetable_free");
    for (Pfn t : tables) k.mem().free(t, "kernel_pgtable_work_func: __pagetable_free");
  }
}

Task<> iommu_sva_invalidate_kva_range(Kernel& k, VaRange range) {
  trace_call(k, "iommu_sva_invalidate_kva_range", kInitMm, range);
  // iommu_sva_mms, in the model's mm order (the kernel's list is newest bind first; each mm's
  // invalidation is independent of the others'). An mm whose exit released its subscriptions
  // is still on the list until unbind, and reaches nobody.
  for (size_t i = 0; i < k.mm_count(); ++i) {
    AddressSpace& mm = k.mm(MmId{static_cast<uint16_t>(i)});
    if (!mm.pasid()) continue;
    co_await mmu_notifier_arch_invalidate_secondary_tlbs(k, mm, range, "iommu_sva_invalidate_kva_range");
  }
}

}  // namespace tlbsim::kernel
