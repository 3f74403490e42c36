// SPDX-License-Identifier: MIT
#include "kernel/vma_ops.h"

namespace tlbsim::kernel {

void split_at(Kernel& k, AddressSpace& mm, Vaddr addr_va) {
  const uint64_t addr = addr_va.value();
  auto& list = mm.vmas_mut();
  for (size_t i = 0; i < list.size(); ++i) {
    Vma& v = list[i];
    if (v.detached || !(v.start < addr && addr < v.end)) continue;
    Vma tail = v;
    tail.start = addr;
    tail.pgoff = v.index_of(addr);
    tail.seq = k.next_vma_seq();
    v.end = addr;
    mm.insert_vma(tail);
    return;
  }
}

std::vector<Vma> detach_range(Kernel& k, AddressSpace& mm, VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  split_at(k, mm, Vaddr{start});
  split_at(k, mm, Vaddr{end});
  std::vector<Vma> out;
  for (Vma& v : mm.vmas_mut())
    if (!v.detached && v.start >= start && v.end <= end) {
      v.detached = true;
      out.push_back(v);
    }
  return out;
}

std::vector<Vma> vmas_in(const AddressSpace& mm, VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  std::vector<Vma> out;
  for (const Vma& v : mm.vmas())
    if (!v.detached && v.start < end && start < v.end) out.push_back(v);
  return out;
}

}  // namespace tlbsim::kernel
