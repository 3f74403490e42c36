// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>

#include "kernel/policy.h"
#include "model/pte.h"
#include "scenarios/detector.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"

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
    // The entry's slot, as PageTable::emit_store() names it: one table per level, the PGD at
    // pfn 99 and the tables map() links below it at 100..102.
    e.pfn = Pfn{99 + 4 - level};
    e.aux = static_cast<uint32_t>((va >> (12 + 9 * (level - 1))) & 511);
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
    Event e{.kind = EventKind::Fill,
            .flags = uint8_t(writable ? kEvWrite : 0),
            .level = 1,
            .holder = h,
            .mm = MmId{0},
            .tag = 1,
            .func = "fill"};
    e.va = va;
    e.end = va + 4096;
    e.pfn = pfn;
    add(e);
  }
  /// A writable 2 MiB page at `va` mapping 512 frames from `pfn`, and `h` caching it: returns the
  /// PMD entry.
  Pte map_huge(Holder h, uint64_t va, Pfn pfn) {
    const Pte huge{Pte::make(pfn, true).raw() | Pte::kHuge};
    pte(4, va, Pte{}, Pte::table(Pfn{100}));
    pte(3, va, Pte{}, Pte::table(Pfn{101}));
    pte(2, va, Pte{}, huge);
    fill_huge(h, va, pfn);
    return huge;
  }
  /// A writable 2 MiB entry at `va` mapping 512 frames from `pfn`.
  void fill_huge(Holder h, uint64_t va, Pfn pfn) {
    Event e{
        .kind = EventKind::Fill, .flags = uint8_t(kEvWrite | kEvHuge), .level = 2, .holder = h, .mm = MmId{0}, .tag = 1, .func = "fill"};
    e.va = va;
    e.end = va + kPmdSize;
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
  /// A Copy event: `mm`'s copy of frame `from` into `to`, for its page at `va`.
  Event& copy(MmId mm, uint64_t va, Pfn from, uint32_t to, const char* func) {
    Event c{.kind = EventKind::Copy, .mm = mm, .func = func};
    c.va = va;
    c.pfn = from;
    c.aux = to;
    return add(c);
  }
  void frame(EventKind k, Pfn p) {
    Event e{.kind = k, .func = k == EventKind::FrameFree ? "free" : "alloc"};
    e.pfn = p;
    add(e);
  }
  void access(Holder h, uint64_t va, Pfn p, bool write) {
    Event e{.kind = EventKind::Access,
            .flags = uint8_t((write ? kEvWrite : 0) | kEvCached),
            .holder = h,
            .mm = MmId{0},
            .tag = 1,
            .func = "DMA"};
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

TEST_CASE("a window opened on a frame already free is freed from the start, and reused when the frame is allocated again", "[scenarios]") {
  // An ATC filled from an IOTLB entry that outlived the free (a missed invalidation): the ATC's
  // window opens at the fill, after the free.
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.frame(EventKind::FrameFree, Pfn{7});
  const uint64_t freed_at = l.seq - 1;
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.access(kAtc, kVa, Pfn{7}, false);
  l.frame(EventKind::FrameAlloc, Pfn{7});
  l.access(kAtc, kVa, Pfn{7}, true);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].cls == WindowClass::Reused);
  CHECK(r.windows[0].freed.seq.value() == freed_at);
  CHECK(r.windows[0].reused.valid());
  REQUIRE(r.windows[0].accesses.size() == 2);
  CHECK(r.windows[0].accesses[0].finding == "use-after-free read");
  CHECK(r.windows[0].accesses[1].finding == "foreign write");
  CHECK(r.metric("use-after-free") == 2);
  CHECK(r.metric("reused") == 1);
}

