// SPDX-License-Identifier: MIT
#include "kernel/mremap.h"

#include <algorithm>

#include "kernel/arch_flush.h"
#include "kernel/ksm.h"
#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/outcome.h"
#include "kernel/thp.h"
#include "kernel/vma_ops.h"
#include "kernel/zap.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {

/// take_rmap_locks(): i_mmap_rwsem, then the anon_vma lock, both for write, so rmap walkers
/// (reclaim, migration, truncate) cannot look at the old and new VMA while entries move
/// between them (97113eb39fa7 makes this unconditional for whole-table moves).
Task<> take_rmap_locks(Kernel& k, Vma vma) {
  if (vma.file) co_await lock(k, k.file(vma.file).i_mmap_rwsem, LockMode::Write, "i_mmap_lock_write");
  if (vma.anon_vma) co_await lock(k, k.anon_vma_lock(vma.anon_vma), LockMode::Write, "anon_vma_lock_write");
}

/// drop_rmap_locks(): in reverse order.
void drop_rmap_locks(Kernel& k, const Vma& vma) {
  if (vma.anon_vma) unlock(k, k.anon_vma_lock(vma.anon_vma), LockMode::Write, "anon_vma_unlock_write");
  if (vma.file) unlock(k, k.file(vma.file).i_mmap_rwsem, LockMode::Write, "i_mmap_unlock_write");
}

/// get_extent(NORMAL_PMD, ...): up to the next PMD boundary of both the old and the new address.
uint64_t get_extent(uint64_t old_addr, uint64_t old_end, uint64_t new_addr) {
  uint64_t extent = ((old_addr + kPmdSize) & ~(kPmdSize - 1)) - old_addr;
  extent = std::min(extent, old_end - old_addr);
  return std::min(extent, ((new_addr + kPmdSize) & ~(kPmdSize - 1)) - new_addr);
}

/// move_huge_pmd(): the huge PMD moves whole under both PMD locks; since eb66ae030829 the old
/// range is flushed before they are dropped. With mremap_flush_dirty_only (v4.18) only a dirty
/// PMD forces that flush; otherwise the caller flushes at the end. False if the destination is
/// populated or the PMD is no longer huge (split meanwhile).
Task<bool> move_huge_pmd(Kernel& k, AddressSpace& mm, uint64_t old_addr, uint64_t new_addr, PteRef old_pmd, PteRef new_pmd,
                         bool* need_flush) {
  if (!mm.pt().get(new_pmd).none()) co_return false;
  SimLock& old_ptl = k.ptl(old_pmd.table);
  SimLock& new_ptl = k.ptl(new_pmd.table);
  co_await lock(k, old_ptl, LockMode::Write, "__pmd_trans_huge_lock");
  if (!mm.pt().get(old_pmd).huge()) {
    unlock(k, old_ptl, LockMode::Write, "spin_unlock");
    co_return false;
  }
  if (&new_ptl != &old_ptl) co_await lock(k, new_ptl, LockMode::Write, "spin_lock_nested");
  const bool dirty_only = k.policy().mremap_flush_dirty_only;
  const Pte pmd = mm.pt().set(old_pmd, Vaddr{old_addr}, Pte{}, "pmdp_huge_get_and_clear");
  const bool force_flush = pmd.present() && (!dirty_only || pmd.dirty());
  // The deposited PTE table (pgtable_trans_huge_withdraw/deposit) is not modelled.
  mm.pt().set(new_pmd, Vaddr{new_addr}, pmd, "set_pmd_at");
  co_await yield_point("move_huge_pmd");
  if (force_flush)
    co_await flush_pmd_tlb_range(k, mm, VaRange{old_addr, old_addr + kPmdSize});
  else if (dirty_only)
    *need_flush = true;
  if (&new_ptl != &old_ptl) unlock(k, new_ptl, LockMode::Write, "spin_unlock");
  unlock(k, old_ptl, LockMode::Write, "spin_unlock");
  co_return true;
}

