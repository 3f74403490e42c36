// SPDX-License-Identifier: MIT
// Device-private memory (primer 6.2): what happens to a page after migrate_vma moved it to the
// device, when the CPU, a DMA, munmap, fork or mprotect meet its device-private entry, and how
// migrate_vma steps aside for a page another migration holds.
#include <catch2/catch.hpp>

#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/migrate.h"
#include "kernel/mprotect.h"
#include "kernel/page.h"
#include "kernel/rmap_test_support.h"
#include "kernel/thp.h"
#include "kernel/zap.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {
constexpr uint64_t kBase = 0x400000;

Pte pte_at(const AddressSpace& mm, uint64_t va) {
  const PteRef r = mm.pt().lookup(Vaddr{va}, 1);
  return r.valid() ? mm.pt().get(r) : Pte{};
}

Pfn device_page_at(const AddressSpace& mm, uint64_t va) {
  const Pte p = pte_at(mm, va);
  REQUIRE(p.is_device_private());
  return Pfn{static_cast<uint32_t>(p.swp_offset())};
}

/// Two written anonymous pages moved to device memory by HMM_DMIRROR_MIGRATE.
struct Migrated {
  explicit Migrated(const std::string& policy = "fixed") : m(policy) {
    kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, kVmRead | kVmWrite, 0, 0);
    kernel::populate(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, true);
    m.k->mem().write_content(m.mm->pt().leaf(Vaddr{kBase}).pfn());
    content = m.k->mem().content(m.mm->pt().leaf(Vaddr{kBase}).pfn());
    kernel::Task<> t = kernel::dmirror_migrate(*m.k, *m.mm, VaRange{kBase, kBase + 2 * kPageSize});
    kernel::run_sync(t);
    dpage = device_page_at(*m.mm, kBase);
    dpage_gen = m.k->mem().frame(dpage).generation;
    m.rec.clear();
  }
  /// The device page went back to the driver (its frame may have been allocated again since).
  bool device_page_freed() const {
    const Frame& f = m.k->mem().frame(dpage);
    return !f.allocated || f.generation != dpage_gen;
  }
  SvaMachine m;
  uint32_t content = 0;
  Pfn dpage;
  uint32_t dpage_gen = 0;
};
}  // namespace

SCENARIO("migrate_vma leaves device-private entries to locked-then-unlocked device pages holding the data", "[kernel]") {
  Migrated x;
  const Frame& f = x.m.k->mem().frame(x.dpage);
  CHECK(f.kind == FrameKind::DevicePrivate);
  CHECK(pte_at(*x.m.mm, kBase).swp_type() == Pte::SwpType::DevicePrivateWrite);
  CHECK(x.m.k->mem().refcount(x.dpage) == 1);  // the mapping's; the driver's allocation reference went in finalize
  CHECK(x.m.k->mem().mapcount(x.dpage) == 1);
  CHECK_FALSE(f.locked);
  CHECK(x.m.k->mem().content(x.dpage) == x.content);
  x.m.k->check_invariants();
}

SCENARIO("a CPU access to a device-private page brings it back through migrate_to_ram, data intact", "[kernel]") {
  const bool write = GENERATE(false, true);
  Migrated x;
  kernel::Task<> t = kernel::user_access(*x.m.k, 0, *x.m.mm, Vaddr{kBase}, write);
  kernel::run_sync(t);

  const Pte p = pte_at(*x.m.mm, kBase);
  REQUIRE(p.present());
  CHECK(p.writable());  // the device-private entry was writable, so is the new PTE
  CHECK(x.m.k->mem().frame(p.pfn()).kind == FrameKind::Anon);
  CHECK(x.m.k->mem().content(p.pfn()) == x.content + (write ? 1 : 0));
  CHECK(x.device_page_freed());
  CHECK(pte_at(*x.m.mm, kBase + kPageSize).is_device_private());  // only the faulting page moves
  CHECK(x.m.rec.find([](const Event& e) { return e.kind == EventKind::Call && std::string(e.func) == "dmirror_devmem_fault"; }) !=
        Recorder::npos);
  require_all_coherent(x.m);
  x.m.k->check_invariants();
}

