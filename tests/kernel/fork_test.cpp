// SPDX-License-Identifier: MIT
// fork's dup_mmap()/copy_page_range() (primer section 5): COW VMAs are write-protected in the
// parent under a notifier bracket; OLD invalidates the IOMMU at each bracket's end, FIXED once
// inside flush_tlb_mm(); both before the parent's mmap_lock is released.
#include <catch2/catch.hpp>

#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/page.h"
#include "kernel/path_checks.h"
#include "kernel/thp.h"
#include "kernel/vma_ops.h"
#include "kernel/zap.h"

namespace tlbsim::kernel {
namespace {

using test::SvaMachine;

constexpr uint64_t kA = 0x1000000;  // private anonymous, 4 pages
constexpr uint64_t kB = 0x1400000;  // private anonymous, 2 pages (another PTE table)
constexpr uint64_t kS = 0x1800000;  // shared anonymous, 2 pages
constexpr uint32_t kRw = kVmRead | kVmWrite;

struct ForkSetup {
  explicit ForkSetup(const std::string& policy) : m(policy) {
    //  A: 0x1000000  AAAA      B: 0x1400000  BB      S: 0x1800000  SS   (all written by CPU and device)
    mmap_region(k(), mm(), Vaddr{kA}, 4 * kPageSize, kRw, 0, 0);
    mmap_region(k(), mm(), Vaddr{kB}, 2 * kPageSize, kRw, 0, 0);
    mmap_region(k(), mm(), Vaddr{kS}, 2 * kPageSize, kRw | kVmShared, 0, 0);
    for (uint64_t v : {kA, kB, kS}) {
      const uint64_t len = (v == kA ? 4 : 2) * kPageSize;
      populate(k(), mm(), Vaddr{v}, len, true);
      test::device_touch(m, v, v + len, true);
      test::cpu_touch(k(), mm(), v, v + len, true);
    }
    m.rec.clear();
  }
  Kernel& k() { return *m.k; }
  AddressSpace& mm() { return *m.mm; }
  AddressSpace& fork() {
    Task<AddressSpace*> t = sys_fork(k(), mm(), "child");
    return *run_sync(t);
  }
  SvaMachine m;
};

SCENARIO("fork write-protects COW VMAs and closes the device's writable window before mmap_write_unlock(oldmm)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  GIVEN("private VMAs A, B and a shared VMA S, each written through the ATC, under " + policy) {
    ForkSetup s(policy);
    AddressSpace& mm = s.mm();
    WHEN("the mm forks") {
      AddressSpace& child = s.fork();
      const auto& rec = s.m.rec;
      const auto& ev = rec.events();

      THEN("parent and child share every page; COW pages are read-only in both, shared ones stay writable") {
        for (uint64_t v : {kA, kA + 3 * kPageSize, kB, kB + kPageSize, kS, kS + kPageSize}) {
          const Pte p = mm.pt().leaf(Vaddr{v}), c = child.pt().leaf(Vaddr{v});
          REQUIRE(p.present());
          REQUIRE(c.pfn() == p.pfn());
          REQUIRE(s.k().mem().mapcount(p.pfn()) == 2);
          const bool shared = v >= kS;
          CHECK(p.writable() == shared);
          CHECK(c.writable() == shared);
          CHECK_FALSE(c.young());
        }
        CHECK(mm.write_protect_seq() == 4);  // two COW VMAs, each begin+end
        CHECK_FALSE(mm.mmap_lock.held());
        CHECK_FALSE(child.mmap_lock.held());
      }

      THEN("only COW VMAs get a notifier bracket, and the PTE_WPs sit inside it") {
        const auto starts = test::indices(rec, [](const Event& e) { return test::is_notifier(e, "mmu_notifier_invalidate_range_start"); });
        REQUIRE(starts.size() == 2);
        CHECK(test::spans(ev[starts[0]], kA, kA + 4 * kPageSize));
        CHECK(test::spans(ev[starts[1]], kB, kB + 2 * kPageSize));
        const auto wps = test::indices(rec, [](const Event& e) { return test::is_pte_store(e, "ptep_set_wrprotect"); });
        REQUIRE(wps.size() == 6);
        CHECK(starts[0] < wps[0]);
        CHECK(wps[3] < starts[1]);
        CHECK(starts[1] < wps[4]);
      }

      const size_t cpu_flush =
          rec.find([&](const Event& e) { return e.kind == EventKind::CpuFlush && e.mm == mm.id() && test::spans(e, 0, kFlushAll); });
      const size_t unlock_old =
          rec.find([&](const Event& e) { return test::is_unlock(e, mm.mmap_lock.name()) && std::string(e.func) == "mmap_write_unlock"; });
      const auto sec = test::indices(rec, test::is_secondary_inv);
      const auto wps = test::indices(rec, [](const Event& e) { return test::is_pte_store(e, "ptep_set_wrprotect"); });

      THEN("flush_tlb_mm(oldmm) comes after every PTE_WP and before mmap_write_unlock(oldmm)") {
        REQUIRE(cpu_flush != test::Recorder::npos);
        REQUIRE(unlock_old != test::Recorder::npos);
        CHECK(wps.back() < cpu_flush);
        CHECK(cpu_flush < unlock_old);
        // mmap_write_unlock(newmm) precedes the flush, as in dup_mmap().
        const size_t unlock_new = rec.find([&](const Event& e) { return test::is_unlock(e, child.mmap_lock.name()); });
        CHECK(unlock_new < cpu_flush);
      }

      if (policy == "old") {
        THEN("OLD: each COW VMA's range_end invalidates that VMA right after its PTE_WPs, before the CPU flush") {
          REQUIRE(sec.size() == 2);
          CHECK(test::is_notifier(ev[sec[0]], "invalidate_range"));
          CHECK(std::string(ev[sec[0]].func) == "mn_hlist_invalidate_end");
          CHECK(test::spans(ev[sec[0]], kA, kA + 4 * kPageSize));
          CHECK(test::spans(ev[sec[1]], kB, kB + 2 * kPageSize));
          CHECK(wps[3] < sec[0]);
          CHECK(sec[0] < wps[4]);
          CHECK(wps[5] < sec[1]);
          CHECK(sec[1] < cpu_flush);
          // The IOMMU is flushed before the CPU (primer 5.2): every command completes before it.
          const size_t last_sync = test::rfind(
              rec, [](const Event& e) { return e.kind == EventKind::InvSync; }, ev.size());
          CHECK(last_sync < cpu_flush);
        }
      } else {
        THEN("FIXED: the only secondary invalidation is (0, -1) inside flush_tlb_mm, before mmap_write_unlock(oldmm)") {
          REQUIRE(sec.size() == 1);
          CHECK(test::is_notifier(ev[sec[0]], "arch_invalidate_secondary_tlbs"));
          CHECK(test::spans(ev[sec[0]], 0, kFlushAll));
          CHECK(cpu_flush < sec[0]);
          CHECK(sec[0] < unlock_old);
          const auto syncs = test::indices(rec, [](const Event& e) { return e.kind == EventKind::InvSync; });
          REQUIRE_FALSE(syncs.empty());
          CHECK(sec[0] < syncs.front());
          CHECK(syncs.back() < unlock_old);
        }
      }

      THEN("no cache keeps a writable translation of a write-protected page") {
        test::require_secondary_coherent(s.m, mm);
        test::require_cpu_coherent(s.k(), mm);
        s.k().check_invariants();
      }
    }
  }
}

SCENARIO("after fork a device write breaks COW in the parent and never reaches the child's page", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  ForkSetup s(policy);
  AddressSpace& mm = s.mm();
  AddressSpace& child = s.fork();
  const Pfn shared = child.pt().leaf(Vaddr{kA}).pfn();
  const uint32_t content = s.k().mem().content(shared);
  Task<> dma = device_dma(s.k(), 0, s.m.dev, mm, Vaddr{kA}, true);
  run_sync(dma);
  const Pte p = mm.pt().leaf(Vaddr{kA});
  REQUIRE(p.writable());
  CHECK(p.pfn() != shared);
  CHECK(child.pt().leaf(Vaddr{kA}).pfn() == shared);
  CHECK(s.k().mem().content(shared) == content);
  const size_t write = test::rfind(
      s.m.rec, [](const Event& e) { return e.kind == EventKind::Access; }, s.m.rec.events().size());
  REQUIRE(write != test::Recorder::npos);
  CHECK(s.m.rec.events()[write].pfn == p.pfn());
  test::require_secondary_coherent(s.m, mm);
  s.k().check_invariants();
}

SCENARIO("fork under old+fork-batch: _only_end per VMA and one invalidate_range(0, -1) after flush_tlb_mm", "[kernel][policy]") {
  ForkSetup s("old+fork-batch");
  AddressSpace& mm = s.mm();
  s.fork();
  const auto& rec = s.m.rec;
  const auto& ev = rec.events();
  const auto only_end = test::indices(rec, [](const Event& e) { return test::is_notifier(e, "mmu_notifier_invalidate_range_only_end"); });
  CHECK(only_end.size() == 2);
  const auto sec = test::indices(rec, test::is_secondary_inv);
  REQUIRE(sec.size() == 1);
  CHECK(std::string(ev[sec[0]].func) == "dup_mmap");
  CHECK(test::spans(ev[sec[0]], 0, kFlushAll));
  const size_t cpu_flush = rec.find([](const Event& e) { return e.kind == EventKind::CpuFlush; });
  const size_t unlock_old =
      rec.find([&](const Event& e) { return test::is_unlock(e, mm.mmap_lock.name()) && std::string(e.func) == "mmap_write_unlock"; });
  CHECK(only_end.back() < cpu_flush);
  CHECK(cpu_flush < sec[0]);
  CHECK(sec[0] < unlock_old);
  test::require_secondary_coherent(s.m, mm);
  s.k().check_invariants();
}

SCENARIO("fork copies no page tables for VMAs without an anon_vma (vma_needs_copy)", "[kernel]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const uint32_t f = k.create_file("f", 4);
  // 0x2000000  FF (shared file, populated)   0x2400000  UU (private anon, never faulted)
  mmap_region(k, mm, Vaddr{0x2000000}, 2 * kPageSize, kRw | kVmShared, f, 0);
  mmap_region(k, mm, Vaddr{0x2400000}, 2 * kPageSize, kRw, 0, 0);
  populate(k, mm, Vaddr{0x2000000}, 2 * kPageSize, true);
  m.rec.clear();
  Task<AddressSpace*> t = sys_fork(k, mm, "child");
  AddressSpace& child = *run_sync(t);
  CHECK(child.vmas().size() == 2);
  CHECK(child.pt().leaf(Vaddr{0x2000000}).none());
  CHECK(m.rec.count(EventKind::Notifier) == (policy == "fixed" ? 1u : 0u));  // FIXED: flush_tlb_mm's
  k.check_invariants();
}

SCENARIO("fork copies the page tables of a private file VMA that has an anon_vma, even with no COW page left", "[kernel]") {
  SvaMachine m;
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const uint32_t f = k.create_file("f", 4);
  mmap_region(k, mm, Vaddr{0x2000000}, 2 * kPageSize, kRw, f, 0);
  populate(k, mm, Vaddr{0x2000000}, kPageSize, false);             // the page-cache page, read-only
  populate(k, mm, Vaddr{0x2000000 + kPageSize}, kPageSize, true);  // a COW copy: the VMA's anon_vma
  Task<> zap = madvise_dontneed(k, mm, Vaddr{0x2000000 + kPageSize}, kPageSize);
  run_sync(zap);
  REQUIRE(mm.pt().leaf(Vaddr{0x2000000 + kPageSize}).none());
  // vma_needs_copy(): src_vma->anon_vma stays set, so the child gets the file page's PTE too.
  Task<AddressSpace*> t = sys_fork(k, mm, "child");
  AddressSpace& child = *run_sync(t);
  CHECK(child.pt().leaf(Vaddr{0x2000000}).present());
  CHECK(child.pt().leaf(Vaddr{0x2000000}).pfn() == mm.pt().leaf(Vaddr{0x2000000}).pfn());
  CHECK(child.find_vma(0x2000000)->anon_vma == mm.find_vma(0x2000000)->anon_vma);
  k.check_invariants();
  check_anon_rmap(k);
}

SCENARIO("fork of a huge PMD write-protects it whole (copy_huge_pmd)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  constexpr uint64_t kH = 0x40000000;
  mmap_region(k, mm, Vaddr{kH}, kPmdSize, kRw, 0, 0);
  const Pfn head = map_huge_anon(k, mm, Vaddr{kH});
  test::device_touch(m, kH, kH + 2 * kPageSize, true);
  m.rec.clear();
  Task<AddressSpace*> t = sys_fork(k, mm, "child");
  AddressSpace& child = *run_sync(t);
  unsigned level = 0;
  const Pte p = mm.pt().leaf(Vaddr{kH}, &level);
  CHECK(level == 2);
  CHECK_FALSE(p.writable());
  CHECK(child.pt().leaf(Vaddr{kH}).pfn() == head);
  CHECK_FALSE(child.pt().leaf(Vaddr{kH}).writable());
  CHECK(k.mem().mapcount(Pfn{head.value() + 7}) == 2);
  const auto sec = test::indices(m.rec, test::is_secondary_inv);
  REQUIRE(sec.size() == 1);
  CHECK(test::spans(m.rec.events()[sec[0]], policy == "old" ? kH : 0, policy == "old" ? kH + kPmdSize : kFlushAll));
  test::require_secondary_coherent(m, mm);
  k.check_invariants();
}

}  // namespace
}  // namespace tlbsim::kernel
