// SPDX-License-Identifier: MIT
// TranslationCache: the tagged, set-associative leaf cache used for CPU TLBs, IOTLBs and ATCs.
#include <catch2/catch.hpp>

#include "model/check.h"
#include "model/translation_cache.h"
#include "support/recording_sink.h"

namespace tlbsim {
namespace {

constexpr Holder kHolder{HolderKind::CpuTlb, 1};
constexpr MmId kMm{4};
constexpr uint32_t kTag = 7;
constexpr uint32_t kOtherTag = 8;

Vaddr page(uint64_t n) { return Vaddr{n << kPageShift}; }

struct Tc {
  explicit Tc(TranslationCacheConfig cfg = {}) : tc(cfg, kHolder, bus) { bus.add_sink(&rec); }
  EventBus bus;
  test::Recorder rec;
  TranslationCache tc;
  void fill(uint64_t vpn, uint32_t pfn, bool writable = true, uint32_t tag = kTag) {
    tc.fill(tag, kMm, page(vpn), Pfn{pfn}, writable, false, "test fill");
    tc.check_invariants();
  }
  void fill_huge(uint64_t va, uint32_t pfn, bool writable = true) {
    tc.fill(kTag, kMm, Vaddr{va}, Pfn{pfn}, writable, true, "test fill");
    tc.check_invariants();
  }
  bool has(uint64_t vpn, uint32_t tag = kTag) {
    const bool r = tc.lookup(tag, page(vpn)) != nullptr;
    tc.check_invariants();
    return r;
  }
};

}  // namespace

TEST_CASE("a translation cache starts empty with sets*ways entries", "[model]") {
  Tc t(TranslationCacheConfig{.sets = 8, .ways = 3});
  t.tc.check_invariants();
  CHECK(t.tc.capacity() == 24);
  CHECK(t.tc.occupancy() == 0);
  CHECK(t.tc.holder() == kHolder);
  CHECK_FALSE(t.has(0));
}

TEST_CASE("a translation cache needs at least one set and one way", "[model]") {
  EventBus bus;
  CHECK_THROWS_AS(TranslationCache(TranslationCacheConfig{.sets = 0, .ways = 4}, kHolder, bus), InvariantViolation);
  CHECK_THROWS_AS(TranslationCache(TranslationCacheConfig{.sets = 4, .ways = 0}, kHolder, bus), InvariantViolation);
}

TEST_CASE("fill then lookup returns the translation under the same tag only", "[model]") {
  Tc t;
  t.fill(0x123, 55, false);
  const CachedTranslation* c = t.tc.lookup(kTag, page(0x123) + 0x456);
  t.tc.check_invariants();
  REQUIRE(c != nullptr);
  CHECK(c->pfn == Pfn{55});
  CHECK(c->pfn_for(0x123) == Pfn{55});
  CHECK_FALSE(c->writable);
  CHECK_FALSE(c->huge);
  CHECK(c->mm == kMm);
  CHECK(c->tag == kTag);
  CHECK_FALSE(t.has(0x123, kOtherTag));
  CHECK_FALSE(t.has(0x124));
  CHECK(t.tc.occupancy() == 1);
}

TEST_CASE("a refill of the same address replaces the entry in place", "[model]") {
  Tc t;
  t.fill(0x10, 1, false);
  t.fill(0x10, 2, true);
  CHECK(t.tc.occupancy() == 1);
  const CachedTranslation* c = t.tc.lookup(kTag, page(0x10));
  REQUIRE(c != nullptr);
  CHECK(c->pfn == Pfn{2});
  CHECK(c->writable);
  // The replaced entry is reported gone, so a stale-window observer sees it end.
  const auto ev = t.rec.of(EventKind::Evict);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0]->pfn == Pfn{1});
}

