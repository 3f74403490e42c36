// SPDX-License-Identifier: MIT
#include "kernel/fork.h"

#include <algorithm>

#include "kernel/arch_flush.h"
#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/swap.h"
#include "kernel/thp.h"
#include "kernel/vma_ops.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {

/// Whether any entry of [start, end) satisfies `pred` (the page-table walk a real anon_vma
/// pointer makes unnecessary; see vma_needs_copy()).
template <class P>
bool any_pte(const AddressSpace& mm, uint64_t start, uint64_t end, P pred) {
  for (uint64_t a = start; a < end; a += kPageSize) {
    const PteRef r = mm.pt().lookup(Vaddr{a}, 1);
    if (!r.valid()) {
      // No PTE table here: a huge PMD is its own entry; either way go on at the next PMD, or
      // past the none PUD or PGD entry above when there is no PMD table either.
      const PteRef pmd = mm.pt().lookup(Vaddr{a}, 2);
      if (!pmd.valid()) {
        a = std::min(end, mm.pt().none_entry_end(Vaddr{a})) - kPageSize;
        continue;
      }
      if (pred(mm.pt().get(pmd))) return true;
      a = ((a + kPmdSize) & ~(kPmdSize - 1)) - kPageSize;
      continue;
    }
    if (pred(mm.pt().get(r))) return true;
  }
  return false;
}

/// vma_needs_copy() (v6.0): page tables are copied only for VM_PFNMAP/VM_MIXEDMAP VMAs and VMAs
/// with an anon_vma; the child refaults everything else from the page cache. A file VMA has one
/// from its first COW on (anon_vma_prepare()), as in the kernel. The model hands anonymous VMAs
/// theirs at mmap time, where the kernel waits for the first fault, so for them "has an
/// anon_vma" reads as: some entry in the range.
bool vma_needs_copy(const AddressSpace& src, const Vma& v) {
  if (v.pfnmap()) return true;
  if (v.anon()) return any_pte(src, v.start, v.end, [](Pte p) { return !p.none(); });
  return v.anon_vma != 0;
}

/// copy_nonpresent_pte(): swap and migration entries are copied; a writable migration entry
/// in a COW mapping becomes readable in both (the page is shared once migration finishes);
/// a device-private page gains the child's reference and mapping, and a writable
/// device-private entry in a COW mapping becomes readable in both, as a migration entry does
/// (the write fault then migrates the page back and COW-copies it).
void copy_nonpresent_pte(Kernel& k, AddressSpace& dst, AddressSpace& src, const Vma& vma, PteRef dst_r, PteRef src_r, uint64_t addr,
                         Pte pte) {
  if (pte.swp_type() == Pte::SwpType::MigrationWrite && vma.is_cow()) {
    pte = Pte::swap_entry(Pte::SwpType::MigrationRead, pte.swp_offset());
    src.pt().set(src_r, Vaddr{addr}, pte, "copy_nonpresent_pte");
  } else if (pte.swp_type() == Pte::SwpType::Swap) {
    swap_duplicate(k, pte.swp_offset());
  } else if (pte.is_device_private()) {
    const Pfn pfn{static_cast<uint32_t>(pte.swp_offset())};
    get_page(k, pfn);
    page_add_rmap(k, pfn);  // page_try_dup_anon_rmap(): cannot fail, device pages are never pinned
    if (pte.swp_type() == Pte::SwpType::DevicePrivateWrite && vma.is_cow()) {
      pte = Pte::swap_entry(Pte::SwpType::DevicePrivateRead, pte.swp_offset());
      src.pt().set(src_r, Vaddr{addr}, pte, "copy_nonpresent_pte");
    }
  }
  dst.pt().set(dst_r, Vaddr{addr}, pte, "set_pte_at");
}

