// SPDX-License-Identifier: MIT
// THP split and khugepaged collapse (primer 7.5) under both notifier policies.
#include <catch2/catch.hpp>

#include "kernel/page.h"
#include "kernel/rmap_test_support.h"
#include "kernel/thp.h"
#include "kernel/zap.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {
constexpr uint64_t kH = 0x40000000;  // 2 MiB aligned
constexpr uint64_t kSub = kH + 5 * kPageSize;

void split(SvaMachine& m, uint64_t addr) {
  kernel::Task<> t = kernel::__split_huge_pmd(*m.k, *m.mm, *m.mm->find_vma(addr), Vaddr{addr});
  kernel::run_sync(t);
}

bool is_huge_atc_entry(SvaMachine& m) {
  bool huge = false;
  m.io().atc(m.dev).for_each([&](const CachedTranslation& c) { huge |= c.huge; });
  return huge;
}
}  // namespace

SCENARIO("splitting an anonymous huge PMD: OLD sends no secondary invalidation", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kH}, kPmdSize, kVmRead | kVmWrite, 0, 0);
  const Pfn hpage = kernel::map_huge_anon(*m.k, *m.mm, Vaddr{kH});
  device_touch(m, kSub, kSub + kPageSize, true);
  cpu_touch(*m.k, *m.mm, kSub, kSub + kPageSize, true);
  REQUIRE(is_huge_atc_entry(m));
  m.rec.clear();

  WHEN("the PMD is split") {
    split(m, kSub);
    const Recorder& r = m.rec;
    THEN("[" + policy + "] PMD invalid, CPU flush (FIXED: + SEC_INV), 512 PTEs, pmd_populate") {
      const size_t inv_pmd = r.find([](const Event& e) { return is_pte_at(e, "pmdp_invalidate", kH); });
      REQUIRE(inv_pmd != Recorder::npos);
      CHECK_FALSE(Pte{r.events()[inv_pmd].new_val}.present());
      const size_t flush = r.find(is_cpu_flush, inv_pmd);
      CHECK(spans(r.events()[flush], kH, kH + kPmdSize));
      const size_t first_pte = r.find([](const Event& e) { return is_pte_at(e, "set_pte_at", kH); });
      const size_t populate = r.find([](const Event& e) { return is_pte_at(e, "pmd_populate", kH); });
      CHECK(flush < first_pte);
      CHECK(first_pte < populate);
      CHECK(indices(r, [](const Event& e) { return is_pte_store(e, "set_pte_at"); }).size() == 512);
      const size_t inv = r.find(is_secondary_inv);
      if (policy == "fixed") {
        CHECK(flush < inv);
        CHECK(inv < first_pte);
        CHECK(spans(r.events()[inv], kH, kH + kPmdSize));
        CHECK(r.find([](const Event& e) { return is_notifier(e, "mmu_notifier_invalidate_range_end"); }) != Recorder::npos);
        CHECK_FALSE(is_huge_atc_entry(m));
      } else {
        CHECK(inv == Recorder::npos);
        CHECK(r.find([](const Event& e) { return is_notifier(e, "mmu_notifier_invalidate_range_only_end"); }) != Recorder::npos);
        // The device keeps its 2 MiB translation: the same pages, so nothing is stale.
        CHECK(is_huge_atc_entry(m));
      }
      unsigned level = 0;
      const Pte pte = m.mm->pt().leaf(Vaddr{kSub}, &level);
      CHECK(level == 1);
      CHECK(pte.pfn() == Pfn{hpage.value() + 5});
      CHECK(pte.writable());
      require_all_coherent(m);
      m.k->check_invariants();

      AND_WHEN("one 4 KiB page is zapped afterwards") {
        kernel::Task<> z = kernel::madvise_dontneed(*m.k, *m.mm, Vaddr{kH + 7 * kPageSize}, kPageSize);
        kernel::run_sync(z);
        THEN("its invalidation also drops a cached 2 MiB entry covering it") {
          CHECK_FALSE(is_huge_atc_entry(m));
          require_all_coherent(m);
          m.k->check_invariants();
        }
      }
    }
  }
}

