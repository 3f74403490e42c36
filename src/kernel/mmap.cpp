// SPDX-License-Identifier: MIT
#include "kernel/mmap.h"

#include "kernel/fault.h"
#include "kernel/locking.h"
#include "kernel/outcome.h"
#include "kernel/thp.h"
#include "kernel/vma_ops.h"
#include "kernel/zap.h"

namespace tlbsim::kernel {

namespace {

/// __mm_populate() -> populate_vma_page_range() -> __get_user_pages(): one mmap_read_lock hold
/// over the range; each page that follow_page_mask() finds missing or, for a write, read-only
/// is faulted in by faultin_page() -> handle_mm_fault(). A private writable mapping is
/// populated for writing (FOLL_WRITE breaks COW), anything else for reading. A range that is no
/// longer mapped (another thread unmapped it after the write lock dropped) is skipped, as
/// find_vma() does.
Task<> mm_populate(Kernel& k, AddressSpace& mm, uint64_t start, uint64_t end) {
  co_await mmap_read_lock(k, mm);
  trace_call(k, "__mm_populate", mm.id(), VaRange{start, end});
  for (uint64_t a = start; a < end; a += kPageSize) {
    const Vma* v = mm.find_vma(a);
    if (!v) continue;
    const bool write = (v->flags & (kVmWrite | kVmShared)) == kVmWrite;
    for (int tries = 0; tries < 4; ++tries) {
      const Pte pte = mm.pt().leaf(Vaddr{a});
      if (pte.present() && (!write || pte.writable())) break;  // follow_page_mask() found it
      co_await yield_point("faultin_page");
      if (co_await handle_mm_fault(k, mm, Vaddr{a}, write) == FaultResult::Sigsegv) break;
    }
  }
  mmap_read_unlock(k, mm);
}

}  // namespace

Task<> sys_mmap(Kernel& k, AddressSpace& mm, MmapRequest req) {
  const uint64_t start = req.addr;
  const uint64_t end = start + req.len;
  co_await mmap_write_lock(k, mm);
  trace_call(k, "do_mmap", mm.id(), VaRange{start, end});
  if (!req.fixed && mm.overlaps(start, end)) {
    // MAP_FIXED_NOREPLACE over an existing mapping.
    syscall_error(k, "mmap", mm.id(), VaRange{start, end}, Errno::Eexist);
    mmap_write_unlock(k, mm);
    co_return;
  }
  // mmap_region(): "Unmap any existing mapping in the area" with the write lock held throughout.
  co_await vma_adjust_trans_huge(k, mm, VaRange{start, end});  // do_munmap() -> __split_vma()
  std::vector<Vma> old = detach_range(k, mm, VaRange{start, end});
  if (!old.empty()) {
    trace_call(k, "do_munmap", mm.id(), VaRange{start, end});
    co_await unmap_region(k, mm, old, VaRange{start, end});
  }
  // vm_area_alloc(), call_mmap() or shmem_zero_setup(), vma_link(). Private mappings, and shared
  // ones of a file opened for writing (the model's files all are), get VM_MAYWRITE (do_mmap()).
  const uint32_t flags = uint32_t{kVmRead} | (req.writable ? uint32_t{kVmWrite} : 0u) | (req.shared ? uint32_t{kVmShared} : 0u);
  mmap_region(k, mm, Vaddr{start}, req.len, flags, req.file, req.pgoff);
  mmap_write_unlock(k, mm);
  if (req.populate) co_await mm_populate(k, mm, start, end);
}

}  // namespace tlbsim::kernel
