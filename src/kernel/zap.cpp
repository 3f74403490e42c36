// SPDX-License-Identifier: MIT
#include "kernel/zap.h"

#include <algorithm>
#include <optional>

#include "kernel/arch_flush.h"
#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/outcome.h"
#include "kernel/page.h"
#include "kernel/swap.h"
#include "kernel/thp.h"
#include "kernel/vma_ops.h"
#include "model/check.h"

namespace tlbsim::kernel {

Task<> zap_pte_range(Kernel& k, MmuGather& tlb, Vma vma, VaRange range) {
  uint64_t addr = range.lo();
  const uint64_t end = range.hi();
  AddressSpace& mm = *tlb.mm;
  while (addr < end) {
    const PteRef first = mm.pt().lookup(Vaddr{addr}, 1);
    if (!first.valid()) co_return;  // pmd_none_or_trans_huge_or_clear_bad()
    SimLock& ptl = k.ptl(first.table);
    co_await lock(k, ptl, LockMode::Write, "pte_offset_map_lock");
    co_await flush_tlb_batched_pending(k, mm);
    bool force_flush = false;
    const PageTable::PteMap pte_map = mm.pt().map(first.table);
    for (; addr < end; addr += kPageSize) {
      addr = mm.pt().skip_none(pte_map, addr, end);
      if (addr == end) break;
      const Pte pte = mm.pt().get(pte_map, addr);
      if (!pte.present()) {
        // A swap, migration or device-private entry: pte_clear_not_present_full(), nothing
        // cached to flush. A swap entry's slot loses a reference (free_swap_and_cache()); a
        // device-private page its mapping and reference at once, not through the gather
        // (page_remove_rmap(), put_page(): the last frees it to the driver).
        mm.pt().set(pte_map, addr, Pte{}, "pte_clear_not_present_full");
        if (pte.swp_type() == Pte::SwpType::Swap) swap_free(k, pte.swp_offset(), "free_swap_and_cache");
        if (pte.is_device_private()) {
          const Pfn page{static_cast<uint32_t>(pte.swp_offset())};
          page_remove_rmap(k, page);
          put_page(k, page, "zap_pte_range");
        }
        continue;
      }
      mm.pt().set(pte_map, addr, Pte{}, "ptep_get_and_clear_full");
      tlb_remove_tlb_entry(tlb, Vaddr{addr});
      if (!pte.special()) {
        const Pfn pfn = pte.pfn();
        const Frame& f = k.mem().frame(pfn);
        if (f.kind == FrameKind::File && pte.dirty()) {
          // A dirty shared page must not be cleaned by writeback while a TLB can still write it.
          force_flush = true;
          File& file = k.file(f.owner);
          if (f.aux < file.size()) file.set_dirty(f.aux, true);  // set_page_dirty()
        }
        page_remove_rmap(k, pfn);
        if (__tlb_remove_page(k, tlb, pfn)) {
          force_flush = true;
          addr += kPageSize;
          break;
        }
      }
      co_await yield_point("zap_pte_range");
    }
    if (force_flush) co_await tlb_flush_mmu_tlbonly(k, tlb);  // under the PTL
    unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
    if (force_flush) co_await tlb_flush_mmu(k, tlb);
    (void)vma;
  }
}

Task<bool> zap_huge_pmd(Kernel& k, MmuGather& tlb, Vaddr addr, PteRef pmd) {
  AddressSpace& mm = *tlb.mm;
  SimLock& ptl = k.ptl(pmd.table);
  co_await lock(k, ptl, LockMode::Write, "__pmd_trans_huge_lock");
  const Pte orig = mm.pt().get(pmd);
  if (!orig.huge()) {
    // Split (or zapped) by someone else meanwhile: __pmd_trans_huge_lock() finds no huge PMD,
    // and zap_pmd_range() goes on at PTE level.
    unlock(k, ptl, LockMode::Write, "spin_unlock");
    co_return false;
  }
  mm.pt().set(pmd, addr, Pte{}, "pmdp_huge_get_and_clear_full");
  tlb_remove_pmd_tlb_entry(tlb, addr);
  // page_remove_rmap(compound) and tlb_remove_page_size(HPAGE_PMD_SIZE), whose "batch full"
  // answer zap_huge_pmd() ignores: the gather holds every subpage's reference until the flush.
  for (uint32_t i = 0; i < kPtrsPerTable; ++i) {
    const Pfn p{orig.pfn().value() + i};
    page_remove_rmap(k, p);
    (void)__tlb_remove_page(k, tlb, p);
  }
  unlock(k, ptl, LockMode::Write, "spin_unlock");
  co_await yield_point("zap_huge_pmd");
  co_return true;
}

Task<> unmap_single_vma(Kernel& k, MmuGather& tlb, Vma vma, VaRange range) {
  const uint64_t start = std::max(range.lo(), vma.start);
  const uint64_t end = std::min(range.hi(), vma.end);
  if (start >= end) co_return;
  tlb_start_vma(k, tlb, vma);
  // unmap_page_range() -> zap_p4d/pud/pmd_range(): one PMD (2 MiB) at a time.
  for (uint64_t a = start; a < end;) {
    const PteRef pmd = tlb.mm->pt().lookup(Vaddr{a}, 2);
    if (!pmd.valid()) {
      // zap_p4d_range()/zap_pud_range(): a none PGD or PUD entry (pgd/pud_none_or_clear_bad())
      // is skipped whole, 512 GiB or 1 GiB at once; there is no table below it to zap.
      a = std::min(end, tlb.mm->pt().none_entry_end(Vaddr{a}));
      continue;
    }
    const uint64_t next = std::min(end, (a + kPmdSize) & ~(kPmdSize - 1));
    // zap_pmd_range(): a huge PMD, or one a split in progress holds invalid (still
    // pmd_trans_huge(); both routes below wait for the PMD lock).
    if (pmd.valid() && pmd_trans_huge(tlb.mm->pt().get(pmd))) {
      if (next - a == kPmdSize) {
        if (co_await zap_huge_pmd(k, tlb, Vaddr{a}, pmd)) {
          a = next;
          continue;
        }
      } else {
        // Only part of the huge page goes: split it, then zap its PTEs.
        co_await __split_huge_pmd(k, *tlb.mm, vma, Vaddr{a});
      }
    }
    co_await zap_pte_range(k, tlb, vma, VaRange{a, next});
    a = next;
  }
  co_await tlb_end_vma(k, tlb, vma);
}

Task<> unmap_vmas(Kernel& k, MmuGather& tlb, std::vector<Vma> vmas, VaRange range) {
  AddressSpace& mm = *tlb.mm;
  mmu_notifier_invalidate_range_start(k, mm, range, "unmap_vmas");
  for (const Vma& v : vmas) co_await unmap_single_vma(k, tlb, v, range);
  co_await mmu_notifier_invalidate_range_end(k, mm, range, "unmap_vmas");
}

namespace {

bool span_in_use(const AddressSpace& mm, uint64_t start, uint64_t end) {
  for (const Vma& v : mm.vmas())
    if (!v.detached && v.start < end && start < v.end) return true;
  return false;
}

/// free_pte_range()/free_pmd_range()/free_pud_range(): a table is freed when no live VMA
/// overlaps the span it maps, which is what free_pgd_range()'s floor/ceiling arithmetic means.
void free_level(Kernel& k, MmuGather& tlb, AddressSpace& mm, Pfn table, unsigned level, uint64_t base, uint64_t start, uint64_t end) {
  const uint64_t entry_size = uint64_t{1} << level_shift(level);
  for (unsigned i = 0; i < kPtrsPerTable; ++i) {
    const uint64_t lo = base + i * entry_size, hi = lo + entry_size;
    if (hi <= start || lo >= end) continue;
    PteRef r{table, static_cast<uint16_t>(i), static_cast<uint8_t>(level)};
    const Pte e = mm.pt().get(r);
    if (!e.present() || e.huge()) continue;
    const Pfn child = e.pfn();
    if (level > 2) free_level(k, tlb, mm, child, level - 1, lo, start, end);
    if (span_in_use(mm, lo, hi)) continue;
    if (level > 2) {
      // Only free an upper table once it is empty.
      bool empty = true;
      for (uint64_t raw : k.mem().table_read(child)) empty &= Pte{raw}.none();
      if (!empty) continue;
    }
    mm.pt().set(r, Vaddr{lo}, Pte{}, level == 2 ? "pmd_clear" : level == 3 ? "pud_clear" : "p4d_clear");
    free_table_tlb(k, tlb, child, level - 1, Vaddr{lo});
  }
}

}  // namespace

Task<> free_pgtables(Kernel& k, MmuGather& tlb, std::vector<Vma> vmas) {
  AddressSpace& mm = *tlb.mm;
  co_await yield_point("free_pgtables");
  trace_call(k, "free_pgtables", mm.id());
  uint64_t lo = ~uint64_t{0}, hi = 0;
  for (const Vma& v : vmas) {
    // "Hide vma from rmap and truncate_pagecache before freeing pgtables" (v6.0 mm/memory.c):
    // unlink_anon_vmas() under the anon_vma lock, unlink_file_vma() under i_mmap_lock_write().
    // The write locks wait for any rmap walk or unmap_mapping_range() that still holds this VMA
    // under the read lock and may touch its tables; walks that start later no longer find it.
    // The model keeps one VMA list for i_mmap and anon_vma, so it unlinks from both at once,
    // with both locks held in the kernel's order (i_mmap_rwsem, then anon_vma).
    SimLock* const file_lock = v.file ? &k.file(v.file).i_mmap_rwsem : nullptr;
    SimLock* const anon_lock = v.anon_vma ? &k.anon_vma_lock(v.anon_vma) : nullptr;
    if (file_lock) co_await lock(k, *file_lock, LockMode::Write, "i_mmap_lock_write");
    if (anon_lock) co_await lock(k, *anon_lock, LockMode::Write, "anon_vma_lock_write");
    auto& list = mm.vmas_mut();
    list.erase(std::remove_if(list.begin(), list.end(), [&](const Vma& x) { return x.detached && x.seq == v.seq; }), list.end());
    if (anon_lock) unlock(k, *anon_lock, LockMode::Write, "anon_vma_unlock_write");
    if (file_lock) unlock(k, *file_lock, LockMode::Write, "i_mmap_unlock_write");
    lo = std::min(lo, v.start);
    hi = std::max(hi, v.end);
  }
  if (lo < hi) free_level(k, tlb, mm, mm.pt().pgd(), 4, 0, lo, hi);
}

Task<> unmap_region(Kernel& k, AddressSpace& mm, std::vector<Vma> vmas, VaRange range) {
  trace_call(k, "unmap_region", mm.id(), range);
  MmuGather tlb;
  tlb_gather_mmu(k, tlb, mm);  // after lru_add_drain()
  co_await unmap_vmas(k, tlb, vmas, range);
  co_await free_pgtables(k, tlb, vmas);
  co_await tlb_finish_mmu(k, tlb);
}

Task<bool> do_munmap_downgrade(Kernel& k, AddressSpace& mm, VaRange range) {
  trace_call(k, "__do_munmap", mm.id(), range);
  co_await vma_adjust_trans_huge(k, mm, range);  // __split_vma() at both ends
  std::vector<Vma> vmas = detach_range(k, mm, range);
  if (vmas.empty()) co_return false;
  mmap_write_downgrade(k, mm);
  co_await unmap_region(k, mm, vmas, range);
  co_return true;
}

Task<> sys_munmap(Kernel& k, AddressSpace& mm, Vaddr start_va, uint64_t len) {
  const uint64_t start = start_va.value();
  const uint64_t end = start + ((len + kPageSize - 1) & ~(kPageSize - 1));
  co_await mmap_write_lock(k, mm);
  // __vm_munmap(): __do_munmap() returns 1 when it downgraded the lock.
  if (co_await do_munmap_downgrade(k, mm, VaRange{start, end}))
    mmap_read_unlock(k, mm);
  else
    mmap_write_unlock(k, mm);
}

namespace {

/// madvise_walk_vmas(): a part of [start, end) no VMA maps is skipped, and once the mapped parts
/// are done the call returns -ENOMEM for it. The VMAs cannot change under the mmap lock held.
bool has_hole(const AddressSpace& mm, uint64_t start, uint64_t end) {
  uint64_t covered = start;
  for (const Vma& v : vmas_in(mm, VaRange{start, end})) {
    if (v.start > covered) return true;
    covered = std::max(covered, v.end);
  }
  return covered < end;
}

}  // namespace

/// madvise_walk_vmas() (v6.0 mm/madvise.c) calls the advice once per VMA, over the VMA's part of
/// [start, end), in address order under the mmap lock: each MADV_DONTNEED or MADV_FREE of a VMA
/// has its own mmu_gather and notifier bracket over that part only. The first VMA the advice
/// refuses ends the walk with its errno; otherwise a hole is -ENOMEM once the VMAs are done.
Task<> madvise_dontneed(Kernel& k, AddressSpace& mm, Vaddr start_va, uint64_t len) {
  const uint64_t start = start_va.value();
  const uint64_t end = start + len;
  co_await mmap_read_lock(k, mm);
  std::optional<Errno> err;
  for (const Vma& v : vmas_in(mm, VaRange{start, end})) {
    // madvise_dontneed_free(): !can_madv_lru_vma(), here VM_PFNMAP (the model has no VM_LOCKED
    // or hugetlb VMA), is -EINVAL.
    if (v.pfnmap()) {
      err = Errno::Einval;
      break;
    }
    const uint64_t s = std::max(start, v.start), e = std::min(end, v.end);
    // madvise_dontneed_single_vma() -> zap_page_range(vma, s, e - s).
    trace_call(k, "madvise_dontneed_single_vma", mm.id(), VaRange{s, e});
    MmuGather tlb;
    tlb_gather_mmu(k, tlb, mm);
    mmu_notifier_invalidate_range_start(k, mm, VaRange{s, e}, "zap_page_range");
    co_await unmap_single_vma(k, tlb, v, VaRange{s, e});
    co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{s, e}, "zap_page_range");
    co_await tlb_finish_mmu(k, tlb);
  }
  if (!err && has_hole(mm, start, end)) err = Errno::Enomem;
  if (err) syscall_error(k, "madvise", mm.id(), VaRange{start, end}, *err);
  mmap_read_unlock(k, mm);
}

