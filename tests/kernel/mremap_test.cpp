// SPDX-License-Identifier: MIT
// mremap's move_page_tables() (primer section 4): PTEs move under the PTLs, and the old range is
// flushed from the CPU before either PTL is dropped. OLD's only secondary invalidation is the
// final mmu_notifier_invalidate_range_end(old range); FIXED's ride on each flush_tlb_range().
#include <catch2/catch.hpp>

#include <algorithm>

#include "kernel/fault.h"
#include "kernel/mremap.h"
#include "kernel/page.h"
#include "kernel/path_checks.h"
#include "kernel/thp.h"

namespace tlbsim::kernel {
namespace {

using test::SvaMachine;

constexpr uint32_t kRw = kVmRead | kVmWrite;

void mremap(SvaMachine& m, uint64_t old_addr, uint64_t len, uint64_t new_addr) {
  Task<> t = sys_mremap(*m.k, *m.mm, Vaddr{old_addr}, len, Vaddr{new_addr});
  run_sync(t);
}

size_t find_mn(const test::Recorder& rec, const char* what, uint64_t start, uint64_t end) {
  return rec.find([&](const Event& e) {
    return test::is_notifier(e, what) && std::string(e.func) == "move_page_tables" && test::spans(e, start, end);
  });
}

SCENARIO("mremap moves PTEs and flushes the old extent under both PTLs", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  GIVEN("4 written pages in the middle of an 8-page anonymous VMA, cached by the device, under " + policy) {
    //  0x1000000  .OOOO...  (O = moved)      0x3001000  NNNN (destination, unmapped)
    SvaMachine m(policy);
    Kernel& k = *m.k;
    AddressSpace& mm = *m.mm;
    constexpr uint64_t kVma = 0x1000000, kOld = kVma + kPageSize, kLen = 4 * kPageSize, kNew = 0x3001000;
    mmap_region(k, mm, Vaddr{kVma}, 8 * kPageSize, kRw, 0, 0);
    populate(k, mm, Vaddr{kVma}, 8 * kPageSize, true);
    test::device_touch(m, kOld, kOld + kLen, true);
    test::cpu_touch(k, mm, kOld, kOld + kLen, true);
    std::vector<Pfn> pfns;
    for (uint64_t a = kOld; a < kOld + kLen; a += kPageSize) pfns.push_back(mm.pt().leaf(Vaddr{a}).pfn());
    const Pfn old_table = mm.pt().lookup(Vaddr{kOld}, 1).table;
    m.rec.clear();

    WHEN("the 4 pages are moved to 0x3001000") {
      mremap(m, kOld, kLen, kNew);
      const auto& rec = m.rec;
      const auto& ev = rec.events();
      const size_t mn_start = find_mn(rec, "mmu_notifier_invalidate_range_start", kOld, kOld + kLen);
      const size_t mn_end = find_mn(rec, "mmu_notifier_invalidate_range_end", kOld, kOld + kLen);
      REQUIRE(mn_start != test::Recorder::npos);
      REQUIRE(mn_end != test::Recorder::npos);
      const Pfn new_table = mm.pt().lookup(Vaddr{kNew}, 1).table;
      const std::string old_ptl = k.ptl(old_table).name(), new_ptl = k.ptl(new_table).name();
      const auto clears = test::indices(rec, [](const Event& e) { return test::is_pte_store(e, "ptep_get_and_clear"); });
      const size_t flush = rec.find([&](const Event& e) { return e.kind == EventKind::CpuFlush && test::spans(e, kOld, kOld + kLen); });
      const size_t unlock_new = rec.find([&](const Event& e) { return test::is_unlock(e, new_ptl); }, mn_start);
      const size_t unlock_old = rec.find([&](const Event& e) { return test::is_unlock(e, old_ptl); }, mn_start);

      THEN("the new range maps the same frames, the old one nothing, and the VMAs follow") {
        for (size_t i = 0; i < pfns.size(); ++i) {
          CHECK(mm.pt().leaf(Vaddr{kNew + i * kPageSize}).pfn() == pfns[i]);
          CHECK(mm.pt().leaf(Vaddr{kOld + i * kPageSize}).none());
        }
        const Vma* nv = mm.find_vma(kNew);
        REQUIRE(nv);
        CHECK(nv->end == kNew + kLen);
        CHECK(nv->index_of(kNew) == kOld >> kPageShift);
        CHECK(mm.find_vma(kOld) == nullptr);
        CHECK(mm.find_vma(kVma) != nullptr);
        CHECK(mm.find_vma(kOld + kLen) != nullptr);
        CHECK_FALSE(mm.mmap_lock.held());
      }

      THEN("the CPU flush of the old extent comes after the last PTE clear and before either PTL unlock") {
        REQUIRE(clears.size() == 4);
        REQUIRE(flush != test::Recorder::npos);
        CHECK(mn_start < clears.front());
        CHECK(clears.back() < flush);
        CHECK(flush < unlock_new);
        CHECK(unlock_new < unlock_old);  // new PTL first, then old
        CHECK(unlock_old < mn_end);
      }

      const auto sec = test::indices(rec, test::is_secondary_inv);
      if (policy == "old") {
        THEN("OLD: the only secondary invalidation of move_page_tables is MN_END(old range), after the CPU flush") {
          std::vector<size_t> in_move;
          for (size_t i : sec)
            if (i > mn_start && i <= mn_end + 1) in_move.push_back(i);
          REQUIRE(in_move.size() == 1);
          CHECK(in_move[0] == mn_end + 1);
          CHECK(std::string(ev[in_move[0]].func) == "mn_hlist_invalidate_end");
          CHECK(test::spans(ev[in_move[0]], kOld, kOld + kLen));
          CHECK(unlock_old < in_move[0]);
          // Nothing reached the IOMMU between the PTE moves and MN_END: the stale window.
          CHECK(rec.find([](const Event& e) { return e.kind == EventKind::InvCmd; }, mn_start) > mn_end);
        }
      } else {
        THEN("FIXED: flush_tlb_range under the PTLs carries the secondary invalidation before the PTL unlock") {
          REQUIRE(flush != test::Recorder::npos);
          const size_t inv = rec.find(test::is_secondary_inv, flush);
          REQUIRE(inv != test::Recorder::npos);
          CHECK(inv == flush + 1);
          CHECK(test::is_notifier(ev[inv], "arch_invalidate_secondary_tlbs"));
          CHECK(test::spans(ev[inv], kOld, kOld + kLen));
          const size_t sync = rec.find([](const Event& e) { return e.kind == EventKind::InvSync; }, inv);
          CHECK(sync < unlock_new);
          // MN_END no longer calls invalidate_range().
          CHECK_FALSE(test::is_secondary_inv(ev[mn_end + 1]));
        }
      }

      THEN("no cache keeps a translation of the old range, and the device finds the pages at the new one") {
        test::require_secondary_coherent(m, mm);
        test::require_cpu_coherent(k, mm);
        k.check_invariants();
        CHECK(m.io().dma(m.dev, *mm.pasid(), Vaddr{kOld}, false).fault == iommu::DmaFault::PageRequest);
        const iommu::DmaResult r = m.io().dma(m.dev, *mm.pasid(), Vaddr{kNew + kPageSize}, true);
        REQUIRE(r.ok());
        CHECK(r.pfn == pfns[1]);
      }
    }
  }
}

SCENARIO("mremap of a whole PMD moves the PTE table (move_normal_pmd) and flushes under the PMD lock", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kOld = 0x4000000, kNew = 0x8000000;
  mmap_region(k, mm, Vaddr{kOld}, kPmdSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kOld}, 4 * kPageSize, true);
  test::device_touch(m, kOld, kOld + 4 * kPageSize, true);
  const Pfn table = mm.pt().lookup(Vaddr{kOld}, 1).table;
  const Pfn first = mm.pt().leaf(Vaddr{kOld}).pfn();
  m.rec.clear();
  mremap(m, kOld, kPmdSize, kNew);
  const auto& rec = m.rec;
  const auto& ev = rec.events();