TEST_CASE("through a huge entry, only the frames freed under its window are use-after-free", "[scenarios]") {
  // A THP split with page 5 zapped and freed while a device still caches the 2 MiB entry: page 5
  // is freed under the window, page 0 is still the mm's own page at the same address.
  Log l;
  constexpr uint64_t kH = 0x40000000;
  const Pte huge = l.map_huge(kAtc, kH, Pfn{512});
  l.pte(2, kH, huge, Pte{huge.raw() & ~Pte::kPresent});
  for (uint32_t i = 0; i < 512; ++i)
    if (i != 5) l.pte(1, kH + i * kPageSize, Pte{}, Pte::make(Pfn{512 + i}, true));
  l.pte(2, kH, Pte{}, Pte::table(Pfn{102}));
  l.frame(EventKind::FrameFree, Pfn{517});
  l.access(kAtc, kH, Pfn{512}, false);                  // page 0: never freed
  l.access(kAtc, kH + 5 * kPageSize, Pfn{517}, false);  // page 5: free
  l.frame(EventKind::FrameAlloc, Pfn{517});
  l.access(kAtc, kH + 5 * kPageSize, Pfn{517}, false);  // page 5: another owner's now
  l.access(kAtc, kH + kPageSize, Pfn{513}, true);       // page 1: never freed
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].cls == WindowClass::Reused);
  // Pages 0 and 1 are still mapped as the entry holds them: those accesses are ones the page
  // table allows, not uses of the window.
  REQUIRE(r.windows[0].accesses.size() == 2);
  CHECK(r.windows[0].accesses[0].finding == "use-after-free read");
  CHECK(r.windows[0].accesses[1].finding == "foreign read");
  CHECK(r.metric("use-after-free") == 2);
}

TEST_CASE("an access the page table still allows is no use of a window: a read under a permission window or a mapped page of a huge entry",
          "[scenarios]") {
  SECTION("a permission window is used by a write only") {
    Log l;
    l.map(kVa, Pfn{7}, true);
    l.fill(kAtc, kVa, Pfn{7}, true);
    l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte::make(Pfn{7}, false));
    l.access(kAtc, kVa, Pfn{7}, false);
    const DetectorResult read_only = detect(l.ev);
    REQUIRE(read_only.windows.size() == 1);
    CHECK(read_only.windows[0].cls == WindowClass::Permission);
    CHECK(read_only.metric("observed") == 0);
    l.access(kAtc, kVa, Pfn{7}, true);
    const DetectorResult r = detect(l.ev);
    REQUIRE(r.windows[0].accesses.size() == 1);
    CHECK(r.windows[0].accesses[0].write);
    CHECK(r.metric("observed") == 1);
  }
  SECTION("a 2 MiB entry with one page unmapped is used only at that page") {
    Log l;
    constexpr uint64_t kH = 0x40000000;
    const Pte huge = l.map_huge(kAtc, kH, Pfn{512});
    // Split into a PTE table mapping the same frames, then page 5 zapped (MADV_DONTNEED).
    l.pte(2, kH, huge, Pte{});
    for (uint32_t i = 0; i < 512; ++i) l.pte(1, kH + i * kPageSize, Pte{}, Pte::make(Pfn{512 + i}, true));
    l.pte(2, kH, Pte{}, Pte::table(Pfn{102}));
    l.pte(1, kH + 5 * kPageSize, Pte::make(Pfn{517}, true), Pte{});
    l.access(kAtc, kH, Pfn{512}, true);
    l.access(kAtc, kH + kPageSize, Pfn{513}, false);
    CHECK(detect(l.ev).metric("observed") == 0);
    l.access(kAtc, kH + 5 * kPageSize, Pfn{517}, false);
    const DetectorResult r = detect(l.ev);
    // The split's window closed, restored, when the PTE table mapped the same frames; the zap
    // opened the second.
    REQUIRE(r.windows.size() == 2);
    CHECK(r.windows[0].restored);
    REQUIRE(r.windows[1].accesses.size() == 1);
    CHECK(r.windows[1].accesses[0].va == kH + 5 * kPageSize);
    CHECK(r.metric("observed") == 1);
  }
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

TEST_CASE("a write to a frame the writer still maps at another address is not lost, one it maps nowhere is", "[scenarios]") {
  // mremap moved the page (move_ptes(): cleared at kVa, set at kVa + 64 KiB), then another mm
  // copied the frame for itself. The device's write through the stale entry at kVa lands in the
  // page the writer maps at its new address.
  Log l;
  constexpr uint64_t kMoved = kVa + 0x10000;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.pte(1, kMoved, Pte{}, Pte::make(Pfn{7}, true));
  l.copy(MmId{1}, kVa, Pfn{7}, 8, "__wp_page_copy_user");
  l.access(kAtc, kVa, Pfn{7}, true);
  CHECK(detect(l.ev).metric("lost-writes") == 0);
  // The writer then unmaps it there too: a later write through the stale entry reaches a page
  // the writer maps nowhere.
  l.pte(1, kMoved, Pte::make(Pfn{7}, true), Pte{});
  l.access(kAtc, kVa, Pfn{7}, true);
  const DetectorResult r = detect(l.ev);
  CHECK(r.metric("lost-writes") == 1);
  REQUIRE(r.windows.size() == 1);
  REQUIRE(r.windows[0].accesses.size() == 2);
  CHECK(r.windows[0].accesses[1].finding == "lost write");
}