SCENARIO("splitting a file huge PMD clears it with pmdp_huge_clear_flush_notify", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  const uint32_t f = m.k->create_file("f", 512);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kH}, kPmdSize, kVmRead | kVmShared, f, 0);
  const Pfn hpage = kernel::map_huge_file(*m.k, *m.mm, Vaddr{kH}, false);
  device_touch(m, kSub, kSub + kPageSize, false);
  m.rec.clear();
  split(m, kSub);
  const Recorder& r = m.rec;
  const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "pmdp_huge_get_and_clear", kH); });
  REQUIRE(clr != Recorder::npos);
  const size_t flush = r.find(is_cpu_flush, clr);
  const size_t inv = r.find(is_secondary_inv, clr);
  const size_t unlock = r.find([](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "spin_unlock"; }, clr);
  CHECK(flush < inv);
  CHECK(inv < unlock);  // under the PMD lock in both policies
  CHECK(std::string(r.events()[inv].func) == (policy == "fixed" ? "flush_tlb_mm_range" : "pmdp_huge_clear_flush_notify"));
  // Exactly one secondary invalidation: OLD ends with _only_end.
  CHECK(indices(r, is_secondary_inv).size() == 1);
  CHECK(m.mm->pt().leaf(Vaddr{kSub}).none());
  CHECK(m.k->mem().mapcount(Pfn{hpage.value() + 5}) == 0);
  CHECK(m.k->mem().refcount(Pfn{hpage.value() + 5}) == 1);  // the page cache's
  // A later access maps the page-cache page with a 4 KiB PTE.
  kernel::populate(*m.k, *m.mm, Vaddr{kSub}, kPageSize, false);
  unsigned level = 0;
  CHECK(m.mm->pt().leaf(Vaddr{kSub}, &level).pfn() == Pfn{hpage.value() + 5});
  CHECK(level == 1);
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("khugepaged collapse invalidates the secondary TLB before copying and freeing", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kH}, kPmdSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kH}, 16 * kPageSize, true);  // 16 pages present, the rest pte_none
  device_touch(m, kSub, kSub + kPageSize, true);
  cpu_touch(*m.k, *m.mm, kSub, kSub + kPageSize, true);
  const Pfn small = m.mm->pt().leaf(Vaddr{kSub}).pfn();
  const Pfn pte_table = m.mm->pt().lookup(Vaddr{kH}, 1).table;
  const uint32_t content = m.k->mem().content(small);
  m.rec.clear();

  kernel::Task<bool> t = kernel::collapse_huge_page(*m.k, *m.mm, Vaddr{kH});
  REQUIRE(kernel::run_sync(t));
  const Recorder& r = m.rec;
  const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "pmdp_huge_get_and_clear", kH); });
  REQUIRE(clr != Recorder::npos);
  const size_t flush = r.find(is_cpu_flush, clr);
  const size_t unlock = r.find([](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "spin_unlock"; }, clr);
  const size_t end = r.find([](const Event& e) { return is_notifier(e, "mmu_notifier_invalidate_range_end"); }, clr);
  const size_t inv = r.find(is_secondary_inv, clr);
  const size_t sync = r.find(is_inv_sync, inv);
  const size_t copy = r.find(is_copy);
  const size_t free_small = r.find([&](const Event& e) { return is_free_of(e, small); });
  const size_t free_table = r.find([&](const Event& e) { return is_free_of(e, pte_table); });
  const size_t set_pmd = r.find([](const Event& e) { return is_pte_at(e, "set_pmd_at", kH); });
  // flush_tlb_range() of 512 pages is above x86's 33-page ceiling: a full flush, and FIXED
  // passes the widened (0, -1) on.
  CHECK(spans(r.events()[flush], 0, kFlushAll));
  if (policy == "fixed") {
    CHECK(flush < inv);
    CHECK(inv < unlock);
    CHECK(spans(r.events()[inv], 0, kFlushAll));
  } else {
    CHECK(end < inv);
    CHECK(std::string(r.events()[inv].func) == "mn_hlist_invalidate_end");
  }
  CHECK(sync < copy);
  CHECK(copy < free_small);
  CHECK(inv < free_table);
  CHECK(free_table < set_pmd);
  CHECK(indices(r, is_copy).size() == 16);
  const Pte pmd = m.mm->pt().leaf(Vaddr{kSub});
  CHECK(pmd.huge());
  CHECK(m.k->mem().content(Pfn{pmd.pfn().value() + 5}) == content);
  CHECK_FALSE(m.k->mem().frame(small).allocated);
  require_all_coherent(m);
  m.k->check_invariants();
  // The device now reaches the huge page.
  const iommu::DmaResult d = m.io().dma(m.dev, *m.mm->pasid(), Vaddr{kSub}, false);
  REQUIRE(d.ok());
  CHECK(d.pfn == Pfn{pmd.pfn().value() + 5});

  AND_WHEN("it is split again") {
    split(m, kSub);
    CHECK(m.mm->pt().leaf(Vaddr{kSub}).pfn() == Pfn{pmd.pfn().value() + 5});
    require_all_coherent(m);
    m.k->check_invariants();
  }
}