  CHECK(mm.pt().lookup(Vaddr{kNew}, 1).table == table);  // the same PTE table, now under the new PMD
  CHECK(mm.pt().leaf(Vaddr{kNew}).pfn() == first);
  CHECK(mm.pt().leaf(Vaddr{kOld}).none());

  const size_t clear = rec.find([](const Event& e) { return test::is_pte_store(e, "pmd_clear"); });
  const size_t populate_ = rec.find([](const Event& e) { return test::is_pte_store(e, "pmd_populate"); });
  const size_t flush = rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
  const Pfn pmd_table = mm.pt().lookup(Vaddr{kNew}, 2).table;
  const size_t pmd_unlock = rec.find([&](const Event& e) { return test::is_unlock(e, k.ptl(pmd_table).name()); });
  const size_t rmap_lock =
      rec.find([](const Event& e) { return e.kind == EventKind::Lock && std::string(e.func) == "anon_vma_lock_write"; },
               rec.find([](const Event& e) { return test::is_call(e, "move_page_tables"); }));
  REQUIRE(clear != test::Recorder::npos);
  CHECK(rmap_lock < clear);  // 97113eb39fa7: rmap locks around whole-table moves
  CHECK(clear < populate_);
  CHECK(populate_ < flush);
  CHECK(flush < pmd_unlock);
  // x86 widens 512 pages (> tlb_single_page_flush_ceiling) to a full flush.
  CHECK(test::spans(ev[flush], 0, kFlushAll));
  const size_t mn_end = find_mn(rec, "mmu_notifier_invalidate_range_end", kOld, kOld + kPmdSize);
  REQUIRE(mn_end != test::Recorder::npos);
  const size_t sec = rec.find(test::is_secondary_inv, clear);
  REQUIRE(sec != test::Recorder::npos);
  if (policy == "old") {
    CHECK(sec == mn_end + 1);
  } else {
    CHECK(sec == flush + 1);
    CHECK(test::spans(ev[sec], 0, kFlushAll));
    CHECK(sec < pmd_unlock);
  }
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("v4.18 mremap flushes clean PTEs only once at the end of move_page_tables (before eb66ae030829)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "v4.18", "old");
  GIVEN("4 pages across a PMD boundary: 2 clean ones in the first PTE table, 2 dirty ones in the next") {
    //  0x5fe000 cc|DD  ->  0x9fe000 cc|DD   (| = PMD boundary, c = clean, D = dirty)
    SvaMachine m(policy);
    Kernel& k = *m.k;
    AddressSpace& mm = *m.mm;
    constexpr uint64_t kOld = 0x5fe000, kNew = 0x9fe000, kLen = 4 * kPageSize, kMid = 0x600000;
    mmap_region(k, mm, Vaddr{kOld}, kLen, kRw, 0, 0);
    populate(k, mm, Vaddr{kOld}, 2 * kPageSize, false);
    populate(k, mm, Vaddr{kMid}, 2 * kPageSize, true);
    REQUIRE_FALSE(mm.pt().leaf(Vaddr{kOld}).dirty());
    REQUIRE(mm.pt().leaf(Vaddr{kMid}).dirty());
    test::device_touch(m, kOld, kOld + kLen, false);
    m.rec.clear();
    mremap(m, kOld, kLen, kNew);
    const auto& rec = m.rec;
    const size_t mn_start = find_mn(rec, "mmu_notifier_invalidate_range_start", kOld, kOld + kLen);
    const size_t mn_end = find_mn(rec, "mmu_notifier_invalidate_range_end", kOld, kOld + kLen);
    const auto flushes = test::indices(rec, [&](const Event& e) { return e.kind == EventKind::CpuFlush; });
    std::vector<const Event*> in_move;
    std::vector<size_t> at;
    for (size_t i : flushes)
      if (i > mn_start && i < mn_end) {
        in_move.push_back(&rec.events()[i]);
        at.push_back(i);
      }
    // The last PTL unlock of move_ptes (the later munmap of the old range locks them again).
    const size_t last_ptl_unlock = test::rfind(
        rec, [](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "pte_unmap_unlock"; }, mn_end);
    REQUIRE(in_move.size() == 2);
    if (policy == "v4.18") {
      THEN("the dirty extent is flushed under its PTL, the clean one only by the final whole-range flush") {
        CHECK(test::spans(*in_move[0], kMid, kMid + 2 * kPageSize));
        CHECK(test::spans(*in_move[1], kOld, kOld + kLen));
        CHECK(at[1] > last_ptl_unlock);
        CHECK(at[1] < mn_end);
      }
    } else {
      THEN("each extent with a present PTE is flushed under its own PTL") {
        CHECK(test::spans(*in_move[0], kOld, kMid));
        CHECK(test::spans(*in_move[1], kMid, kMid + 2 * kPageSize));
        CHECK(at[1] < last_ptl_unlock);
      }
    }
    THEN("the only secondary invalidation of move_page_tables is MN_END, after every CPU flush") {
      const size_t sec = rec.find(test::is_secondary_inv, mn_start);
      CHECK(sec == mn_end + 1);
      test::require_secondary_coherent(m, mm);
      k.check_invariants();
    }
  }
}

SCENARIO("mremap into the tail of a file VMA merges and moves under i_mmap_rwsem (need_rmap_locks)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  //  file f:   0123
  //  0x7000000 PP..      P = pages 0-1 (the merge target)
  //  0x2000000 OO        O = pages 2-3, moved to 0x7002000
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const uint32_t f = k.create_file("f", 4);
  constexpr uint64_t kPrev = 0x7000000, kOld = 0x2000000, kNew = kPrev + 2 * kPageSize;
  mmap_region(k, mm, Vaddr{kPrev}, 2 * kPageSize, kRw | kVmShared, f, 0);
  mmap_region(k, mm, Vaddr{kOld}, 2 * kPageSize, kRw | kVmShared, f, 2);
  populate(k, mm, Vaddr{kPrev}, 2 * kPageSize, true);
  populate(k, mm, Vaddr{kOld}, 2 * kPageSize, true);
  test::device_touch(m, kOld, kOld + 2 * kPageSize, true);
  const Pfn page2 = k.file(f).page(2);
  m.rec.clear();
  mremap(m, kOld, 2 * kPageSize, kNew);
  const auto& rec = m.rec;

  const Vma* merged = mm.find_vma(kNew);
  REQUIRE(merged);
  CHECK(merged->start == kPrev);
  CHECK(merged->end == kNew + 2 * kPageSize);
  CHECK(merged->pgoff == 0);
  CHECK(mm.pt().leaf(Vaddr{kNew}).pfn() == page2);
  const auto targets = rmap_vmas(k, page2);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].addr == kNew);

