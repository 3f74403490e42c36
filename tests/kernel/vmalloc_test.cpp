// SPDX-License-Identifier: MIT
// The kernel half (kernel/vmalloc.h): init_mm's tables shared into every mm, vfree() keeping its
// tables, and ioremap()'s pmd_free_pte_page() freeing a PTE table at once (up to v6.18) or only
// after invalidating (PAGE_OFFSET, -1) in every SVA mm (v6.19, e37d5a2d60a3 series).
#include <catch2/catch.hpp>

#include "kernel/path_checks.h"
#include "kernel/vmalloc.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {

constexpr uint64_t kArea = kVmallocStart;  // on a 2 MiB boundary
constexpr uint64_t kAreaPages = 2;

void run(kernel::Task<> t) { kernel::run_sync(t); }

/// Two processes, each with its own SVA device (AMD, the release's decoding), and a third mm
/// bound to nothing, all created after a vmalloc area was mapped.
struct KernelHalf {
  explicit KernelHalf(const std::string& policy)
      : k(std::make_unique<kernel::Kernel>(kernel::MachineConfig{}, *kernel::find_policy(policy))) {
    k->bus().add_sink(&rec);
    k->boot_kernel_half(VaRange{kArea, kArea + kPmdSize});
    kernel::vmalloc_setup(*k, Vaddr{kArea}, kAreaPages);
    const kernel::SvaDecoding dec = kernel::resolve_decoding("amd", k->policy())->decoding;
    for (int i = 0; i < 3; ++i) {
      AddressSpace& mm = k->create_mm("p" + std::to_string(i));
      mms.push_back(&mm);
      if (i == 2) continue;
      iommu::Iommu& io = k->add_iommu(iommu::IommuConfig{});
      const uint16_t dev = io.add_device(iommu::DeviceConfig{.name = "d" + std::to_string(i)});
      kernel::iommu_sva_bind_device(*k, mm, io, dev, Pasid{static_cast<uint32_t>(i + 1)}, dec);
    }
  }
  /// The device of mm `i` reads the kernel address: a supervisor fault, its walk cached.
  iommu::DmaResult probe(int i) { return k->iommu(static_cast<unsigned>(i)).dma(0, *mms[i]->pasid(), Vaddr{kArea}, false); }
  Pfn pte_table() { return k->init_mm()->lookup(Vaddr{kArea}, 1).table; }

  std::unique_ptr<kernel::Kernel> k;
  Recorder rec;
  std::vector<AddressSpace*> mms;
};

}  // namespace

TEST_CASE("every mm created after the kernel half maps the vmalloc area through init_mm's tables, supervisor-only", "[kernel]") {
  KernelHalf h("fixed");
  for (AddressSpace* mm : h.mms) {
    const Pte leaf = mm->pt().leaf(Vaddr{kArea});
    CHECK(leaf.present());
    CHECK_FALSE(leaf.user());
    CHECK(mm->pt().lookup(Vaddr{kArea}, 1).table == h.pte_table());
  }
  CHECK_NOTHROW(h.k->check_invariants());
  // The device's walk reaches the leaf, faults, and keeps the three upper entries.
  const iommu::DmaResult r = h.probe(0);
  CHECK(r.fault == iommu::DmaFault::PageRequest);
  CHECK(h.k->iommu(0).walk_cache().occupancy() == 3);
  h.k->iommu(0).walk_cache().for_each([](const WalkCacheEntry& e) { CHECK(e.mm == kInitMm); });
}

TEST_CASE("vfree clears the kernel PTEs, frees the pages, keeps the tables and notifies no secondary TLB", "[kernel]") {
  KernelHalf h("v6.19");
  const Pfn table = h.pte_table();
  h.rec.clear();
  run(kernel::vfree(*h.k, Vaddr{kArea}, kAreaPages));
  for (uint64_t i = 0; i < kAreaPages; ++i) CHECK(h.k->init_mm()->leaf(Vaddr{kArea + i * kPageSize}).none());
  CHECK(h.k->mem().is_live_table(table));
  CHECK(h.pte_table() == table);
  const auto frees = h.rec.of(EventKind::FrameFree);
  REQUIRE(frees.size() == kAreaPages);
  for (const Event* e : frees) CHECK_FALSE(e->flags & kEvTable);
  CHECK(h.rec.count(EventKind::Notifier) == 0);
  CHECK_NOTHROW(h.k->check_invariants());
}

