// SPDX-License-Identifier: MIT
#pragma once
/// Zapping user mappings through an mmu_gather (mm/memory.c, mm/mmap.c, mm/madvise.c,
/// mm/truncate.c; primer sections 3 and 4.3): munmap, MADV_DONTNEED, MADV_FREE, exit_mmap,
/// unmap_mapping_range/truncate.
#include <cstdint>
#include <vector>

#include "kernel/mmu_gather.h"

namespace tlbsim::kernel {

/// zap_pte_range() over one PTE table: PTL held, flush_tlb_batched_pending(), clear each PTE,
/// a forced flush under the PTL for dirty shared pages or a full batch, then free.
Task<> zap_pte_range(Kernel& k, MmuGather& tlb, Vma vma, VaRange range);
/// zap_huge_pmd(): a huge PMD mapped over the whole 2 MiB of the range, under the PMD lock.
/// False when the PMD was no longer huge once the lock was held (split meanwhile): the caller
/// zaps the PTEs instead.
Task<bool> zap_huge_pmd(Kernel& k, MmuGather& tlb, Vaddr addr, PteRef pmd);
/// unmap_single_vma() -> unmap_page_range(): tlb_start_vma, zap_pmd_range/zap_pte_range, tlb_end_vma.
Task<> unmap_single_vma(Kernel& k, MmuGather& tlb, Vma vma, VaRange range);
/// unmap_vmas(): MN_START(MMU_NOTIFY_UNMAP) .. per VMA .. MN_END over [start, end).
Task<> unmap_vmas(Kernel& k, MmuGather& tlb, std::vector<Vma> vmas, VaRange range);
/// free_pgtables(): unlink each VMA from i_mmap/anon_vma, then clear upper entries and queue
/// page tables no remaining VMA needs (free_pgd_range with floor/ceiling).
Task<> free_pgtables(Kernel& k, MmuGather& tlb, std::vector<Vma> vmas);
/// unmap_region(): gather, unmap_vmas, free_pgtables, tlb_finish_mmu.
Task<> unmap_region(Kernel& k, AddressSpace& mm, std::vector<Vma> vmas, VaRange range);

/// __do_munmap(..., downgrade = true) with the write mmap_lock held: split and detach the VMAs
/// of [start, end); if there were any, downgrade to the read lock (dd2283f2605e) and
/// unmap_region(). True when it downgraded: the caller then drops a read lock, else the write
/// lock (__vm_munmap(), and brk(2) shrinking the heap).
Task<bool> do_munmap_downgrade(Kernel& k, AddressSpace& mm, VaRange range);
/// munmap(2): __do_munmap() with mmap_write_lock, VMA split and detach, downgrade to read
/// (dd2283f2605e), unmap_region().
Task<> sys_munmap(Kernel& k, AddressSpace& mm, Vaddr start, uint64_t len);
/// madvise(MADV_DONTNEED): mmap_read_lock, then per VMA of the range (madvise_walk_vmas())
/// zap_page_range() of its part, each with its own gather and notifier bracket; -EINVAL at a
/// VM_PFNMAP VMA (ending the walk), -ENOMEM for a hole.
Task<> madvise_dontneed(Kernel& k, AddressSpace& mm, Vaddr start, uint64_t len);
/// madvise(MADV_FREE): mmap_read_lock, then per VMA madvise_free_single_vma(): PTEs made old and
/// clean; -EINVAL at a VMA that is not anonymous (ending the walk), -ENOMEM for a hole.
Task<> madvise_free(Kernel& k, AddressSpace& mm, Vaddr start, uint64_t len);
/// exit_mmap(): mmu_notifier_release() first, then a fullmm gather over everything.
Task<> exit_mmap(Kernel& k, AddressSpace& mm);

/// zap_page_range_single(): one VMA range with its own gather and notifier bracket.
Task<> zap_page_range_single(Kernel& k, AddressSpace& mm, Vma vma, VaRange range);
/// unmap_mapping_range(): zap every VMA in the file's i_mmap that maps pages
/// [first, first + nr), under i_mmap_rwsem; the mms' mmap_locks are not taken.
Task<> unmap_mapping_range(Kernel& k, uint32_t file, uint64_t first, uint64_t nr);
/// truncate_pagecache() for a hole [first, first + nr): unmap, drop the page cache, unmap again.
Task<> truncate_pagecache_range(Kernel& k, uint32_t file, uint64_t first, uint64_t nr);

}  // namespace tlbsim::kernel
