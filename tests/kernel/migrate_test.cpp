// SPDX-License-Identifier: MIT
// Page migration (primer 6.1) and migrate_vma (primer 6.2) under both notifier policies.
#include <catch2/catch.hpp>

#include "kernel/lru.h"
#include "kernel/migrate.h"
#include "kernel/mmu_notifier.h"
#include "kernel/page.h"
#include "kernel/reclaim.h"
#include "kernel/rmap_test_support.h"
#include "kernel/zap.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {
constexpr uint64_t kBase = 0x400000;
constexpr uint64_t kPage = kBase + kPageSize;  // the page that migrates

/// 0123
/// PPPP   four written anonymous pages; the device and CPU 0 cache page 1 writable.
void setup(SvaMachine& m) {
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 4 * kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, 4 * kPageSize, true);
  device_touch(m, kPage, kPage + kPageSize, true);
  cpu_touch(*m.k, *m.mm, kPage, kPage + kPageSize, true);
}

bool is_migration_entry_set(const Event& e) { return is_pte_at(e, "set_pte_at", kPage) && Pte{e.new_val}.is_migration(); }
}  // namespace

SCENARIO("migrate_pages invalidates the secondary TLB before copying the page", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  setup(m);
  const Pfn old_pfn = m.mm->pt().leaf(Vaddr{kPage}).pfn();
  const uint32_t content = m.k->mem().content(old_pfn);
  m.rec.clear();

  WHEN("the page migrates") {
    kernel::Task<> t = migrate_one(*m.k, old_pfn);
    kernel::run_sync(t);

    THEN("[" + policy + "] PTE_CLR, CPU_FLUSH, migration entry, SEC_INV, copy, PTE_SET(new), FREE_PG(old)") {
      const Recorder& r = m.rec;
      const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_clear_flush", kPage); });
      REQUIRE(clr != Recorder::npos);
      const size_t flush = r.find(is_cpu_flush, clr);
      const size_t entry = r.find(is_migration_entry_set, clr);
      const size_t unlock =
          r.find([](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "page_vma_mapped_walk_done"; }, clr);
      const size_t end = r.find([](const Event& e) { return is_notifier(e, "mmu_notifier_invalidate_range_end"); }, clr);
      const size_t inv = r.find(is_secondary_inv, clr);
      const size_t sync = r.find(is_inv_sync, inv);
      const size_t copy = r.find(is_copy, clr);
      REQUIRE(flush < entry);
      REQUIRE(entry < unlock);
      REQUIRE(unlock < end);
      if (policy == "fixed") {
        // Inside flush_tlb_page() -> flush_tlb_mm_range(), under the PTL.
        CHECK(is_notifier(r.events()[inv], "arch_invalidate_secondary_tlbs"));
        CHECK(std::string(r.events()[inv].func) == "flush_tlb_mm_range");
        CHECK(spans(r.events()[inv], kPage, kPage + kPageSize));
        CHECK(flush < inv);
        CHECK(inv < entry);
      } else {
        // The hidden invalidate_range() of try_to_migrate_one()'s range_end, after the PTL.
        CHECK(is_notifier(r.events()[inv], "invalidate_range"));
        CHECK(std::string(r.events()[inv].func) == "mn_hlist_invalidate_end");
        CHECK(end < inv);
        CHECK(r.find([](const Event& e) { return is_notifier(e, "arch_invalidate_secondary_tlbs"); }) == Recorder::npos);
      }
      const size_t cmd = r.find([](const Event& e) { return e.kind == EventKind::InvCmd; }, inv);
      REQUIRE(sync != Recorder::npos);
      CHECK(inv < cmd);
      CHECK(cmd < sync);
      CHECK(sync < copy);
      CHECK(std::string(r.events()[copy].func) == "folio_migrate_copy");
      const Pfn new_pfn{r.events()[copy].aux};
      const size_t set_new = r.find(
          [&](const Event& e) { return is_pte_at(e, "set_pte_at", kPage) && Pte{e.new_val}.present() && Pte{e.new_val}.pfn() == new_pfn; },
          copy);
      const size_t free_old = r.find([&](const Event& e) { return is_free_of(e, old_pfn); });
      CHECK(copy < set_new);
      CHECK(set_new < free_old);
      // remove_migration_ptes(): non-present -> present, no flush and no notifier.
      CHECK(r.find(is_cpu_flush, copy) == Recorder::npos);
      CHECK(r.find([](const Event& e) { return e.kind == EventKind::Notifier; }, copy) == Recorder::npos);

      const Pte now = m.mm->pt().leaf(Vaddr{kPage});
      CHECK(now.pfn() == new_pfn);
      CHECK(now.writable());
      CHECK(m.k->mem().content(new_pfn) == content);
      CHECK(m.k->mem().refcount(new_pfn) == 1);
      CHECK(m.k->mem().mapcount(new_pfn) == 1);
      CHECK_FALSE(m.k->mem().frame(old_pfn).allocated);
      require_all_coherent(m);
      m.k->check_invariants();
    }
  }
}

