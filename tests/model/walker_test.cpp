// SPDX-License-Identifier: MIT
// hw_walk(): the hardware walker reading the kernel's tables, with A/D updates, faults, walk-cache
// starts and walks through freed or reused table pages.
#include <catch2/catch.hpp>

#include "model/page_table.h"
#include "model/walker.h"
#include "support/memory_fixture.h"

namespace tlbsim {
namespace {

constexpr MmId kMm{1};
constexpr uint32_t kAsid = 9;
constexpr Vaddr kVa{0x7f0000345000};

struct Walk : test::MemoryFixture {
  Walk() : MemoryFixture(kMm, kAsid), pwc(32, Holder{HolderKind::CpuWalkCache, 0}, bus) {}
  WalkCache pwc;

  void check_hardware() const override { pwc.check_invariants(); }
  WalkResult walk(Vaddr va, bool write, bool use_pwc = true, WalkParams p = {}) {
    WalkResult r = hw_walk(mem, ctx(), va, write, use_pwc ? &pwc : nullptr, p);
    check();
    return r;
  }
  /// free_pte_range(): clear the PMD entry, then free the PTE table page. The walk cache is left
  /// alone, as a kernel that skipped the table flush would leave it.
  Pfn free_pte_table(Vaddr va) {
    const PteRef pmd = pt.lookup(va, 2);
    const Pfn table = pt.get(pmd).pfn();
    pt.set(pmd, va, Pte{}, "pmd_clear");
    mem.free(table, "pte_free");
    pt.note_table_freed();
    check();
    return table;
  }
};

}  // namespace

TEST_CASE("a read walk returns the leaf and sets only the accessed bit", "[model]") {
  Walk w;
  const Pfn data = w.map(kVa, true);
  w.rec.clear();
  const WalkResult r = w.walk(kVa + 0x10, false);
  CHECK(r.fault == WalkFault::None);
  CHECK(r.leaf_level == 1);
  CHECK(r.pfn_for(kVa.value()) == data);
  CHECK_FALSE(r.stale_table);
  const Pte pte = w.pt.leaf(kVa);
  CHECK(pte.young());
  CHECK_FALSE(pte.dirty());
  CHECK(r.leaf == pte);
  const auto stores = w.rec.of(EventKind::PteStore);
  REQUIRE(stores.size() == 1);
  CHECK(std::string(stores[0]->func) == "hardware A/D update");
  CHECK(stores[0]->va == kVa.value());
  CHECK(stores[0]->level == 1);
  CHECK(Pte{stores[0]->new_val}.young());
  CHECK_FALSE(Pte{stores[0]->old_val}.young());
}

TEST_CASE("a write walk sets accessed and dirty, a second walk stores nothing", "[model]") {
  Walk w;
  w.map(kVa, true);
  w.walk(kVa, true);
  const Pte pte = w.pt.leaf(kVa);
  CHECK(pte.young());
  CHECK(pte.dirty());
  w.rec.clear();
  CHECK(w.walk(kVa, true).fault == WalkFault::None);
  CHECK(w.rec.count(EventKind::PteStore) == 0);
}

TEST_CASE("set_access_dirty = false leaves the PTE untouched", "[model]") {
  Walk w;
  w.map(kVa, true);
  const Pte before = w.pt.leaf(kVa);
  w.rec.clear();
  const WalkResult r = w.walk(kVa, true, true, WalkParams{.set_access_dirty = false});
  CHECK(r.fault == WalkFault::None);
  CHECK(w.pt.leaf(kVa) == before);
  CHECK(w.rec.count(EventKind::PteStore) == 0);
}

TEST_CASE("a walk to a non-present leaf faults NotPresent at the level it stopped", "[model]") {
  Walk w;
  WalkResult r = w.walk(kVa, false);
  CHECK(r.fault == WalkFault::NotPresent);
  CHECK(r.leaf_level == 4);
  w.pt.alloc(kVa, 1, "__pte_alloc");  // tables exist, the PTE is none
  r = w.walk(kVa, false);
  CHECK(r.fault == WalkFault::NotPresent);
  CHECK(r.leaf_level == 1);
  CHECK(r.leaf.none());
  // A swap entry is passed back so the fault handler can see it.
  w.pt.set(w.pt.lookup(kVa, 1), kVa, Pte::swap_entry(Pte::SwpType::Swap, 17), "set_pte_at");
  r = w.walk(kVa, true);
  CHECK(r.fault == WalkFault::NotPresent);
  CHECK(r.leaf.swp_type() == Pte::SwpType::Swap);
  CHECK(r.leaf.swp_offset() == 17);
}

TEST_CASE("a write to a read-only leaf faults WriteProtect without touching A/D", "[model]") {
  Walk w;
  w.map(kVa, false);
  const Pte before = w.pt.leaf(kVa);
  w.rec.clear();
  const WalkResult r = w.walk(kVa, true);
  CHECK(r.fault == WalkFault::WriteProtect);
  CHECK(r.leaf_level == 1);
  CHECK(r.leaf == before);
  CHECK(w.pt.leaf(kVa) == before);
  CHECK(w.rec.count(EventKind::PteStore) == 0);
  // A read of the same page is fine.
  CHECK(w.walk(kVa, false).fault == WalkFault::None);
}

TEST_CASE("a walk ending at a huge PMD returns a level-2 leaf and caches two levels", "[model]") {
  Walk w;
  const Vaddr base{0x40000000};
  w.pt.set(w.pt.alloc(base, 2, "__pmd_alloc"), base, Pte::make(Pfn{4096}, true).with(Pte::kHuge), "set_pmd_at");
  w.check();
  w.rec.clear();
  const WalkResult r = w.walk(base + 5 * kPageSize, false);
  CHECK(r.fault == WalkFault::None);
  CHECK(r.leaf_level == 2);
  CHECK(r.pfn_for(base.value() + 5 * kPageSize) == Pfn{4101});
  CHECK(w.pt.leaf(base).young());
  CHECK(w.pwc.occupancy() == 2);  // PGD and PUD entries; the PMD entry is the leaf
  const auto stores = w.rec.of(EventKind::PteStore);
  REQUIRE(stores.size() == 1);
  CHECK(stores[0]->level == 2);
  CHECK(stores[0]->va == base.value());
}

TEST_CASE("a successful walk fills the walk cache with the three non-leaf levels", "[model]") {
  Walk w;
  w.map(kVa, true);
  w.rec.clear();
  w.walk(kVa, false);
  const auto fills = w.rec.of(EventKind::WalkFill);
  REQUIRE(fills.size() == 3);
  CHECK(fills[0]->level == 4);
  CHECK(fills[1]->level == 3);
  CHECK(fills[2]->level == 2);
  CHECK(fills[2]->pfn == w.pt.lookup(kVa, 1).table);
  CHECK(fills[2]->gen == w.mem.frame(fills[2]->pfn).generation);
}

SCENARIO("a walk starts from the deepest walk-cache entry", "[model]") {
  GIVEN("a walk cache filled by a walk of a mapped page") {
    Walk w;
    const Pfn data = w.map(kVa, true);
    w.walk(kVa, false);
    REQUIRE(w.pwc.occupancy() == 3);
    WHEN("the PGD entry is cleared behind the walk cache's back") {
      const PteRef pgd = w.pt.lookup(kVa, 4);
      const Pte old = w.pt.set(pgd, kVa, Pte{}, "pgd_clear");
      THEN("a walk with the walk cache still reaches the leaf, one without does not") {
        const WalkResult cached = hw_walk(w.mem, w.ctx(), kVa, false, &w.pwc, {});
        w.pwc.check_invariants();
        CHECK(cached.fault == WalkFault::None);
        CHECK(cached.pfn_for(kVa.value()) == data);
        const WalkResult fresh = hw_walk(w.mem, w.ctx(), kVa, false, nullptr, {});
        CHECK(fresh.fault == WalkFault::NotPresent);
        CHECK(fresh.leaf_level == 4);
      }
      w.pt.set(pgd, kVa, old, "pgd_populate");
      w.check();
    }
  }
}

SCENARIO("a walk through a cached PMD entry whose PTE table was freed", "[model]") {
  GIVEN("a walk cache pointing at the PTE table of a mapped page") {
    Walk w;
    const Pfn data = w.map(kVa, true);
    w.walk(kVa, false);
    const PteRef leaf_ref = w.pt.lookup(kVa, 1);
    const uint32_t gen = w.mem.frame(leaf_ref.table).generation;

    WHEN("the table page is freed but not reused") {
      const Pfn table = w.free_pte_table(kVa);
      w.rec.clear();
      const WalkResult r = w.walk(kVa, true);
      THEN("the walk reads the old entries, reports StaleTableWalk and writes nothing") {
        CHECK(r.stale_table);
        CHECK(r.fault == WalkFault::None);
        CHECK(r.pfn_for(kVa.value()) == data);
        const auto st = w.rec.of(EventKind::StaleTableWalk);
        REQUIRE(st.size() == 1);
        CHECK(st[0]->note == "table page freed");
        CHECK(st[0]->pfn == table);
        CHECK(st[0]->gen == gen);
        CHECK(st[0]->level == 2);
        CHECK(st[0]->holder == w.pwc.holder());
        CHECK(w.rec.count(EventKind::PteStore) == 0);  // no A/D store into a freed page
      }
      AND_THEN("a walk without the walk cache sees the cleared PMD") { CHECK(w.walk(kVa, false, false).fault == WalkFault::NotPresent); }
    }

    WHEN("the table page is reused as data") {
      const Pfn table = w.free_pte_table(kVa);
      REQUIRE(w.mem.alloc(FrameKind::Anon, 2, 0, "do_anonymous_page") == table);
      w.check();
      w.rec.clear();
      const WalkResult r = w.walk(kVa, false);
      THEN("the walk faults StaleTable") {
        CHECK(r.stale_table);
        CHECK(r.fault == WalkFault::StaleTable);
        const auto st = w.rec.of(EventKind::StaleTableWalk);
        REQUIRE(st.size() == 1);
        CHECK(st[0]->note == "table page reused as data");
        CHECK(st[0]->pfn == table);
      }
    }

    WHEN("the table page is reused as another mm's table") {
      const Pfn table = w.free_pte_table(kVa);
      REQUIRE(w.mem.alloc(FrameKind::Table, 7, 1, "pte_alloc_one") == table);
      w.check();
      w.rec.clear();
      THEN("the walk reads the zeroed page and faults NotPresent") {
        const WalkResult r = w.walk(kVa, false);
        CHECK(r.stale_table);
        CHECK(r.fault == WalkFault::NotPresent);
        const auto st = w.rec.of(EventKind::StaleTableWalk);
        REQUIRE(st.size() == 1);
        CHECK(st[0]->note == "table page reused as another table");
        CHECK(w.mem.frame(table).generation == gen + 1);
      }
      AND_WHEN("the new owner maps a page in the same slot") {
        w.mem.entry_mut(table, leaf_ref.index) = Pte::make(Pfn{12345}, true).raw();
        const WalkResult r = w.walk(kVa, true);
        THEN("the walk returns the foreign translation and does not set its A/D bits") {
          CHECK(r.stale_table);
          CHECK(r.fault == WalkFault::None);
          CHECK(r.pfn_for(kVa.value()) == Pfn{12345});
          CHECK_FALSE(Pte{w.mem.entry(table, leaf_ref.index)}.young());
        }
      }
    }
  }
}

TEST_CASE("cache_nonleaf_on_fault decides whether a faulting walk fills the walk cache", "[model]") {
  const bool keep = GENERATE(true, false);
  Walk w;
  SECTION("leaf not present") {
    w.pt.alloc(kVa, 1, "__pte_alloc");
    w.check();
    const WalkResult r = w.walk(kVa, false, true, WalkParams{.cache_nonleaf_on_fault = keep});
    CHECK(r.fault == WalkFault::NotPresent);
  }
  SECTION("leaf read-only, write access") {
    w.map(kVa, false);
    const WalkResult r = w.walk(kVa, true, true, WalkParams{.cache_nonleaf_on_fault = keep});
    CHECK(r.fault == WalkFault::WriteProtect);
  }
  CHECK(w.pwc.occupancy() == (keep ? 3u : 0u));
  CHECK(w.rec.count(EventKind::WalkFill) == (keep ? 3u : 0u));
}

TEST_CASE("a successful walk fills the walk cache regardless of cache_nonleaf_on_fault", "[model]") {
  Walk w;
  w.map(kVa, true);
  CHECK(w.walk(kVa, false, true, WalkParams{.cache_nonleaf_on_fault = false}).fault == WalkFault::None);
  CHECK(w.pwc.occupancy() == 3);
}

TEST_CASE("a user-mode walk through an entry without _PAGE_USER faults at the leaf, keeping the upper entries only if asked", "[model]") {
  const bool keep = GENERATE(true, false);
  Walk w;
  const Pfn data = w.mem.alloc(FrameKind::Kernel, 0, 0, "__vmalloc_area_node");
  w.set(kVa, Pte::make(data, true, false));  // a supervisor leaf
  const WalkResult r = w.walk(kVa, false, true, WalkParams{.user_request = true, .cache_nonleaf_on_supervisor_fault = keep});
  CHECK(r.fault == WalkFault::Supervisor);
  CHECK_FALSE(w.pt.leaf(kVa).young());  // no A/D update on a faulting walk
  CHECK(w.pwc.occupancy() == (keep ? 3u : 0u));
  // The supervisor fault has its own switch: the not-present one does not govern it.
  Walk v;
  v.set(kVa, Pte::make(data, true, false));
  CHECK(
      v.walk(kVa, false, true, WalkParams{.cache_nonleaf_on_fault = !keep, .user_request = true, .cache_nonleaf_on_supervisor_fault = keep})
          .fault == WalkFault::Supervisor);
  CHECK(v.pwc.occupancy() == (keep ? 3u : 0u));
  // A walk that is not user-mode (a CPU's kernel access) is allowed.
  CHECK(w.walk(kVa, false, true, WalkParams{}).fault == WalkFault::None);
}

TEST_CASE("a walk resumed from a walk-cache entry whose path lacked _PAGE_USER still faults a user request", "[model]") {
  Walk w;
  // init_mm-style: the PMD entry is a kernel table entry; the PTE below it would allow a user.
  const PteRef pmd = w.pt.alloc(kVa, 2, "pmd_alloc");
  const Pfn table = w.mem.alloc(FrameKind::Table, kMm.value(), 1, "pte_alloc_kernel");
  w.pt.note_table_allocated();
  w.pt.set(pmd, kVa, Pte::kernel_table(table), "pmd_populate_kernel");
  const Pfn data = w.map(kVa, true);
  REQUIRE(w.pt.leaf(kVa).pfn() == data);
  CHECK(w.walk(kVa, false, true, WalkParams{.user_request = true}).fault == WalkFault::Supervisor);
  REQUIRE(w.pwc.occupancy() == 3);
  w.pwc.for_each([](const WalkCacheEntry& e) { CHECK(e.user == (e.level > 2)); });
  // The second walk starts at the PTE table from the cached PMD entry, and knows its path.
  w.rec.clear();
  CHECK(w.walk(kVa, false, true, WalkParams{.user_request = true}).fault == WalkFault::Supervisor);
  CHECK(w.rec.count(EventKind::WalkFill) == 0);
}

TEST_CASE("walk-cache entries of a kernel-half address name init_mm, whose tables they point into", "[model]") {
  EventBus bus;
  test::Recorder rec;
  bus.add_sink(&rec);
  PhysMem mem({}, bus);
  PageTable init(mem, kInitMm, true);
  constexpr Vaddr kKva{kVmallocStart};
  const Pfn data = mem.alloc(FrameKind::Kernel, 0, 0, "__vmalloc_area_node");
  init.set(init.alloc(kKva, 1, "pte_alloc_kernel"), kKva, Pte::make(data, true, false), "vmap_pte_range");
  PageTable user(mem, kMm);
  user.clone_kernel_pgds(init);
  WalkCache pwc(32, Holder{HolderKind::CpuWalkCache, 0}, bus);
  rec.clear();
  const WalkResult r = hw_walk(mem, WalkContext{kMm, kAsid, user.pgd()}, kKva, false, &pwc, WalkParams{.user_request = true});
  CHECK(r.fault == WalkFault::Supervisor);
  const auto fills = rec.of(EventKind::WalkFill);
  REQUIRE(fills.size() == 3);
  for (const Event* e : fills) CHECK(e->mm == kInitMm);
  pwc.for_each([](const WalkCacheEntry& e) { CHECK_FALSE(e.user); });
}

}  // namespace tlbsim
