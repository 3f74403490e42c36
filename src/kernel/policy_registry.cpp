// SPDX-License-Identifier: MIT
#include "kernel/policy.h"

namespace tlbsim::kernel {

namespace {
Policy make_old() {
  Policy p;
  p.name = "old";
  p.description = "Linux 6.0: invalidate_range() from range_end, tlb_flush_mmu_tlbonly() and *_clear_flush_notify()";
  return p;
}
Policy make_fixed() {
  Policy p;
  p.name = "fixed";
  p.description = "Linux 6.6: arch_invalidate_secondary_tlbs() wherever the CPU TLB is flushed (6bbd42e2df8f, ec8832d007cb)";
  p.sec_inv_from_range_end = false;
  p.sec_inv_from_tlbonly = false;
  p.sec_inv_from_notify_helpers = false;
  p.sec_inv_from_arch_flush = true;
  p.retract_page_tables_notifier = true;
  return p;
}
}  // namespace

const std::vector<Policy>& policies() {
  static const std::vector<Policy> all = [] {
    std::vector<Policy> v;
    v.push_back(make_old());
    v.push_back(make_fixed());
    {
      Policy p = make_old();
      p.name = "old+flush-points";
      p.description = "old with seed step 1 alone: invalidate at the CPU flush points (6bbd42e2df8f without ec8832d007cb)";
      p.sec_inv_from_tlbonly = false;
      p.sec_inv_from_arch_flush = true;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "old+fork-batch";
      p.description = "old with seed step 2 alone: fork sends one invalidate_range(0,-1) at flush_tlb_mm, not one per VMA";
      p.fork_sec_inv_at_flush_tlb_mm = true;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "old+no-empty-range";
      p.description = "old with seed step 3 alone: tlb_flush_mmu_tlbonly() sends (0,-1) instead of (~0,~0)";
      p.tlbonly_sends_full_range = true;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "v4.18";
      p.description = "old, with mremap flushing only dirty PTEs under the PTL (before eb66ae030829, CVE-2018-18281), mprotect without an mmu_gather (before 4a18419f71cd) and migrate_vma flushing after dropping the PTL (before 60bae7370896 and 6c287605fd56)";
      p.mremap_flush_dirty_only = true;
      p.migrate_vma_flush_after_unlock = true;
      p.migrate_vma_exclusive_clear_flush = false;
      p.mprotect_mmu_gather = false;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "v4.12";
      p.description = "v4.18, and tlb_finish_mmu() without the nested-gather flush (before 99baac21e458)";
      p.mremap_flush_dirty_only = true;
      p.migrate_vma_flush_after_unlock = true;
      p.migrate_vma_exclusive_clear_flush = false;
      p.mprotect_mmu_gather = false;
      p.tlb_finish_nested_flush = false;
      v.push_back(p);
    }
    return v;
  }();
  return all;
}

const Policy* find_policy(std::string_view name) {
  for (const Policy& p : policies())
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace tlbsim::kernel
