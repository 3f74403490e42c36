// SPDX-License-Identifier: MIT
// Reclaim's batched unmap (primer 7.3) under both notifier policies, x86 and arm64.
#include <catch2/catch.hpp>

#include "kernel/lru.h"
#include "kernel/page.h"
#include "kernel/reclaim.h"
#include "kernel/rmap_test_support.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {
constexpr uint64_t kBase = 0x400000;

/// The mm has run on CPUs 0 and 1 (so x86 defers the flush); both CPUs and the device cache
/// page 0 of [kBase, kBase + 2 pages).
void touch_everywhere(SvaMachine& m, bool write) {
  device_touch(m, kBase, kBase + kPageSize, write);
  cpu_touch(*m.k, *m.mm, kBase, kBase + kPageSize, write);
  m.mm->add_cpu(1);
  REQUIRE(m.k->cpu(1).access(m.k->walk_context(*m.mm), Vaddr{kBase}, write).ok());
}

kernel::MachineConfig arm64() {
  kernel::MachineConfig c;
  c.arch = kernel::Arch::Arm64;
  return c;
}

void reclaim(SvaMachine& m, Pfn p) {
  kernel::Task<> t = kernel::shrink_folio_list(*m.k, {p});
  kernel::run_sync(t);
}

bool is_batch_flush(const Event& e) { return e.kind == EventKind::CpuFlush && std::string(e.func) == "arch_tlbbatch_flush"; }
}  // namespace

SCENARIO("x86 reclaim of an anonymous page on a multi-CPU mm", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, true);
  touch_everywhere(m, true);
  const Pfn p = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  m.rec.clear();
  reclaim(m, p);
  const Recorder& r = m.rec;

  const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_get_and_clear", kBase); });
  REQUIRE(clr != Recorder::npos);  // deferred: no flush at the clear
  const size_t swp = r.find([](const Event& e) { return is_pte_at(e, "set_pte_at", kBase); }, clr);
  const size_t unlock =
      r.find([](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "page_vma_mapped_walk_done"; }, clr);
  const size_t inv = r.find(is_secondary_inv, clr);
  const size_t sync = r.find(is_inv_sync, inv);
  const size_t cpu = r.find(is_batch_flush, clr);
  const size_t pageout = r.find([](const Event& e) { return is_call(e, "pageout"); });
  const size_t freed = r.find([&](const Event& e) { return is_free_of(e, p); });
  REQUIRE(freed != Recorder::npos);
  CHECK(Pte{r.events()[swp].new_val}.swp_type() == Pte::SwpType::Swap);
  CHECK(r.find(is_cpu_flush, clr) == cpu);  // the batch flush is the only CPU flush
  if (policy == "fixed") {
    // arch_tlbbatch_add_pending() sends (0, -1) at queue time, before the CPU batch flush.
    CHECK(is_notifier(r.events()[inv], "arch_invalidate_secondary_tlbs"));
    CHECK(std::string(r.events()[inv].func) == "arch_tlbbatch_add_pending");
    CHECK(spans(r.events()[inv], 0, kFlushAll));
    CHECK(inv < swp);
  } else {
    // The explicit call for the anon/swap branch, after the swap PTE, under the PTL.
    CHECK(is_notifier(r.events()[inv], "invalidate_range"));
    CHECK(std::string(r.events()[inv].func) == "try_to_unmap_one");
    CHECK(spans(r.events()[inv], kBase, kBase + kPageSize));
    CHECK(swp < inv);
    CHECK(inv < unlock);
  }
  const size_t cmd = r.find([](const Event& e) { return e.kind == EventKind::InvCmd; }, inv);
  CHECK(inv < cmd);
  CHECK(cmd < sync);
  CHECK(sync < cpu);
  // try_to_unmap_flush_dirty() before pageout(), then the free.
  CHECK(cpu < pageout);
  CHECK(pageout < freed);
  CHECK(m.mm->tlb_flush_batched());  // left for flush_tlb_batched_pending()
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("x86 reclaim of a clean file page relies on MN_END in OLD", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  const uint32_t f = m.k->create_file("f", 2);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, kVmRead | kVmShared, f, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, false);
  touch_everywhere(m, false);
  const Pfn p = m.k->file(f).page(0);
  m.rec.clear();
  reclaim(m, p);
  const Recorder& r = m.rec;
  const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_get_and_clear", kBase); });
  REQUIRE(clr != Recorder::npos);
  const size_t unlock =
      r.find([](const Event& e) { return e.kind == EventKind::Unlock && std::string(e.func) == "page_vma_mapped_walk_done"; }, clr);
  const size_t end = r.find([](const Event& e) { return is_notifier(e, "mmu_notifier_invalidate_range_end"); }, clr);
  const size_t inv = r.find(is_secondary_inv, clr);
  const size_t cpu = r.find(is_batch_flush, clr);
  const size_t freed = r.find([&](const Event& e) { return is_free_of(e, p); });
  if (policy == "fixed") {
    CHECK(std::string(r.events()[inv].func) == "arch_tlbbatch_add_pending");
    CHECK(inv < unlock);
  } else {
    CHECK(std::string(r.events()[inv].func) == "mn_hlist_invalidate_end");
    CHECK(end < inv);
    CHECK(unlock < inv);
  }
  CHECK(inv < cpu);
  CHECK(cpu < freed);
  CHECK(m.k->file(f).page(0) == kNoPfn);  // __remove_mapping()
  CHECK(m.mm->pt().leaf(Vaddr{kBase}).none());
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("x86 reclaim on a single-CPU mm flushes immediately with ptep_clear_flush", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);
  device_touch(m, kBase, kBase + kPageSize, true);
  cpu_touch(*m.k, *m.mm, kBase, kBase + kPageSize, true);
  const Pfn p = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  m.rec.clear();
  reclaim(m, p);
  const Recorder& r = m.rec;
  const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_clear_flush", kBase); });
  REQUIRE(clr != Recorder::npos);
  const size_t cpu = r.find(is_cpu_flush, clr);
  CHECK(std::string(r.events()[cpu].func) == "flush_tlb_mm_range");
  CHECK(r.find(is_batch_flush) == Recorder::npos);
  const size_t inv = r.find(is_secondary_inv, clr);
  CHECK(spans(r.events()[inv], kBase, kBase + kPageSize));
  CHECK(std::string(r.events()[inv].func) == (policy == "fixed" ? "flush_tlb_mm_range" : "try_to_unmap_one"));
  CHECK(cpu < inv);
  CHECK_FALSE(m.mm->tlb_flush_batched());
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("arm64 reclaim always defers, FIXED invalidates the page at add_pending", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy, kernel::SvaDecoding::SmmuV3, arm64());
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);
  device_touch(m, kBase, kBase + kPageSize, true);
  cpu_touch(*m.k, *m.mm, kBase, kBase + kPageSize, true);
  const Pfn p = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  m.rec.clear();
  reclaim(m, p);
  const Recorder& r = m.rec;
  const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_get_and_clear", kBase); });
  REQUIRE(clr != Recorder::npos);
  const size_t inv = r.find(is_secondary_inv, clr);
  const size_t cpu = r.find(is_batch_flush, clr);
  CHECK(spans(r.events()[inv], kBase, kBase + kPageSize));
  CHECK(std::string(r.events()[inv].func) == (policy == "fixed" ? "__flush_tlb_page_nosync" : "try_to_unmap_one"));
  CHECK(inv < cpu);
  CHECK(cpu < r.find([&](const Event& e) { return is_free_of(e, p); }));
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("the rmap walk stops once the folio is unmapped (primer 4.3)", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  const uint32_t f = m.k->create_file("f", 1);
  // Two VMAs map file page 0; only the first (earlier in i_mmap) has a PTE.
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, kPageSize, kVmRead | kVmShared, f, 0);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{0x800000}, kPageSize, kVmRead | kVmShared, f, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, false);
  const Pfn p = m.k->file(f).page(0);
  m.rec.clear();
  reclaim(m, p);
  CHECK(m.rec.find([](const Event& e) { return e.kind == EventKind::Notifier && e.va == kBase; }) != Recorder::npos);
  // No notifier bracket (and so, in OLD, no invalidate_range) for the second VMA.
  CHECK(m.rec.find([](const Event& e) { return e.kind == EventKind::Notifier && e.va == 0x800000; }) == Recorder::npos);
  CHECK_FALSE(m.k->mem().frame(p).allocated);
  m.k->check_invariants();
}