TEST_CASE("a copy the writer's mm made for another of its pages loses no write while the writer maps the frame", "[scenarios]") {
  // A shared file page mapped at kVa is also mapped privately at another address of the same mm,
  // where do_cow_fault() copies it; the device's write through a permission window at kVa lands
  // in the page the mm still maps there.
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte::make(Pfn{7}, false));
  l.copy(MmId{0}, kVa + 0x10000, Pfn{7}, 8, "do_cow_fault");
  l.access(kAtc, kVa, Pfn{7}, true);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  REQUIRE(r.windows[0].accesses.size() == 1);
  CHECK(r.metric("lost-writes") == 0);
}

TEST_CASE("a write to a frame another mm copied for itself is not lost while the writer maps it, the writer's own copy loses it",
          "[scenarios]") {
  // After fork, the parent's (mm 0) writable ATC entry outlives the write-protect. The child
  // (mm 1) breaking COW copies the page for itself: the parent still maps the frame and sees the
  // device's write.
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte::make(Pfn{7}, false));
  l.copy(MmId{1}, kVa, Pfn{7}, 8, "__wp_page_copy_user");
  l.access(kAtc, kVa, Pfn{7}, true);
  CHECK(detect(l.ev).metric("lost-writes") == 0);
  // The parent breaks COW in turn: wp_page_copy() copies before it moves the PTE to the copy, so
  // a write in between is lost already, and so is one after.
  l.copy(MmId{0}, kVa, Pfn{7}, 9, "__wp_page_copy_user");
  l.access(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, false), Pte::make(Pfn{9}, true));
  l.access(kAtc, kVa, Pfn{7}, true);
  const DetectorResult r = detect(l.ev);
  CHECK(r.metric("lost-writes") == 2);
  REQUIRE(r.windows.size() == 1);
  REQUIRE(r.windows[0].accesses.size() == 3);
  CHECK(r.windows[0].accesses[0].finding.empty());
  CHECK(r.windows[0].accesses[1].finding == "lost write");
  CHECK(r.windows[0].accesses[2].finding == "lost write");
}

TEST_CASE("clearing a PMD entry opens a window on the walk cache, freeing the table makes it table-freed", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  Event wf{
      .kind = EventKind::WalkFill, .level = 2, .holder = Holder{HolderKind::IommuWalkCache, 0}, .mm = MmId{0}, .tag = 1, .func = "walk"};
  wf.va = kVa & ~((uint64_t{1} << 21) - 1);
  wf.pfn = Pfn{102};
  l.add(wf);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.pte(2, kVa, Pte::table(Pfn{102}), Pte{});
  l.frame(EventKind::FrameFree, Pfn{102});
  Event stw{.kind = EventKind::StaleTableWalk,
            .level = 2,
            .holder = Holder{HolderKind::IommuWalkCache, 0},
            .mm = MmId{0},
            .tag = 1,
            .func = "iommu page walk"};
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

namespace {
const Holder kIommuPwc{HolderKind::IommuWalkCache, 0};
/// The IOMMU walk cache holds the PMD entry of kVa, pointing at the PTE table (pfn 102).
void cache_pmd(Log& l) {
  Event wf{.kind = EventKind::WalkFill, .level = 2, .holder = kIommuPwc, .mm = MmId{0}, .tag = 1, .func = "walk"};
  wf.va = kVa & ~(kPmdSize - 1);
  wf.pfn = Pfn{102};
  l.add(wf);
}
/// A DMA whose walk resumed from the walk cache's entry at `level` (0: the walk was reported by a
/// StaleTableWalk event).
void walk_access(Log& l, Pfn p, uint8_t level) {
  Event e{.kind = EventKind::Access, .flags = kEvCached, .level = level, .holder = kIommuPwc, .mm = MmId{0}, .tag = 1, .func = "DMA read"};
  e.va = kVa;
  e.pfn = p;
  l.add(e);
}
}  // namespace

TEST_CASE("a walk resumed from a walk-cache entry whose table was unlinked but not freed uses its window", "[scenarios]") {
  // move_normal_pmd(): the PMD entry is cleared, the table is linked elsewhere, the flush comes
  // later; a walk from the cached entry still reads the moved table's entries at the old address.
  Log l;
  l.map(kVa, Pfn{7}, true);
  cache_pmd(l);
  l.pte(2, kVa, Pte::table(Pfn{102}), Pte{});
  walk_access(l, Pfn{7}, 2);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].walk);
  CHECK(r.windows[0].cls == WindowClass::Stale);
  REQUIRE(r.windows[0].accesses.size() == 1);
  CHECK(r.metric("observed") == 1);
  CHECK(r.metric("use-after-free") == 0);
  SECTION("a walk the walker reported as a stale-table walk is judged there, not twice") {
    walk_access(l, Pfn{7}, 0);
    CHECK(detect(l.ev).windows[0].accesses.size() == 1);
  }
}

