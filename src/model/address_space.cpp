// SPDX-License-Identifier: MIT
#include "model/address_space.h"

#include <algorithm>

namespace tlbsim {

AddressSpace::AddressSpace(MmId id, Asid asid, PhysMem& mem, std::string name)
    : mmap_lock(name + ".mmap_lock"), m_id(id), m_asid(asid), m_name(std::move(name)), m_pt(mem, id) {}

const Vma* AddressSpace::find_vma(uint64_t va) const {
  touch_field(false, kVmaTree);
  for (const Vma& v : m_vmas)
    if (!v.detached && v.contains(va)) return &v;
  return nullptr;
}

void AddressSpace::insert_vma(const Vma& v) {
  touch_field(true, kVmaTree);
  auto it = std::lower_bound(m_vmas.begin(), m_vmas.end(), v.start, [](const Vma& a, uint64_t s) { return a.start < s; });
  m_vmas.insert(it, v);
}

bool AddressSpace::overlaps(uint64_t start, uint64_t end) const {
  touch_field(false, kVmaTree);
  for (const Vma& v : m_vmas)
    if (!v.detached && v.start < end && start < v.end) return true;
  return false;
}

void AddressSpace::check_invariants() const {
  for (size_t i = 0; i < m_vmas.size(); ++i) {
    const Vma& v = m_vmas[i];
    TLBSIM_CHECK(v.start < v.end, m_name << ": empty VMA at " << hex(v.start));
    TLBSIM_CHECK((v.start | v.end) % kPageSize == 0, m_name << ": unaligned VMA");
    TLBSIM_CHECK(v.end <= kTaskSize, m_name << ": VMA above TASK_SIZE");
    if (i) TLBSIM_CHECK(m_vmas[i - 1].start <= v.start, m_name << ": VMAs out of order at " << hex(v.start));
    for (size_t j = 0; j < i; ++j)
      TLBSIM_CHECK(m_vmas[j].detached || v.detached || m_vmas[j].end <= v.start, m_name << ": live VMAs overlap at " << hex(v.start));
  }
  TLBSIM_CHECK(m_tlb_flush_pending >= 0, m_name << ": negative tlb_flush_pending");
  m_pt.check_invariants();
}

}  // namespace tlbsim