  const size_t moves = rec.find([](const Event& e) { return test::is_call(e, "move_page_tables"); });
  const size_t rlock = rec.find([&](const Event& e) { return test::is_lock(e, k.file(f).i_mmap_rwsem.name()); }, moves);
  const size_t clear = rec.find([](const Event& e) { return test::is_pte_store(e, "ptep_get_and_clear"); }, moves);
  const size_t flush = rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; }, moves);
  const size_t runlock = rec.find([&](const Event& e) { return test::is_unlock(e, k.file(f).i_mmap_rwsem.name()); }, moves);
  const size_t ptl_unlock =
      rec.find([](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "pte_unmap_unlock"; }, moves);
  CHECK(rlock < clear);
  CHECK(clear < flush);
  CHECK(flush < ptl_unlock);
  CHECK(ptl_unlock < runlock);
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("mremap unmaps whatever is mapped at the destination first (MREMAP_FIXED)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kOld = 0x1000000, kNew = 0x2000000;
  mmap_region(k, mm, Vaddr{kOld}, 2 * kPageSize, kRw, 0, 0);
  mmap_region(k, mm, Vaddr{kNew}, 4 * kPageSize, kRw, 0, 0);
  populate(k, mm, Vaddr{kOld}, 2 * kPageSize, true);
  populate(k, mm, Vaddr{kNew}, 4 * kPageSize, true);
  test::device_touch(m, kNew, kNew + 4 * kPageSize, true);
  const Pfn victim = mm.pt().leaf(Vaddr{kNew}).pfn();
  const Pfn moved = mm.pt().leaf(Vaddr{kOld}).pfn();
  m.rec.clear();
  mremap(m, kOld, 2 * kPageSize, kNew);
  CHECK(mm.pt().leaf(Vaddr{kNew}).pfn() == moved);
  CHECK_FALSE(k.mem().frame(victim).allocated);
  const Vma* tail = mm.find_vma(kNew + 2 * kPageSize);
  REQUIRE(tail);
  CHECK(tail->start == kNew + 2 * kPageSize);
  CHECK(mm.pt().leaf(Vaddr{kNew + 2 * kPageSize}).present());
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("mremap of a huge PMD moves it whole (move_huge_pmd) or splits it for a partial move", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kOld = 0x40000000, kNew = 0x60000000;
  mmap_region(k, mm, Vaddr{kOld}, kPmdSize, kRw, 0, 0);
  const Pfn head = map_huge_anon(k, mm, Vaddr{kOld});
  test::device_touch(m, kOld, kOld + 2 * kPageSize, true);
  m.rec.clear();
  SECTION("whole") {
    mremap(m, kOld, kPmdSize, kNew);
    unsigned level = 0;
    CHECK(mm.pt().leaf(Vaddr{kNew}, &level).pfn() == head);
    CHECK(level == 2);
    const size_t flush = m.rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
    const size_t unlock = m.rec.find([](const Event& e) { return e.kind == EventKind::Unlock; }, flush);
    const size_t sec = m.rec.find(test::is_secondary_inv);
    REQUIRE(flush != test::Recorder::npos);
    if (policy == "fixed")
      CHECK(sec < unlock);
    else
      CHECK(sec > unlock);
  }
  SECTION("the second half") {
    mremap(m, kOld + kPmdSize / 2, kPmdSize / 2, kNew);
    CHECK(mm.pt().leaf(Vaddr{kNew}).pfn() == Pfn{head.value() + 256});
    CHECK(mm.pt().leaf(Vaddr{kOld}).pfn() == head);
    CHECK(m.rec.find([](const Event& e) { return test::is_call(e, "__split_huge_pmd"); }) != test::Recorder::npos);
  }
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

SCENARIO("mremap with MREMAP_DONTUNMAP moves the PTEs and keeps the old VMA mapped and empty", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kOld = 0x1000000, kNew = 0x2000000, kLen = 4 * kPageSize;
  mmap_region(k, mm, Vaddr{kOld}, kLen, kRw, 0, 0);
  populate(k, mm, Vaddr{kOld}, kLen, true);
  test::device_touch(m, kOld, kOld + kLen, true);
  std::vector<Pfn> pfns;
  for (uint64_t a = kOld; a < kOld + kLen; a += kPageSize) pfns.push_back(mm.pt().leaf(Vaddr{a}).pfn());
  const uint32_t anon_vma = mm.find_vma(kOld)->anon_vma;
  m.rec.clear();

  GIVEN("the whole VMA moved under " + policy) {
    Task<> t = sys_mremap(k, mm, Vaddr{kOld}, kLen, Vaddr{kNew}, MremapFlags{.dontunmap = true});
    run_sync(t);

    THEN("the destination maps the old frames, the old VMA stays with no PTEs and leaves its anon_vma") {
      for (size_t i = 0; i < pfns.size(); ++i) {
        CHECK(mm.pt().leaf(Vaddr{kNew + i * kPageSize}).pfn() == pfns[i]);
        CHECK(mm.pt().leaf(Vaddr{kOld + i * kPageSize}).none());
      }
      const Vma* old_vma = mm.find_vma(kOld);
      REQUIRE(old_vma);
      CHECK(old_vma->start == kOld);
      CHECK(old_vma->end == kOld + kLen);
      CHECK(old_vma->anon_vma == 0);
      CHECK(mm.find_vma(kNew)->anon_vma == anon_vma);
      CHECK(m.rec.count(EventKind::SyscallError) == 0);
      // Nothing is freed, and the moved pages are found by rmap at their new address only.
      for (size_t i = 0; i < pfns.size(); ++i) {
        CHECK(k.mem().frame(pfns[i]).allocated);
        const std::vector<RmapTarget> vmas = rmap_vmas(k, pfns[i]);
        REQUIRE(vmas.size() == 1);
        CHECK(vmas[0].addr == kNew + i * kPageSize);
      }
      test::require_secondary_coherent(m, mm);
      k.check_invariants();
    }

    THEN("a read of the old range faults in a fresh page under a new anon_vma, with no signal") {
      m.rec.clear();
      Task<> r = user_access(k, 0, mm, Vaddr{kOld}, false);
      run_sync(r);
      CHECK(m.rec.count(EventKind::Signal) == 0);
      const Pte pte = mm.pt().leaf(Vaddr{kOld});
      REQUIRE(pte.present());
      CHECK(std::find(pfns.begin(), pfns.end(), pte.pfn()) == pfns.end());
      const uint32_t fresh = mm.find_vma(kOld)->anon_vma;
      CHECK(fresh != 0);
      CHECK(fresh != anon_vma);
      k.check_invariants();
    }
  }

  GIVEN("the last half of the VMA moved under " + policy) {
    Task<> t = sys_mremap(k, mm, Vaddr{kOld + kLen / 2}, kLen / 2, Vaddr{kNew}, MremapFlags{.dontunmap = true});
    run_sync(t);
    THEN("the first half keeps its pages, the old VMA its whole range and its anon_vma") {
      CHECK(mm.pt().leaf(Vaddr{kOld}).pfn() == pfns[0]);
      CHECK(mm.pt().leaf(Vaddr{kOld + kLen / 2}).none());
      CHECK(mm.pt().leaf(Vaddr{kNew}).pfn() == pfns[2]);
      const Vma* old_vma = mm.find_vma(kOld + kLen / 2);
      REQUIRE(old_vma);
      CHECK(old_vma->start == kOld);
      CHECK(old_vma->end == kOld + kLen);
      CHECK(old_vma->anon_vma == anon_vma);
      test::require_secondary_coherent(m, mm);
      k.check_invariants();
    }
  }
}

TEST_CASE("mremap with MREMAP_DONTUNMAP is -EINVAL before v5.7 and on a VM_PFNMAP mapping, and moves nothing", "[kernel][policy]") {
  for (const char* policy : {"v4.18", "v4.12"}) {
    SvaMachine m(policy);
    constexpr uint64_t kOld = 0x1000000, kNew = 0x2000000;
    mmap_region(*m.k, *m.mm, Vaddr{kOld}, kPageSize, kRw, 0, 0);
    populate(*m.k, *m.mm, Vaddr{kOld}, kPageSize, true);
    m.rec.clear();
    Task<> t = sys_mremap(*m.k, *m.mm, Vaddr{kOld}, kPageSize, Vaddr{kNew}, MremapFlags{.dontunmap = true});
    run_sync(t);
    INFO(policy);
    const auto errs = m.rec.of(EventKind::SyscallError);
    REQUIRE(errs.size() == 1);
    CHECK(errs[0]->new_val == static_cast<uint64_t>(Errno::Einval));
    CHECK(m.mm->pt().leaf(Vaddr{kOld}).present());
    CHECK(m.mm->find_vma(kNew) == nullptr);
    CHECK_FALSE(m.mm->mmap_lock.held());
  }
  SvaMachine m("fixed");
  constexpr uint64_t kOld = 0x1000000, kNew = 0x2000000;
  mmap_region(*m.k, *m.mm, Vaddr{kOld}, kPageSize, kRw | kVmPfnMap, 0, 0);
  m.rec.clear();
  Task<> t = sys_mremap(*m.k, *m.mm, Vaddr{kOld}, kPageSize, Vaddr{kNew}, MremapFlags{.dontunmap = true});
  run_sync(t);
  const auto errs = m.rec.of(EventKind::SyscallError);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0]->new_val == static_cast<uint64_t>(Errno::Einval));
  CHECK(m.mm->find_vma(kNew) == nullptr);
  CHECK_FALSE(m.mm->mmap_lock.held());
}

}  // namespace
}  // namespace tlbsim::kernel