TEST_CASE("a walk through a table page freed and linked again at the same place reads the page table: no use-after-free", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  cache_pmd(l);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.pte(2, kVa, Pte::table(Pfn{102}), Pte{});
  l.frame(EventKind::FrameFree, Pfn{102});
  l.frame(EventKind::FrameAlloc, Pfn{102});
  l.pte(2, kVa, Pte{}, Pte::table(Pfn{102}));  // __pte_alloc() gets the same page back
  l.pte(1, kVa, Pte{}, Pte::make(Pfn{8}, true));
  Event stw{.kind = EventKind::StaleTableWalk, .level = 2, .holder = kIommuPwc, .mm = MmId{0}, .tag = 1, .func = "iommu page walk"};
  stw.va = kVa;
  stw.pfn = Pfn{102};
  stw.note = "table page reused as another table";
  l.add(stw);
  walk_access(l, Pfn{8}, 0);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].restored);
  CHECK(r.windows[0].cls == WindowClass::TableFreed);
  CHECK_FALSE(r.windows[0].observed());
  CHECK(r.metric("use-after-free") == 0);
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

TEST_CASE("a transient clear then a read-only store of the same frame turns a stale window into permission", "[scenarios]") {
  // x86 mprotect(PROT_READ): ptep_modify_prot_start() clears, ptep_modify_prot_commit() stores RO.
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});
  l.pte(1, kVa, Pte{}, Pte::make(Pfn{7}, false));
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].cls == WindowClass::Permission);
  CHECK(r.windows[0].open.seq.value() == 6);  // it opened at the clear
  CHECK(r.windows[0].open_at_end);
  CHECK(r.metric("stale") == 0);
  CHECK(r.metric("permission") == 1);
}

TEST_CASE("a class never goes back: a permission window whose PTE is then cleared stays permission", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte::make(Pfn{7}, false));
  l.pte(1, kVa, Pte::make(Pfn{7}, false), Pte{});
  l.pte(1, kVa, Pte{}, Pte::make(Pfn{9}, false));
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].cls == WindowClass::Permission);
}

TEST_CASE("a store that grants again what the entry holds closes its window as restored", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.fill(Holder{HolderKind::CpuTlb, 0}, kVa, Pfn{7}, false);
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});                     // seq 7: both windows open
  l.access(kAtc, kVa, Pfn{7}, false);                                // seq 8: observed
  l.pte(1, kVa, Pte{}, Pte::make(Pfn{7}, false));                    // seq 9: restores the read-only TLB entry only
  l.access(Holder{HolderKind::CpuTlb, 0}, kVa, Pfn{7}, false);       // legitimate now
  l.pte(1, kVa, Pte::make(Pfn{7}, false), Pte::make(Pfn{7}, true));  // seq 11: restores the ATC's too
  l.access(kAtc, kVa, Pfn{7}, true);                                 // legitimate now
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 2);
  const Window& atc = r.windows[0].holder == kAtc ? r.windows[0] : r.windows[1];
  const Window& tlb = r.windows[0].holder == kAtc ? r.windows[1] : r.windows[0];
  CHECK(tlb.restored);
  CHECK(tlb.close.seq.value() == 9);
  CHECK_FALSE(tlb.observed());
  CHECK(atc.restored);
  CHECK(atc.close.seq.value() == 11);
  CHECK(atc.cls == WindowClass::Permission);
  REQUIRE(atc.accesses.size() == 1);
  CHECK(atc.accesses[0].at.seq.value() == 8);
  CHECK(r.metric("observed") == 1);
}