/// move_pgt_entry(HPAGE_PMD, ...): rmap locks only when need_rmap_locks.
Task<bool> move_pgt_entry_huge_pmd(Kernel& k, AddressSpace& mm, Vma vma, uint64_t old_addr, uint64_t new_addr, PteRef old_pmd,
                                   PteRef new_pmd, bool need_rmap_locks, bool* need_flush) {
  if (need_rmap_locks) co_await take_rmap_locks(k, vma);
  const bool moved = co_await move_huge_pmd(k, mm, old_addr, new_addr, old_pmd, new_pmd, need_flush);
  if (need_rmap_locks) drop_rmap_locks(k, vma);
  co_return moved;
}

/// move_normal_pmd() (2c91bd4a4e2e): hand the whole PTE table to the new PMD entry. Both PMD
/// locks are held across clear, populate and the flush of the old range, so nobody acts on the
/// new entry while a TLB still holds the old translation. Refuses a populated destination
/// (WARN_ON_ONCE(!pmd_none(*new_pmd))); the caller then moves PTE by PTE.
Task<bool> move_normal_pmd(Kernel& k, AddressSpace& mm, uint64_t old_addr, uint64_t new_addr, PteRef old_pmd, PteRef new_pmd) {
  if (!mm.pt().get(new_pmd).none()) co_return false;
  SimLock& old_ptl = k.ptl(old_pmd.table);
  SimLock& new_ptl = k.ptl(new_pmd.table);
  co_await lock(k, old_ptl, LockMode::Write, "pmd_lock");
  if (&new_ptl != &old_ptl) co_await lock(k, new_ptl, LockMode::Write, "spin_lock_nested");
  const Pte pmd = mm.pt().set(old_pmd, Vaddr{old_addr}, Pte{}, "pmd_clear");
  mm.pt().hold_unlinked_table();  // in the local `pmd` only, until pmd_populate()
  co_await yield_point("move_normal_pmd");
  mm.pt().set(new_pmd, Vaddr{new_addr}, pmd, "pmd_populate");
  mm.pt().release_unlinked_table();
  co_await yield_point("move_normal_pmd");
  co_await flush_tlb_range(k, mm, VaRange{old_addr, old_addr + kPmdSize});
  if (&new_ptl != &old_ptl) unlock(k, new_ptl, LockMode::Write, "spin_unlock");
  unlock(k, old_ptl, LockMode::Write, "spin_unlock");
  co_return true;
}

/// move_pgt_entry(NORMAL_PMD, ...): always under the rmap locks (97113eb39fa7, CVE-2022-41222:
/// reclaim holding only the old PTE lock could otherwise free the page while the new address
/// is already cached with it).
Task<bool> move_pgt_entry_normal_pmd(Kernel& k, AddressSpace& mm, Vma vma, uint64_t old_addr, uint64_t new_addr, PteRef old_pmd,
                                     PteRef new_pmd) {
  co_await take_rmap_locks(k, vma);
  const bool moved = co_await move_normal_pmd(k, mm, old_addr, new_addr, old_pmd, new_pmd);
  drop_rmap_locks(k, vma);
  co_return moved;
}

