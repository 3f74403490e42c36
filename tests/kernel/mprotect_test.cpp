// SPDX-License-Identifier: MIT
// mprotect as since v5.19 (4a18419f71cd), so in 6.0 and 6.6 alike: one mmu_gather around the
// whole call, PTEs rewritten under the PTL inside a lazily started MMU_NOTIFY_PROTECTION_VMA
// bracket, the PTEs that pte_needs_flush() gathered and flushed at tlb_end_vma() (arm64) or
// tlb_finish_mmu() (x86). OLD invalidates the IOMMU at the bracket's end, before the CPU flush,
// and again from tlb_flush_mmu_tlbonly(); FIXED inside the flush. The v4.18 policy keeps the
// walk without a gather (one flush_tlb_range() at its end).
#include <catch2/catch.hpp>

#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/mprotect.h"
#include "kernel/path_checks.h"
#include "kernel/thp.h"

namespace tlbsim::kernel {
namespace {

using test::SvaMachine;

constexpr uint32_t kRw = kVmRead | kVmWrite;

void mprotect(SvaMachine& m, uint64_t start, uint64_t len, bool writable) {
  Task<> t = sys_mprotect(*m.k, *m.mm, Vaddr{start}, len, writable);
  run_sync(t);
}

SCENARIO("mprotect(PROT_READ) write-protects every PTE and invalidates the device before returning", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  GIVEN("4 pages written by the CPU and the device, under " + policy) {
    SvaMachine m(policy);
    Kernel& k = *m.k;
    AddressSpace& mm = *m.mm;
    constexpr uint64_t kVa = 0x1000000, kLen = 4 * kPageSize;
    mmap_region(k, mm, Vaddr{kVa}, kLen, kRw, 0, 0);
    populate(k, mm, Vaddr{kVa}, kLen, true);
    test::device_touch(m, kVa, kVa + kLen, true);
    test::cpu_touch(k, mm, kVa, kVa + kLen, true);
    const std::string ptl = k.ptl(mm.pt().lookup(Vaddr{kVa}, 1).table).name();
    m.rec.clear();
    WHEN("the range becomes read-only") {
      mprotect(m, kVa, kLen, false);
      const auto& rec = m.rec;
      const auto& ev = rec.events();
      const size_t mn_start = rec.find([](const Event& e) { return test::is_notifier(e, "mmu_notifier_invalidate_range_start"); });
      const size_t mn_end = rec.find([](const Event& e) { return test::is_notifier(e, "mmu_notifier_invalidate_range_end"); });
      const auto starts = test::indices(rec, [](const Event& e) { return test::is_pte_store(e, "ptep_modify_prot_start"); });
      const auto commits = test::indices(rec, [](const Event& e) { return test::is_pte_store(e, "ptep_modify_prot_commit"); });
      const size_t unlock = rec.find([&](const Event& e) { return test::is_unlock(e, ptl); });
      const size_t flush = rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
      const auto sec = test::indices(rec, test::is_secondary_inv);

      const size_t finish = rec.find([](const Event& e) { return test::is_call(e, "tlb_finish_mmu"); });
      THEN("each PTE goes through none to read-only under the PTL, inside the bracket, with one flush at tlb_finish_mmu") {
        REQUIRE(starts.size() == 4);
        REQUIRE(commits.size() == 4);
        for (size_t i = 0; i < 4; ++i) {
          CHECK(starts[i] + 1 == commits[i]);
          CHECK(ev[starts[i]].new_val == 0);
          CHECK_FALSE(Pte{ev[commits[i]].new_val}.writable());
        }
        CHECK(test::spans(ev[mn_start], kVa, kVa + kLen));
        CHECK(mn_start < starts.front());
        CHECK(commits.back() < unlock);
        CHECK(unlock < mn_end);
        CHECK(mn_end < finish);
        CHECK(finish < flush);
        CHECK(test::spans(ev[flush], kVa, kVa + kLen));
        CHECK(rec.count(EventKind::CpuFlush) == 1);
        CHECK(mm.tlb_flush_pending() == 0);
        CHECK_FALSE(mm.find_vma(kVa)->writable());
        CHECK_FALSE(mm.mmap_lock.held());
      }
      if (policy == "old") {
        THEN("OLD: the IOMMU is invalidated at MN_END, before the CPU flush, and again by tlb_flush_mmu_tlbonly()") {
          REQUIRE(sec.size() == 2);
          CHECK(sec[0] == mn_end + 1);
          CHECK(test::spans(ev[sec[0]], kVa, kVa + kLen));
          CHECK(rec.find([](const Event& e) { return e.kind == EventKind::InvSync; }) < flush);
          CHECK(sec[1] > flush);
          CHECK(test::spans(ev[sec[1]], kVa, kVa + kLen));
        }
      } else {
        THEN("FIXED: the IOMMU is invalidated inside flush_tlb_range, right after the CPU") {
          REQUIRE(sec.size() == 1);
          CHECK(sec[0] == flush + 1);
          CHECK(test::is_notifier(ev[sec[0]], "arch_invalidate_secondary_tlbs"));
          CHECK(test::spans(ev[sec[0]], kVa, kVa + kLen));
        }
      }
      THEN("no cache keeps a writable translation") {
        test::require_secondary_coherent(m, mm);
        test::require_cpu_coherent(k, mm);
        k.check_invariants();
        CHECK(m.io().dma(m.dev, *mm.pasid(), Vaddr{kVa}, true).fault == iommu::DmaFault::PageRequest);
      }
    }
  }
}

SCENARIO("mprotect(PROT_READ|PROT_WRITE) makes only dirty exclusive pages writable (can_change_pte_writable)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  //  0x1000000  DDcc   (D written: dirty; c read: clean)      0x2000000  SS (shared anonymous)
  constexpr uint64_t kVa = 0x1000000, kShared = 0x2000000;
  mmap_region(k, mm, Vaddr{kVa}, 4 * kPageSize, kRw, 0, 0);
  mmap_region(k, mm, Vaddr{kShared}, 2 * kPageSize, kRw | kVmShared, 0, 0);
  populate(k, mm, Vaddr{kVa}, 2 * kPageSize, true);
  populate(k, mm, Vaddr{kVa + 2 * kPageSize}, 2 * kPageSize, false);
  populate(k, mm, Vaddr{kShared}, 2 * kPageSize, false);
  mprotect(m, kVa, 4 * kPageSize, false);
  mprotect(m, kShared, 2 * kPageSize, false);
  test::device_touch(m, kVa, kVa + 4 * kPageSize, false);
  m.rec.clear();
  mprotect(m, kVa, 4 * kPageSize, true);
  mprotect(m, kShared, 2 * kPageSize, true);
  CHECK(mm.pt().leaf(Vaddr{kVa}).writable());
  CHECK(mm.pt().leaf(Vaddr{kVa + kPageSize}).writable());
  CHECK_FALSE(mm.pt().leaf(Vaddr{kVa + 2 * kPageSize}).writable());
  CHECK_FALSE(mm.pt().leaf(Vaddr{kVa + 3 * kPageSize}).writable());
  // Shared without write notification: vm_page_prot itself carries write.
  CHECK(mm.pt().leaf(Vaddr{kShared}).writable());
  CHECK(mm.pt().leaf(Vaddr{kShared + kPageSize}).writable());
  CHECK(mm.find_vma(kVa)->writable());
  // x86 pte_needs_flush(): a change of RW flushes, in either direction, so both calls flush the
  // PTEs they made writable (the clean private pages stay read-only and are not gathered). FIXED
  // reaches the IOMMU once per flush; OLD at each MN_END and each tlb_flush_mmu_tlbonly().
  const auto flushes = test::indices(m.rec, [](const Event& e) { return e.kind == EventKind::CpuFlush; });
  REQUIRE(flushes.size() == 2);
  CHECK(test::spans(m.rec.events()[flushes[0]], kVa, kVa + 2 * kPageSize));
  CHECK_FALSE(test::spans(m.rec.events()[flushes[0]], kVa, kVa + 3 * kPageSize));
  CHECK(test::indices(m.rec, test::is_secondary_inv).size() == (policy == "old" ? 4u : 2u));
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("mprotect(PROT_WRITE) keeps a page shared with a fork child read-only", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kVa = 0x1000000;
  mmap_region(k, mm, Vaddr{kVa}, kPageSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kVa}, kPageSize, true);
  Task<AddressSpace*> f = sys_fork(k, mm, "child");
  run_sync(f);
  mprotect(m, kVa, kPageSize, false);
  mprotect(m, kVa, kPageSize, true);
  CHECK(mm.pt().leaf(Vaddr{kVa}).dirty());
  CHECK_FALSE(mm.pt().leaf(Vaddr{kVa}).writable());
  k.check_invariants();
}

SCENARIO("mprotect starts the notifier bracket at the first populated PMD", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  //  0x10000000 |................|..PP............|   two PMDs, only the second populated
  constexpr uint64_t kVa = 0x10000000, kSecond = kVa + kPmdSize;
  mmap_region(k, mm, Vaddr{kVa}, 2 * kPmdSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kSecond + 2 * kPageSize}, 2 * kPageSize, true);
  test::device_touch(m, kSecond + 2 * kPageSize, kSecond + 4 * kPageSize, true);
  m.rec.clear();
  mprotect(m, kVa, 2 * kPmdSize, false);
  const auto mn = test::indices(m.rec, [](const Event& e) { return test::is_notifier(e, "mmu_notifier_invalidate_range_start"); });
  REQUIRE(mn.size() == 1);
  CHECK(test::spans(m.rec.events()[mn[0]], kSecond, kVa + 2 * kPmdSize));
  // The gather flushes the two pages it changed, not the 1024 of the call.
  const size_t flush = m.rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
  REQUIRE(flush != test::Recorder::npos);
  CHECK(test::spans(m.rec.events()[flush], kSecond + 2 * kPageSize, kSecond + 4 * kPageSize));
  CHECK_FALSE(test::spans(m.rec.events()[flush], kSecond, kSecond + 5 * kPageSize));
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("mprotect of part of a VMA splits it and touches only that part", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  //  0x1000000 ABBC -> A and C stay writable, BB read-only
  constexpr uint64_t kVa = 0x1000000;
  mmap_region(k, mm, Vaddr{kVa}, 4 * kPageSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kVa}, 4 * kPageSize, true);
  test::device_touch(m, kVa, kVa + 4 * kPageSize, true);
  m.rec.clear();
  mprotect(m, kVa + kPageSize, 2 * kPageSize, false);
  REQUIRE(mm.vmas().size() == 3);
  CHECK(mm.vmas()[0].writable());
  CHECK_FALSE(mm.vmas()[1].writable());
  CHECK(mm.vmas()[1].start == kVa + kPageSize);
  CHECK(mm.vmas()[1].end == kVa + 3 * kPageSize);
  CHECK(mm.vmas()[2].writable());
  CHECK(mm.pt().leaf(Vaddr{kVa}).writable());
  CHECK_FALSE(mm.pt().leaf(Vaddr{kVa + kPageSize}).writable());
  CHECK(mm.pt().leaf(Vaddr{kVa + 3 * kPageSize}).writable());
  CHECK(test::indices(m.rec, [](const Event& e) { return test::is_pte_store(e, "ptep_modify_prot_commit"); }).size() == 2);
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("mprotect over nothing populated sends no notifier call and no flush", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  mmap_region(*m.k, *m.mm, Vaddr{0x1000000}, 4 * kPageSize, kRw, 0, 0);
  m.rec.clear();
  mprotect(m, 0x1000000, 4 * kPageSize, false);
  CHECK(m.rec.count(EventKind::Notifier) == 0);
  CHECK(m.rec.count(EventKind::CpuFlush) == 0);
  CHECK_FALSE(m.mm->find_vma(0x1000000)->writable());
  m.k->check_invariants();
}

SCENARIO("mprotect of a whole huge PMD rewrites it under the PMD lock (change_huge_pmd)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kH = 0x40000000;
  mmap_region(k, mm, Vaddr{kH}, kPmdSize, kRw, 0, 0);
  map_huge_anon(k, mm, Vaddr{kH});
  test::device_touch(m, kH, kH + 2 * kPageSize, true);
  m.rec.clear();
  SECTION("whole") {
    mprotect(m, kH, kPmdSize, false);
    unsigned level = 0;
    CHECK_FALSE(mm.pt().leaf(Vaddr{kH}, &level).writable());
    CHECK(level == 2);
    // x86 pmdp_invalidate_ad(): non-present, no flush yet; the gather flushes the 2 MiB later.
    const size_t inval = m.rec.find([](const Event& e) { return test::is_pte_store(e, "pmdp_invalidate_ad"); });
    const size_t set = m.rec.find([](const Event& e) { return test::is_pte_store(e, "set_pmd_at"); });
    const size_t flush = m.rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
    REQUIRE(inval != test::Recorder::npos);
    CHECK(inval < set);
    REQUIRE(flush != test::Recorder::npos);
    CHECK(set < flush);
    CHECK(test::spans(m.rec.events()[flush], kH, kH + kPmdSize));
  }
  SECTION("a part: the huge PMD is split at the new VMA boundary first") {
    mprotect(m, kH, kPageSize * 16, false);
    unsigned level = 0;
    CHECK_FALSE(mm.pt().leaf(Vaddr{kH}, &level).writable());
    CHECK(level == 1);
    CHECK(mm.pt().leaf(Vaddr{kH + 16 * kPageSize}).writable());
  }
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

kernel::MachineConfig arm64() {
  kernel::MachineConfig c;
  c.arch = kernel::Arch::Arm64;
  return c;
}

SCENARIO("x86 mprotect(PROT_READ|PROT_WRITE) of clean private pages changes no flag and flushes nothing", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kVa = 0x1000000;
  mmap_region(k, mm, Vaddr{kVa}, 2 * kPageSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kVa}, 2 * kPageSize, false);
  mprotect(m, kVa, 2 * kPageSize, false);
  test::device_touch(m, kVa, kVa + 2 * kPageSize, false);
  m.rec.clear();
  mprotect(m, kVa, 2 * kPageSize, true);
  CHECK(mm.find_vma(kVa)->writable());
  CHECK_FALSE(mm.pt().leaf(Vaddr{kVa}).writable());
  // pte_needs_flush(): read-only and clean before and after, so nothing is gathered.
  CHECK(m.rec.count(EventKind::CpuFlush) == 0);
  // OLD still invalidates at the bracket's end (the PMD was populated); FIXED has no flush to follow.
  CHECK(test::indices(m.rec, test::is_secondary_inv).size() == (policy == "old" ? 1u : 0u));
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("arm64 mprotect flushes at tlb_end_vma(), before tlb_finish_mmu()", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy, SvaDecoding::AmdV2, arm64());
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kVa = 0x1000000;
  mmap_region(k, mm, Vaddr{kVa}, 2 * kPageSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kVa}, 2 * kPageSize, true);
  test::device_touch(m, kVa, kVa + 2 * kPageSize, true);
  m.rec.clear();
  mprotect(m, kVa, 2 * kPageSize, false);
  const size_t mn_end = m.rec.find([](const Event& e) { return test::is_notifier(e, "mmu_notifier_invalidate_range_end"); });
  const size_t flush = m.rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
  const size_t finish = m.rec.find([](const Event& e) { return test::is_call(e, "tlb_finish_mmu"); });
  REQUIRE(flush != test::Recorder::npos);
  CHECK(mn_end < flush);
  CHECK(flush < finish);
  CHECK(m.rec.count(EventKind::CpuFlush) == 1);
  test::require_secondary_coherent(m, mm);
  test::require_cpu_coherent(k, mm);
  k.check_invariants();
}

SCENARIO("v4.18 mprotect has no gather: one flush_tlb_range() over the whole range", "[kernel][policy]") {
  SvaMachine m("v4.18");
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kVa = 0x1000000;
  mmap_region(k, mm, Vaddr{kVa}, 4 * kPageSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kVa + kPageSize}, kPageSize, true);
  test::device_touch(m, kVa + kPageSize, kVa + 2 * kPageSize, true);
  m.rec.clear();
  mprotect(m, kVa, 4 * kPageSize, false);
  const size_t flush = m.rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
  REQUIRE(flush != test::Recorder::npos);
  CHECK(test::spans(m.rec.events()[flush], kVa, kVa + 4 * kPageSize));
  CHECK(m.rec.find([](const Event& e) { return test::is_call(e, "tlb_gather_mmu"); }) == test::Recorder::npos);
  CHECK(mm.tlb_flush_pending() == 0);
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

}  // namespace
}  // namespace tlbsim::kernel
