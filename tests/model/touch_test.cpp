// SPDX-License-Identifier: MIT
// Touches recorded by the model's accessors (model/touch.h): the explorer's dependency relation
// rests on them, so a read that emits no event must still be recorded.
#include <catch2/catch.hpp>

#include <algorithm>

#include "model/page_table.h"
#include "model/touch.h"
#include "model/walker.h"
#include "support/memory_fixture.h"

namespace tlbsim {
namespace {

constexpr MmId kMm{1};
constexpr uint32_t kAsid = 9;
constexpr Vaddr kVa{0x7f0000345000};

struct Touches : test::MemoryFixture {
  Touches() : MemoryFixture(kMm, kAsid), pwc(32, Holder{HolderKind::CpuWalkCache, 0}, bus) {}
  WalkCache pwc;
  void check_hardware() const override { pwc.check_invariants(); }
};

bool has(const std::vector<Touch>& ts, Touch::Obj o, bool write, uint64_t key, uint64_t at) {
  return std::any_of(ts.begin(), ts.end(),
                     [&](const Touch& t) { return t.obj == o && t.write == write && t.key == key && t.lo <= at && at < t.hi; });
}
bool has_frame(const std::vector<Touch>& ts, bool write, Pfn p) { return has(ts, Touch::Obj::Frame, write, 0, p.value()); }

}  // namespace

TEST_CASE("a walk that starts from a walk-cache entry records a read of the table page it points at", "[model][touch]") {
  // The walk emits no event naming the PTE table, yet what it reads depends on whether that page
  // is still a table: a step that frees the table must be dependent on this one.
  Touches f;
  f.map(kVa, true);
  const Pfn pte_table = f.pt.lookup(kVa, 1).table;
  hw_walk(f.mem, f.ctx(), kVa, false, &f.pwc, {});  // fills the walk cache
  std::vector<Touch> ts;
  {
    TouchScope scope(ts);
    const WalkResult r = hw_walk(f.mem, f.ctx(), kVa + kPageSize, false, &f.pwc, {});
    CHECK(r.fault == WalkFault::NotPresent);
  }
  CHECK(has_frame(ts, false, pte_table));
  CHECK(has(ts, Touch::Obj::Table, false, pte_table.value(), table_index(kVa.value() + kPageSize, 1)));
  // It read the walk-cache entries covering the address and made the hit the most recent.
  CHECK(has(ts, Touch::Obj::Cache, false, cache_touch_key(f.pwc.holder(), CachePart::Entries), kVa.value() + kPageSize));
  CHECK(has(ts, Touch::Obj::Cache, true, cache_touch_key(f.pwc.holder(), CachePart::Recency), 0));
  // It started below the PMD: the upper tables were not read.
  CHECK_FALSE(has(ts, Touch::Obj::Table, false, f.pt.pgd().value(), table_index(kVa.value(), 4)));
}

TEST_CASE(
    "clearing a PMD and freeing its PTE table record the mapping, the frame and the allocator as written, nothing is recorded outside a "
    "scope",
    "[model][touch]") {
  Touches f;
  f.map(kVa, true);
  const Pfn pte_table = f.pt.lookup(kVa, 1).table;
  std::vector<Touch> ts;
  f.mem.free(f.mem.alloc(FrameKind::Anon, 1, 0, "alloc"), "free");  // outside a scope: nothing recorded
  CHECK(ts.empty());
  {
    TouchScope scope(ts);
    const PteRef pmd = f.pt.lookup(kVa, 2);
    f.pt.set(pmd, kVa, Pte{}, "pmd_clear");
    f.mem.free(pte_table, "pte_free");
    f.pt.note_table_freed();
  }
  CHECK(has_frame(ts, true, pte_table));
  CHECK(has(ts, Touch::Obj::Allocator, true, 0, 0));
  CHECK(has(ts, Touch::Obj::PtRange, true, kMm.value(), kVa.value()));
}

TEST_CASE("a PTE store through a held PTE table records the slot, a scan records the slots it read", "[model][touch]") {
  Touches f;
  f.map(kVa, true);
  const Pfn pte_table = f.pt.lookup(kVa, 1).table;
  const PageTable::PteMap m = f.pt.map(pte_table);
  std::vector<Touch> ts;
  {
    TouchScope scope(ts);
    // Scan from two pages below kVa: those two slots are empty, kVa's stops the scan.
    const uint64_t from = kVa.value() - 2 * kPageSize;
    CHECK(f.pt.skip_none(m, from, kVa.value() + kPageSize) == kVa.value());
    f.pt.set(m, kVa.value(), Pte{}, "ptep_get_and_clear");
  }
  for (uint64_t va = kVa.value() - 2 * kPageSize; va <= kVa.value(); va += kPageSize)
    CHECK(has(ts, Touch::Obj::Table, false, pte_table.value(), table_index(va, 1)));
  CHECK(has(ts, Touch::Obj::Table, true, pte_table.value(), table_index(kVa.value(), 1)));
  CHECK_FALSE(has(ts, Touch::Obj::Table, false, pte_table.value(), table_index(kVa.value() + kPageSize, 1)));
}

TEST_CASE("a lookup served by the page table's cursor records the upper entries it did not re-read", "[model][touch]") {
  Touches f;
  f.map(kVa, true);
  (void)f.pt.lookup(kVa, 1);  // the cursor now holds kVa's PTE table
  std::vector<Touch> ts;
  {
    TouchScope scope(ts);
    (void)f.pt.lookup(kVa + kPageSize, 1);
  }
  const PteRef pmd = f.pt.lookup(kVa, 2);
  CHECK(has(ts, Touch::Obj::Table, false, pmd.table.value(), pmd.index));
  CHECK(has(ts, Touch::Obj::Table, false, f.pt.pgd().value(), table_index(kVa.value(), 4)));
}

}  // namespace tlbsim
