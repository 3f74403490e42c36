// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "model/pte.h"
#include "scenarios/detector.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

/// Builds an event log by hand, so each rule of the detector is tested on its own.
struct Log {
  std::vector<Event> ev;
  uint64_t seq = 1;
  Event& add(Event e) {
    e.seq = Seq{seq++};
    e.time_ns = e.seq.value() * 10;
    ev.push_back(e);
    return ev.back();
  }
  void pte(unsigned level, uint64_t va, Pte old, Pte now) {
    Event e{.kind = EventKind::PteStore, .level = uint8_t(level), .mm = MmId{0}, .func = "test_store"};
    const uint64_t size = uint64_t{1} << (12 + 9 * (level - 1));
    e.va = va & ~(size - 1);
    e.end = e.va + size;
    e.old_val = old.raw();
    e.new_val = now.raw();
    add(e);
  }
  /// A present path PGD -> PUD -> PMD -> PTE table for `va`, tables at pfns 100..102.
  void map(uint64_t va, Pfn pfn, bool writable) {
    pte(4, va, Pte{}, Pte::table(Pfn{100}));
    pte(3, va, Pte{}, Pte::table(Pfn{101}));
    pte(2, va, Pte{}, Pte::table(Pfn{102}));
    pte(1, va, Pte{}, Pte::make(pfn, writable));
  }
  void fill(Holder h, uint64_t va, Pfn pfn, bool writable) {
    Event e{.kind = EventKind::Fill, .flags = uint8_t(writable ? kEvWrite : 0), .level = 1, .holder = h, .mm = MmId{0}, .tag = 1, .func = "fill"};
    e.va = va;
    e.end = va + 4096;
    e.pfn = pfn;
    add(e);
  }
  void drop(Holder h, uint64_t va, Pfn pfn) {
    Event e{.kind = EventKind::Drop, .level = 1, .holder = h, .mm = MmId{0}, .tag = 1, .func = "invalidate"};
    e.va = va;
    e.end = va + 4096;
    e.pfn = pfn;
    add(e);
  }
  void frame(EventKind k, Pfn p) {
    Event e{.kind = k, .func = k == EventKind::FrameFree ? "free" : "alloc"};
    e.pfn = p;
    add(e);
  }
  void access(Holder h, uint64_t va, Pfn p, bool write) {
    Event e{.kind = EventKind::Access, .flags = uint8_t((write ? kEvWrite : 0) | kEvCached), .holder = h, .mm = MmId{0}, .tag = 1, .func = "DMA"};
    e.va = va;
    e.pfn = p;
    add(e);
  }
};

const Holder kAtc{HolderKind::Atc, 0};
constexpr uint64_t kVa = 0x400000;

}  // namespace

TEST_CASE("a cleared PTE opens a stale window on a cached entry, closed by its invalidation", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.drop(kAtc, kVa, Pfn{7});
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].cls == WindowClass::Stale);
  CHECK(r.windows[0].open.seq.value() == 6);
  CHECK(r.windows[0].close.seq.value() == 7);
  CHECK_FALSE(r.windows[0].observed());
}

TEST_CASE("write-protecting a PTE opens a permission window on a writable entry only", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.fill(Holder{HolderKind::CpuTlb, 0}, kVa, Pfn{7}, false);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte::make(Pfn{7}, false));
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].holder == kAtc);
  CHECK(r.windows[0].cls == WindowClass::Permission);
  CHECK(r.windows[0].open_at_end);
}

TEST_CASE("a window escalates to freed, then reused, and accesses through it are use-after-free", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.frame(EventKind::FrameFree, Pfn{7});
  l.access(kAtc, kVa, Pfn{7}, true);
  l.frame(EventKind::FrameAlloc, Pfn{7});
  l.access(kAtc, kVa, Pfn{7}, false);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].cls == WindowClass::Reused);
  REQUIRE(r.windows[0].accesses.size() == 2);
  CHECK(r.windows[0].accesses[0].finding == "use-after-free write");
  CHECK(r.windows[0].accesses[1].finding == "foreign read");
  CHECK(r.metric("use-after-free") == 2);
  CHECK(r.metric("observed") == 1);
  CHECK(r.metric("reused") == 1);
}

TEST_CASE("a write after the frame's contents were copied away is a lost write", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte::swap_entry(Pte::SwpType::MigrationWrite, 7));
  Event c{.kind = EventKind::Copy, .func = "folio_migrate_copy"};
  c.pfn = Pfn{7};
  c.aux = 8;
  l.add(c);
  l.access(kAtc, kVa, Pfn{7}, true);
  const DetectorResult r = detect(l.ev);
  CHECK(r.metric("lost-writes") == 1);
}

TEST_CASE("clearing a PMD entry opens a window on the walk cache, freeing the table makes it table-freed", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  Event wf{.kind = EventKind::WalkFill, .level = 2, .holder = Holder{HolderKind::IommuWalkCache, 0}, .mm = MmId{0}, .tag = 1, .func = "walk"};
  wf.va = kVa & ~((uint64_t{1} << 21) - 1);
  wf.pfn = Pfn{102};
  l.add(wf);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.pte(2, kVa, Pte::table(Pfn{102}), Pte{});
  l.frame(EventKind::FrameFree, Pfn{102});
  Event stw{.kind = EventKind::StaleTableWalk, .level = 2, .holder = Holder{HolderKind::IommuWalkCache, 0}, .mm = MmId{0}, .tag = 1, .func = "iommu page walk"};
  stw.va = kVa;
  stw.pfn = Pfn{102};
  stw.note = "table page freed";
  l.add(stw);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].walk);
  CHECK(r.windows[0].cls == WindowClass::TableFreed);
  CHECK(r.windows[0].observed());
  CHECK(r.metric("use-after-free") == 1);
}

TEST_CASE("a fill from a stale source opens its window at the fill", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.fill(kAtc, kVa, Pfn{7}, true);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].open.seq.value() == 6);
}

TEST_CASE("the worst window is the observed one before the more severe latent one", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.fill(Holder{HolderKind::Iotlb, 0}, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.access(kAtc, kVa, Pfn{7}, false);
  l.drop(kAtc, kVa, Pfn{7});
  l.frame(EventKind::FrameFree, Pfn{7});
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 2);
  for (const Window& w : r.windows) CHECK(w.cls == (w.holder == kAtc ? WindowClass::Stale : WindowClass::Freed));
  CHECK(r.windows[r.worst()].holder == kAtc);
}