SCENARIO("a DMA to a device-private page faults through the IOPF handler and migrate_to_ram, then completes", "[kernel]") {
  Migrated x;
  kernel::Task<> t = kernel::device_dma(*x.m.k, 0, x.m.dev, *x.m.mm, Vaddr{kBase}, true, 16);
  kernel::run_sync(t);

  const Pte p = pte_at(*x.m.mm, kBase);
  REQUIRE(p.present());
  CHECK(x.m.k->mem().content(p.pfn()) == x.content + 1);  // the DMA write landed in the new page
  CHECK(x.device_page_freed());
  require_all_coherent(x.m);
  x.m.k->check_invariants();
}

SCENARIO("munmap and MADV_DONTNEED free a device-private page at once, without a flush", "[kernel]") {
  const bool dontneed = GENERATE(false, true);
  Migrated x;
  kernel::Task<> t = dontneed ? kernel::madvise_dontneed(*x.m.k, *x.m.mm, Vaddr{kBase}, 2 * kPageSize)
                              : kernel::sys_munmap(*x.m.k, *x.m.mm, Vaddr{kBase}, 2 * kPageSize);
  kernel::run_sync(t);
  CHECK(x.device_page_freed());
  CHECK(pte_at(*x.m.mm, kBase).none());
  x.m.k->check_invariants();
}

SCENARIO("fork shares a device-private page read-only in both mms, the child's write brings it back and copies it", "[kernel]") {
  Migrated x;
  kernel::Task<AddressSpace*> f = kernel::sys_fork(*x.m.k, *x.m.mm, "child");
  AddressSpace* child = kernel::run_sync(f);
  REQUIRE(child);
  CHECK(pte_at(*x.m.mm, kBase).swp_type() == Pte::SwpType::DevicePrivateRead);
  CHECK(pte_at(*child, kBase).swp_type() == Pte::SwpType::DevicePrivateRead);
  CHECK(x.m.k->mem().mapcount(x.dpage) == 2);

  kernel::Task<> w = kernel::user_access(*x.m.k, 1, *child, Vaddr{kBase}, true);
  kernel::run_sync(w);

  // migrate_vma_unmap()'s try_to_migrate() took the parent's entry too: both map the page back
  // in system memory, and the child's write then copied it (do_wp_page(): mapped twice).
  const Pte parent = pte_at(*x.m.mm, kBase);
  const Pte mine = pte_at(*child, kBase);
  REQUIRE(parent.present());
  REQUIRE(mine.present());
  CHECK_FALSE(parent.writable());
  CHECK(mine.writable());
  CHECK(parent.pfn() != mine.pfn());
  CHECK(x.m.k->mem().content(parent.pfn()) == x.content);
  CHECK(x.m.k->mem().content(mine.pfn()) == x.content + 1);
  CHECK(x.device_page_freed());
  x.m.k->check_invariants();
}

SCENARIO("mprotect to read-only makes a writable device-private entry readable, the page comes back read-only", "[kernel]") {
  Migrated x;
  kernel::Task<> t = kernel::sys_mprotect(*x.m.k, *x.m.mm, Vaddr{kBase}, 2 * kPageSize, false);
  kernel::run_sync(t);
  CHECK(pte_at(*x.m.mm, kBase).swp_type() == Pte::SwpType::DevicePrivateRead);

  kernel::Task<> r = kernel::user_access(*x.m.k, 0, *x.m.mm, Vaddr{kBase}, false);
  kernel::run_sync(r);
  const Pte p = pte_at(*x.m.mm, kBase);
  REQUIRE(p.present());
  CHECK_FALSE(p.writable());
  x.m.k->check_invariants();
}