SCENARIO("migration: the secondary TLB keeps the old page until MN_END in OLD, not in FIXED", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  setup(m);
  const Pfn old_pfn = m.mm->pt().leaf(Vaddr{kPage}).pfn();
  GIVEN("migration stopped right after the migration entry is installed") {
    kernel::Task<> t = migrate_one(*m.k, old_pfn);
    Stepper s(t);
    REQUIRE(s.step_until([&] { return m.rec.find(is_migration_entry_set) != Recorder::npos; }));
    WHEN("the device writes the page") {
      const uint32_t before = m.k->mem().content(old_pfn);
      const iommu::DmaResult d = m.io().dma(m.dev, *m.mm->pasid(), Vaddr{kPage}, true);
      THEN("OLD: the stale ATC entry takes the write into the old page, which the copy then carries") {
        if (policy == "old") {
          REQUIRE(d.ok());
          CHECK(d.pfn == old_pfn);
          CHECK(m.k->mem().content(old_pfn) == before + 1);
        } else {
          // FIXED: the ATC was invalidated with the CPU flush; the walk finds a migration entry.
          CHECK(d.fault == iommu::DmaFault::PageRequest);
          CHECK(m.k->mem().content(old_pfn) == before);
        }
        const uint32_t expect = m.k->mem().content(old_pfn);
        s.finish();
        const Pfn new_pfn = m.mm->pt().leaf(Vaddr{kPage}).pfn();
        CHECK(new_pfn != old_pfn);
        CHECK(m.k->mem().content(new_pfn) == expect);  // no write lost
        require_all_coherent(m);
        m.k->check_invariants();
      }
    }
  }
}