TEST_CASE("a huge entry is restored only when all its 512 pages are mapped again as it holds them", "[scenarios]") {
  // A THP split: the PMD made non-present, then a PTE table mapping the same frames.
  Log l;
  constexpr uint64_t kH = 0x40000000;
  l.pte(4, kH, Pte{}, Pte::table(Pfn{100}));
  l.pte(3, kH, Pte{}, Pte::table(Pfn{101}));
  l.pte(2, kH, Pte{}, Pte{Pte::make(Pfn{512}, true).raw() | Pte::kHuge});
  l.fill_huge(kAtc, kH, Pfn{512});
  l.pte(2, kH, Pte{Pte::make(Pfn{512}, true).raw() | Pte::kHuge}, Pte{(Pte::make(Pfn{512}, true).raw() | Pte::kHuge) & ~Pte::kPresent});
  for (uint64_t i = 0; i < 511; ++i) l.pte(1, kH + i * kPageSize, Pte{}, Pte::make(Pfn{uint32_t(512 + i)}, true));
  l.pte(1, kH + 511 * kPageSize, Pte{}, Pte::make(Pfn{1023}, true));
  SECTION("the same frames: restored at pmd_populate()") {
    l.pte(2, kH, Pte{}, Pte::table(Pfn{102}));
    const DetectorResult r = detect(l.ev);
    REQUIRE(r.windows.size() == 1);
    CHECK(r.windows[0].restored);
    CHECK(r.windows[0].close.seq.value() == l.seq - 1);
  }
  SECTION("one page elsewhere: still open") {
    l.pte(1, kH + 511 * kPageSize, Pte::make(Pfn{1023}, true), Pte::make(Pfn{5}, true));
    l.pte(2, kH, Pte{}, Pte::table(Pfn{102}));
    const DetectorResult r = detect(l.ev);
    REQUIRE(r.windows.size() == 1);
    CHECK_FALSE(r.windows[0].restored);
    CHECK(r.windows[0].open_at_end);
  }
}

TEST_CASE("a huge entry filled from a stale source opens a window when any of its 512 pages is mapped elsewhere", "[scenarios]") {
  // The PMD was split into PTEs and page 5 migrated away; an IOTLB that still holds the 2 MiB
  // entry hands it to the ATC.
  Log l;
  constexpr uint64_t kH = 0x40000000;
  l.pte(4, kH, Pte{}, Pte::table(Pfn{100}));
  l.pte(3, kH, Pte{}, Pte::table(Pfn{101}));
  for (uint32_t i = 0; i < 512; ++i) l.pte(1, kH + i * kPageSize, Pte{}, Pte::make(Pfn{i == 5 ? 5 : 512 + i}, true));
  l.pte(2, kH, Pte{}, Pte::table(Pfn{102}));
  l.fill_huge(kAtc, kH, Pfn{512});
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].cls == WindowClass::Stale);
  CHECK(r.windows[0].open.seq.value() == l.seq - 1);
}

TEST_CASE("a window opened and closed within one step with nothing through it is transient, and counted only there", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);                                    // events 0..3: setup
  l.fill(kAtc, kVa, Pfn{7}, true);                             // 4
  l.fill(Holder{HolderKind::Iotlb, 0}, kVa, Pfn{7}, true);     // 5
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});               // 6: ptep_clear_flush(), step 1
  l.drop(kAtc, kVa, Pfn{7});                                   // 7: the ATC dropped in the same step
  l.access(Holder{HolderKind::Iotlb, 0}, kVa, Pfn{7}, false);  // 8: step 2, through the IOTLB
  l.drop(Holder{HolderKind::Iotlb, 0}, kVa, Pfn{7});           // 9: step 2
  RunResult run;
  run.events = l.ev;
  run.trace.push_back(StepRecord{.thread = 0, .ev_begin = 4, .ev_end = 6});
  run.trace.push_back(StepRecord{.thread = 1, .ev_begin = 6, .ev_end = 8});
  run.trace.push_back(StepRecord{.thread = 2, .ev_begin = 8, .ev_end = 10});
  const DetectorResult r = detect(run);
  CHECK(r.transient == 1);
  CHECK(r.metric("transient") == 1);
  REQUIRE(r.windows.size() == 1);  // the IOTLB's: open across steps 1 and 2
  CHECK(r.windows[0].holder == Holder{HolderKind::Iotlb, 0});
  CHECK(r.metric("windows") == 1);
  CHECK(r.metric("stale") == 1);
  // Without its steps the same log has no transient window.
  const DetectorResult flat = detect(l.ev);
  CHECK(flat.transient == 0);
  CHECK(flat.windows.size() == 2);
}