SCENARIO("migrate_vma skips a page that compaction isolated, and compaction gives up on a page migrate_vma locked", "[kernel]") {
  SvaMachine m;
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);
  const Pfn page = m.mm->pt().leaf(Vaddr{kBase}).pfn();

  WHEN("compaction isolated the page first") {
    const std::vector<Pfn> isolated = kernel::isolate_migratepages_block(*m.k, std::vector<Pfn>{page});
    REQUIRE(isolated.size() == 1);
    kernel::Task<> t = kernel::dmirror_migrate(*m.k, *m.mm, VaRange{kBase, kBase + kPageSize});
    kernel::run_sync(t);
    THEN("migrate_vma_unmap() restores it: the same page is mapped again") {
      const Pte p = pte_at(*m.mm, kBase);
      REQUIRE(p.present());
      CHECK(p.pfn() == page);
      CHECK_FALSE(m.k->mem().frame(page).locked);
      // Compaction then migrates it as usual.
      kernel::Task<kernel::MigrateCounts> c = kernel::migrate_pages(*m.k, isolated);
      CHECK(kernel::run_sync(c).succeeded == 1);
      m.k->check_invariants();
    }
  }
  WHEN("migrate_vma holds the page lock") {
    const std::vector<Pfn> isolated = kernel::isolate_migratepages_block(*m.k, std::vector<Pfn>{page});
    m.k->mem().frame_mut(page).locked = true;  // as between migrate_vma_collect_pmd() and finalize
    kernel::Task<kernel::MigrateCounts> c = kernel::migrate_pages(*m.k, isolated);
    THEN("migrate_pages() fails it with -EAGAIN and puts it back, mapped as before") {
      CHECK(kernel::run_sync(c).failed == 1);
      CHECK(pte_at(*m.mm, kBase).pfn() == page);
      CHECK_FALSE(m.k->mem().frame(page).isolated);
      m.k->mem().frame_mut(page).locked = false;
      m.k->check_invariants();
    }
  }
}

SCENARIO("migrate_vma skips a huge PMD, as when split_huge_page() fails, and leaves it mapped", "[kernel]") {
  SvaMachine m;
  constexpr uint64_t kHuge = 0x40000000;
  Vma v = kernel::mmap_region(*m.k, *m.mm, Vaddr{kHuge}, kPmdSize, kVmRead | kVmWrite, 0, 0);
  (void)v;
  const Pfn head = kernel::map_huge_anon(*m.k, *m.mm, Vaddr{kHuge});
  kernel::Task<> t = kernel::dmirror_migrate(*m.k, *m.mm, VaRange{kHuge, kHuge + 4 * kPageSize});
  kernel::run_sync(t);
  unsigned level = 0;
  const Pte pmd = m.mm->pt().leaf(Vaddr{kHuge}, &level);
  CHECK(level == 2);
  CHECK(pmd.huge());
  CHECK(pmd.pfn() == head);
  CHECK(m.rec.find([](const Event& e) {
    return e.kind == EventKind::Call && std::string(e.func).rfind("migrate_vma_collect_skip", 0) == 0;
  }) != Recorder::npos);
  m.k->check_invariants();
}

SCENARIO("migrate_vma moves a COW page of a private file mapping to the device and back, through its anon_vma", "[kernel]") {
  SvaMachine m;
  const uint32_t f = m.k->create_file("f", 2);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, kVmRead | kVmWrite, f, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);  // do_cow_fault(): an anonymous copy
  const Pfn cow = pte_at(*m.mm, kBase).pfn();
  m.k->mem().write_content(cow);
  const uint32_t content = m.k->mem().content(cow);
  kernel::Task<> t = kernel::dmirror_migrate(*m.k, *m.mm, VaRange{kBase, kBase + kPageSize});
  kernel::run_sync(t);
  // remove_migration_ptes() found the mapping: a device-private entry, not a migration entry
  // left behind for the CPU to wait on forever.
  const Pfn dpage = device_page_at(*m.mm, kBase);
  CHECK(m.k->mem().content(dpage) == content);
  CHECK(m.k->mem().mapcount(dpage) == 1);
  kernel::check_anon_rmap(*m.k);
  kernel::Task<> back = kernel::user_access(*m.k, 0, *m.mm, Vaddr{kBase}, false);
  kernel::run_sync(back);
  const Pte p = pte_at(*m.mm, kBase);
  REQUIRE(p.present());
  CHECK(m.k->mem().frame(p.pfn()).kind == FrameKind::Anon);
  CHECK(m.k->mem().content(p.pfn()) == content);
  kernel::check_anon_rmap(*m.k);
  m.k->check_invariants();
}