TEST_CASE("a huge entry covers the 512 pages of its 2 MiB region", "[model]") {
  Tc t;
  // Fill from an address inside the region: the entry is aligned down to 2 MiB.
  const uint64_t base_vpn = 0x40000000 >> kPageShift;
  t.fill_huge(0x40000000 + 0x37000, 2048);
  CHECK(t.tc.occupancy() == 1);
  for (uint64_t i = 0; i < 512; ++i) {
    const CachedTranslation* c = t.tc.lookup(kTag, page(base_vpn + i));
    REQUIRE(c != nullptr);
    CHECK(c->huge);
    CHECK(c->vpn == base_vpn);
    CHECK(c->pfn_for(base_vpn + i) == Pfn{uint32_t(2048 + i)});
  }
  t.tc.check_invariants();
  CHECK_FALSE(t.has(base_vpn + 512));
  CHECK_FALSE(t.has(base_vpn - 1));
  const auto fills = t.rec.of(EventKind::Fill);
  REQUIRE(fills.size() == 1);
  CHECK(fills[0]->va == 0x40000000);
  CHECK(fills[0]->end == 0x40000000 + kPmdSize);
  CHECK((fills[0]->flags & kEvHuge) != 0);
  CHECK(fills[0]->level == 2);
}

TEST_CASE("fill emits Fill with holder, tag, mm, span, pfn and permission", "[model]") {
  Tc t;
  t.bus.set_actor(t.bus.intern_actor("cpu1"));
  t.fill(0x99, 12, true);
  const auto fills = t.rec.of(EventKind::Fill);
  REQUIRE(fills.size() == 1);
  const Event& e = *fills[0];
  CHECK(e.holder == kHolder);
  CHECK(e.tag == kTag);
  CHECK(e.mm == kMm);
  CHECK(e.va == 0x99000);
  CHECK(e.end == 0x9a000);
  CHECK(e.pfn == Pfn{12});
  CHECK((e.flags & kEvWrite) != 0);
  CHECK((e.flags & kEvHuge) == 0);
  CHECK(e.level == 1);
  CHECK(std::string(e.func) == "test fill");
  CHECK(t.bus.actor_names()[e.actor] == "cpu1");
}

// Range invalidation, small range (per-page probes) and large range (full scan):
//
//   page      0123456789
//   cached    CCCCCCCCCC      tag 7, plus page 3 under tag 8
//   range       [----)        [2, 6)
//   after     CC    CCCC      tag 8's page 3 survives
TEST_CASE("invalidate_range drops exactly the entries of the tag inside the range", "[model]") {
  Tc t;
  for (uint64_t v = 0; v < 10; ++v) t.fill(v, uint32_t(100 + v));
  t.fill(3, 999, true, kOtherTag);
  t.rec.clear();
  const size_t n = t.tc.invalidate_range(kTag, 2 * kPageSize, 6 * kPageSize, "flush_tlb_range");
  t.tc.check_invariants();
  CHECK(n == 4);
  for (uint64_t v = 0; v < 10; ++v) CHECK(t.has(v) == (v < 2 || v >= 6));
  CHECK(t.has(3, kOtherTag));
  const auto drops = t.rec.of(EventKind::Drop);
  REQUIRE(drops.size() == 4);
  for (const Event* d : drops) {
    CHECK(std::string(d->func) == "flush_tlb_range");
    CHECK(d->holder == kHolder);
    CHECK(d->va >= 2 * kPageSize);
    CHECK(d->va < 6 * kPageSize);
  }
  CHECK(t.rec.count(EventKind::Evict) == 0);
}

TEST_CASE("invalidate_range with an unaligned or empty range", "[model]") {
  Tc t;
  for (uint64_t v = 0; v < 4; ++v) t.fill(v, uint32_t(v));
  CHECK(t.tc.invalidate_range(kTag, 5 * kPageSize, 5 * kPageSize, "empty") == 0);
  CHECK(t.tc.invalidate_range(kTag, 6 * kPageSize, 2 * kPageSize, "reversed") == 0);
  t.tc.check_invariants();
  CHECK(t.tc.occupancy() == 4);
  // [0x1fff, 0x2001) touches pages 1 and 2.
  CHECK(t.tc.invalidate_range(kTag, 0x1fff, 0x2001, "unaligned") == 2);
  t.tc.check_invariants();
  CHECK(t.has(0));
  CHECK_FALSE(t.has(1));
  CHECK_FALSE(t.has(2));
  CHECK(t.has(3));
}