TEST_CASE("a window closed in the step that opened it is not transient if something went through it", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);                // 4
  l.pte(1, kVa, Pte::make(Pfn{7}, true), Pte{});  // 5
  l.access(kAtc, kVa, Pfn{7}, true);              // 6: the same step
  l.drop(kAtc, kVa, Pfn{7});                      // 7
  RunResult run;
  run.events = l.ev;
  run.trace.push_back(StepRecord{.thread = 0, .ev_begin = 5, .ev_end = 8});
  const DetectorResult r = detect(run);
  CHECK(r.transient == 0);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].observed());
}

TEST_CASE("a window still open when the op whose store opened it returned is after-return, and so are accesses after", "[scenarios]") {
  const Holder kIotlb{HolderKind::Iotlb, 0};
  Log l;
  l.map(kVa, Pfn{7}, true);            // seq 1..4: setup
  l.fill(kAtc, kVa, Pfn{7}, true);     // 5
  l.fill(kIotlb, kVa, Pfn{7}, true);   // 6
  Event& clear = l.ev.emplace_back();  // 7: T0's munmap clears the PTE
  clear = Event{.kind = EventKind::PteStore, .level = 1, .actor = 1, .mm = MmId{0}, .func = "ptep_get_and_clear_full"};
  clear.seq = Seq{l.seq++};
  clear.va = kVa;
  clear.end = kVa + kPageSize;
  clear.old_val = Pte::make(Pfn{7}, true).raw();
  clear.pfn = Pfn{102};  // the PTE table map() linked
  clear.aux = static_cast<uint32_t>((kVa >> kPageShift) & 511);
  l.drop(kAtc, kVa, Pfn{7});             // 8: the ATC is invalidated before munmap returns
  l.access(kIotlb, kVa, Pfn{7}, false);  // 9: before the return (seq 10 is the first event after it)
  l.access(kIotlb, kVa, Pfn{7}, true);   // 10: after it
  RunResult run;
  run.events = l.ev;
  run.trace.push_back(StepRecord{.thread = 0, .ev_begin = 4, .ev_end = 6, .op = 0});
  run.trace.push_back(StepRecord{.thread = 0, .ev_begin = 6, .ev_end = 7, .op = 0});
  run.trace.push_back(StepRecord{.thread = 0, .ev_begin = 7, .ev_end = 9, .op = 0, .op_returned = true, .op_stored = true});
  run.trace.push_back(StepRecord{.thread = 1, .ev_begin = 9, .ev_end = 10, .op = 0});
  run.ops.push_back(OpSpan{.thread = 0, .actor = 1, .op = 0, .name = "munmap", .begin = 7, .end = 10});
  const DetectorResult r = detect(run);
  REQUIRE(r.windows.size() == 2);
  const Window& atc = r.windows[0].holder == kAtc ? r.windows[0] : r.windows[1];
  const Window& iotlb = r.windows[0].holder == kAtc ? r.windows[1] : r.windows[0];
  CHECK(atc.opener_thread == 0);
  CHECK(atc.opener_op == 0);
  CHECK_FALSE(atc.after_return);  // closed at seq 8, before the return
  CHECK(iotlb.after_return);
  CHECK(iotlb.returned.seq.value() == 10);
  REQUIRE(iotlb.accesses.size() == 2);
  CHECK_FALSE(iotlb.accesses[0].after_return);
  CHECK(iotlb.accesses[1].after_return);
  CHECK(r.metric("after-return") == 1);
  CHECK(r.metric("used-after-return") == 1);
  CHECK(r.windows[r.worst()].holder == kIotlb);
}

TEST_CASE(
    "a window opened at a fill from a stale source belongs to the op of the store that took its frame away, an op not yet "
    "returned makes nothing after-return",
    "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);  // 1..4 setup
  Event clear{.kind = EventKind::PteStore, .level = 1, .actor = 2, .mm = MmId{0}, .func = "ptep_clear_flush"};
  clear.va = kVa;
  clear.end = kVa + kPageSize;
  clear.old_val = Pte::make(Pfn{7}, true).raw();
  clear.pfn = Pfn{102};  // the PTE's slot, as Log::pte() names it
  clear.aux = static_cast<uint32_t>((kVa >> kPageShift) & 511);
  l.add(clear);                     // 5: T1's op 3 clears
  l.fill(kAtc, kVa, Pfn{7}, true);  // 6: an ATC fill from a stale IOTLB entry
  RunResult run;
  run.events = l.ev;
  run.trace.push_back(StepRecord{.thread = 1, .ev_begin = 4, .ev_end = 5, .op = 3});
  run.trace.push_back(StepRecord{.thread = 2, .ev_begin = 5, .ev_end = 6, .op = 0});
  SECTION("the op returned before the fill") {
    run.ops.push_back(OpSpan{.thread = 1, .actor = 2, .op = 3, .name = "migrate", .begin = 5, .end = 6});
    const DetectorResult r = detect(run);
    REQUIRE(r.windows.size() == 1);
    CHECK(r.windows[0].opener_thread == 1);
    CHECK(r.windows[0].opener_op == 3);
    CHECK(r.windows[0].after_return);
  }
  SECTION("the op never returned") {
    run.ops.push_back(OpSpan{.thread = 1, .actor = 2, .op = 3, .name = "migrate", .begin = 5, .end = 0});
    const DetectorResult r = detect(run);
    REQUIRE(r.windows.size() == 1);
    CHECK(r.windows[0].opener_op == 3);
    CHECK_FALSE(r.windows[0].after_return);
    CHECK(r.metric("after-return") == 0);
  }
}