/// copy_present_pte(): the child shares the page (get_page + page_dup_rmap). In a COW mapping
/// a writable parent PTE is write-protected in place (ptep_set_wrprotect(), no TLB flush here:
/// dup_mmap() flushes the whole mm once) and the child's copy is read-only too. The child's PTE
/// is old, and clean in a shared mapping. Pinned anon pages, which the kernel copies eagerly
/// (70e806e4e645), do not occur: SVA devices do not pin.
void copy_present_pte(Kernel& k, AddressSpace& dst, AddressSpace& src, const Vma& vma, PteRef dst_r, PteRef src_r, uint64_t addr, Pte pte) {
  if (!pte.special()) {
    get_page(k, pte.pfn());
    page_add_rmap(k, pte.pfn());
  }
  if (vma.is_cow() && pte.writable()) {
    src.pt().set(src_r, Vaddr{addr}, pte.wrprotect(), "ptep_set_wrprotect");
    pte = pte.wrprotect();
  }
  if (vma.shared()) pte = pte.without(Pte::kDirty);  // pte_mkclean()
  pte = pte.without(Pte::kAccessed);                 // pte_mkold()
  dst.pt().set(dst_r, Vaddr{addr}, pte, "set_pte_at");
}

/// copy_pte_range() over one PTE table: the child's table is allocated first
/// (pte_alloc_map_lock()), then the child's PTL and, nested, the parent's are held for the copy.
Task<> copy_pte_range(Kernel& k, AddressSpace& dst, AddressSpace& src, Vma vma, uint64_t addr, uint64_t end) {
  const PteRef src_first = src.pt().lookup(Vaddr{addr}, 1);
  if (!src_first.valid()) co_return;  // pmd_none_or_clear_bad()
  const PteRef dst_first = dst.pt().alloc(Vaddr{addr}, 1, "pte_alloc_map_lock");
  SimLock& dst_ptl = k.ptl(dst_first.table);
  SimLock& src_ptl = k.ptl(src_first.table);
  co_await lock(k, dst_ptl, LockMode::Write, "pte_alloc_map_lock");
  co_await lock(k, src_ptl, LockMode::Write, "spin_lock_nested");
  for (; addr < end; addr += kPageSize) {
    const auto idx = static_cast<uint16_t>(table_index(addr, 1));
    const PteRef src_r{src_first.table, idx, 1};
    const PteRef dst_r{dst_first.table, idx, 1};
    const Pte pte = src.pt().get(src_r);
    if (pte.none()) continue;
    if (!pte.present())
      copy_nonpresent_pte(k, dst, src, vma, dst_r, src_r, addr, pte);
    else
      copy_present_pte(k, dst, src, vma, dst_r, src_r, addr, pte);
    co_await yield_point("copy_pte_range");
  }
  unlock(k, src_ptl, LockMode::Write, "spin_unlock");
  unlock(k, dst_ptl, LockMode::Write, "pte_unmap_unlock");
}

/// copy_huge_pmd() (v6.0) for an anonymous VMA: both PMD locks held, every subpage gains the
/// child's reference and mapping, and in a COW mapping the parent's PMD is write-protected in
/// place (pmdp_set_wrprotect(), flushed by dup_mmap()'s flush_tlb_mm()); the child's copy is
/// read-only and old. False if the PMD stopped being huge (a split won the lock): the caller
/// copies the PTEs instead. The deposited PTE table is not modelled.
Task<bool> copy_huge_pmd(Kernel& k, AddressSpace& dst, AddressSpace& src, Vma vma, uint64_t addr) {
  const PteRef src_pmd = src.pt().lookup(Vaddr{addr}, 2);
  const PteRef dst_pmd = dst.pt().alloc(Vaddr{addr}, 2, "__pmd_alloc");
  SimLock& dst_ptl = k.ptl(dst_pmd.table);
  SimLock& src_ptl = k.ptl(src_pmd.table);
  co_await lock(k, dst_ptl, LockMode::Write, "pmd_lock");
  co_await lock(k, src_ptl, LockMode::Write, "spin_lock_nested");
  Pte pmd = src.pt().get(src_pmd);
  const bool huge = pmd.huge();
  if (huge) {
    TLBSIM_CHECK(vma.start <= addr && addr + kPmdSize <= vma.end,
                 "copy_huge_pmd: huge PMD at " << hex(addr) << " crosses the VMA boundary");
    for (uint32_t i = 0; i < kPtrsPerTable; ++i) {
      get_page(k, Pfn{pmd.pfn().value() + i});
      page_add_rmap(k, Pfn{pmd.pfn().value() + i});  // page_try_dup_anon_rmap()
    }
    if (vma.is_cow()) {
      src.pt().set(src_pmd, Vaddr{addr}, pmd.wrprotect(), "pmdp_set_wrprotect");
      pmd = pmd.wrprotect();
    }
    dst.pt().set(dst_pmd, Vaddr{addr}, pmd.without(Pte::kAccessed), "set_pmd_at");
    co_await yield_point("copy_huge_pmd");
  }
  unlock(k, src_ptl, LockMode::Write, "spin_unlock");
  unlock(k, dst_ptl, LockMode::Write, "spin_unlock");
  co_return huge;
}

