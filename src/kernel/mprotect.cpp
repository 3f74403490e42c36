// SPDX-License-Identifier: MIT
#include "kernel/mprotect.h"

#include <algorithm>

#include "kernel/arch_flush.h"
#include "kernel/locking.h"
#include "kernel/mmu_gather.h"
#include "kernel/mmu_notifier.h"
#include "kernel/outcome.h"
#include "kernel/pgtable_generic.h"
#include "kernel/thp.h"
#include "kernel/vma_ops.h"
#include "model/check.h"

namespace tlbsim::kernel {

namespace {

/// Shared file mappings track dirtying through write faults (vma_wants_writenotify(); the fault
/// path maps them writable only on a write fault), so their vm_page_prot never carries write.
/// shmem has no dirty accounting (mapping_can_writeback() is false): no write notification.
bool wants_writenotify(Kernel& k, const Vma& v) { return v.shared() && v.file != 0 && !k.file(v.file).shmem; }

/// can_change_pte_writable() (64fe24a3e05e, v6.0): a PTE the new vm_page_prot leaves read-only
/// may be made writable at once only if it is dirty and, in a private mapping, maps an
/// exclusive anonymous page (PageAnonExclusive(), read here as mapped once: fork is what makes
/// a page non-exclusive in the model).
bool can_change_pte_writable(Kernel& k, const Vma& vma, Pte pte) {
  if (!pte.dirty()) return false;
  if (vma.shared()) return true;
  if (pte.special()) return false;
  const Frame& f = k.mem().frame(pte.pfn());
  return f.kind == FrameKind::Anon && k.mem().mapcount(pte.pfn()) == 1;
}

/// pte_modify(oldpte, vm_page_prot) and the MM_CP_TRY_CHANGE_WRITABLE upgrade. vm_page_prot
/// (vm_get_page_prot()) carries write only for VM_WRITE|VM_SHARED without write notification;
/// private writable mappings stay read-only for COW.
Pte new_protection(Kernel& k, const Vma& vma, Pte oldpte) {
  Pte ptent = oldpte.wrprotect();
  if (!vma.writable()) return ptent;
  if (vma.shared() && !wants_writenotify(k, vma)) return ptent.with(Pte::kWrite);
  // vma_wants_manual_pte_write_upgrade(): shared with writenotify, or private and VM_WRITE.
  if (can_change_pte_writable(k, vma, ptent)) ptent = ptent.with(Pte::kWrite);
  return ptent;
}

/// pte_needs_flush() / huge_pmd_needs_flush() (c9fe66560bf2, v5.19). x86
/// (arch/x86/include/asm/tlbflush.h, pte_flags_need_flush()): no flush for an entry that was not
/// present; a flush for a new pfn, for Dirty or Present cleared, and for any change of RW, USER
/// or PSE, in either direction (so an upgrade to writable flushes too); Accessed and the software
/// bits (_PAGE_SPECIAL) are ignored. Every other architecture uses the generic answer: always.
bool pte_needs_flush(const Kernel& k, Pte oldpte, Pte newpte) {
  if (k.config().arch != Arch::X86) return true;
  if (!oldpte.present()) return false;
  if (oldpte.pfn() != newpte.pfn()) return true;
  constexpr uint64_t kFlushOnClear = Pte::kDirty | Pte::kPresent;
  constexpr uint64_t kFlushOnChange = Pte::kWrite | Pte::kUser | Pte::kHuge;
  const uint64_t diff = (oldpte.raw() ^ newpte.raw()) & ~Pte::kPfnMask;
  return (diff & oldpte.raw() & kFlushOnClear) != 0 || (diff & kFlushOnChange) != 0;
}

/// change_huge_pmd(), under the PMD lock. With an mmu_gather (v5.19+): pmdp_invalidate_ad() (no
/// flush on x86), set_pmd_at() with pmd_modify(), then tlb_flush_pmd_range() if
/// huge_pmd_needs_flush(). Without (before 4f83145721f3): pmdp_invalidate(), which flushes at
/// once. Either way the PMD is non-present in between, so hardware cannot set A/D on the old entry
/// unseen. No writable upgrade for huge PMDs here (can_change_pmd_writable() is v6.2): a private
/// huge PMD stays read-only until a write fault. Returns HPAGE_PMD_NR, or 0 if the PMD is no longer
/// huge.
Task<uint64_t> change_huge_pmd(Kernel& k, AddressSpace& mm, Vma vma, PteRef pmd, uint64_t addr, MmuGather* tlb) {
  SimLock& ptl = k.ptl(pmd.table);
  co_await lock(k, ptl, LockMode::Write, "__pmd_trans_huge_lock");
  if (!mm.pt().get(pmd).huge()) {
    unlock(k, ptl, LockMode::Write, "spin_unlock");
    co_return 0;
  }
  Pte oldpmd;
  if (tlb)
    oldpmd = co_await pmdp_invalidate_ad(k, mm, pmd, Vaddr{addr});
  else
    oldpmd = co_await pmdp_invalidate(k, mm, pmd, Vaddr{addr});
  Pte entry = oldpmd.wrprotect();
  if (vma.writable() && vma.shared() && !wants_writenotify(k, vma)) entry = entry.with(Pte::kWrite);
  mm.pt().set(pmd, Vaddr{addr}, entry, "set_pmd_at");
  if (tlb && pte_needs_flush(k, oldpmd, entry)) tlb_flush_pmd_range(*tlb, Vaddr{addr}, kPmdSize);
  co_await yield_point("change_huge_pmd");
  unlock(k, ptl, LockMode::Write, "spin_unlock");
  co_return kPtrsPerTable;
}

/// change_pte_range() over one PTE table: PTL held, flush_tlb_batched_pending() (3ea277194daa),
/// then each present PTE through ptep_modify_prot_start() (get-and-clear, so a hardware A/D
/// update cannot be lost) and ptep_modify_prot_commit(). No flush here: with an mmu_gather
/// (v5.19+) each PTE that pte_needs_flush() is recorded with tlb_flush_pte_range(); without,
/// the caller flushes the whole range. Returns the PTEs changed (every present one counts, as
/// `pages` does in the kernel).
Task<uint64_t> change_pte_range(Kernel& k, AddressSpace& mm, Vma vma, uint64_t addr, uint64_t end, MmuGather* tlb) {
  const PteRef first = mm.pt().lookup(Vaddr{addr}, 1);
  if (!first.valid()) co_return 0;  // pmd_trans_unstable(): a file THP split left nothing here
  SimLock& ptl = k.ptl(first.table);
  co_await lock(k, ptl, LockMode::Write, "pte_offset_map_lock");
  co_await flush_tlb_batched_pending(k, mm);
  uint64_t pages = 0;
  for (; addr < end; addr += kPageSize) {
    const PteRef r{first.table, static_cast<uint16_t>(table_index(addr, 1)), 1};
    const Pte oldpte = mm.pt().get(r);
    if (oldpte.present()) {
      const Pte ptent = new_protection(k, vma, oldpte);
      mm.pt().set(r, Vaddr{addr}, Pte{}, "ptep_modify_prot_start");
      mm.pt().set(r, Vaddr{addr}, ptent, "ptep_modify_prot_commit");
      if (tlb && pte_needs_flush(k, oldpte, ptent)) tlb_flush_pte_range(*tlb, Vaddr{addr}, kPageSize);
      ++pages;
      co_await yield_point("change_pte_range");
    } else if (oldpte.swp_type() == Pte::SwpType::MigrationWrite) {
      // "A protection check is difficult so just be safe and disable write."
      mm.pt().set(r, Vaddr{addr}, Pte::swap_entry(Pte::SwpType::MigrationRead, oldpte.swp_offset()), "set_pte_at");
      ++pages;
    } else if (oldpte.swp_type() == Pte::SwpType::DevicePrivateWrite) {
      // The same for a writable device-private entry ("We do not preserve soft-dirtiness").
      mm.pt().set(r, Vaddr{addr}, Pte::swap_entry(Pte::SwpType::DevicePrivateRead, oldpte.swp_offset()), "set_pte_at");
      ++pages;
    }
  }
  unlock(k, ptl, LockMode::Write, "pte_unmap_unlock");
  co_return pages;
}

/// change_pmd_range() over [addr, end) within one PUD: the MMU_NOTIFY_PROTECTION_VMA bracket
/// starts at the first populated PMD, from there to `end`, and ends after the loop.
Task<uint64_t> change_pmd_range(Kernel& k, AddressSpace& mm, Vma vma, uint64_t addr, uint64_t end, MmuGather* tlb) {
  uint64_t pages = 0;
  uint64_t range_start = 0;
  bool started = false;
  for (uint64_t next = 0; addr < end; addr = next) {
    next = std::min(end, (addr + kPmdSize) & ~(kPmdSize - 1));
    const PteRef pmd = mm.pt().lookup(Vaddr{addr}, 2);
    if (!pmd.valid() || mm.pt().get(pmd).none()) continue;  // pmd_none_or_clear_bad_unless_trans_huge()
    if (!started) {
      started = true;
      range_start = addr;
      mmu_notifier_invalidate_range_start(k, mm, VaRange{range_start, end}, "change_pmd_range");
    }
    if (pmd_trans_huge(mm.pt().get(pmd))) {
      if (next - addr == kPmdSize) {
        const uint64_t nr = co_await change_huge_pmd(k, mm, vma, pmd, addr, tlb);
        pages += nr;
        if (nr) continue;
      } else {
        co_await __split_huge_pmd(k, mm, vma, Vaddr{addr});
      }
      // Fall through: the huge PMD was just split.
    }
    pages += co_await change_pte_range(k, mm, vma, addr, next, tlb);
  }
  // OLD: the hidden invalidate_range() here reaches the IOMMU before the CPU is flushed.
  if (started) co_await mmu_notifier_invalidate_range_end(k, mm, VaRange{range_start, end}, "change_pmd_range");
  co_return pages;
}

/// The walk of change_protection_range(): change_p4d_range() -> change_pud_range(), one
/// change_pmd_range() per PUD. Returns the PTEs changed.
Task<uint64_t> change_p4d_range(Kernel& k, AddressSpace& mm, Vma vma, uint64_t start, uint64_t end, MmuGather* tlb) {
  uint64_t pages = 0;
  for (uint64_t addr = start, next = 0; addr < end; addr = next) {
    next = std::min(end, (addr + kPudSize) & ~(kPudSize - 1));
    if (!mm.pt().lookup(Vaddr{addr}, 2).valid()) continue;  // pud_none_or_clear_bad()
    pages += co_await change_pmd_range(k, mm, vma, addr, next, tlb);
  }
  co_return pages;
}

/// change_protection_range(). With an mmu_gather (v5.19+): tlb_start_vma(), the walk,
/// tlb_end_vma() (a flush on arm64, which does not merge VMAs; on x86 only for PFNMAP VMAs); the
/// gather's own inc_tlb_flush_pending() covers the whole call. Before 4a18419f71cd:
/// inc_tlb_flush_pending() first, so a concurrent zap that finds these PTEs already changed knows
/// a flush is still outstanding (mm_tlb_flush_pending()), and one flush_tlb_range() over the whole
/// range if any entry was touched.
Task<> change_protection_range(Kernel& k, AddressSpace& mm, Vma vma, uint64_t start, uint64_t end, MmuGather* tlb) {
  trace_call(k, "change_protection_range", mm.id(), VaRange{start, end});
  // flush_cache_range() is a no-op on x86 and arm64.
  if (tlb) {
    tlb_start_vma(k, *tlb, vma);
    co_await change_p4d_range(k, mm, vma, start, end, tlb);
    co_await tlb_end_vma(k, *tlb, vma);
    co_return;
  }
  mm.inc_tlb_flush_pending();  // inc_tlb_flush_pending()
  const uint64_t pages = co_await change_p4d_range(k, mm, vma, start, end, nullptr);
  if (pages) co_await flush_tlb_range(k, mm, VaRange{start, end});
  mm.dec_tlb_flush_pending();  // dec_tlb_flush_pending()
}

/// mprotect_fixup(): nothing to do if the flags stay; otherwise split the VMA at the range
/// ends (vma_merge() is not modelled), set the new vm_flags (and vm_page_prot), and
/// change_protection().
Task<> mprotect_fixup(Kernel& k, AddressSpace& mm, MmuGather* tlb, Vma vma, uint64_t start, uint64_t end, bool writable) {
  const uint32_t newflags = writable ? (vma.flags | kVmWrite) : (vma.flags & ~uint32_t{kVmWrite});
  if (newflags == vma.flags) co_return;
  // __split_vma() -> vma_adjust_trans_huge(): where a new boundary is unaligned and the 2 MiB
  // around it lies inside the VMA, split_huge_pmd_address() runs (its bracket is issued whether
  // or not a huge PMD is there), so no huge mapping spans two VMAs with different protections.
  co_await vma_adjust_trans_huge(k, mm, VaRange{start, end});
  split_at(k, mm, Vaddr{start});
  split_at(k, mm, Vaddr{end});
  Vma updated;
  for (Vma& v : mm.vmas_mut())
    if (!v.detached && v.start == start) {
      TLBSIM_CHECK(v.end == end, "mprotect_fixup: VMA at " << hex(start) << " does not end at " << hex(end));
      v.flags = newflags;
      updated = v;
    }
  co_await change_protection_range(k, mm, updated, start, end, tlb);
}

}  // namespace

Task<> sys_mprotect(Kernel& k, AddressSpace& mm, Vaddr start_va, uint64_t len, bool writable) {
  const uint64_t start = start_va.value();
  const uint64_t end = start + ((len + kPageSize - 1) & ~(kPageSize - 1));
  co_await mmap_write_lock(k, mm);
  trace_call(k, "do_mprotect_pkey", mm.id(), VaRange{start, end});
  if (start % kPageSize != 0) {
    syscall_error(k, "mprotect", mm.id(), VaRange{start, end}, Errno::Einval);
    mmap_write_unlock(k, mm);
    co_return;
  }
  // No VMA at `start`: -ENOMEM before any gather ("goto out").
  if (!mm.find_vma(start)) {
    syscall_error(k, "mprotect", mm.id(), VaRange{start, end}, Errno::Enomem);
    mmap_write_unlock(k, mm);
    co_return;
  }
  MmuGather gather;
  MmuGather* tlb = nullptr;
  if (k.policy().mprotect_mmu_gather) {
    tlb = &gather;
    tlb_gather_mmu(k, gather, mm);
  }
  // do_mprotect_pkey(): VMA by VMA from `start`; a hole is -ENOMEM, a VMA that may never be
  // written is -EACCES. VMAs already changed stay changed, as in the kernel.
  for (uint64_t nstart = start; nstart < end;) {
    const Vma* vp = mm.find_vma(nstart);
    if (!vp) {
      syscall_error(k, "mprotect", mm.id(), VaRange{nstart, end}, Errno::Enomem);
      break;
    }
    if (writable && !(vp->flags & kVmMayWrite)) {
      syscall_error(k, "mprotect", mm.id(), VaRange{nstart, end}, Errno::Eacces);
      break;
    }
    const uint64_t tmp = std::min(vp->end, end);
    co_await mprotect_fixup(k, mm, tlb, *vp, nstart, tmp, writable);
    nstart = tmp;
  }
  // The errors above break out of the loop to here: the gather is finished either way.
  if (tlb) co_await tlb_finish_mmu(k, gather);
  mmap_write_unlock(k, mm);
}

}  // namespace tlbsim::kernel