TEST_CASE("a window opened at a fill belongs to the op that took the entry's frame away, not to a later op that mapped the page again",
          "[scenarios]") {
  // T1's munmap clears the PTE, T2 maps and populates the page with another frame, then the ATC
  // is filled from the IOTLB entry the munmap left (frame 7): the munmap made it stale.
  Log l;
  l.map(kVa, Pfn{7}, true);  // 1..4 setup
  auto store = [&](uint16_t actor, Pte old, Pte now) {
    Event e{.kind = EventKind::PteStore, .level = 1, .actor = actor, .mm = MmId{0}, .func = "test_store"};
    e.va = kVa;
    e.end = kVa + kPageSize;
    e.old_val = old.raw();
    e.new_val = now.raw();
    e.pfn = Pfn{102};
    e.aux = static_cast<uint32_t>((kVa >> kPageShift) & 511);
    l.add(e);
  };
  store(2, Pte::make(Pfn{7}, true), Pte{});  // 5: T1's munmap
  store(3, Pte{}, Pte::make(Pfn{9}, true));  // 6: T2's fault
  l.fill(kAtc, kVa, Pfn{7}, true);           // 7
  l.access(kAtc, kVa, Pfn{7}, false);        // 8
  RunResult run;
  run.events = l.ev;
  run.trace.push_back(StepRecord{.thread = 1, .ev_begin = 4, .ev_end = 5, .op = 0});
  run.trace.push_back(StepRecord{.thread = 2, .ev_begin = 5, .ev_end = 6, .op = 0});
  run.trace.push_back(StepRecord{.thread = 3, .ev_begin = 6, .ev_end = 8, .op = 0});
  run.ops.push_back(OpSpan{.thread = 1, .actor = 2, .op = 0, .name = "munmap", .begin = 5, .end = 6});
  run.ops.push_back(OpSpan{.thread = 2, .actor = 3, .op = 0, .name = "read", .begin = 6, .end = 0});
  const DetectorResult r = detect(run);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].opener_thread == 1);
  CHECK(r.windows[0].after_return);
  CHECK(r.metric("used-after-return") == 1);
}

TEST_CASE("a PTE table handed whole to another PMD entry is found at its new address with its entries", "[scenarios]") {
  // move_normal_pmd(): the PMD entry at kVa is cleared and the same table linked at kVa + 2 MiB,
  // with no store to any of its PTEs. A fill at the new address from the moved PTE grants
  // nothing the page table does not.
  constexpr uint64_t kNew = kVa + (uint64_t{1} << 21);
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.fill(kAtc, kVa, Pfn{7}, true);
  l.pte(2, kVa, Pte::table(Pfn{102}), Pte{});   // pmd_clear(): the ATC's entry is stale
  l.pte(2, kNew, Pte{}, Pte::table(Pfn{102}));  // pmd_populate() at the destination
  l.drop(kAtc, kVa, Pfn{7});
  l.fill(kAtc, kNew, Pfn{7}, true);
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);  // the source's entry, until its flush; none at the destination
  CHECK(r.windows[0].va == kVa);
  CHECK(r.windows[0].close.valid());
}