/// copy_page_range() (v6.0): for a COW mapping the parent's PTEs are about to be
/// write-protected, so the walk sits inside an MMU_NOTIFY_PROTECTION_PAGE bracket and inside
/// write_protect_seq (57efa1fe5957: GUP-fast FOLL_PIN backs off while it is odd).
Task<> copy_page_range(Kernel& k, AddressSpace& dst, AddressSpace& src, Vma vma) {
  if (!vma_needs_copy(src, vma)) co_return;
  trace_call(k, "copy_page_range", src.id(), VaRange{vma.start, vma.end});
  const bool is_cow = vma.is_cow();
  if (is_cow) {
    mmu_notifier_invalidate_range_start(k, src, VaRange{vma.start, vma.end}, "copy_page_range");
    TLBSIM_CHECK(src.mmap_lock.writer() >= 0, "copy_page_range without the parent's mmap write lock");
    src.bump_write_protect_seq();  // raw_write_seqcount_begin(): odd
  }
  // copy_p4d_range() .. copy_pmd_range(): one PTE table at a time; absent tables are skipped.
  for (uint64_t a = vma.start; a < vma.end;) {
    const PteRef pmd = src.pt().lookup(Vaddr{a}, 2);
    if (!pmd.valid()) {
      // copy_p4d_range()/copy_pud_range(): a none PGD or PUD entry is skipped whole.
      a = std::min(vma.end, src.pt().none_entry_end(Vaddr{a}));
      continue;
    }
    const uint64_t next = std::min(vma.end, (a + kPmdSize) & ~(kPmdSize - 1));
    bool copy_ptes = pmd.valid() && !src.pt().get(pmd).none();
    if (copy_ptes && pmd_trans_huge(src.pt().get(pmd))) {
      // copy_huge_pmd(): a file huge page is skipped, the child refaults it from the page cache.
      copy_ptes = false;
      if (vma.anon()) copy_ptes = !co_await copy_huge_pmd(k, dst, src, vma, a);
    }
    if (copy_ptes) co_await copy_pte_range(k, dst, src, vma, a, next);
    a = next;
  }
  if (is_cow) {
    src.bump_write_protect_seq();  // raw_write_seqcount_end()
    // Seed mail step 2: without the per-VMA invalidate_range(), one (0, -1) follows
    // flush_tlb_mm() in dup_mmap().
    if (k.policy().fork_sec_inv_at_flush_tlb_mm)
      mmu_notifier_invalidate_range_only_end(k, src, VaRange{vma.start, vma.end}, "copy_page_range");
    else
      co_await mmu_notifier_invalidate_range_end(k, src, VaRange{vma.start, vma.end}, "copy_page_range");
  }
}

}  // namespace

