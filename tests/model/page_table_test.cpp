// SPDX-License-Identifier: MIT
// PageTable: the kernel's software view of a 4-level table whose table pages are PhysMem frames.
#include <catch2/catch.hpp>
#include <vector>

#include "model/check.h"
#include "model/page_table.h"
#include "model/page_table_bound.h"
#include "support/recording_sink.h"

namespace tlbsim {
namespace {

constexpr MmId kMm{3};

struct Pt {
  Pt() : mem({}, bus) {
    bus.add_sink(&rec);
    pt = std::make_unique<PageTable>(mem, kMm);
  }
  EventBus bus;
  test::Recorder rec;
  PhysMem mem;
  std::unique_ptr<PageTable> pt;
  void check() const {
    mem.check_invariants();
    pt->check_invariants();
  }
};

}  // namespace

TEST_CASE("a new page table owns one PGD frame", "[model]") {
  Pt p;
  p.check();
  CHECK(p.pt->tables() == 1);
  CHECK(p.pt->mm() == kMm);
  CHECK(p.mem.is_live_table(p.pt->pgd()));
  CHECK(p.mem.frame(p.pt->pgd()).owner == kMm.value());
  CHECK(p.mem.tables_in_use() == 1);
  REQUIRE(p.rec.count(EventKind::FrameAlloc) == 1);
  CHECK(std::string(p.rec.of(EventKind::FrameAlloc)[0]->func) == "pgd_alloc");
}

TEST_CASE("lookup finds only the levels whose upper tables exist", "[model]") {
  Pt p;
  const Vaddr va{0x7f0000123000};
  const PteRef pgd = p.pt->lookup(va, 4);
  p.check();
  CHECK(pgd.valid());
  CHECK(pgd.table == p.pt->pgd());
  CHECK(pgd.level == 4);
  CHECK(pgd.index == table_index(va.value(), 4));
  for (unsigned level = 1; level <= 3; ++level) CHECK_FALSE(p.pt->lookup(va, level).valid());
  CHECK(p.pt->leaf(va).none());
}

SCENARIO("alloc populates the missing intermediate tables", "[model]") {
  GIVEN("an empty page table") {
    Pt p;
    const Vaddr va{0x7f0000123000};
    WHEN("a PTE slot is allocated") {
      const PteRef r = p.pt->alloc(va, 1, "__pte_alloc");
      p.check();
      THEN("PUD, PMD and PTE tables are allocated and linked, each with one store") {
        CHECK(r.valid());
        CHECK(r.level == 1);
        CHECK(r.index == table_index(va.value(), 1));
        CHECK(p.pt->tables() == 4);
        CHECK(p.mem.tables_in_use() == 4);
        CHECK(p.rec.count(EventKind::FrameAlloc) == 4);
        const auto stores = p.rec.of(EventKind::PteStore);
        REQUIRE(stores.size() == 3);
        CHECK(stores[0]->level == 4);
        CHECK(stores[1]->level == 3);
        CHECK(stores[2]->level == 2);
        for (const Event* s : stores) {
          CHECK(s->old_val == 0);
          CHECK(Pte{s->new_val}.present());
          CHECK(p.mem.is_live_table(Pte{s->new_val}.pfn()));
          CHECK(std::string(s->func) == "__pte_alloc");
          CHECK(s->mm == kMm);
        }
        CHECK(Pte{stores[2]->new_val}.pfn() == r.table);
        for (unsigned level = 1; level <= 4; ++level) CHECK(p.pt->lookup(va, level).valid());
        CHECK(p.pt->lookup(va, 1).table == r.table);
      }
      AND_WHEN("another page in the same 2 MiB region is allocated") {
        const PteRef r2 = p.pt->alloc(va + 0x1000, 1, "__pte_alloc");
        p.check();
        THEN("no table is added and it shares the PTE table") {
          CHECK(p.pt->tables() == 4);
          CHECK(r2.table == r.table);
          CHECK(r2.index == r.index + 1);
        }
      }
      AND_WHEN("a page in the next 2 MiB region is allocated") {
        const PteRef r3 = p.pt->alloc(va + kPmdSize, 1, "__pte_alloc");
        p.check();
        THEN("only a new PTE table is added") {
          CHECK(p.pt->tables() == 5);
          CHECK(r3.table != r.table);
        }
      }
    }
    WHEN("only a PMD slot is allocated") {
      const PteRef r = p.pt->alloc(va, 2, "__pmd_alloc");
      p.check();
      THEN("PUD and PMD tables exist, no PTE table") {
        CHECK(r.level == 2);
        CHECK(p.pt->tables() == 3);
        CHECK(p.pt->lookup(va, 2).valid());
        CHECK_FALSE(p.pt->lookup(va, 1).valid());
      }
    }
  }
}

TEST_CASE("set stores the entry and emits PteStore with old and new values", "[model]") {
  Pt p;
  const Vaddr va{0x400000 + 5 * kPageSize + 0x123};
  const PteRef r = p.pt->alloc(va, 1, "__pte_alloc");
  p.rec.clear();
  const Pte first = Pte::make(Pfn{42}, true);
  CHECK(p.pt->set(r, va, first, "set_pte_at").none());
  p.check();
  const Pte second = Pte::make(Pfn{43}, false);
  CHECK(p.pt->set(r, va, second, "set_pte_at") == first);
  p.check();
  CHECK(p.pt->get(r) == second);

  const auto stores = p.rec.of(EventKind::PteStore);
  REQUIRE(stores.size() == 2);
  const Event& e = *stores[1];
  CHECK(e.old_val == first.raw());
  CHECK(e.new_val == second.raw());
  CHECK(e.level == 1);
  CHECK(e.va == va.page().value());  // masked to the entry's span
  CHECK(e.end == va.page().value() + kPageSize);
  CHECK(e.pfn == r.table);
  CHECK(e.aux == r.index);
  CHECK(e.mm == kMm);
  CHECK(std::string(e.func) == "set_pte_at");
}

TEST_CASE("leaf follows a 4 KiB PTE and reports its level", "[model]") {
  Pt p;
  const Vaddr va{0x400000 + 7 * kPageSize};
  const PteRef r = p.pt->alloc(va, 1, "__pte_alloc");
  p.pt->set(r, va, Pte::make(Pfn{77}, true), "set_pte_at");
  p.check();
  unsigned level = 0;
  const Pte l = p.pt->leaf(va + 0x10, &level);
  CHECK(level == 1);
  CHECK(l.present());
  CHECK(l.pfn() == Pfn{77});
  CHECK(l.writable());
  CHECK(p.pt->leaf(va + kPageSize).none());  // neighbour in the same table not mapped
}

TEST_CASE("leaf of a huge PMD covers the whole 2 MiB region", "[model]") {
  Pt p;
  const Vaddr base{0x40000000};
  const PteRef r = p.pt->alloc(base, 2, "__pmd_alloc");
  const Pte huge = Pte::make(Pfn{1024}, true).with(Pte::kHuge);
  p.pt->set(r, base, huge, "set_pmd_at");
  p.check();
  CHECK(p.pt->tables() == 3);
  for (uint64_t off : {uint64_t{0}, uint64_t{0x1000}, kPmdSize - kPageSize}) {
    unsigned level = 0;
    const Pte l = p.pt->leaf(base + off, &level);
    CHECK(level == 2);
    CHECK(l.huge());
    CHECK(l.pfn() == Pfn{1024});
  }
  CHECK(p.pt->leaf(base + kPmdSize).none());
  // lookup stops at the huge entry; allocating a PTE table below it is a kernel bug.
  CHECK_FALSE(p.pt->lookup(base + 0x5000, 1).valid());
  CHECK(p.pt->lookup(base + 0x5000, 2).valid());
  CHECK_THROWS_AS(p.pt->alloc(base + 0x5000, 1, "__pte_alloc"), InvariantViolation);
  p.check();
  const auto stores = p.rec.of(EventKind::PteStore);
  REQUIRE_FALSE(stores.empty());
  CHECK(stores.back()->level == 2);
  CHECK(stores.back()->va == base.value());
  CHECK(stores.back()->end == base.value() + kPmdSize);
}

TEST_CASE("leaf reports the level where an unmapped walk stopped", "[model]") {
  Pt p;
  unsigned level = 0;
  CHECK(p.pt->leaf(Vaddr{0x1000}, &level).none());
  CHECK(level == 4);
  p.pt->alloc(Vaddr{0x1000}, 2, "__pmd_alloc");
  CHECK(p.pt->leaf(Vaddr{0x1000}, &level).none());
  CHECK(level == 2);
  p.check();
}

TEST_CASE("alloc under a non-present non-none upper entry throws", "[model]") {
  Pt p;
  const Vaddr va{0x200000};
  const PteRef pmd = p.pt->alloc(va, 2, "__pmd_alloc");
  p.pt->set(pmd, va, Pte::swap_entry(Pte::SwpType::MigrationRead, 5), "set_pmd_migration_entry");
  CHECK_THROWS_AS(p.pt->alloc(va, 1, "__pte_alloc"), InvariantViolation);
  p.check();
}

TEST_CASE("check_invariants catches an entry pointing at a freed table", "[model]") {
  Pt p;
  const Vaddr va{0x200000};
  const PteRef r = p.pt->alloc(va, 1, "__pte_alloc");
  p.check();
  // Free the PTE table without clearing the PMD entry: free_pte_range() done wrong.
  p.mem.free(r.table, "pte_free");
  p.pt->note_table_freed();
  p.mem.check_invariants();
  CHECK_THROWS_AS(p.pt->check_invariants(), InvariantViolation);
}

TEST_CASE("a PteMap held across the free of its table throws instead of touching the body", "[model]") {
  Pt p;
  const Vaddr va{0x400000 + 3 * kPageSize};
  const PteRef r = p.pt->alloc(va, 1, "__pte_alloc");
  const PageTable::PteMap m = p.pt->map(r.table);
  CHECK(p.pt->set(m, va.value(), Pte::make(Pfn{42}, true), "set_pte_at").none());
  CHECK(p.pt->get(m, va.value()) == Pte::make(Pfn{42}, true));
  // free_pte_range() while a walker still holds pte_offset_map()'s pointer.
  p.mem.free(r.table, "pte_free");
  p.pt->note_table_freed();
  const size_t stores = p.rec.count(EventKind::PteStore);
  CHECK_THROWS_AS(p.pt->get(m, va.value()), InvariantViolation);
  CHECK_THROWS_AS(p.pt->set(m, va.value(), Pte{}, "set_pte_at"), InvariantViolation);
  CHECK(p.rec.count(EventKind::PteStore) == stores);
  // The message names the frame.
  try {
    p.pt->get(m, va.value());
  } catch (const InvariantViolation& e) {
    CHECK(std::string(e.what()).find("pfn " + std::to_string(r.table.value())) != std::string::npos);
  }
}

TEST_CASE("a PteMap whose table frame was freed and reused as another table throws", "[model]") {
  Pt p;
  const Vaddr va{0x400000 + 3 * kPageSize};
  const PteRef r = p.pt->alloc(va, 1, "__pte_alloc");
  const PageTable::PteMap m = p.pt->map(r.table);
  p.mem.free(r.table, "pte_free");
  p.pt->note_table_freed();
  // The allocator hands the same frame out again as a table: live, but not the one mapped.
  const Pfn again = p.mem.alloc(FrameKind::Table, p.pt->mm().value(), 0, "pte_alloc_one");
  REQUIRE(again == r.table);
  REQUIRE(p.mem.is_live_table(again));
  CHECK_THROWS_AS(p.pt->get(m, va.value()), InvariantViolation);
  CHECK_THROWS_AS(p.pt->set(m, va.value(), Pte{}, "set_pte_at"), InvariantViolation);
}

TEST_CASE("a PteMap keeps working across the free of another table", "[model]") {
  Pt p;
  const Vaddr va{0x400000};
  const Vaddr other{0x800000};
  const PteRef r = p.pt->alloc(va, 1, "__pte_alloc");
  const PteRef o = p.pt->alloc(other, 1, "__pte_alloc");
  const PageTable::PteMap m = p.pt->map(r.table);
  p.pt->set(m, va.value(), Pte::make(Pfn{42}, true), "set_pte_at");
  p.pt->set(p.pt->lookup(other, 2), other, Pte{}, "pmd_clear");
  p.mem.free(o.table, "pte_free");
  p.pt->note_table_freed();
  CHECK(p.pt->get(m, va.value()) == Pte::make(Pfn{42}, true));
}

TEST_CASE("skip_none stops at the first used entry, a swap entry included, or at the end", "[model]") {
  Pt p;
  const uint64_t base = 0x400000;
  const PteRef r = p.pt->alloc(Vaddr{base}, 1, "__pte_alloc");
  const PageTable::PteMap m = p.pt->map(r.table);
  const uint64_t end = base + 16 * kPageSize;
  CHECK(p.pt->skip_none(m, base, end) == end);
  p.pt->set(m, base + 5 * kPageSize, Pte::swap_entry(Pte::SwpType::MigrationRead, 5), "set_pte_at");
  p.pt->set(m, base + 9 * kPageSize, Pte::make(Pfn{42}, true), "set_pte_at");
  CHECK(p.pt->skip_none(m, base, end) == base + 5 * kPageSize);
  CHECK(p.pt->skip_none(m, base + 5 * kPageSize, end) == base + 5 * kPageSize);
  CHECK(p.pt->skip_none(m, base + 6 * kPageSize, end) == base + 9 * kPageSize);
  CHECK(p.pt->skip_none(m, base + 10 * kPageSize, end) == end);
}

TEST_CASE("skip_none over a whole table finds what a slot-by-slot scan finds, across chunks never stored to", "[model]") {
  // A PTE table at 0x40000000 (slot i maps base + i pages), its entries in chunks of 64 slots.
  // For sets of used slots drawn by a fixed generator, skip_none() from every slot to every
  // later end agrees with a scan of the slots one by one.
  const uint64_t base = 0x40000000;
  uint64_t x = 12345;
  auto next = [&x] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<unsigned>(x >> 33);
  };
  for (int round = 0; round < 40; ++round) {
    Pt p;
    const PteRef r = p.pt->alloc(Vaddr{base}, 1, "__pte_alloc");
    const PageTable::PteMap m = p.pt->map(r.table);
    std::vector<bool> used(kPtrsPerTable, false);
    const unsigned n = round == 0 ? 0 : next() % 6;
    for (unsigned k = 0; k < n; ++k) used[next() % kPtrsPerTable] = true;
    for (unsigned i = 0; i < kPtrsPerTable; ++i)
      if (used[i]) p.pt->set(m, base + i * kPageSize, Pte::make(Pfn{100 + i}, true), "set_pte_at");
    for (unsigned from = 0; from < kPtrsPerTable; from += 1 + next() % 37) {
      for (unsigned to = from + 1; to <= kPtrsPerTable; to += 1 + next() % 53) {
        unsigned want = from;
        while (want < to && !used[want]) ++want;
        INFO("round " << round << " from slot " << from << " to " << to);
        CHECK(p.pt->skip_none(m, base + from * kPageSize, base + to * kPageSize) == base + want * kPageSize);
      }
    }
  }
}

