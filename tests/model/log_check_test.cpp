// SPDX-License-Identifier: MIT
// Invariants over the event log (log_check): each one broken on purpose must be reported.
#include <catch2/catch.hpp>

#include "model/check.h"
#include "model/log_check.h"
#include "model/phys_mem.h"
#include "model/translation_cache.h"

namespace tlbsim {
namespace {

constexpr Holder kTlb{HolderKind::CpuTlb, 0};
constexpr Holder kAtc{HolderKind::Atc, 0};
constexpr MmId kMm{1};

Event ev(uint64_t seq, uint64_t time_ns, EventKind kind = EventKind::Call, uint32_t pfn = 0) {
  Event e{.seq = Seq{seq}, .time_ns = time_ns, .kind = kind};
  e.pfn = Pfn{pfn};
  return e;
}

/// A cache whose fills are recorded by a log, as in the runner.
struct Logged {
  EventBus bus;
  EventLog log;
  TranslationCache tc{TranslationCacheConfig{.sets = 4, .ways = 2}, kTlb, bus};
  Logged() { bus.add_sink(&log); }
};

}  // namespace

TEST_CASE("a well-formed log passes the log invariants", "[model]") {
  EventBus bus;
  LogInvariants inv;
  bus.add_sink(&inv);
  PhysMem mem({}, bus);
  const Pfn a = mem.alloc(FrameKind::Anon, 1, 0, "test");
  bus.advance(100);
  mem.free(a, "test");
  const Pfn b = mem.alloc(FrameKind::Anon, 1, 0, "test");  // LIFO: the same frame again
  CHECK(b == a);
  CHECK_NOTHROW(inv.check());
}

TEST_CASE("time going backwards in the log is reported", "[model]") {
  LogInvariants inv;
  inv.on_event(ev(1, 200));
  CHECK_NOTHROW(inv.check());
  inv.on_event(ev(2, 150));
  CHECK_THROWS_AS(inv.check(), InvariantViolation);
  CHECK_THROWS_WITH(inv.check(), Catch::Contains("event 2") && Catch::Contains("before the previous event"));
}

TEST_CASE("a gap or repeat in sequence numbers is reported", "[model]") {
  LogInvariants inv;
  inv.on_event(ev(1, 0));
  inv.on_event(ev(1, 0));
  CHECK_THROWS_WITH(inv.check(), Catch::Contains("sequence number follows 1"));
}

TEST_CASE("a frame freed twice according to the log is reported", "[model]") {
  LogInvariants inv;
  inv.on_event(ev(1, 0, EventKind::FrameAlloc, 5));
  inv.on_event(ev(2, 0, EventKind::FrameFree, 5));
  CHECK_NOTHROW(inv.check());
  inv.on_event(ev(3, 0, EventKind::FrameFree, 5));
  CHECK_THROWS_WITH(inv.check(), Catch::Contains("event 3") && Catch::Contains("pfn 5 freed twice"));
}

TEST_CASE("a frame allocated twice without a free is reported", "[model]") {
  LogInvariants inv;
  inv.on_event(ev(1, 0, EventKind::FrameAlloc, 2));
  inv.on_event(ev(2, 0, EventKind::FrameAlloc, 2));
  CHECK_THROWS_WITH(inv.check(), Catch::Contains("pfn 2 allocated while already allocated"));
}

TEST_CASE("only the first broken rule is kept", "[model]") {
  LogInvariants inv;
  inv.on_event(ev(1, 10));
  inv.on_event(ev(2, 5));
  inv.on_event(ev(3, 5, EventKind::FrameFree, 9));
  CHECK_THROWS_WITH(inv.check(), Catch::Contains("event 2") && !Catch::Contains("freed twice"));
}

TEST_CASE("every cached translation matches the fill event that recorded it", "[model]") {
  Logged l;
  l.tc.fill(3, kMm, Vaddr{0x5000}, Pfn{42}, true, false, "test fill");
  l.tc.fill(3, kMm, Vaddr{0x200000}, Pfn{512}, false, true, "test fill");
  REQUIRE(l.log.events().size() == 2);
  CHECK_NOTHROW(check_filled_by_walk(l.tc, l.log.events()));
  l.tc.for_each([&](const CachedTranslation& c) { CHECK(c.filled_by.value() != 0); });
}

TEST_CASE("a cached translation with no fill event in the log is reported", "[model]") {
  Logged l;
  l.tc.fill(3, kMm, Vaddr{0x5000}, Pfn{42}, true, false, "test fill");
  // The log lost the fill: the entry appeared without a walk anyone saw.
  const std::vector<Event> empty;
  CHECK_THROWS_WITH(check_filled_by_walk(l.tc, empty), Catch::Contains("which the log does not hold"));
}

TEST_CASE("a cached translation whose fill event says something else is reported", "[model]") {
  Logged l;
  l.tc.fill(3, kMm, Vaddr{0x5000}, Pfn{42}, true, false, "test fill");
  std::vector<Event> log = l.log.events();
  SECTION("another frame") { log[0].pfn = Pfn{43}; }
  SECTION("another address") { log[0].va = 0x6000; }
  SECTION("another tag") { log[0].tag = 4; }
  SECTION("another cache") { log[0].holder = kAtc; }
  SECTION("not a fill") { log[0].kind = EventKind::Access; }
  CHECK_THROWS_WITH(check_filled_by_walk(l.tc, log), Catch::Contains("does not match its fill event 1"));
}

TEST_CASE("a cached translation filled while nobody listened is reported", "[model]") {
  EventBus bus;  // no sink: fills are not recorded
  TranslationCache tc(TranslationCacheConfig{.sets = 4, .ways = 2}, kTlb, bus);
  tc.fill(3, kMm, Vaddr{0x5000}, Pfn{42}, true, false, "test fill");
  CHECK_THROWS_WITH(check_filled_by_walk(tc, {}), Catch::Contains("records no fill event"));
}

TEST_CASE("an evicted and refilled entry points at its latest fill", "[model]") {
  Logged l;
  l.tc.fill(3, kMm, Vaddr{0x5000}, Pfn{42}, true, false, "test fill");
  l.tc.fill(3, kMm, Vaddr{0x5000}, Pfn{44}, true, false, "test fill");  // refill in place
  CHECK_NOTHROW(check_filled_by_walk(l.tc, l.log.events()));
  l.tc.for_each([&](const CachedTranslation& c) { CHECK(c.filled_by.value() == l.log.events().back().seq.value()); });
}

}  // namespace tlbsim