/// move_ptes() over one extent (within one old and one new PTE table). Since eb66ae030829 a
/// present PTE forces a flush of the old extent before either PTL is dropped: the page's
/// lifetime is guarded only by these locks, and whoever takes the new PTL next may zap and free
/// it. With mremap_flush_dirty_only (v4.9 5d1904204c99 .. v4.18) only a dirty PTE forces the
/// flush (the page_mkclean() race); otherwise the caller flushes once at the end.
Task<> move_ptes(Kernel& k, AddressSpace& mm, Vma vma, uint64_t old_addr, uint64_t old_end, uint64_t new_addr, bool need_rmap_locks,
                 bool* need_flush) {
  const uint64_t len = old_end - old_addr;
  const bool dirty_only = k.policy().mremap_flush_dirty_only;
  if (need_rmap_locks) co_await take_rmap_locks(k, vma);
  const PteRef old_first = mm.pt().lookup(Vaddr{old_addr}, 1);
  const PteRef new_first = mm.pt().lookup(Vaddr{new_addr}, 1);
  TLBSIM_CHECK(old_first.valid() && new_first.valid(), "move_ptes without PTE tables at " << hex(old_addr));
  SimLock& old_ptl = k.ptl(old_first.table);
  SimLock& new_ptl = k.ptl(new_first.table);
  co_await lock(k, old_ptl, LockMode::Write, "pte_offset_map_lock");
  if (&new_ptl != &old_ptl) co_await lock(k, new_ptl, LockMode::Write, "spin_lock_nested");
  // 3ea277194daa: a PTE reclaim cleared with a deferred flush must not be moved past unflushed.
  co_await flush_tlb_batched_pending(k, mm);
  bool force_flush = false;
  const PageTable::PteMap old_pte = mm.pt().map(old_first.table), new_pte = mm.pt().map(new_first.table);
  for (; old_addr < old_end; old_addr += kPageSize, new_addr += kPageSize) {
    const uint64_t next = mm.pt().skip_none(old_pte, old_addr, old_end);
    new_addr += next - old_addr;
    old_addr = next;
    if (old_addr == old_end) break;
    // The flush decision reads the PTE after it is cleared, so a CPU cannot dirty it unseen.
    const Pte pte = mm.pt().set(old_pte, old_addr, Pte{}, "ptep_get_and_clear");
    if (pte.present() && (!dirty_only || pte.dirty())) force_flush = true;
    // move_pte() and move_soft_dirty_pte() leave the entry as it was.
    mm.pt().set(new_pte, new_addr, pte, "set_pte_at");
    co_await yield_point("move_ptes");
  }
  if (force_flush)
    co_await flush_tlb_range(k, mm, VaRange{old_end - len, old_end});
  else if (dirty_only)
    *need_flush = true;
  if (&new_ptl != &old_ptl) unlock(k, new_ptl, LockMode::Write, "spin_unlock");
  unlock(k, old_ptl, LockMode::Write, "pte_unmap_unlock");
  if (need_rmap_locks) drop_rmap_locks(k, vma);
}

/// move_page_tables() (v6.0): one MMU_NOTIFY_UNMAP bracket over the old range around the
/// per-extent moves. Upper tables for the destination are allocated outside the locks
/// (alloc_new_pmd(), pte_alloc()).
Task<> move_page_tables(Kernel& k, AddressSpace& mm, Vma vma, uint64_t old_addr, uint64_t new_addr, uint64_t len, bool need_rmap_locks) {
  const uint64_t old_start = old_addr, old_end = old_addr + len;
  const bool dirty_only = k.policy().mremap_flush_dirty_only;
  trace_call(k, "move_page_tables", mm.id(), VaRange{old_start, old_end});
  // flush_cache_range() is a no-op on x86 and arm64.
  mmu_notifier_invalidate_range_start(k, mm, VaRange{old_start, old_end}, "move_page_tables");
  bool need_flush = false;
  for (uint64_t extent = 0; old_addr < old_end; old_addr += extent, new_addr += extent) {
    extent = get_extent(old_addr, old_end, new_addr);
    // get_old_pmd(): nothing mapped in this PMD, nothing to move.
    const PteRef old_pmd = mm.pt().lookup(Vaddr{old_addr}, 2);
    if (!old_pmd.valid() || mm.pt().get(old_pmd).none()) continue;
    const PteRef new_pmd = mm.pt().alloc(Vaddr{new_addr}, 2, "alloc_new_pmd");
    if (pmd_trans_huge(mm.pt().get(old_pmd))) {
      if (extent == kPmdSize) {
        if (co_await move_pgt_entry_huge_pmd(k, mm, vma, old_addr, new_addr, old_pmd, new_pmd, need_rmap_locks, &need_flush)) continue;
      }
      // Only part of the huge page moves: split it and move its PTEs.
      co_await __split_huge_pmd(k, mm, vma, Vaddr{old_addr});
      const Pte after = mm.pt().get(old_pmd);
      if (after.none() || pmd_trans_huge(after)) continue;  // pmd_trans_unstable()
    } else if (!dirty_only && extent == kPmdSize) {
      // CONFIG_HAVE_MOVE_PMD (x86, arm64) arrived in v5.0, after the v4.18 ordering the
      // dirty-only policy reproduces; that kernel only had move_ptes().
      if (co_await move_pgt_entry_normal_pmd(k, mm, vma, old_addr, new_addr, old_pmd, new_pmd)) continue;
    }
    mm.pt().alloc(Vaddr{new_addr}, 1, "pte_alloc");
    co_await move_ptes(k, mm, vma, old_addr, old_addr + extent, new_addr, need_rmap_locks, &need_flush);
  }
  // The PTLs are dropped: other CPUs, reclaim and devices may run before the tail below.
  co_await yield_point("move_page_tables: after the last extent");
  // Before eb66ae030829: one flush for every PTE that did not force one under its PTL.
  if (need_flush) co_await flush_tlb_range(k, mm, VaRange{old_start, old_end});
  // OLD: the hidden invalidate_range() here is the only secondary invalidation of the old range.
  co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{old_start, old_end}, "move_page_tables");
}