SCENARIO("migrate_pages restores the mapping when the page has an extra reference", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  setup(m);
  const Pfn old_pfn = m.mm->pt().leaf(Vaddr{kPage}).pfn();
  kernel::get_page(*m.k, old_pfn);  // a GUP pin
  m.rec.clear();
  kernel::Task<> t = migrate_one(*m.k, old_pfn);
  kernel::run_sync(t);
  const Pte now = m.mm->pt().leaf(Vaddr{kPage});
  CHECK(now.pfn() == old_pfn);
  CHECK(now.writable());
  CHECK(m.rec.find([](const Event& e) { return is_call(e, "migrate_pages: -EAGAIN"); }) != Recorder::npos);
  CHECK(m.rec.find([&](const Event& e) { return is_free_of(e, old_pfn); }) == Recorder::npos);
  CHECK(m.rec.count(EventKind::Copy) == 0);
  CHECK(m.k->mem().refcount(old_pfn) == 2);
  CHECK(m.k->mem().mapcount(old_pfn) == 1);
  kernel::put_page(*m.k, old_pfn, "test");
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("a page freed while migration holds it isolated is released by migration's put, not moved", "[kernel][policy]") {
  // v6.0 unmap_and_move(): "Page was freed from under us. So we are done."
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  setup(m);
  const Pfn old_pfn = m.mm->pt().leaf(Vaddr{kPage}).pfn();
  unsigned failed = 0;
  const std::vector<Pfn> isolated = kernel::isolate_migratepages_block(*m.k, {old_pfn}, &failed);
  REQUIRE(isolated.size() == 1);
  CHECK(failed == 0);
  CHECK(m.k->mem().frame(old_pfn).isolated);
  WHEN("MADV_DONTNEED zaps the page before migration reaches it") {
    kernel::Task<> zap = kernel::madvise_dontneed(*m.k, *m.mm, Vaddr{kPage}, kPageSize);
    kernel::run_sync(zap);
    THEN("the zap does not free it; migration's put does, with nothing allocated or copied") {
      CHECK_FALSE(m.rec.find([&](const Event& e) { return is_free_of(e, old_pfn); }) != Recorder::npos);
      CHECK(m.k->mem().refcount(old_pfn) == 1);
      m.rec.clear();
      kernel::Task<kernel::MigrateCounts> t = kernel::migrate_pages(*m.k, isolated);
      const kernel::MigrateCounts c = kernel::run_sync(t);
      CHECK(c.succeeded == 1);
      CHECK(c.failed == 0);
      CHECK(m.rec.find([](const Event& e) { return is_call(e, "unmap_and_move: freed from under us"); }) != Recorder::npos);
      const size_t free_old = m.rec.find([&](const Event& e) { return is_free_of(e, old_pfn); });
      REQUIRE(free_old != Recorder::npos);
      CHECK(std::string(m.rec.events()[free_old].func) == "unmap_and_move");
      CHECK(m.rec.count(EventKind::FrameAlloc) == 0);
      CHECK(m.rec.count(EventKind::Copy) == 0);
      require_all_coherent(m);
      m.k->check_invariants();
    }
  }
}

SCENARIO("a page another migration has isolated is not isolated again, and the miss is counted", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  setup(m);
  const Pfn p0 = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  const Pfn p1 = m.mm->pt().leaf(Vaddr{kPage}).pfn();
  const std::vector<Pfn> first = kernel::isolate_migratepages_block(*m.k, {p1});
  REQUIRE(first.size() == 1);
  const uint32_t refs = m.k->mem().refcount(p1);
  unsigned failed = 0;
  const std::vector<Pfn> second = kernel::isolate_migratepages_block(*m.k, {p0, p1}, &failed);
  CHECK(second == std::vector<Pfn>{p0});
  CHECK(failed == 1);
  CHECK(m.k->mem().refcount(p1) == refs);  // isolate_fail_put: its reference went again
  CHECK(m.rec.find([](const Event& e) { return is_call(e, "isolate_migratepages_block: not isolated"); }) != Recorder::npos);
  // Each migrates what it isolated.
  kernel::Task<kernel::MigrateCounts> a = kernel::migrate_pages(*m.k, first);
  kernel::Task<kernel::MigrateCounts> b = kernel::migrate_pages(*m.k, second);
  m.rec.clear();
  CHECK(kernel::run_sync(a).succeeded == 1);
  CHECK(kernel::run_sync(b).succeeded == 1);
  // Both old pages were freed (LIFO reuse may hand p1's frame to p0's target).
  CHECK(m.rec.find([&](const Event& e) { return is_free_of(e, p0); }) != Recorder::npos);
  CHECK(m.rec.find([&](const Event& e) { return is_free_of(e, p1); }) != Recorder::npos);
  CHECK(m.mm->pt().leaf(Vaddr{kBase}).present());
  CHECK(m.mm->pt().leaf(Vaddr{kPage}).present());
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("migrate_pages of a shared file page moves the page cache and both mappings", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  const uint32_t f = m.k->create_file("f", 4);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 4 * kPageSize, kVmRead | kVmShared, f, 0);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{0x800000}, 4 * kPageSize, kVmRead | kVmShared, f, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, 4 * kPageSize, false);
  kernel::populate(*m.k, *m.mm, Vaddr{0x800000}, 4 * kPageSize, false);
  device_touch(m, kBase, kBase + kPageSize, false);
  device_touch(m, 0x800000, 0x800000 + kPageSize, false);
  const Pfn old_pfn = m.k->file(f).page(0);
  m.rec.clear();
  kernel::Task<> t = migrate_one(*m.k, old_pfn);
  kernel::run_sync(t);
  const Pfn new_pfn = m.k->file(f).page(0);
  CHECK(new_pfn != old_pfn);
  CHECK(m.mm->pt().leaf(Vaddr{kBase}).pfn() == new_pfn);
  CHECK(m.mm->pt().leaf(Vaddr{0x800000}).pfn() == new_pfn);
  CHECK(m.k->mem().refcount(new_pfn) == 3);  // page cache + two mappings
  CHECK(m.k->mem().mapcount(new_pfn) == 2);
  CHECK_FALSE(m.k->mem().frame(old_pfn).allocated);
  // Both mappings were invalidated before the copy.
  const size_t copy = m.rec.find(is_copy);
  size_t invs = 0;
  for (size_t i = 0; i < copy; ++i) invs += is_secondary_inv(m.rec.events()[i]) ? 1 : 0;
  CHECK(invs == 2);
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("migrate_pages finds an anonymous page above 16 TiB, whose index needs more than 32 bits", "[kernel]") {
  SvaMachine m;
  constexpr uint64_t kHigh = 0x7f0000000000;  // where mmap() places mappings: index 0x7f0000000
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kHigh}, kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kHigh}, kPageSize, true);
  const Pfn old_pfn = m.mm->pt().leaf(Vaddr{kHigh}).pfn();
  CHECK(m.k->mem().frame(old_pfn).aux == kHigh >> kPageShift);
  REQUIRE(kernel::rmap_vmas(*m.k, old_pfn).size() == 1);
  kernel::Task<> t = migrate_one(*m.k, old_pfn);
  kernel::run_sync(t);
  const Pfn new_pfn = m.mm->pt().leaf(Vaddr{kHigh}).pfn();
  CHECK(new_pfn != old_pfn);
  CHECK_FALSE(m.k->mem().frame(old_pfn).allocated);
  kernel::check_anon_rmap(*m.k);
  m.k->check_invariants();
}