Task<> dup_mmap(Kernel& k, AddressSpace& oldmm, AddressSpace& newmm) {
  co_await mmap_write_lock(k, oldmm);
  trace_call(k, "dup_mmap", oldmm.id());
  // The child is not visible to anyone yet: mmap_write_lock_nested(), no deadlock potential.
  co_await lock(k, newmm.mmap_lock, LockMode::Write, "mmap_write_lock_nested");
  const std::vector<Vma> parent_vmas = vmas_in(oldmm, VaRange{0, kTaskSize});
  for (const Vma& mpnt : parent_vmas) {
    // vm_area_dup() + anon_vma_fork(): the child's VMA shares the parent's anon_vma id so rmap
    // walks over the parent's pages find both, and follows the parent in i_mmap order.
    Vma tmp = mpnt;
    tmp.seq = k.next_vma_seq();
    // Linking it where rmap walkers look: anon_vma_fork() -> anon_vma_clone() under the anon_vma
    // lock for any VMA with an anon_vma (a private file VMA with COW pages too), then
    // vma_interval_tree_insert_after() under i_mmap_lock_write() for a file VMA. A walker that
    // holds either lock for read either finds the child's VMA or is done before the child's
    // PTEs are copied from the parent's. The model keeps one VMA list for both, so it links the
    // VMA once, with both locks held in the kernel's order (i_mmap_rwsem, then anon_vma), as
    // free_pgtables() unlinks it.
    SimLock* const file_lock = tmp.file ? &k.file(tmp.file).i_mmap_rwsem : nullptr;
    SimLock* const anon_lock = tmp.anon_vma ? &k.anon_vma_lock(tmp.anon_vma) : nullptr;
    if (file_lock) co_await lock(k, *file_lock, LockMode::Write, "i_mmap_lock_write");
    if (anon_lock) co_await lock(k, *anon_lock, LockMode::Write, "anon_vma_lock_write");
    newmm.insert_vma(tmp);
    if (anon_lock) unlock(k, *anon_lock, LockMode::Write, "anon_vma_unlock_write");
    if (file_lock) unlock(k, *file_lock, LockMode::Write, "i_mmap_unlock_write");
    co_await copy_page_range(k, newmm, oldmm, mpnt);
  }
  // arch_dup_mmap() does nothing relevant here.
  unlock(k, newmm.mmap_lock, LockMode::Write, "mmap_write_unlock");
  // The parent's PTEs were write-protected without flushing; one flush for the whole mm, still
  // under the parent's write lock so no COW fault can copy a page while a stale writable
  // translation exists (primer 5.2). FIXED's (0, -1) secondary invalidation is inside it.
  co_await flush_tlb_mm(k, oldmm);
  if (k.policy().fork_sec_inv_at_flush_tlb_mm) co_await mmu_notifier_invalidate_range(k, oldmm, VaRange::all(), "dup_mmap");
  mmap_write_unlock(k, oldmm);
}

Task<AddressSpace*> sys_fork(Kernel& k, AddressSpace& parent, std::string child_name) {
  trace_call(k, "copy_process", parent.id());
  // dup_mm() -> mm_init(): a fresh pgd, no PASID (mm_pasid_init()), no notifier subscribers.
  AddressSpace& child = k.create_mm(child_name);
  // copy_files() -> dup_fd(), before copy_mm(): the child holds every file the parent does, the
  // device files of SVA bonds among them, so a bond outlives the parent while the child lives.
  for (const MmId bound : parent.device_files()) {
    child.hold_device_file(bound);
    k.mm(bound).bond_files_get();
  }
  // dup_mm()'s memcpy() of the mm_struct, before dup_mmap() takes the parent's mmap_lock: the
  // child's break is the parent's at that moment, whatever a brk(2) in between does.
  child.set_start_brk(parent.start_brk(), parent.brk());
  co_await dup_mmap(k, parent, child);
  // kernel_clone(): copy_process() is done, the child may run.
  child.wake_up_new_task();
  co_return &child;
}

}  // namespace tlbsim::kernel