SCENARIO("reclaim keeps dirty file pages and pinned pages", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  const uint32_t f = m.k->create_file("f", 2);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, kVmRead | kVmWrite | kVmShared, f, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);               // page 0 dirty
  kernel::populate(*m.k, *m.mm, Vaddr{kBase + kPageSize}, kPageSize, false);  // page 1 clean
  touch_everywhere(m, true);
  const Pfn dirty = m.k->file(f).page(0);
  const Pfn pinned = m.k->file(f).page(1);
  kernel::get_page(*m.k, pinned);
  m.rec.clear();
  kernel::Task<> t = kernel::shrink_folio_list(*m.k, {dirty, pinned});
  kernel::run_sync(t);
  // Both were unmapped (flushed before the pass ended) but stay in the page cache.
  CHECK(m.mm->pt().leaf(Vaddr{kBase}).none());
  CHECK(m.mm->pt().leaf(Vaddr{kBase + kPageSize}).none());
  CHECK(m.k->file(f).page(0) == dirty);
  CHECK(m.k->file(f).page(1) == pinned);
  CHECK(m.k->mem().refcount(dirty) == 1);
  CHECK(m.k->mem().refcount(pinned) == 2);
  CHECK(m.rec.count(EventKind::FrameFree) == 0);
  CHECK(m.rec.find(is_batch_flush) != Recorder::npos);
  kernel::put_page(*m.k, pinned, "test");
  require_all_coherent(m);
  m.k->check_invariants();
}

SCENARIO("reclaim leaves alone a page a migration holds isolated, and puts back what it keeps", "[kernel][policy]") {
  // isolate_lru_pages() (v6.0): TestClearPageLRU() fails, "Another thread is already isolating
  // this page", and the page is skipped.
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, true);
  const Pfn taken = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  const Pfn pinned = m.mm->pt().leaf(Vaddr{kBase + kPageSize}).pfn();
  REQUIRE(kernel::isolate_migratepages_block(*m.k, {taken}).size() == 1);
  kernel::get_page(*m.k, pinned);  // an extra reference: reclaim keeps the page
  m.rec.clear();
  kernel::Task<> t = kernel::shrink_folio_list(*m.k, {taken, pinned});
  kernel::run_sync(t);
  // The migration's page was not touched: still mapped, still isolated, one reference more.
  CHECK(m.mm->pt().leaf(Vaddr{kBase}).pfn() == taken);
  CHECK(m.k->mem().frame(taken).isolated);
  CHECK(m.k->mem().refcount(taken) == 2);
  // The pinned page was unmapped and kept, and is back on the LRU.
  CHECK(m.k->mem().frame(pinned).allocated);
  CHECK_FALSE(m.k->mem().frame(pinned).isolated);
  CHECK(m.rec.count(EventKind::FrameFree) == 0);
  kernel::put_page(*m.k, pinned, "test");
  kernel::putback_lru_page(*m.k, taken, "test");
  require_all_coherent(m);
  m.k->check_invariants();
}
