// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "model/pte.h"
#include "scenarios/footprint.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

Event pte_store(uint64_t va, uint8_t level = 1) {
  Event e{.kind = EventKind::PteStore, .level = level, .mm = MmId{0}, .func = "zap_pte_range"};
  e.va = va;
  e.end = va + (uint64_t{1} << (12 + 9 * (level - 1)));
  e.pfn = Pfn{7};
  return e;
}

Event fill(uint64_t va, Holder h) {
  Event e{.kind = EventKind::Fill, .holder = h, .mm = MmId{0}, .func = "walk"};
  e.va = va;
  e.pfn = Pfn{100};
  return e;
}

Event access(uint64_t va, Holder via, bool write, uint32_t pfn) {
  Event e{.kind = EventKind::Access, .flags = uint8_t(write ? kEvWrite : 0), .holder = via, .mm = MmId{0}, .func = "load"};
  e.va = va;
  e.pfn = Pfn{pfn};
  return e;
}

const Holder kAtc{HolderKind::Atc, 0};
const Holder kTlb1{HolderKind::CpuTlb, 1};
const StepActor kDevice{.device = true, .hardware = true};           // a DMA's translation and access
const StepActor kDeviceInIopf{.device = true, .hardware = false};    // inside iommu_sva_handle_iopf()
const StepActor kCpu1{.device = false, .cpu = 1, .hardware = true};  // a load or store
const StepActor kCpu0{.device = false, .cpu = 0, .hardware = true};
const StepActor kCpu0Kernel{.device = false, .cpu = 0};  // a system call's or fault handler's step
const StepActor kCpu1Kernel{.device = false, .cpu = 1};

}  // namespace

TEST_CASE("footprint: a walk depends on a store to any entry on its path", "[scenarios][explore]") {
  const std::vector<Event> dev{fill(0x5000, kAtc), access(0x5000, {}, false, 100)};
  const Footprint walk = footprint(dev, kDevice);
  CHECK_FALSE(walk.kernel);
  // The PTE of the page, and the PMD above it, are on the walk's path; another PTE is not.
  CHECK(dependent(walk, footprint(std::vector<Event>{pte_store(0x5000)}, kCpu0Kernel)));
  CHECK(dependent(walk, footprint(std::vector<Event>{pte_store(0x0, 2)}, kCpu0Kernel)));
  // A kernel step conflicts with the device's fill only through entries and caches it touches;
  // a PTE store elsewhere is still kernel code, which reads every entry but writes only its own.
  Event other = pte_store(0x9000);
  other.func = "hardware A/D update";  // a hardware-only step: no blanket kernel reads
  CHECK_FALSE(dependent(walk, footprint(std::vector<Event>{other}, kCpu0)));
}

TEST_CASE("footprint: kernel steps are dependent only through what they touch, hardware steps on separate caches are not",
          "[scenarios][explore]") {
  Event call{.kind = EventKind::Call, .func = "munmap"};
  const std::vector<Touch> lock_w{Touch{.obj = Touch::Obj::Lock, .write = true, .key = 7}};
  const std::vector<Touch> lock_r{Touch{.obj = Touch::Obj::Lock, .write = false, .key = 7}};
  const std::vector<Touch> other_lock{Touch{.obj = Touch::Obj::Lock, .write = true, .key = 8}};
  const Footprint k1 = footprint(std::vector<Event>{call}, lock_w, kCpu0Kernel);
  const Footprint k2 = footprint(std::vector<Event>{}, lock_r, kCpu1Kernel);
  const Footprint k3 = footprint(std::vector<Event>{}, other_lock, kCpu1Kernel);
  const Footprint k4 = footprint(std::vector<Event>{}, lock_r, kCpu0Kernel);
  CHECK(k1.kernel);
  CHECK(k2.kernel);
  CHECK(dependent(k1, k2));        // a writer and a reader of one lock
  CHECK_FALSE(dependent(k1, k3));  // two kernel steps on different locks commute
  CHECK_FALSE(dependent(k2, k4));  // two readers of one lock commute
  const Footprint r0 = footprint(std::vector<Event>{access(0x1000, Holder{HolderKind::CpuTlb, 0}, false, 5)}, kCpu0);
  const Footprint r1 = footprint(std::vector<Event>{access(0x1000, kTlb1, false, 5)}, kCpu1);
  CHECK_FALSE(dependent(r0, r1));  // two reads of one frame through two TLBs commute
  const Footprint w1 = footprint(std::vector<Event>{access(0x1000, kTlb1, true, 5)}, kCpu1);
  CHECK(dependent(r0, w1));  // a read and a write of one frame do not
}

TEST_CASE(
    "footprint: a device step that began at a hardware point and emitted nothing touched nothing, in the fault "
    "handler it is kernel code",
    "[scenarios][explore]") {
  const Footprint entry = footprint(std::vector<Event>{}, kDevice);  // a device op starting
  CHECK_FALSE(entry.kernel);
  CHECK(entry.touches.empty());
  Event call{.kind = EventKind::Call, .func = "munmap"};
  const Footprint zap = footprint(std::vector<Event>{call, pte_store(0x1000)}, kCpu0Kernel);
  CHECK_FALSE(dependent(entry, zap));
  CHECK_FALSE(dependent(entry, footprint(std::vector<Event>{access(0x1000, kAtc, true, 5)}, kDevice)));
  // A step in the fault handler (handle_mm_fault() on the device's behalf) is kernel code: it
  // did not begin at a hardware point, and is judged by what it touched.
  const Footprint iopf_empty = footprint(std::vector<Event>{}, kDeviceInIopf);
  const Footprint iopf_access = footprint(std::vector<Event>{access(0x1000, kAtc, false, 5)}, kDeviceInIopf);
  CHECK(iopf_empty.kernel);
  CHECK(iopf_access.kernel);
  CHECK(dependent(iopf_access, zap));  // the access reads the entry the zap stores
}

