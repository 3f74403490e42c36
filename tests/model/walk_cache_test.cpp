// SPDX-License-Identifier: MIT
// WalkCache: paging-structure caches holding non-leaf entries with their table's generation.
#include <catch2/catch.hpp>

#include "model/page_table.h"
#include "model/walk_cache.h"
#include "support/recording_sink.h"

namespace tlbsim {
namespace {

constexpr Holder kHolder{HolderKind::CpuWalkCache, 0};
constexpr MmId kMm{2};
constexpr uint32_t kTag = 5;
constexpr uint64_t kVa = 0x7f1234567000;

struct Wc {
  explicit Wc(uint32_t entries = 8) : wc(entries, kHolder, bus) { bus.add_sink(&rec); }
  EventBus bus;
  test::Recorder rec;
  WalkCache wc;
  void fill(uint64_t va, uint8_t level, uint32_t table, uint32_t tag = kTag) {
    wc.fill(tag, kMm, va, level, Pfn{table}, 1, "page walk");
    wc.check_invariants();
  }
  const WalkCacheEntry* lookup(uint64_t va, uint32_t tag = kTag) {
    const WalkCacheEntry* e = wc.lookup(tag, va);
    wc.check_invariants();
    return e;
  }
};

}  // namespace

TEST_CASE("a walk cache with no entries is disabled and ignores fills", "[model]") {
  Wc w(0);
  CHECK_FALSE(w.wc.enabled());
  w.fill(kVa, 2, 10);
  CHECK(w.wc.occupancy() == 0);
  CHECK(w.lookup(kVa) == nullptr);
  CHECK(w.rec.events().empty());
}

TEST_CASE("walk cache entry spans follow their level", "[model]") {
  WalkCacheEntry e{.prefix = kVa >> level_shift(2), .level = 2};
  CHECK(e.start() == (kVa & ~(kPmdSize - 1)));
  CHECK(e.end() == e.start() + kPmdSize);
  e = WalkCacheEntry{.prefix = kVa >> level_shift(3), .level = 3};
  CHECK(e.end() - e.start() == kPudSize);
  e = WalkCacheEntry{.prefix = kVa >> level_shift(4), .level = 4};
  CHECK(e.end() - e.start() == uint64_t{1} << 39);
}

TEST_CASE("lookup returns the deepest entry covering the address", "[model]") {
  Wc w;
  w.fill(kVa, 4, 40);
  w.fill(kVa, 3, 30);
  w.fill(kVa, 2, 20);
  CHECK(w.wc.occupancy() == 3);
  const WalkCacheEntry* e = w.lookup(kVa + 0x123);
  REQUIRE(e != nullptr);
  CHECK(e->level == 2);
  CHECK(e->table == Pfn{20});
  CHECK(e->table_gen == 1);
  CHECK(e->mm == kMm);
  // Another 2 MiB region in the same 1 GiB: the PUD entry (level 3) is the deepest match.
  e = w.lookup(kVa + kPmdSize);
  REQUIRE(e != nullptr);
  CHECK(e->level == 3);
  CHECK(e->table == Pfn{30});
  // Another 1 GiB region in the same 512 GiB: only the PGD entry.
  e = w.lookup(kVa + kPudSize);
  REQUIRE(e != nullptr);
  CHECK(e->level == 4);
  // Another tag sees nothing.
  CHECK(w.lookup(kVa, kTag + 1) == nullptr);
}

TEST_CASE("fill emits WalkFill with the entry's span, table and generation", "[model]") {
  Wc w;
  w.wc.fill(kTag, kMm, kVa, 2, Pfn{20}, 7, "cpu page walk");
  w.wc.check_invariants();
  const auto fills = w.rec.of(EventKind::WalkFill);
  REQUIRE(fills.size() == 1);
  const Event& e = *fills[0];
  CHECK(e.holder == kHolder);
  CHECK(e.level == 2);
  CHECK(e.va == (kVa & ~(kPmdSize - 1)));
  CHECK(e.end == e.va + kPmdSize);
  CHECK(e.pfn == Pfn{20});
  CHECK(e.gen == 7);
  CHECK(e.tag == kTag);
  CHECK(e.mm == kMm);
  CHECK(std::string(e.func) == "cpu page walk");
}

TEST_CASE("refilling the same entry replaces it in place", "[model]") {
  Wc w;
  w.fill(kVa, 2, 20);
  w.wc.fill(kTag, kMm, kVa + 0x1000, 2, Pfn{21}, 2, "page walk");
  w.wc.check_invariants();
  CHECK(w.wc.occupancy() == 1);
  const WalkCacheEntry* e = w.lookup(kVa);
  REQUIRE(e != nullptr);
  CHECK(e->table == Pfn{21});
  CHECK(e->table_gen == 2);
}

// Range invalidation against entries of three levels:
//
//   2 MiB regions   0    1    2
//   PMD entries     P         P       (level 2)
//   PUD entry       UUUUUUUUUUUUU     (level 3, covers all three)
//   range                [-)          inside region 1
TEST_CASE("invalidate_range drops entries whose span intersects the range", "[model]") {
  Wc w;
  const uint64_t base = 0x40000000;  // 1 GiB aligned
  w.fill(base, 2, 20);
  w.fill(base + 2 * kPmdSize, 2, 22);
  w.fill(base, 3, 30);
  w.fill(base, 3, 30, kTag + 1);
  w.rec.clear();
  const size_t n = w.wc.invalidate_range(kTag, base + kPmdSize + 0x1000, base + kPmdSize + 0x3000, "flush_tlb_range");
  w.wc.check_invariants();
  CHECK(n == 1);  // only the PUD entry covers region 1
  CHECK(w.wc.occupancy() == 3);
  const auto drops = w.rec.of(EventKind::Drop);
  REQUIRE(drops.size() == 1);
  CHECK(drops[0]->level == 3);
  CHECK(drops[0]->pfn == Pfn{30});
  CHECK(std::string(drops[0]->func) == "flush_tlb_range");

  CHECK(w.wc.invalidate_range(kTag, base, base + 3 * kPmdSize, "free_pgtables") == 2);
  w.wc.check_invariants();
  CHECK(w.lookup(base) == nullptr);
  CHECK(w.lookup(base, kTag + 1) != nullptr);
}

TEST_CASE("invalidate_tag and invalidate_all", "[model]") {
  Wc w;
  w.fill(kVa, 2, 20);
  w.fill(kVa, 3, 30);
  w.fill(kVa, 2, 21, kTag + 1);
  CHECK(w.wc.invalidate_tag(kTag, "flush_tlb_mm") == 2);
  w.wc.check_invariants();
  CHECK(w.wc.occupancy() == 1);
  CHECK(w.lookup(kVa) == nullptr);
  CHECK(w.wc.invalidate_all("flush_tlb_all") == 1);
  w.wc.check_invariants();
  CHECK(w.wc.occupancy() == 0);
  CHECK(w.rec.count(EventKind::Drop) == 3);
}

SCENARIO("a full walk cache evicts its least recently used entry", "[model]") {
  GIVEN("a two-entry walk cache holding A then B") {
    Wc w(2);
    w.fill(0x000000, 2, 1);  // A
    w.fill(0x200000, 2, 2);  // B
    WHEN("A is looked up and C filled") {
      REQUIRE(w.lookup(0x000000) != nullptr);
      w.fill(0x400000, 2, 3);
      THEN("B is evicted with an Evict event") {
        CHECK(w.lookup(0x000000) != nullptr);
        CHECK(w.lookup(0x200000) == nullptr);
        CHECK(w.lookup(0x400000) != nullptr);
        const auto ev = w.rec.of(EventKind::Evict);
        REQUIRE(ev.size() == 1);
        CHECK(ev[0]->pfn == Pfn{2});
        CHECK(ev[0]->holder == kHolder);
      }
    }
  }
}

TEST_CASE("every change to a walk cache moves its version, so a check that skips an unchanged cache skips nothing", "[model]") {
  Wc w;
  uint64_t v = w.wc.version();
  auto moved = [&] {
    const uint64_t now = w.wc.version();
    const bool r = now != v;
    v = now;
    return r;
  };
  w.fill(kVa, 2, 30);
  CHECK(moved());  // fill
  CHECK(w.wc.lookup(kTag, kVa) != nullptr);
  CHECK(moved());  // a hit updates the LRU order
  CHECK(w.wc.lookup(kTag + 1, kVa) == nullptr);
  CHECK_FALSE(moved());  // a miss changes nothing
  CHECK(w.wc.invalidate_range(kTag, kVa, kVa + kPageSize, "test") == 1);
  CHECK(moved());  // drop
  w.fill(kVa, 2, 31);
  moved();
  CHECK(w.wc.invalidate_all("test") == 1);
  CHECK(moved());
}

}  // namespace tlbsim