/// copy_vma(): the VMA for the new range, with the old VMA's file, anon_vma and the pgoff of
/// old_addr, so rmap (linear_page_index()) finds each moved page at its new address. If the VMA
/// ending at new_addr is compatible and its pgoff runs on, vma_merge() extends it instead; it
/// may then sort before the old VMA in i_mmap, so rmap walkers could see the new PTE and miss the
/// old one: need_rmap_locks (primer 4.3). Merging with the following VMA is not modelled.
Task<Vma> copy_vma(Kernel& k, AddressSpace& mm, Vma vma, uint64_t addr, uint64_t len, uint64_t pgoff, bool* need_rmap_locks) {
  co_await take_rmap_locks(k, vma);  // vma_adjust() / vma_link() edit i_mmap and the anon_vma
  Vma out;
  Vma* prev = nullptr;
  for (Vma& v : mm.vmas_mut())
    if (!v.detached && v.end == addr && v.flags == vma.flags && v.file == vma.file && v.anon_vma == vma.anon_vma &&
        v.pgoff + v.pages() == pgoff)
      prev = &v;
  if (prev) {
    trace_call(k, "vma_merge", mm.id(), VaRange{prev->start, addr + len});
    prev->end = addr + len;
    out = *prev;
    *need_rmap_locks = out.pgoff <= vma.pgoff;
  } else {
    out = vma;  // vm_area_dup()
    out.start = addr;
    out.end = addr + len;
    out.pgoff = pgoff;
    out.seq = k.next_vma_seq();
    out.detached = false;
    mm.insert_vma(out);  // vma_link()
    *need_rmap_locks = false;
  }
  drop_rmap_locks(k, vma);
  co_return out;
}

/// do_munmap() under the write lock held by mremap (no downgrade): detach, then unmap_region().
Task<> do_munmap(Kernel& k, AddressSpace& mm, uint64_t start, uint64_t len) {
  co_await vma_adjust_trans_huge(k, mm, VaRange{start, start + len});  // __split_vma() at both ends
  std::vector<Vma> vmas = detach_range(k, mm, VaRange{start, start + len});
  if (vmas.empty()) co_return;
  co_await unmap_region(k, mm, vmas, VaRange{start, start + len});
}