TEST_CASE("invalidate_range over a large range scans and drops by overlap", "[model]") {
  // 4 sets: anything above 2 * sets = 8 pages takes the scan path. 32 ways so nothing evicts.
  Tc t(TranslationCacheConfig{.sets = 4, .ways = 32});
  for (uint64_t v = 0; v < 20; ++v) t.fill(v, uint32_t(v));
  t.fill(100, 100, true, kOtherTag);
  const size_t n = t.tc.invalidate_range(kTag, 4 * kPageSize, 16 * kPageSize, "flush_tlb_mm_range");
  t.tc.check_invariants();
  CHECK(n == 12);
  for (uint64_t v = 0; v < 20; ++v) CHECK(t.has(v) == (v < 4 || v >= 16));
  CHECK(t.has(100, kOtherTag));
  CHECK(t.tc.invalidate_range(kTag, 0, kFlushAll, "flush all") == 8);
  t.tc.check_invariants();
  CHECK(t.tc.occupancy() == 1);
}

TEST_CASE("a range touching one page of a huge entry drops the whole entry", "[model]") {
  const uint64_t pages = GENERATE(uint64_t{1}, uint64_t{4096});  // probe path and scan path
  Tc t;
  t.fill_huge(0x200000, 512);
  const uint64_t end = 0x400000;  // the last page of the huge region is inside the range
  const uint64_t start = end - kPageSize;
  CHECK(t.tc.invalidate_range(kTag, start, start + pages * kPageSize, "flush") == 1);
  t.tc.check_invariants();
  CHECK(t.tc.occupancy() == 0);
  const auto drops = t.rec.of(EventKind::Drop);
  REQUIRE(drops.size() == 1);
  CHECK((drops[0]->flags & kEvHuge) != 0);
  CHECK(drops[0]->va == 0x200000);
  CHECK(drops[0]->end == end);
}

TEST_CASE("invalidate_tag drops one tag, invalidate_all drops every entry", "[model]") {
  Tc t;
  for (uint64_t v = 0; v < 5; ++v) t.fill(v, uint32_t(v));
  for (uint64_t v = 0; v < 3; ++v) t.fill(v, uint32_t(v), true, kOtherTag);
  CHECK(t.tc.invalidate_tag(kTag, "flush_tlb_mm") == 5);
  t.tc.check_invariants();
  CHECK(t.tc.occupancy() == 3);
  for (uint64_t v = 0; v < 3; ++v) CHECK(t.has(v, kOtherTag));
  CHECK(t.tc.invalidate_tag(kTag, "flush_tlb_mm") == 0);
  CHECK(t.tc.invalidate_all("flush_tlb_all") == 3);
  t.tc.check_invariants();
  CHECK(t.tc.occupancy() == 0);
  CHECK(t.rec.count(EventKind::Drop) == 8);
}

SCENARIO("capacity eviction picks the least recently used way of the set", "[model]") {
  GIVEN("a one-set, two-way cache holding A then B") {
    Tc t(TranslationCacheConfig{.sets = 1, .ways = 2});
    t.fill(0xa, 1);
    t.fill(0xb, 2);
    REQUIRE(t.rec.count(EventKind::Evict) == 0);
    WHEN("A is used again and C is filled") {
      REQUIRE(t.has(0xa));
      t.fill(0xc, 3);
      THEN("B, the least recently used, is evicted") {
        CHECK(t.has(0xa));
        CHECK_FALSE(t.has(0xb));
        CHECK(t.has(0xc));
        const auto ev = t.rec.of(EventKind::Evict);
        REQUIRE(ev.size() == 1);
        CHECK(ev[0]->va == 0xb000);
        CHECK(ev[0]->pfn == Pfn{2});
        CHECK(ev[0]->holder == kHolder);
        CHECK(std::string(ev[0]->func) == "capacity eviction");
      }
    }
    WHEN("C is filled without touching A") {
      t.fill(0xc, 3);
      THEN("A, the oldest, is evicted") {
        CHECK_FALSE(t.has(0xa));
        CHECK(t.has(0xb));
        CHECK(t.has(0xc));
      }
    }
    WHEN("A is invalidated and C is filled") {
      t.tc.invalidate_range(kTag, 0xa000, 0xb000, "flush");
      t.fill(0xc, 3);
      THEN("C takes the free way and nothing is evicted") {
        CHECK(t.rec.count(EventKind::Evict) == 0);
        CHECK(t.has(0xb));
        CHECK(t.has(0xc));
        CHECK(t.tc.occupancy() == 2);
      }
    }
  }
}