SCENARIO("collapse fails and restores the PMD when a page is shared", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kH}, kPmdSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kH}, 4 * kPageSize, true);
  const Pfn small = m.mm->pt().leaf(Vaddr{kH}).pfn();
  kernel::get_page(*m.k, small);
  const Pte pmd_before = m.mm->pt().get(m.mm->pt().lookup(Vaddr{kH}, 2));
  kernel::Task<bool> t = kernel::collapse_huge_page(*m.k, *m.mm, Vaddr{kH});
  CHECK_FALSE(kernel::run_sync(t));
  CHECK(m.mm->pt().get(m.mm->pt().lookup(Vaddr{kH}, 2)) == pmd_before);
  CHECK(m.mm->pt().leaf(Vaddr{kH}).pfn() == small);
  kernel::put_page(*m.k, small, "test");
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("retract_page_tables skips an mm whose mmap_lock it cannot take at once", "[kernel][policy]") {
  // v6.0 mm/khugepaged.c retract_page_tables(): mmap_write_trylock(), and on failure
  // khugepaged_add_pte_mapped_thp() instead of waiting (the lock-inversion comment there).
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  const uint32_t f = m.k->create_file("f", kPtrsPerTable);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kH}, kPmdSize, kVmRead | kVmShared, f, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kH}, kPageSize, false);
  const Pfn pte_table = m.mm->pt().lookup(Vaddr{kH}, 1).table;
  const LockMode held = GENERATE(LockMode::Read, LockMode::Write);
  constexpr int kOther = 77;  // a fault handler (read) or munmap (write) on another CPU
  m.mm->mmap_lock.acquire(kOther, held);
  m.rec.clear();

  kernel::Task<> t = kernel::retract_page_tables(*m.k, f, 0);
  kernel::run_sync(t);
  CHECK(m.rec.find([](const Event& e) { return is_call(e, "khugepaged_add_pte_mapped_thp"); }) != Recorder::npos);
  CHECK(m.rec.find([&](const Event& e) { return is_lock(e, m.mm->mmap_lock.name()); }) == Recorder::npos);
  CHECK(m.rec.find(is_cpu_flush) == Recorder::npos);
  CHECK(m.k->mem().frame(pte_table).allocated);
  CHECK(m.mm->pt().leaf(Vaddr{kH}).present());
  // i_mmap_rwsem was released: nothing is left held by the skipped attempt.
  CHECK_FALSE(m.k->file(f).i_mmap_rwsem.held());
  m.mm->mmap_lock.release(kOther, held);

  AND_WHEN("the lock is free") {
    kernel::Task<> again = kernel::retract_page_tables(*m.k, f, 0);
    kernel::run_sync(again);
    THEN("the table is retracted") {
      CHECK_FALSE(m.k->mem().frame(pte_table).allocated);
      CHECK_FALSE(m.mm->pt().leaf(Vaddr{kH}).present());
      CHECK_FALSE(m.mm->mmap_lock.held());
      require_all_coherent(m);
      m.k->check_invariants();
    }
  }
}