/// move_vma(): copy the VMA, move the tables, then unmap the old range. That last zap finds no
/// PTEs; the old VMA stays in i_mmap/anon_vma until its free_pgtables(). With MREMAP_DONTUNMAP
/// the old VMA stays mapped instead: if it was moved whole into a VMA of its own, it leaves its
/// anon_vma (unlink_anon_vmas()), so rmap no longer visits it and its next anonymous fault
/// starts a new one (anon_vma_prepare()). VM_LOCKED_MASK is cleared too: the model has no mlock.
Task<> move_vma(Kernel& k, AddressSpace& mm, Vma vma, uint64_t old_addr, uint64_t len, uint64_t new_addr, MremapFlags flags) {
  trace_call(k, "move_vma", mm.id(), VaRange{old_addr, old_addr + len});
  // ksm_madvise(MADV_UNMERGEABLE) of the old range: "Advise KSM to break any KSM pages in the
  // area to be moved", so no KSM page turns up where its rmap_items do not point.
  co_await unmerge_ksm_pages(k, mm, vma, VaRange{old_addr, old_addr + len});
  const uint64_t new_pgoff = vma.pgoff + ((old_addr - vma.start) >> kPageShift);
  bool need_rmap_locks = false;
  co_await copy_vma(k, mm, vma, new_addr, len, new_pgoff, &need_rmap_locks);
  co_await move_page_tables(k, mm, vma, old_addr, new_addr, len, need_rmap_locks);
  if (flags.dontunmap) {
    // The kernel also asks new_vma != vma: copy_vma() merged the new range into the old VMA. The
    // model's copy_vma() merges only into a VMA ending at new_addr, which cannot be the old one
    // (its pgoff would not run on), so the new VMA is always another.
    if (vma.start == old_addr && vma.end == old_addr + len && vma.anon_vma) {
      // unlink_anon_vmas(): out of the anon_vma's interval tree under its root's lock.
      SimLock& anon_lock = k.anon_vma_lock(vma.anon_vma);
      co_await lock(k, anon_lock, LockMode::Write, "lock_anon_vma_root");
      for (Vma& v : mm.vmas_mut())
        if (!v.detached && v.start == vma.start && v.end == vma.end) v.anon_vma = 0;
      trace_call(k, "unlink_anon_vmas", mm.id(), VaRange{vma.start, vma.end});
      unlock(k, anon_lock, LockMode::Write, "unlock_anon_vma_root");
    }
    co_return;
  }
  co_await do_munmap(k, mm, old_addr, len);
}

}  // namespace

Task<> sys_mremap(Kernel& k, AddressSpace& mm, Vaddr old_addr_va, uint64_t len, Vaddr new_addr_va, MremapFlags flags) {
  const uint64_t old_addr = old_addr_va.value();
  const uint64_t new_addr = new_addr_va.value();
  len = (len + kPageSize - 1) & ~(kPageSize - 1);
  // sys_mremap() refuses a flag its release does not know before taking any lock.
  if (flags.dontunmap && !k.policy().mremap_dontunmap) {
    syscall_error(k, "mremap", mm.id(), VaRange{old_addr, old_addr + len}, Errno::Einval);
    co_return;
  }
  co_await mmap_write_lock(k, mm);
  trace_call(k, "mremap_to", mm.id(), VaRange{old_addr, old_addr + len});
  // mremap_to(): the ranges must be page-aligned, inside TASK_SIZE and must not overlap.
  const bool bad = len == 0 || (old_addr | new_addr) % kPageSize != 0 || new_addr + len > kTaskSize ||
                   (new_addr < old_addr + len && old_addr < new_addr + len);
  if (bad) {
    syscall_error(k, "mremap", mm.id(), VaRange{old_addr, old_addr + len}, Errno::Einval);
    mmap_write_unlock(k, mm);
    co_return;
  }
  // MREMAP_FIXED: whatever is mapped at the destination goes first.
  co_await do_munmap(k, mm, new_addr, len);
  // vma_to_resize(): the old range must lie in one VMA.
  const Vma* vp = mm.find_vma(old_addr);
  if (!vp || old_addr + len > vp->end) {
    syscall_error(k, "mremap", mm.id(), VaRange{old_addr, old_addr + len}, Errno::Efault);
    mmap_write_unlock(k, mm);
    co_return;
  }
  // vma_to_resize(): no MREMAP_DONTUNMAP of VM_DONTEXPAND or VM_PFNMAP mappings.
  if (flags.dontunmap && vp->pfnmap()) {
    syscall_error(k, "mremap", mm.id(), VaRange{old_addr, old_addr + len}, Errno::Einval);
    mmap_write_unlock(k, mm);
    co_return;
  }
  co_await move_vma(k, mm, *vp, old_addr, len, new_addr, flags);
  mmap_write_unlock(k, mm);
}

}  // namespace tlbsim::kernel
