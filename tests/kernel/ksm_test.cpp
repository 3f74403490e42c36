// SPDX-License-Identifier: MIT
// KSM write_protect_page() + replace_page() (primer 7.4) under both notifier policies.
#include <catch2/catch.hpp>

#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/ksm.h"
#include "kernel/migrate.h"
#include "kernel/mremap.h"
#include "kernel/page.h"
#include "kernel/rmap_test_support.h"
#include "kernel/zap.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {
constexpr uint64_t kA = 0x400000;
constexpr uint64_t kB = kA + kPageSize;

/// 01
/// AB   two written anonymous pages with identical contents, cached writable by the device.
struct KsmSetup {
  explicit KsmSetup(const std::string& policy) : m(policy) {
    kernel::mmap_region(*m.k, *m.mm, Vaddr{kA}, 2 * kPageSize, kVmRead | kVmWrite, 0, 0);
    kernel::populate(*m.k, *m.mm, Vaddr{kA}, 2 * kPageSize, true);
    a = m.mm->pt().leaf(Vaddr{kA}).pfn();
    b = m.mm->pt().leaf(Vaddr{kB}).pfn();
    m.k->mem().copy_content(a, b);
    device_touch(m, kA, kA + 2 * kPageSize, true);
    cpu_touch(*m.k, *m.mm, kA, kA + 2 * kPageSize, true);
  }
  bool merge(uint64_t addr, Pfn kpage) {
    kernel::Task<bool> t = kernel::ksm_merge(*m.k, *m.mm, Vaddr{addr}, kpage);
    return kernel::run_sync(t);
  }
  SvaMachine m;
  Pfn a, b;
};

bool is_mn(const Event& e, const char* site, const char* what) { return is_notifier(e, what) && std::string(e.func) == site; }
}  // namespace

SCENARIO("KSM merges two identical pages, the secondary TLB is invalidated before the compare", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  KsmSetup s(policy);
  REQUIRE(s.merge(kA, kNoPfn));  // A becomes the KSM page
  CHECK_FALSE(s.m.mm->pt().leaf(Vaddr{kA}).writable());
  s.m.rec.clear();

  WHEN("B is merged into A") {
    REQUIRE(s.merge(kB, s.a));
    const Recorder& r = s.m.rec;
    THEN("[" + policy + "] wrprotect: CPU_FLUSH, SEC_INV, compare; replace: CPU_FLUSH, PTE_SET(A), SEC_INV, FREE_PG(B)") {
      const size_t wp_clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_clear_flush", kB); });
      REQUIRE(wp_clr != Recorder::npos);
      const size_t wp_flush = r.find(is_cpu_flush, wp_clr);
      const size_t wp_set = r.find([](const Event& e) { return is_pte_at(e, "set_pte_at_notify", kB); }, wp_clr);
      const size_t wp_end = r.find([](const Event& e) { return is_mn(e, "write_protect_page", "mmu_notifier_invalidate_range_end"); });
      const size_t wp_inv = r.find(is_secondary_inv, wp_clr);
      const size_t cmp = r.find([](const Event& e) { return is_call(e, "pages_identical"); });
      CHECK(Pte{r.events()[wp_set].new_val}.pfn() == s.b);
      CHECK_FALSE(Pte{r.events()[wp_set].new_val}.writable());
      if (policy == "fixed") {
        CHECK(wp_flush < wp_inv);
        CHECK(wp_inv < wp_set);  // inside ptep_clear_flush(), before the refcount check
      } else {
        // ptep_clear_flush() without notify (a downgrade); the range_end invalidates.
        CHECK(wp_end < wp_inv);
        CHECK(std::string(r.events()[wp_inv].func) == "mn_hlist_invalidate_end");
      }
      CHECK(wp_inv < cmp);
      const size_t rp_clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_clear_flush", kB); }, cmp);
      const size_t rp_set = r.find([](const Event& e) { return is_pte_at(e, "set_pte_at_notify", kB); }, rp_clr);
      const size_t rp_inv = r.find(is_secondary_inv, rp_clr);
      const size_t freed = r.find([&](const Event& e) { return is_free_of(e, s.b); });
      REQUIRE(rp_set != Recorder::npos);
      CHECK(Pte{r.events()[rp_set].new_val}.pfn() == s.a);
      if (policy == "fixed")
        CHECK(rp_inv < rp_set);
      else
        CHECK(rp_set < rp_inv);
      CHECK(rp_inv < freed);  // KSM's own reference keeps B until after replace_page()
      CHECK(s.m.mm->pt().leaf(Vaddr{kB}).pfn() == s.a);
      CHECK(s.m.k->mem().mapcount(s.a) == 2);
      CHECK_FALSE(s.m.k->mem().frame(s.b).allocated);
      require_all_coherent(s.m);
      s.m.k->check_invariants();
    }
  }
}