TEST_CASE("ioremap_huge up to v6.18 frees the emptied PTE table right after pmd_clear, and no IOMMU hears of it", "[kernel]") {
  KernelHalf h("v6.17");
  REQUIRE(h.probe(0).fault == iommu::DmaFault::PageRequest);
  run(kernel::vfree(*h.k, Vaddr{kArea}, kAreaPages));
  const Pfn table = h.pte_table();
  h.rec.clear();
  run(kernel::ioremap_huge(*h.k, Vaddr{kArea}));
  const size_t clear = h.rec.find([](const Event& e) { return is_pte_store(e, "pmd_free_pte_page: pmd_clear"); });
  const size_t freed = h.rec.find([&](const Event& e) { return e.kind == EventKind::FrameFree && e.pfn == table; });
  const size_t huge = h.rec.find([](const Event& e) { return is_pte_store(e, "pmd_set_huge"); });
  REQUIRE(clear != Recorder::npos);
  REQUIRE(freed != Recorder::npos);
  REQUIRE(huge != Recorder::npos);
  CHECK(clear < freed);
  CHECK(freed < huge);
  CHECK(h.rec.count(EventKind::Notifier) == 0);
  CHECK(h.k->init_mm()->leaf(Vaddr{kArea}).huge());
  // The IOMMU still points at the freed table: reused as data, the next walk goes through it.
  const Pfn reused = h.k->mem().alloc(FrameKind::Anon, 1, 0, "do_anonymous_page");
  REQUIRE(reused == table);  // LIFO reuse
  h.rec.clear();
  CHECK(h.probe(0).fault == iommu::DmaFault::StaleTable);
  CHECK(h.rec.count(EventKind::StaleTableWalk) == 1);
  CHECK_NOTHROW(h.k->check_invariants());
}

TEST_CASE("ioremap_huge from v6.19 queues the PTE table, the worker invalidates (PAGE_OFFSET, -1) in every SVA mm, then frees it",
          "[kernel]") {
  KernelHalf h("v6.19");
  h.k->kernel_pgtable_work().set_producers(1);
  REQUIRE(h.probe(0).fault == iommu::DmaFault::PageRequest);
  REQUIRE(h.probe(1).fault == iommu::DmaFault::PageRequest);
  run(kernel::vfree(*h.k, Vaddr{kArea}, kAreaPages));
  const Pfn table = h.pte_table();
  h.rec.clear();
  run(kernel::ioremap_huge(*h.k, Vaddr{kArea}));
  // ioremap() has returned: the table is unlinked but still allocated, and nobody was told.
  CHECK(h.k->mem().frame(table).allocated);
  CHECK(h.rec.count(EventKind::Notifier) == 0);
  CHECK(h.k->init_mm()->leaf(Vaddr{kArea}).huge());
  run(kernel::kernel_pgtable_work_func(*h.k));
  const size_t clear = h.rec.find([](const Event& e) { return is_pte_store(e, "pmd_free_pte_page: pmd_clear"); });
  const size_t freed = h.rec.find([&](const Event& e) { return e.kind == EventKind::FrameFree && e.pfn == table; });
  const auto invs = indices(h.rec, [](const Event& e) { return is_secondary_inv(e); });
  REQUIRE(clear != Recorder::npos);
  REQUIRE(freed != Recorder::npos);
  // One call per bound mm (the unbound third has no subscriber), each before the free.
  REQUIRE(invs.size() == 2);
  for (size_t i : invs) {
    const Event& e = h.rec.events()[i];
    CHECK(spans(e, kPageOffset, kFlushAll));
    CHECK(clear < i);
    CHECK(i < freed);
  }
  CHECK(h.rec.events()[invs[0]].mm == h.mms[0]->id());
  CHECK(h.rec.events()[invs[1]].mm == h.mms[1]->id());
  // Neither IOMMU keeps a pointer into the kernel half's tables.
  for (unsigned i = 0; i < 2; ++i) {
    bool kernel_entry = false;
    h.k->iommu(i).walk_cache().for_each([&](const WalkCacheEntry& e) { kernel_entry |= is_kernel_half(e.start()); });
    CHECK_FALSE(kernel_entry);
  }
  CHECK(h.k->mem().alloc(FrameKind::Anon, 1, 0, "do_anonymous_page") == table);
  CHECK(h.probe(0).fault == iommu::DmaFault::PageRequest);  // a fresh walk: the huge supervisor leaf
  CHECK(h.rec.count(EventKind::StaleTableWalk) == 0);
  CHECK_NOTHROW(h.k->check_invariants());
}

TEST_CASE("the kernel_pgtable_work worker returns at once when no ioremap op is left to queue a table", "[kernel]") {
  const std::string policy = GENERATE(as<std::string>{}, "v6.17", "v6.19");
  KernelHalf h(policy);
  h.k->kernel_pgtable_work().set_producers(1);
  kernel::Task<> worker = kernel::kernel_pgtable_work_func(*h.k);
  CHECK_FALSE(h.k->kernel_pgtable_work().ready());           // the ioremap op may still queue one
  run(kernel::ioremap_huge(*h.k, Vaddr{kArea + kPmdSize}));  // no PTE table there: nothing queued
  CHECK(h.k->kernel_pgtable_work().ready());
  h.rec.clear();
  run(std::move(worker));
  CHECK(h.rec.count(EventKind::Notifier) == 0);
  CHECK(h.rec.count(EventKind::FrameFree) == 0);
}

TEST_CASE("ioremap_huge of a block with no PTE table frees nothing and calls no worker", "[kernel]") {
  KernelHalf h("v6.19");
  h.rec.clear();
  run(kernel::ioremap_huge(*h.k, Vaddr{kArea + kPmdSize}));
  CHECK(h.rec.count(EventKind::FrameFree) == 0);
  CHECK(h.rec.count(EventKind::Notifier) == 0);
  CHECK(h.k->init_mm()->leaf(Vaddr{kArea + kPmdSize}).huge());
  CHECK_NOTHROW(h.k->check_invariants());
}