// ---------------------------------------------------------------------------------------------

SCENARIO(
    "migrate_vma_collect_pmd flushes each exclusive page at once and the range under the PTL (6c287605fd56, "
    "60bae7370896), v4.18 only the range, after unlock",
    "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed", "v4.18");
  SvaMachine m(policy);
  // 0123
  // PP..   pages 0 and 1 present (device caches both), 2 and 3 holes
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 4 * kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, true);
  device_touch(m, kBase, kBase + 2 * kPageSize, true);
  const Pfn p0 = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  const Pfn p1 = m.mm->pt().leaf(Vaddr{kBase + kPageSize}).pfn();
  m.rec.clear();

  kernel::Task<> t = kernel::dmirror_migrate(*m.k, *m.mm, VaRange{kBase, kBase + 4 * kPageSize});
  kernel::run_sync(t);

  const Recorder& r = m.rec;
  const char* clear = policy == "v4.18" ? "ptep_get_and_clear" : "ptep_clear_flush";
  const size_t last_clear = r.find([clear](const Event& e) { return is_pte_at(e, clear, kBase + kPageSize); });
  REQUIRE(last_clear != Recorder::npos);
  if (policy != "v4.18") {
    // ptep_clear_flush(): the page's own flush comes right after its clear.
    const size_t page_flush = r.find(is_cpu_flush, last_clear);
    REQUIRE(page_flush != Recorder::npos);
    CHECK(spans(r.events()[page_flush], kBase + kPageSize, kBase + 2 * kPageSize));
  }
  const size_t flush = r.find([](const Event& e) { return is_cpu_flush(e) && spans(e, kBase, kBase + 4 * kPageSize); }, last_clear);
  const size_t unlock =
      r.find([](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "pte_unmap_unlock"; }, last_clear);
  const size_t inv = r.find(is_secondary_inv, last_clear);
  const size_t copy = r.find(is_copy);
  REQUIRE(flush != Recorder::npos);
  CHECK(spans(r.events()[flush], kBase, kBase + 4 * kPageSize));
  if (policy == "v4.18")
    CHECK(unlock < flush);
  else
    CHECK(flush < unlock);
  if (policy == "fixed") {
    CHECK(is_notifier(r.events()[inv], "arch_invalidate_secondary_tlbs"));
    CHECK(inv < unlock);
  } else {
    CHECK(is_notifier(r.events()[inv], "invalidate_range"));
    CHECK(unlock < inv);
  }
  CHECK(inv < copy);
  // The holes are filled inside migrate_vma_pages()' own bracket, OLD closing it with _only_end.
  const size_t pages_end = r.find([](const Event& e) {
    return e.kind == EventKind::Notifier && std::string(e.func) == "migrate_vma_pages" && e.note != "mmu_notifier_invalidate_range_start";
  });
  REQUIRE(pages_end != Recorder::npos);
  CHECK(r.events()[pages_end].note == (policy == "fixed" ? "mmu_notifier_invalidate_range_end" : "mmu_notifier_invalidate_range_only_end"));
  // Every page now a device-private entry; the sources freed after the copy.
  for (uint64_t a = kBase; a < kBase + 4 * kPageSize; a += kPageSize) {
    const PteRef pr = m.mm->pt().lookup(Vaddr{a}, 1);
    CHECK(m.mm->pt().get(pr).swp_type() == Pte::SwpType::DevicePrivateWrite);
  }
  CHECK(copy < r.find([&](const Event& e) { return is_free_of(e, p0); }));
  CHECK(copy < r.find([&](const Event& e) { return is_free_of(e, p1); }));
  CHECK_FALSE(m.k->mem().frame(p0).allocated);
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("a migration target stays off the LRU until putback_lru_page(), so reclaim cannot isolate it once mapped", "[kernel][policy]") {
  // Found by the valid-scenario soak (seed 1,001,857): reclaim isolated the new page between
  // remove_migration_ptes() and migration's putback_lru_page(), whose folio_add_lru() then put it
  // back on the LRU under reclaim; a truncate's free_swap_and_cache() took it out of the swap
  // cache reclaim had added it to, and __remove_mapping() died on "in no swap cache". In v6.0 a
  // folio from alloc_migration_target() has no PG_lru until putback_lru_page().
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  setup(m);
  const Pfn old_pfn = m.mm->pt().leaf(Vaddr{kPage}).pfn();
  kernel::Task<> t = migrate_one(*m.k, old_pfn);
  Stepper s(t);
  const auto maps_new = [&](const Event& e) {
    return is_pte_at(e, "set_pte_at", kPage) && Pte{e.new_val}.present() && Pte{e.new_val}.pfn() != old_pfn;
  };
  REQUIRE(s.step_until([&] { return m.rec.find(maps_new) != Recorder::npos; }));
  const Pfn new_pfn = m.mm->pt().leaf(Vaddr{kPage}).pfn();
  REQUIRE(new_pfn != old_pfn);
  // Stop where the soak's reclaim struck: after unlock_page(newpage), before putback_lru_page(),
  // so that only the missing PG_lru, not the page lock, keeps reclaim off the new page.
  REQUIRE(s.step_until([&] { return s.next_label() == "putback_lru_page"; }));
  REQUIRE_FALSE(m.k->mem().frame(new_pfn).locked);
  CHECK_FALSE(kernel::page_lru(*m.k, new_pfn));
  kernel::run_sync(kernel::shrink_folio_list(*m.k, {new_pfn}));
  CHECK(m.mm->pt().leaf(Vaddr{kPage}).pfn() == new_pfn);  // reclaim left it mapped
  CHECK_FALSE(m.k->mem().frame(new_pfn).swapcache);
  s.finish();
  CHECK(kernel::page_lru(*m.k, new_pfn));
  CHECK(m.k->mem().refcount(new_pfn) == 1);
  m.k->check_invariants();
}