SCENARIO("KSM does not merge a page with an extra reference or different contents", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  KsmSetup s(policy);
  REQUIRE(s.merge(kA, kNoPfn));
  WHEN("B is pinned (O_DIRECT)") {
    kernel::get_page(*s.m.k, s.b);
    CHECK_FALSE(s.merge(kB, s.a));
    THEN("the PTE is restored writable") {
      CHECK(s.m.mm->pt().leaf(Vaddr{kB}).pfn() == s.b);
      CHECK(s.m.mm->pt().leaf(Vaddr{kB}).writable());
      kernel::put_page(*s.m.k, s.b, "test");
      require_all_coherent(s.m);
      s.m.k->check_invariants();
    }
  }
  WHEN("B differs") {
    s.m.k->mem().write_content(s.b);
    CHECK_FALSE(s.merge(kB, s.a));
    THEN("B stays, write-protected") {
      CHECK(s.m.mm->pt().leaf(Vaddr{kB}).pfn() == s.b);
      CHECK_FALSE(s.m.mm->pt().leaf(Vaddr{kB}).writable());
      CHECK(s.m.k->mem().frame(s.b).allocated);
      require_all_coherent(s.m);
      s.m.k->check_invariants();
    }
  }
}

SCENARIO("KSM: a device write in OLD's write_protect_page window is seen by the compare", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  KsmSetup s(policy);
  REQUIRE(s.merge(kA, kNoPfn));
  // Drive ksm_merge() through a Task<> wrapper so the stepper can run it.
  bool merged = false;
  auto wrap = [&]() -> kernel::Task<> { merged = co_await kernel::ksm_merge(*s.m.k, *s.m.mm, Vaddr{kB}, s.a); };
  kernel::Task<> w = wrap();
  Stepper st(w);
  GIVEN("write_protect_page() has made B read-only and passed the refcount check") {
    REQUIRE(st.step_until(
        [&] { return s.m.rec.find([](const Event& e) { return is_pte_at(e, "set_pte_at_notify", kB); }) != Recorder::npos; }));
    WHEN("the device writes B") {
      const iommu::DmaResult d = s.m.io().dma(s.m.dev, *s.m.mm->pasid(), Vaddr{kB}, true);
      st.finish();
      THEN("OLD: the stale writable ATC entry lets it through, and the pages no longer compare equal") {
        if (policy == "old") {
          CHECK(d.ok());
          CHECK_FALSE(merged);
          CHECK(s.m.mm->pt().leaf(Vaddr{kB}).pfn() == s.b);
        } else {
          CHECK(d.fault == iommu::DmaFault::PageRequest);  // write-protected, no stale entry
          CHECK(merged);
        }
        require_all_coherent(s.m);
        s.m.k->check_invariants();
      }
    }
  }
}

SCENARIO("a write to the KSM page copies it even while it is mapped once (do_wp_page: PageKsm goes to copy)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  KsmSetup s(policy);
  REQUIRE(s.merge(kA, kNoPfn));  // A is the stable KSM page, mapped only at kA
  REQUIRE(s.m.k->mem().mapcount(s.a) == 1);
  kernel::Task<> w = kernel::user_access(*s.m.k, 0, *s.m.mm, Vaddr{kA}, true);
  kernel::run_sync(w);
  const Pte now = s.m.mm->pt().leaf(Vaddr{kA});
  CHECK(now.writable());
  CHECK(now.pfn() != s.a);  // wp_page_copy(), not wp_page_reuse()
  s.m.k->check_invariants();
}

TEST_CASE("KSM does not merge into a stable page freed since it was made (get_ksm_page())", "[kernel]") {
  KsmSetup s("fixed");
  REQUIRE(s.merge(kA, kNoPfn));  // A becomes the KSM page
  kernel::Task<> unmap = kernel::sys_munmap(*s.m.k, *s.m.mm, Vaddr{kA}, kPageSize);
  kernel::run_sync(unmap);
  REQUIRE_FALSE(s.m.k->mem().frame(s.a).allocated);
  CHECK_FALSE(s.merge(kB, s.a));
  CHECK(s.m.mm->pt().leaf(Vaddr{kB}).pfn() == s.b);
  CHECK(s.m.mm->pt().leaf(Vaddr{kB}).writable());
}

