// SPDX-License-Identifier: MIT
#include "kernel/pgtable_generic.h"

#include "kernel/arch_flush.h"
#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"

namespace tlbsim::kernel {

Task<Pte> ptep_clear_flush(Kernel& k, AddressSpace& mm, PteRef r, Vaddr addr, const char* func) {
  addr = addr.page();
  const Pte old = mm.pt().set(r, addr, Pte{}, func);
  if (old.present()) co_await flush_tlb_page(k, mm, addr);
  co_return old;
}

Task<Pte> ptep_clear_flush_notify(Kernel& k, AddressSpace& mm, PteRef r, Vaddr addr) {
  const Pte old = co_await ptep_clear_flush(k, mm, r, addr);
  // 0f10851ea475 rule B: the secondary TLB must not outlive the PTL when a new page follows.
  if (k.policy().sec_inv_from_notify_helpers)
    co_await mmu_notifier_invalidate_range(k, mm, VaRange::page_of(addr), "ptep_clear_flush_notify");
  co_return old;
}

Task<Pte> pmdp_invalidate(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr) {
  const Pte cur = mm.pt().get(pmd);
  // pmdp_establish(pmd_mkinvalid()): non-present for every hardware walker, still a huge PMD
  // for the kernel (pmd_present() checks PSE too), so a racing fault waits for the PMD lock.
  const Pte old = mm.pt().set(pmd, haddr, Pte{cur.raw() & ~Pte::kPresent}, "pmdp_invalidate");
  co_await flush_pmd_tlb_range(k, mm, VaRange{haddr, haddr + kPmdSize});
  co_return old;
}

Task<Pte> pmdp_invalidate_ad(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr) {
  if (k.config().arch != Arch::X86) co_return co_await pmdp_invalidate(k, mm, pmd, haddr);
  const Pte cur = mm.pt().get(pmd);
  co_return mm.pt().set(pmd, haddr, Pte{cur.raw() & ~Pte::kPresent}, "pmdp_invalidate_ad");
}

Task<Pte> pmdp_huge_clear_flush(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr) {
  const Pte old = mm.pt().set(pmd, haddr, Pte{}, "pmdp_huge_get_and_clear");
  co_await flush_pmd_tlb_range(k, mm, VaRange{haddr, haddr + kPmdSize});
  co_return old;
}

Task<Pte> pmdp_huge_clear_flush_notify(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr) {
  const Pte old = co_await pmdp_huge_clear_flush(k, mm, pmd, haddr);
  if (k.policy().sec_inv_from_notify_helpers)
    co_await mmu_notifier_invalidate_range(k, mm, VaRange{haddr, haddr + kPmdSize}, "pmdp_huge_clear_flush_notify");
  co_return old;
}

Task<Pte> pmdp_collapse_flush(Kernel& k, AddressSpace& mm, PteRef pmd, Vaddr haddr) {
  const Pte old = mm.pt().set(pmd, haddr, Pte{}, "pmdp_huge_get_and_clear");
  // Unlinked from the tree now; the caller owns it. Counted before the flush, which may wait
  // (an arm64 DSB, an IOMMU batch) while another thread or a check looks at the tree.
  mm.pt().note_table_freed();
  co_await flush_tlb_range(k, mm, VaRange{haddr, haddr + kPmdSize});
  co_return old;
}

Task<> mmu_notifier_invalidate_range_end_after_notify(Kernel& k, AddressSpace& mm, VaRange range, const char* site) {
  if (k.policy().sec_inv_from_notify_helpers)
    mmu_notifier_invalidate_range_only_end(k, mm, range, site);
  else
    co_await mmu_notifier_invalidate_range_end(k, mm, range, site);
}

void folio_mark_dirty(Kernel& k, Pfn page) {
  const Frame& f = k.mem().frame(page);
  if (f.kind != FrameKind::File) return;
  File& file = k.file(f.owner);
  if (f.aux < file.size() && file.page(f.aux) == page) file.set_dirty(f.aux, true);
}

Task<PteRef> pte_offset_map_lock(Kernel& k, AddressSpace& mm, Vaddr addr, const char* func) {
  for (;;) {
    const PteRef r = mm.pt().lookup(addr, 1);
    if (!r.valid()) co_return PteRef{};
    co_await lock(k, k.ptl(r.table), LockMode::Write, func);
    // The table may have been detached while this thread waited (pte_offset_map() re-validates
    // the PMD since 6.5; earlier kernels relied on mmap_lock or the rmap lock).
    const PteRef again = mm.pt().lookup(addr, 1);
    if (again.valid() && again.table == r.table) co_return r;
    unlock(k, k.ptl(r.table), LockMode::Write, func);
  }
}

void pte_unmap_unlock(Kernel& k, PteRef r, const char* func) { unlock(k, k.ptl(r.table), LockMode::Write, func); }

bool folio_mapped(Kernel& k, Pfn page) { return k.mem().mapcount(page) > 0; }

}  // namespace tlbsim::kernel