TEST_CASE("check_invariants catches a wrong table count", "[model]") {
  Pt p;
  p.pt->alloc(Vaddr{0x200000}, 1, "__pte_alloc");
  p.check();
  p.pt->note_table_allocated();
  CHECK_THROWS_AS(p.pt->check_invariants(), InvariantViolation);
}

}  // namespace tlbsim

namespace tlbsim {

TEST_CASE("clone_kernel_pgds shares init_mm's kernel half: same tables, each mm's check walks only its own half", "[model]") {
  EventBus bus;
  PhysMem mem({}, bus);
  PageTable init(mem, kInitMm, true);
  const Vaddr kva{kVmallocStart + 5 * kPageSize};
  const PteRef pte = init.alloc(kva, 1, "pte_alloc_kernel");
  const Pfn page = mem.alloc(FrameKind::Kernel, 0, 0, "__vmalloc_area_node");
  init.set(pte, kva, Pte::make(page, true, false), "vmap_pte_range");
  // init_mm's upper entries are kernel table entries: no _PAGE_USER.
  for (unsigned l = 4; l >= 2; --l) CHECK_FALSE(init.get(init.lookup(kva, l)).user());
  PageTable a(mem, MmId{1}), b(mem, MmId{2});
  a.clone_kernel_pgds(init);
  b.clone_kernel_pgds(init);
  CHECK(a.leaf(kva).pfn() == page);
  CHECK(b.leaf(kva).pfn() == page);
  CHECK(a.lookup(kva, 3).table == init.lookup(kva, 3).table);  // the same PUD table
  CHECK(a.lookup(kva, 1).table == b.lookup(kva, 1).table);
  // Each check walks its own half only: a shared kernel table is not "owned by another mm".
  CHECK_NOTHROW(init.check_invariants());
  CHECK_NOTHROW(a.check_invariants());
  CHECK_NOTHROW(b.check_invariants());
  CHECK(a.tables() == 1);  // the PGD; the kernel tables are init_mm's
  // A user mapping of `a` does not reach `b` or init_mm.
  a.set(a.alloc(Vaddr{0x1000}, 1, "__pte_alloc"), Vaddr{0x1000}, Pte::make(mem.alloc(FrameKind::Anon, 1, 1, "do_anonymous_page"), true),
        "set_pte_at");
  CHECK_FALSE(b.leaf(Vaddr{0x1000}).present());
  CHECK_NOTHROW(a.check_invariants());
  CHECK_NOTHROW(init.check_invariants());
}

TEST_CASE("max_tables_for_range covers the tables a range allocates, wherever it starts", "[model]") {
  // Ranges that straddle a 2 MiB, a 1 GiB and the 512 GiB boundary, each allocated down to its
  // PTEs in a fresh table: the tables added (the PGD aside) never exceed the estimate, and the
  // worst placement meets it.
  struct Range {
    uint64_t start;
    uint64_t pages;
  };
  constexpr uint64_t kPgdSpan = uint64_t{1} << 39;
  constexpr uint64_t kPudSpan = uint64_t{1} << 30;
  constexpr uint64_t kPmdSpan = uint64_t{1} << 21;
  const std::vector<Range> ranges = {
      {0x10000000, 1},
      {kPgdSpan - kPageSize, 2},
      {kPmdSpan - kPageSize, 512},
      {kPudSpan - kPageSize, 513},
      {kPgdSpan - kPudSpan / 2, 262144},
      {kPgdSpan - kPudSpan - kPageSize, 262146},
  };
  bool met = false;
  for (const Range& r : ranges) {
    Pt p;
    for (uint64_t i = 0; i < r.pages; ++i) p.pt->alloc(Vaddr{r.start + i * kPageSize}, 1, "test");
    p.check();
    INFO("start " << r.start << ", " << r.pages << " pages: " << p.pt->tables() - 1 << " tables");
    CHECK(p.pt->tables() - 1 <= max_tables_for_range(r.pages));
    met = met || p.pt->tables() - 1 == max_tables_for_range(r.pages);
  }
  CHECK(met);
}

}  // namespace tlbsim