namespace {
constexpr uint64_t kC = kB + kPageSize;

/// 012
/// ABC  three written anonymous pages with identical contents, for ksmd's range merge.
struct KsmRangeSetup {
  explicit KsmRangeSetup(const std::string& policy) : m(policy) {
    kernel::mmap_region(*m.k, *m.mm, Vaddr{kA}, 3 * kPageSize, kVmRead | kVmWrite, 0, 0);
    kernel::populate(*m.k, *m.mm, Vaddr{kA}, 3 * kPageSize, true);
    a = m.mm->pt().leaf(Vaddr{kA}).pfn();
    m.k->mem().copy_content(a, m.mm->pt().leaf(Vaddr{kB}).pfn());
    m.k->mem().copy_content(a, m.mm->pt().leaf(Vaddr{kC}).pfn());
  }
  void merge_range() {
    kernel::Task<> t = kernel::ksm_merge_range(*m.k, *m.mm, Vaddr{kA}, 3);
    kernel::run_sync(t);
  }
  std::vector<uint64_t> rmap_addrs(Pfn page) {
    std::vector<uint64_t> out;
    for (const kernel::RmapTarget& t : kernel::rmap_vmas(*m.k, page)) out.push_back(t.addr);
    return out;
  }
  SvaMachine m;
  Pfn a;
};
}  // namespace

TEST_CASE("ksmd's range merge leaves one KSM page whose stable node lists every mapping, newest first (rmap_walk_ksm())", "[kernel]") {
  KsmRangeSetup s("fixed");
  s.merge_range();
  for (const uint64_t va : {kA, kB, kC}) CHECK(s.m.mm->pt().leaf(Vaddr{va}).pfn() == s.a);
  const Frame& f = s.m.k->mem().frame(s.a);
  CHECK(f.ksm);
  REQUIRE(f.owner != 0);  // stable_tree_insert() named the node
  CHECK(s.m.k->ksm().node(f.owner).kpfn == s.a);
  // stable_tree_append(): the tree item (B), then the scanned one (A), then C, each at the head.
  CHECK(s.rmap_addrs(s.a) == std::vector<uint64_t>{kC, kA, kB});
  s.m.k->check_invariants();
}

TEST_CASE("rmap_walk_ksm()'s second pass finds a child forked after the merge, through the item's anon_vma", "[kernel]") {
  KsmRangeSetup s("fixed");
  s.merge_range();
  kernel::Task<AddressSpace*> f = kernel::sys_fork(*s.m.k, *s.m.mm, "child");
  AddressSpace* child = kernel::run_sync(f);
  REQUIRE(child);
  const std::vector<kernel::RmapTarget> t = kernel::rmap_vmas(*s.m.k, s.a);
  REQUIRE(t.size() == 6);
  for (size_t i = 0; i < 3; ++i) CHECK(t[i].mm == s.m.mm);  // first pass: each item's own mm
  for (size_t i = 3; i < 6; ++i) CHECK(t[i].mm == child);   // second pass: "in case they were forked"
}

SCENARIO("migrate_vma of one mapping of a KSM page restores every mapping (remove_migration_ptes() walks the stable node)",
         "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  KsmRangeSetup s(policy);
  s.merge_range();
  WHEN("the driver migrates B's page to device memory") {
    kernel::Task<> t = kernel::dmirror_migrate(*s.m.k, *s.m.mm, VaRange{kB, kC});
    kernel::run_sync(t);
    THEN("[" + policy + "] every mapping is the device page, a KSM page with the same stable node, and none is left a migration entry") {
      const Pte pb = s.m.mm->pt().leaf(Vaddr{kB});
      REQUIRE(pb.is_device_private());
      const Pfn dev{static_cast<uint32_t>(pb.swp_offset())};
      for (const uint64_t va : {kA, kB, kC}) {
        const Pte p = s.m.mm->pt().leaf(Vaddr{va});
        CHECK_FALSE(p.is_migration());
        CHECK(p.is_device_private());
        CHECK(p.swp_offset() == dev.value());
      }
      const Frame& f = s.m.k->mem().frame(dev);
      CHECK(f.ksm);  // folio_migrate_ksm()
      CHECK(s.m.k->ksm().node(f.owner).kpfn == dev);
      CHECK_FALSE(s.m.k->mem().frame(s.a).allocated);
      s.m.k->check_invariants();
    }
  }
}

TEST_CASE("a failed second merge breaks the first page's KSM mapping with a COW fault (break_cow())", "[kernel]") {
  KsmRangeSetup s("fixed");
  const Pfn b = s.m.mm->pt().leaf(Vaddr{kB}).pfn();
  s.m.k->mem().write_content(b);  // B differs: pages_identical() fails
  kernel::Task<> t = kernel::ksm_merge_range(*s.m.k, *s.m.mm, Vaddr{kA}, 2);
  kernel::run_sync(t);
  const Pte pa = s.m.mm->pt().leaf(Vaddr{kA});
  CHECK(pa.writable());
  CHECK_FALSE(s.m.k->mem().frame(pa.pfn()).ksm);
  CHECK(pa.pfn() != s.a);  // the KSM page was copied, not reused
  CHECK_FALSE(s.m.k->mem().frame(s.a).allocated);
  s.m.k->check_invariants();
}