TEST_CASE("occupancy never exceeds capacity under many fills", "[model]") {
  Tc t(TranslationCacheConfig{.sets = 4, .ways = 2});
  for (uint64_t v = 0; v < 1000; ++v) t.fill(v * 7, uint32_t(v));
  CHECK(t.tc.occupancy() <= t.tc.capacity());
  CHECK(t.rec.count(EventKind::Fill) == 1000);
  CHECK(t.rec.count(EventKind::Evict) == 1000 - t.tc.occupancy());
  size_t seen = 0;
  t.tc.for_each([&](const CachedTranslation& e) {
    CHECK(e.valid);
    ++seen;
  });
  CHECK(seen == t.tc.occupancy());
}

TEST_CASE("every change to a translation cache moves its version, so a check that skips an unchanged cache skips nothing", "[model]") {
  Tc t;
  uint64_t v = t.tc.version();
  auto moved = [&] {
    const uint64_t now = t.tc.version();
    const bool r = now != v;
    v = now;
    return r;
  };
  t.fill(1, 10);
  CHECK(moved());  // fill
  CHECK(t.has(1));
  CHECK(moved());  // a hit updates the LRU order
  CHECK_FALSE(t.has(2));
  CHECK_FALSE(moved());  // a miss changes nothing
  t.fill(1, 11);
  CHECK(moved());  // a refill replaces in place
  CHECK(t.tc.invalidate_range(kTag, 0, 2 << kPageShift, "test") == 1);
  CHECK(moved());  // drop
  CHECK(t.tc.invalidate_range(kTag, 0, 2 << kPageShift, "test") == 0);
  CHECK_FALSE(moved());
  t.fill(3, 12);
  t.fill(4, 13, true, kOtherTag);
  moved();
  CHECK(t.tc.invalidate_tag(kOtherTag, "test") == 1);
  CHECK(moved());
  CHECK(t.tc.invalidate_all("test") == 1);
  CHECK(moved());
}

}  // namespace tlbsim

namespace tlbsim {

TEST_CASE("TranslationCache: a cache never filled answers as one with every entry invalid, and its first fill makes them all",
          "[model][tlb]") {
  Tc c(TranslationCacheConfig{.sets = 4, .ways = 2});
  CHECK(c.tc.capacity() == 8);
  CHECK(c.tc.occupancy() == 0);
  CHECK_FALSE(c.has(3));
  CHECK(c.tc.invalidate_range(kTag, 0, ~uint64_t{0}, "test flush") == 0);
  CHECK(c.tc.invalidate_tag(kTag, "test flush") == 0);
  CHECK(c.tc.invalidate_all("test flush") == 0);
  size_t visited = 0;
  c.tc.for_each([&](const CachedTranslation&) { ++visited; });
  CHECK(visited == 0);
  c.tc.check_invariants();
  CHECK(c.rec.events().empty());
  // Filled past its capacity, it is full, as a cache built whole would be.
  for (uint64_t v = 0; v < 40; ++v) c.fill(v, 100 + static_cast<uint32_t>(v));
  CHECK(c.tc.occupancy() == 8);
  CHECK(c.tc.capacity() == 8);
  CHECK(c.has(39));
}

}  // namespace tlbsim