Task<> madvise_free(Kernel& k, AddressSpace& mm, Vaddr start_va, uint64_t len) {
  const uint64_t start = start_va.value();
  const uint64_t end = start + len;
  co_await mmap_read_lock(k, mm);
  std::optional<Errno> err;
  for (const Vma& v : vmas_in(mm, VaRange{start, end})) {
    // madvise_free_single_vma(): "MADV_FREE works for only anon vma at the moment"
    // (vma_is_anonymous(): no vm_ops; a VM_PFNMAP mapping has its driver's).
    if (!v.anon() || v.pfnmap()) {
      err = Errno::Einval;
      break;
    }
    const uint64_t s = std::max(start, v.start), e = std::min(end, v.end);
    trace_call(k, "madvise_free_single_vma", mm.id(), VaRange{s, e});
    MmuGather tlb;
    tlb_gather_mmu(k, tlb, mm);
    mmu_notifier_invalidate_range_start(k, mm, VaRange{s, e}, "madvise_free_single_vma");
    tlb_start_vma(k, tlb, v);
    for (uint64_t a = s; a < e;) {
      const uint64_t next = std::min(e, (a + kPmdSize) & ~(kPmdSize - 1));
      const PteRef first = mm.pt().lookup(Vaddr{a}, 1);
      if (first.valid()) {
        SimLock& ptl = k.ptl(first.table);
        co_await lock(k, ptl, LockMode::Write, "pte_offset_map_lock");
        co_await flush_tlb_batched_pending(k, mm);
        for (uint64_t x = a; x < next; x += kPageSize) {
          PteRef r{first.table, static_cast<uint16_t>(table_index(x, 1)), 1};
          const Pte pte = mm.pt().get(r);
          if (!pte.present()) {
            // A swap entry: the data is thrown away now (free_swap_and_cache(),
            // pte_clear_not_present_full()); migration and device-private entries stay.
            if (pte.swp_type() == Pte::SwpType::Swap) {
              mm.pt().set(r, Vaddr{x}, Pte{}, "pte_clear_not_present_full");
              swap_free(k, pte.swp_offset(), "free_swap_and_cache");
            }
            continue;
          }
          // madvise_free_pte_range(): exclusive pages become old and clean (lazyfree); the
          // flush that makes the dirty bit trustworthy is the gather's (99baac21e458).
          if (k.mem().mapcount(pte.pfn()) != 1) continue;
          if (pte.young() || pte.dirty()) {
            mm.pt().set(r, Vaddr{x}, Pte{}, "ptep_get_and_clear_full");
            mm.pt().set(r, Vaddr{x}, pte.mkclean_old(), "set_pte_at");
            tlb_remove_tlb_entry(tlb, Vaddr{x});
          }
          co_await yield_point("madvise_free_pte_range");
        }
        unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
      }
      a = next;
    }
    co_await tlb_end_vma(k, tlb, v);
    co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{s, e}, "madvise_free_single_vma");
    co_await tlb_finish_mmu(k, tlb);
  }
  if (!err && has_hole(mm, start, end)) err = Errno::Enomem;
  if (err) syscall_error(k, "madvise", mm.id(), VaRange{start, end}, *err);
  mmap_read_unlock(k, mm);
}