TEST_CASE("footprint: a store to one page under a cached 2 MiB entry is ordered against an access or a store at any other of its pages",
          "[scenarios][explore]") {
  // The detector judges a 2 MiB entry's window over all 512 pages: a store to page 4 opens,
  // re-judges or closes it, and names its opener and class, for an access or a store at page 16
  // through the entry too (detector.cpp, check_leaf(), recheck_leaf(), cause_of()).
  Event huge = fill(0x200000, kAtc);
  huge.flags = kEvHuge;
  CachedEntries with_huge;
  with_huge.apply(huge);
  const Footprint store4 = footprint(std::vector<Event>{pte_store(0x204000)}, {}, kCpu0, &with_huge);
  const Footprint store17 = footprint(std::vector<Event>{pte_store(0x211000)}, {}, kCpu0, &with_huge);
  const Footprint read16 = footprint(std::vector<Event>{access(0x210000, kAtc, false, 116)}, kDevice);
  CHECK(dependent(store4, read16));
  CHECK(dependent(store4, store17));
  // With 4 KiB entries only, a store and an access to different pages stay independent.
  CachedEntries small;
  small.apply(fill(0x210000, kAtc));
  CHECK_FALSE(dependent(footprint(std::vector<Event>{pte_store(0x204000)}, {}, kCpu0, &small), read16));
  // Without the index every 2 MiB entry that could cover the store counts.
  CHECK(dependent(footprint(std::vector<Event>{pte_store(0x204000)}, kCpu0), read16));
}

TEST_CASE("footprint: a store of a 2 MiB leaf reads all 512 frames it maps, so a write to any of them elsewhere is ordered against it",
          "[scenarios][explore]") {
  // Whether a write through a stale entry is lost depends on whether its mm maps the frame at
  // any address (detector.cpp, copied_away()): a PMD leaf mapping frames 512..1023 decides it
  // for frame 517 too.
  Event pmd = pte_store(0x40000000, 2);
  pmd.new_val = Pte{Pte::make(Pfn{512}, true).raw() | Pte::kHuge}.raw();
  CachedEntries nothing_cached;  // with the index: the store reads the frames it maps, no others
  const Footprint store = footprint(std::vector<Event>{pmd}, {}, kCpu0, &nothing_cached);
  CHECK(dependent(store, footprint(std::vector<Event>{access(0x7000, kAtc, true, 517)}, kDevice)));
  CHECK_FALSE(dependent(store, footprint(std::vector<Event>{access(0x7000, kAtc, true, 1024)}, kDevice)));
}

namespace {
/// A footprint of `n` random touches over a few keys and small ranges, so that matches, wildcards
/// (kAnyKey; Cached's every-holder and every-leaf-holder keys), commuting writes and ranges that
/// just meet or just miss are all common.
Footprint random_footprint(std::mt19937_64& rng, size_t n) {
  const std::vector<Touch::Obj> objs{Touch::Obj::Kernel, Touch::Obj::PtRange, Touch::Obj::Table, Touch::Obj::Frame, Touch::Obj::Cache,
                                     Touch::Obj::Lock,   Touch::Obj::Mm,      Touch::Obj::File,  Touch::Obj::Cached};
  const std::vector<HolderKind> kinds{HolderKind::CpuTlb, HolderKind::CpuWalkCache, HolderKind::Iotlb, HolderKind::IommuWalkCache,
                                      HolderKind::Atc};
  std::vector<Touch> touches;
  for (size_t i = 0; i < n; ++i) {
    Touch t{.obj = objs[rng() % objs.size()], .write = rng() % 2 == 0};
    t.commutes = t.write && rng() % 4 == 0;
    if (rng() % 10 == 0) {
      t.key = kAnyKey;
    } else if (t.obj == Touch::Obj::Cached) {
      // One draw per statement, so every compiler draws them in the same order.
      uint64_t holder = rng() % 4 == 0 ? (rng() % 2 ? 0xffffff : 0xfffffe) : 0;
      if (holder == 0) {
        holder = uint64_t{static_cast<uint8_t>(kinds[rng() % kinds.size()])} << 16;
        holder |= rng() % 2;
      }
      t.key = ((rng() % 2) << 24) | holder;
    } else {
      t.key = rng() % 4;
    }
    if (rng() % 8 == 0) {
      t.lo = 0;
      t.hi = ~uint64_t{0};
    } else {
      t.lo = rng() % 24;
      t.hi = t.lo + 1 + rng() % 6;
    }
    touches.push_back(t);
  }
  return footprint(std::vector<Event>{}, touches, kCpu0);
}
}  // namespace

TEST_CASE("footprint: dependent() agrees with looking at every pair of touches, on 20000 generated pairs of footprints",
          "[scenarios][explore]") {
  std::mt19937_64 rng(6122026);
  size_t dependent_pairs = 0;
  for (int c = 0; c < 20000; ++c) {
    const Footprint a = random_footprint(rng, rng() % 30);
    const Footprint b = random_footprint(rng, rng() % 30);
    const bool expected = dependent_by_every_pair(a, b);
    INFO("pair " << c << ": " << a.touches.size() << " and " << b.touches.size() << " touches");
    REQUIRE(dependent(a, b) == expected);
    REQUIRE(dependent(b, a) == expected);
    dependent_pairs += expected;
  }
  // Both answers are common, so neither is right by default.
  CHECK(dependent_pairs > 4000);
  CHECK(dependent_pairs < 16000);
}