SCENARIO("retract_page_tables skips a private file VMA with an anon_vma, even one a COW fault gives it meanwhile", "[kernel]") {
  // v6.0 retract_page_tables(): "if (vma->anon_vma) continue;" -- the table may map COW pages.
  SvaMachine m;
  const uint32_t f = m.k->create_file("f", kPtrsPerTable);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kH}, kPmdSize, kVmRead | kVmWrite, f, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kH}, kPageSize, false);  // the page-cache page, no anon_vma yet
  const Pfn pte_table = m.mm->pt().lookup(Vaddr{kH}, 1).table;
  const bool cow_first = GENERATE(true, false);
  kernel::Task<> t = kernel::retract_page_tables(*m.k, f, 0);
  Stepper st(t);
  if (cow_first) {
    kernel::populate(*m.k, *m.mm, Vaddr{kH + kPageSize}, kPageSize, true);  // do_cow_fault(): anon_vma
  } else {
    // The COW fault comes after the racy first test, before mmap_write_trylock().
    REQUIRE(st.step_until([&] { return st.next_label().rfind("mmap_write_trylock", 0) == 0; }));
    kernel::populate(*m.k, *m.mm, Vaddr{kH + kPageSize}, kPageSize, true);
  }
  st.finish();
  REQUIRE(m.mm->find_vma(kH)->anon_vma != 0);
  CHECK(m.k->mem().frame(pte_table).allocated);
  CHECK(m.mm->pt().leaf(Vaddr{kH}).present());
  CHECK(m.mm->pt().leaf(Vaddr{kH + kPageSize}).present());
  CHECK_FALSE(m.mm->mmap_lock.held());
  kernel::check_anon_rmap(*m.k);
  m.k->check_invariants();
}

SCENARIO("munmap of one page inside a huge page splits the PMD first, so only that page goes and no cache keeps it", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kH}, kPmdSize, kVmRead | kVmWrite, 0, 0);
  const Pfn hpage = kernel::map_huge_anon(*m.k, *m.mm, Vaddr{kH});
  device_touch(m, kSub, kSub + kPageSize, true);
  cpu_touch(*m.k, *m.mm, kSub, kSub + kPageSize, true);
  m.rec.clear();
  kernel::Task<> t = kernel::sys_munmap(*m.k, *m.mm, Vaddr{kSub}, kPageSize);
  kernel::run_sync(t);
  const Recorder& r = m.rec;
  THEN("[" + policy + "] __split_vma() -> vma_adjust_trans_huge() split the PMD before any PTE was zapped") {
    const size_t populate = r.find([](const Event& e) { return is_pte_at(e, "pmd_populate", kH); });
    REQUIRE(populate != Recorder::npos);
    const size_t zap = r.find([](const Event& e) { return is_pte_at(e, "ptep_get_and_clear_full", kSub); });
    REQUIRE(zap != Recorder::npos);
    CHECK(populate < zap);
  }
  THEN("[" + policy + "] the page is unmapped and freed, its neighbours stay mapped by PTEs") {
    unsigned level = 0;
    CHECK(m.mm->pt().leaf(Vaddr{kSub}, &level).none());
    CHECK(level == 1);
    const Pte before = m.mm->pt().leaf(Vaddr{kSub - kPageSize}, &level);
    CHECK(level == 1);
    CHECK(before.pfn() == Pfn{hpage.value() + 4});
    CHECK(m.mm->pt().leaf(Vaddr{kSub + kPageSize}).pfn() == Pfn{hpage.value() + 6});
    CHECK(m.mm->find_vma(kSub) == nullptr);
    require_secondary_coherent(m, *m.mm);
    require_cpu_coherent(*m.k, *m.mm);
  }
}