Task<> exit_mmap(Kernel& k, AddressSpace& mm) {
  trace_call(k, "exit_mmap", mm.id());
  // SVA drivers stop the device walking this mm before anything is torn down.
  co_await mmu_notifier_release(k, mm);
  co_await mmap_read_lock(k, mm);
  MmuGather tlb;
  tlb_gather_mmu_fullmm(k, tlb, mm);
  std::vector<Vma> vmas = vmas_in(mm, VaRange{0, kTaskSize});
  co_await unmap_vmas(k, tlb, vmas, VaRange::all());
  mmap_read_unlock(k, mm);
  co_await mmap_write_lock(k, mm);
  for (Vma& v : mm.vmas_mut()) v.detached = true;
  co_await free_pgtables(k, tlb, vmas);
  co_await tlb_finish_mmu(k, tlb);
  mmap_write_unlock(k, mm);
}

Task<> zap_page_range_single(Kernel& k, AddressSpace& mm, Vma vma, VaRange range) {
  trace_call(k, "zap_page_range_single", mm.id(), range);
  MmuGather tlb;
  tlb_gather_mmu(k, tlb, mm);  // no mmap_lock of this mm: tlb_flush_pending may now be nested
  mmu_notifier_invalidate_range_start(k, mm, range, "zap_page_range_single");
  co_await unmap_single_vma(k, tlb, vma, range);
  co_await mmu_notifier_invalidate_range_end(k, mm, range, "zap_page_range_single");
  co_await tlb_finish_mmu(k, tlb);
}

