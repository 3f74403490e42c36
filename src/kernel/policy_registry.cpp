// SPDX-License-Identifier: MIT
#include "kernel/policy.h"

#include <algorithm>
#include <charconv>

namespace tlbsim::kernel {

namespace {
Policy make_old() {
  Policy p;
  p.name = "old";
  p.release = "6.0";
  p.description = "Linux 6.0: invalidate_range() from range_end, tlb_flush_mmu_tlbonly() and *_clear_flush_notify()";
  p.decodings = {SvaDecoding::AmdV2, SvaDecoding::IntelSvm, SvaDecoding::SmmuV3Old};
  return p;
}
Policy make_fixed() {
  Policy p;
  p.name = "fixed";
  p.release = "6.6";
  p.description = "Linux 6.6: arch_invalidate_secondary_tlbs() wherever the CPU TLB is flushed (6bbd42e2df8f, ec8832d007cb)";
  p.sec_inv_from_range_end = false;
  p.sec_inv_from_tlbonly = false;
  p.sec_inv_from_notify_helpers = false;
  p.sec_inv_from_arch_flush = true;
  p.retract_page_tables_notifier = true;
  p.decodings = {SvaDecoding::AmdV2, SvaDecoding::IntelSvm, SvaDecoding::SmmuV3};
  return p;
}
/// A mainline release: `base` with what changed in it (mainline primer section 7).
Policy release(const Policy& base, const char* version, const char* description) {
  Policy p = base;
  p.name = std::string("v") + version;
  p.release = version;
  p.description = description;
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
      p.release.clear();
      p.description = "old with seed step 1 alone: invalidate at the CPU flush points (6bbd42e2df8f without ec8832d007cb)";
      p.sec_inv_from_tlbonly = false;
      p.sec_inv_from_arch_flush = true;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "old+fork-batch";
      p.release.clear();
      p.description = "old with seed step 2 alone: fork sends one invalidate_range(0,-1) at flush_tlb_mm, not one per VMA";
      p.fork_sec_inv_at_flush_tlb_mm = true;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "old+no-empty-range";
      p.release.clear();
      p.description = "old with seed step 3 alone: tlb_flush_mmu_tlbonly() sends (0,-1) instead of (~0,~0)";
      p.tlbonly_sends_full_range = true;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "v4.18";
      p.release = "4.18";
      p.description =
          "old, with mremap flushing only dirty PTEs under the PTL (before eb66ae030829, CVE-2018-18281), mprotect without an mmu_gather "
          "(before 4a18419f71cd), migrate_vma flushing after dropping the PTL (before 60bae7370896 and 6c287605fd56) and no "
          "MREMAP_DONTUNMAP (e346b3813067, v5.7)";
      p.mremap_flush_dirty_only = true;
      p.mremap_dontunmap = false;
      p.migrate_vma_flush_after_unlock = true;
      p.migrate_vma_exclusive_clear_flush = false;
      p.mprotect_mmu_gather = false;
      v.push_back(p);
    }
    {
      Policy p = make_old();
      p.name = "v4.12";
      p.release = "4.12";
      p.description = "v4.18, and tlb_finish_mmu() without the nested-gather flush (before 99baac21e458)";
      p.mremap_flush_dirty_only = true;
      p.migrate_vma_flush_after_unlock = true;
      p.migrate_vma_exclusive_clear_flush = false;
      p.mprotect_mmu_gather = false;
      p.tlb_finish_nested_flush = false;
      p.mremap_dontunmap = false;
      v.push_back(p);
    }
    // Mainline, each release from the one before (mainline primer sections 1-4 and 7).
    Policy p = release(make_fixed(), "6.10",
                       "fixed, with Intel's cache-tag decoder (4f609dbff51b; PIOTLB page count bug fixed by 0a3f6b346301, non-PASID full "
                       "device-TLB flush), AMD's SVA domain (1af95763e0a3; release flushes PASID 0, 474bf01ed9f0) and, from v6.9, arm64 "
                       "__flush_tlb_range() notifying before its completing DSB (\"Split __flush_tlb_range() to elide trailing DSB\")");
    p.decodings = {SvaDecoding::Amd610, SvaDecoding::Intel610, SvaDecoding::SmmuV3};
    p.arm64_range_notify_before_dsb = true;
    v.push_back(p);
    p = release(p, "6.11",
                "v6.10, with 0a3f6b346301 (Intel PIOTLB covers the widened block) and the SMMUv3 SVA domain (d38c28dbefee: TLBI issued "
                "even with BTM)");
    p.decodings.intel = SvaDecoding::Intel611;
    p.decodings.smmu = SvaDecoding::SmmuV3_611;
    v.push_back(p);
    p = release(p, "6.12",
                "v6.11, with Intel's batched invalidation (705c1cdf1e73) and AMD's release flushing the released PASID (8386207f37e9)");
    p.decodings.intel = SvaDecoding::Intel612;
    p.decodings.amd = SvaDecoding::Amd612;
    v.push_back(p);
    p = release(p, "6.15",
                "v6.12, with x86 flush_tlb_mm_range() notifying the caller's range, not (0,-1), when the CPU flush is full (4a02ed8e1cc3)");
    p.x86_notifier_caller_range = true;
    v.push_back(p);
    p = release(p, "6.16", "v6.15, with arm64 flush_tlb_batched_pending() doing flush_tlb_mm() (4b634918384c)");
    p.arm64_batched_pending_flush_mm = true;
    v.push_back(p);
    p = release(p, "6.17", "v6.16, with Intel's full flush sending the device-TLB invalidation with its PASID (3141153816bf)");
    p.decodings.intel = SvaDecoding::Intel617;
    v.push_back(p);
    p = release(p, "6.18",
                "v6.17: nothing the model covers changed (83b0177a6c48, the lazy mm_cpumask ordering fix, is CPU-only and needs a "
                "store-buffer model); the last release whose kernel page-table frees no IOMMU hears of");
    v.push_back(p);
    p = release(p, "6.19",
                "v6.18, with kernel page tables freed by a worker after invalidating (PAGE_OFFSET, -1) in every SVA mm (5ba2f0a15564, "
                "e37d5a2d60a3)");
    p.deferred_kernel_pgtable_free = true;
    v.push_back(p);
    p = release(p, "7.1",
                "v6.19, with Intel's PASID-selective PIOTLB from a 2^52-page block (b6fd468a052e) and SMMUv3's ATC span from the unreduced "
                "range (4202fddd01c7)");
    p.decodings.intel = SvaDecoding::Intel71;
    p.decodings.smmu = SvaDecoding::SmmuV3_71;
    v.push_back(p);
    return v;
  }();
  return all;
}

const Policy* find_policy(std::string_view name) {
  for (const Policy& p : policies())
    if (p.name == name) return &p;
  return nullptr;
}

std::vector<const Policy*> release_policies() {
  auto version = [](const std::string& r) {
    unsigned major = 0, minor = 0;
    const char* end = r.data() + r.size();
    auto [dot, ec] = std::from_chars(r.data(), end, major);
    if (ec == std::errc{} && dot != end) std::from_chars(dot + 1, end, minor);
    return std::pair{major, minor};
  };
  std::vector<const Policy*> out;
  for (const Policy& p : policies())
    if (!p.release.empty()) out.push_back(&p);
  std::stable_sort(out.begin(), out.end(), [&](const Policy* a, const Policy* b) { return version(a->release) < version(b->release); });
  return out;
}

}  // namespace tlbsim::kernel