TEST_CASE("a page-table page freed and used again starts empty", "[scenarios]") {
  Log l;
  l.map(kVa, Pfn{7}, true);
  l.pte(2, kVa, Pte::table(Pfn{102}), Pte{});  // free_pgtables(): unlinked, then freed
  Event& freed = l.add(Event{.kind = EventKind::FrameFree, .flags = kEvTable, .func = "pte_free"});
  freed.pfn = Pfn{102};
  Event& again = l.add(Event{.kind = EventKind::FrameAlloc, .flags = kEvTable, .func = "pte_alloc"});
  again.pfn = Pfn{102};
  l.pte(2, kVa, Pte{}, Pte::table(Pfn{102}));  // linked again, with no PTE set
  l.fill(kAtc, kVa, Pfn{7}, true);             // a fill from the old PTE's value is a window
  const DetectorResult r = detect(l.ev);
  REQUIRE(r.windows.size() == 1);
  CHECK(r.windows[0].holder == kAtc);
  CHECK_FALSE(r.windows[0].close.valid());
}

namespace {
/// The reuse half of the AMD GCR3 bug (8386207f37e9) with a device without ATS and no cached
/// PASID-table entry: `first`'s device writes its page, first exits, PASID 1 goes to `second`
/// (`second_pages` pages), and second's device reads `read`, under v6.10 (which flushes PASID 0).
RunResult pasid_reuse_run(int second_pages, const char* read) {
  std::string text = R"({"scenarios": [{"name": "reuse", "source": "8386207f37e9", "cpus": 2,
    "devices": [{"name": "dev0", "decoding": "amd", "ats": false, "pasid_table_cached": false}],
    "mms": [{"name": "first", "bind": ["dev0"], "vmas": [{"start": "0x30000000", "pages": 1, "populate": "write"}]},
            {"name": "second", "vmas": [{"start": "0x30000000", "pages": SECOND_PAGES, "populate": "write"}]}],
    "threads": [{"name": "devA", "device": "dev0", "mm": "first", "ops": [{"op": "dma_write", "addr": "0x30000000"}]},
                {"name": "T1", "cpu": 0, "mm": "first", "ops": [{"op": "exit"}]},
                {"name": "T2", "cpu": 1, "mm": "second", "ops": [{"op": "sva_bind", "device": "dev0"}]},
                {"name": "devB", "device": "dev0", "mm": "second", "ops": [{"op": "dma_read", "addr": "READ"}]}],
    "schedule": ["devA*", "T1*", "T2*", "devB*"]}]})";
  text.replace(text.find("SECOND_PAGES"), 12, std::to_string(second_pages));
  text.replace(text.find("READ"), 4, read);
  return run_scenario(parse_scenario_text(text, "reuse.json").scenarios[0], *kernel::find_policy("v6.10"));
}
bool is_dma(const Event& e) { return e.kind == EventKind::Access && std::string_view(e.func).starts_with("DMA"); }
}  // namespace

TEST_CASE("a device's hit on an IOTLB entry a PASID's previous mm left is that mm's translation: reading its freed page is use-after-free",
          "[scenarios]") {
  // The IOTLB entry of `first` outlives its exit and second's DMA hits it. The access is first's
  // translation (the entry's mm), not second's, so the detector finds the entry and its window.
  const RunResult run = pasid_reuse_run(1, "0x30000000");
  REQUIRE(run.status == RunResult::Status::Completed);
  const auto devA_write = std::find_if(run.events.begin(), run.events.end(), is_dma);
  const auto devB_read = std::find_if(run.events.rbegin(), run.events.rend(), is_dma);
  REQUIRE(devA_write != run.events.end());
  REQUIRE(devB_read != run.events.rend());
  CHECK(devB_read->holder.kind == HolderKind::Iotlb);
  CHECK(devB_read->mm == devA_write->mm);  // first's, not second's
  const DetectorResult r = detect(run);
  CHECK(r.metric("use-after-free") == 1);
  CHECK(r.metric("observed") >= 1);
}

TEST_CASE("a walk resumed from a walk-cache entry a PASID's previous mm left is that mm's: its window is observed", "[scenarios]") {
  // Second's DMA is to a page first never mapped: the IOMMU walk cache still holds first's upper
  // entries, so the walk goes through first's freed tables.
  const RunResult run = pasid_reuse_run(2, "0x30001000");
  REQUIRE(run.status == RunResult::Status::Completed);
  const auto devA_write = std::find_if(run.events.begin(), run.events.end(), is_dma);
  const auto stale_walk =
      std::find_if(run.events.begin(), run.events.end(), [](const Event& e) { return e.kind == EventKind::StaleTableWalk; });
  REQUIRE(devA_write != run.events.end());
  REQUIRE(stale_walk != run.events.end());
  CHECK(stale_walk->mm == devA_write->mm);  // first's, not second's
  const DetectorResult r = detect(run);
  CHECK(r.metric("observed") >= 1);
  CHECK(r.metric("use-after-free") >= 1);
}