Task<> unmap_mapping_range(Kernel& k, uint32_t file, uint64_t first, uint64_t nr) {
  File& f = k.file(file);
  co_await lock(k, f.i_mmap_rwsem, LockMode::Read, "i_mmap_lock_read");
  trace_call(k, "unmap_mapping_range");
  for (const RmapTarget& h : i_mmap_walk(k, file, first, nr)) {
    const uint64_t lo = std::max(first, h.vma.pgoff), hi = std::min(first + nr, h.vma.pgoff + h.vma.pages());
    co_await zap_page_range_single(k, *h.mm, h.vma, VaRange{h.vma.addr_of(lo), h.vma.addr_of(hi)});
  }
  unlock(k, f.i_mmap_rwsem, LockMode::Read, "i_mmap_unlock_read");
}

Task<> truncate_pagecache_range(Kernel& k, uint32_t file, uint64_t first, uint64_t nr) {
  trace_call(k, "truncate_pagecache");
  co_await unmap_mapping_range(k, file, first, nr);
  co_await yield_point("truncate_inode_pages_range");
  File& f = k.file(file);
  // truncate_inode_pages_range(): the page cache drops its reference after the whole walk.
  for (uint64_t i = first; i < std::min<uint64_t>(first + nr, f.size()); ++i) {
    if (f.page(i) == kNoPfn) continue;
    const Pfn p = f.page(i);
    f.set_page(i, kNoPfn);
    f.set_dirty(i, false);
    put_page(k, p, "truncate_inode_pages_range");
  }
  // The second unmap_mapping_range() (even_cows) finds nothing left in shared mappings.
}

}  // namespace tlbsim::kernel
