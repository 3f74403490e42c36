// SPDX-License-Identifier: MIT
#include "kernel/brk.h"

#include "kernel/locking.h"
#include "kernel/outcome.h"
#include "kernel/zap.h"

namespace tlbsim::kernel {

namespace {

/// The flags do_brk_flags() gives the heap: VM_DATA_DEFAULT_FLAGS (read, write, the "may"
/// bits; no VM_EXEC without READ_IMPLIES_EXEC), anonymous and private.
constexpr uint32_t kBrkFlags = uint32_t{kVmRead} | uint32_t{kVmWrite} | uint32_t{kVmMayWrite} | uint32_t{kVmAnon};

/// do_brk_flags(addr, len) with [addr, addr + len) free: vma_merge() extends the VMA ending at
/// addr when can_vma_merge_after() allows it (same flags, no file, anonymous pgoff contiguous),
/// else vm_area_alloc() + vma_link() of a new anonymous VMA. No PTE changes, so no flush.
void do_brk_flags(Kernel& k, AddressSpace& mm, uint64_t addr, uint64_t len) {
  for (Vma& prev : mm.vmas_mut()) {
    if (prev.detached || prev.end != addr) continue;
    if (prev.flags == kBrkFlags && prev.file == 0 && prev.pgoff + prev.pages() == addr >> kPageShift) {
      trace_call(k, "vma_merge", mm.id(), VaRange{prev.start, addr + len});
      prev.end = addr + len;  // vma_adjust() of vm_end only: no rmap lock (vm_start is unchanged)
      return;
    }
  }
  trace_call(k, "vma_link", mm.id(), VaRange{addr, addr + len});
  Vma v;
  v.start = addr;
  v.end = addr + len;
  v.flags = kBrkFlags;
  v.pgoff = addr >> kPageShift;
  v.anon_vma = k.new_anon_vma();
  v.seq = k.next_vma_seq();
  mm.insert_vma(v);
}

}  // namespace

Task<> sys_brk(Kernel& k, AddressSpace& mm, Vaddr brk_va) {
  const uint64_t brk = brk_va.value();
  co_await mmap_write_lock(k, mm);  // mmap_write_lock_killable()
  const uint64_t oldbrk = mm.brk();
  trace_call(k, "sys_brk", mm.id(), VaRange{oldbrk, brk});
  // min_brk is mm->start_brk (CONFIG_COMPAT_BRK off, or a randomised brk).
  if (brk < mm.start_brk()) {
    trace_call(k, "brk: below start_brk", mm.id(), VaRange{brk, oldbrk});
    mmap_write_unlock(k, mm);
    co_return;
  }
  if (brk == oldbrk) {
    mmap_write_unlock(k, mm);
    co_return;
  }
  if (brk < oldbrk) {
    // "Always allow shrinking brk": mm->brk is set while the write lock is still held, then
    // __do_munmap(mm, newbrk, oldbrk - newbrk, &uf, true) may downgrade it.
    mm.set_brk(brk);
    if (co_await do_munmap_downgrade(k, mm, VaRange{brk, oldbrk}))
      mmap_read_unlock(k, mm);
    else
      mmap_write_unlock(k, mm);
    co_return;
  }
  // find_vma(mm, oldbrk): the next mapping must start at least a page above the new break.
  // The system call then returns the unchanged break, which glibc's brk() reports as -1 with
  // errno ENOMEM.
  if (mm.overlaps(oldbrk, brk + kPageSize)) {
    syscall_error(k, "brk", mm.id(), VaRange{oldbrk, brk}, Errno::Enomem);
    mmap_write_unlock(k, mm);
    co_return;
  }
  do_brk_flags(k, mm, oldbrk, brk - oldbrk);
  mm.set_brk(brk);
  mmap_write_unlock(k, mm);
}

}  // namespace tlbsim::kernel