TEST_CASE("until stable_tree_insert() the new KSM page has a NULL stable node, and an rmap walk visits nothing", "[kernel]") {
  KsmRangeSetup s("fixed");
  kernel::Task<> t = kernel::ksm_merge_range(*s.m.k, *s.m.mm, Vaddr{kA}, 2);
  Stepper st(t);
  // B is merged into A's page; ksmd has yet to lock_page(kpage) and insert the node.
  REQUIRE(st.step_until([&] { return st.next_label() == "lock_page"; }));
  CHECK(s.m.mm->pt().leaf(Vaddr{kB}).pfn() == s.a);
  CHECK(s.m.k->mem().frame(s.a).ksm);
  CHECK(s.m.k->mem().frame(s.a).owner == 0);
  CHECK(kernel::rmap_vmas(*s.m.k, s.a).empty());
  st.finish();
  CHECK(s.rmap_addrs(s.a) == std::vector<uint64_t>{kA, kB});
}

TEST_CASE("mremap breaks the KSM pages of the range it moves first (move_vma()'s ksm_madvise(MADV_UNMERGEABLE))", "[kernel]") {
  KsmRangeSetup s("fixed");
  s.merge_range();
  constexpr uint64_t kNew = 0x800000;
  kernel::Task<> mv = kernel::sys_mremap(*s.m.k, *s.m.mm, Vaddr{kA}, 3 * kPageSize, Vaddr{kNew});
  kernel::run_sync(mv);
  for (uint64_t i = 0; i < 3; ++i) {
    const Pte p = s.m.mm->pt().leaf(Vaddr{kNew + i * kPageSize});
    REQUIRE(p.present());
    CHECK_FALSE(s.m.k->mem().frame(p.pfn()).ksm);  // a private copy, which anon rmap finds
    CHECK(p.writable());
  }
  // The moved pages migrate and come back like any anonymous page.
  kernel::Task<> t = kernel::dmirror_migrate(*s.m.k, *s.m.mm, VaRange{kNew, kNew + 3 * kPageSize});
  kernel::run_sync(t);
  for (uint64_t i = 0; i < 3; ++i) CHECK_FALSE(s.m.mm->pt().leaf(Vaddr{kNew + i * kPageSize}).is_migration());
  s.m.k->check_invariants();
}

TEST_CASE("ksmd holds a reference on the stable page while it merges into it, so a migration of that page backs off (stable_tree_search())",
          "[kernel]") {
  // Found by the valid-scenario soak (seed 968,997) once a completed run had to leave no page off
  // the LRU: without the reference, a migration moved the KSM page while ksmd was merging C into
  // it, and the merge then mapped the old page, left isolated by the migration for ever.
  KsmRangeSetup s("fixed");
  kernel::Task<> t = kernel::ksm_merge_range(*s.m.k, *s.m.mm, Vaddr{kA}, 3);
  Stepper st(t);
  // Stop where ksmd has looked the stable page up for C and waits for C's mmap_lock: before
  // try_to_merge_with_ksm_page() checks the page again and takes a reference of its own.
  const auto merges_begun = [&] {
    size_t n = 0;
    for (const Event& e : s.m.rec.events()) n += is_call(e, "try_to_merge_with_ksm_page") ? 1 : 0;
    return n;
  };
  REQUIRE(st.step_until([&] { return merges_begun() == 2 && st.next_label().rfind("mmap_read_lock", 0) == 0; }));
  REQUIRE(s.m.rec.find([](const Event& e) { return is_call(e, "try_to_merge_with_ksm_page") && e.va == kC; }) == Recorder::npos);
  REQUIRE(s.m.k->mem().frame(s.a).ksm);
  const std::vector<Pfn> isolated = kernel::isolate_migratepages_block(*s.m.k, {s.a});
  REQUIRE(isolated.size() == 1);
  kernel::Task<kernel::MigrateCounts> mig = kernel::migrate_pages(*s.m.k, isolated);
  const kernel::MigrateCounts counts = kernel::run_sync(mig);
  CHECK(counts.failed == 1);  // folio_migrate_mapping(): ksmd's reference is one too many
  CHECK(s.m.mm->pt().leaf(Vaddr{kA}).pfn() == s.a);
  st.finish();
  const uint32_t node = s.m.k->mem().frame(s.a).owner;
  REQUIRE(node != 0);
  CHECK(s.m.k->ksm().node(node).kpfn == s.a);
  for (const uint64_t va : {kA, kB, kC}) CHECK(s.m.mm->pt().leaf(Vaddr{va}).pfn() == s.a);
  s.m.k->check_invariants();
  s.m.k->mem().check_quiescent();
}
