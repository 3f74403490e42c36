// SPDX-License-Identifier: MIT
// Swap-out by reclaim and swap-in by do_swap_page() (kernel/swap.h): contents kept, the swap
// cache shared by the PTEs a fork duplicated, slots freed by the last user, and a device fault
// on a swap PTE.
#include <catch2/catch.hpp>

#include "kernel/fork.h"
#include "kernel/path_checks.h"
#include "kernel/reclaim.h"
#include "kernel/rmap_test_support.h"
#include "kernel/zap.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {

constexpr uint64_t kBase = 0x400000;

void run(kernel::Task<> t) { kernel::run_sync(t); }

/// One written anonymous page at kBase, then reclaimed: swapped out.
struct Swapped {
  explicit Swapped(const std::string& policy = "fixed") : m(policy) {
    kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, kPageSize, kVmRead | kVmWrite, 0, 0);
    kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);
    old_page = m.mm->pt().leaf(Vaddr{kBase}).pfn();
    content = m.k->mem().content(old_page);
    run(kernel::shrink_folio_list(*m.k, {old_page}));
  }
  Pte pte() const { return m.mm->pt().leaf(Vaddr{kBase}); }
  SvaMachine m;
  Pfn old_page;
  uint32_t content = 0;
};

}  // namespace

TEST_CASE("reclaim swaps an anonymous page out: a swap PTE, its contents in the slot, the page freed", "[kernel]") {
  Swapped s;
  REQUIRE(s.pte().swp_type() == Pte::SwpType::Swap);
  const kernel::SwapSlot slot = s.m.k->swap().slot(s.pte().swp_offset());
  CHECK(slot.written);
  CHECK(slot.content == s.content);
  CHECK(slot.count == 1);
  CHECK(slot.cache == kNoPfn);
  CHECK_FALSE(s.m.k->mem().frame(s.old_page).allocated);
  CHECK(s.m.rec.find([&](const Event& e) {
    return e.kind == EventKind::Copy && e.pfn == s.old_page && e.note.rfind("swap slot", 0) == 0;
  }) != Recorder::npos);
}

TEST_CASE("a fault on a swap PTE reads the page back: same contents, the slot freed, writable only on a write fault", "[kernel]") {
  const bool write = GENERATE(false, true);
  Swapped s;
  const uint64_t slot = s.pte().swp_offset();
  run(kernel::user_access(*s.m.k, 0, *s.m.mm, Vaddr{kBase}, write));
  const Pte p = s.pte();
  REQUIRE(p.present());
  CHECK(p.writable() == write);
  // A write after the read-back bumps the version; a read leaves the slot's.
  if (!write) CHECK(s.m.k->mem().content(p.pfn()) == s.content);
  CHECK_FALSE(s.m.k->swap().slot(slot).used());
  CHECK(s.m.k->swap().slots_in_use() == 0);
  CHECK(s.m.rec.find([](const Event& e) { return is_call(e, "do_swap_page"); }) != Recorder::npos);
}

TEST_CASE("a device fault on a swap PTE swaps the page in through the IOPF handler", "[kernel]") {
  Swapped s;
  const uint64_t slot = s.pte().swp_offset();
  run(kernel::device_dma(*s.m.k, 0, s.m.dev, *s.m.mm, Vaddr{kBase}, false));
  REQUIRE(s.pte().present());
  CHECK(s.m.k->mem().content(s.pte().pfn()) == s.content);
  CHECK_FALSE(s.m.k->swap().slot(slot).used());
  require_secondary_coherent(s.m, *s.m.mm);
}

TEST_CASE("after fork both mms share the slot, the first swap-in puts the page in the swap cache and the second maps it", "[kernel]") {
  Swapped s;
  const uint64_t slot = s.pte().swp_offset();
  kernel::Task<AddressSpace*> f = kernel::sys_fork(*s.m.k, *s.m.mm, std::string("child"));
  AddressSpace& child = *kernel::run_sync(f);
  CHECK(child.pt().leaf(Vaddr{kBase}) == s.pte());
  CHECK(s.m.k->swap().slot(slot).count == 2);

  run(kernel::user_access(*s.m.k, 0, *s.m.mm, Vaddr{kBase}, false));
  const Pfn page = s.pte().pfn();
  CHECK_FALSE(s.pte().writable());
  CHECK(s.m.k->swap().slot(slot).cache == page);
  CHECK(s.m.k->mem().swap_cache(page) == slot);

  run(kernel::user_access(*s.m.k, 1, child, Vaddr{kBase}, false));
  CHECK(child.pt().leaf(Vaddr{kBase}).pfn() == page);
  CHECK_FALSE(s.m.k->swap().slot(slot).used());  // the last user: the page left the swap cache
  CHECK(s.m.k->mem().swap_cache(page) == std::nullopt);
  CHECK_FALSE(s.m.k->mem().frame(page).swapcache);
  CHECK(s.m.k->mem().mapcount(page) == 2);
  CHECK(s.m.k->mem().refcount(page) == 2);

  // A write in the child copies the shared page (do_wp_page()).
  run(kernel::user_access(*s.m.k, 1, child, Vaddr{kBase}, true));
  CHECK(child.pt().leaf(Vaddr{kBase}).pfn() != page);
}

TEST_CASE("munmap of a swapped-out page frees its slot (free_swap_and_cache)", "[kernel]") {
  Swapped s;
  const uint64_t slot = s.pte().swp_offset();
  run(kernel::sys_munmap(*s.m.k, *s.m.mm, Vaddr{kBase}, kPageSize));
  CHECK_FALSE(s.m.k->swap().slot(slot).used());
}

TEST_CASE("MADV_FREE of a swapped-out page drops its data: the swap PTE cleared and the slot freed", "[kernel]") {
  Swapped s;
  const uint64_t slot = s.pte().swp_offset();
  run(kernel::madvise_free(*s.m.k, *s.m.mm, Vaddr{kBase}, kPageSize));
  CHECK(s.pte().none());
  CHECK_FALSE(s.m.k->swap().slot(slot).used());
  s.m.k->check_invariants();
}

TEST_CASE("a page swapped out twice from two mms that share its anon_vma and index gets two slots", "[kernel]") {
  Swapped s;
  run(kernel::user_access(*s.m.k, 0, *s.m.mm, Vaddr{kBase}, true));  // back in, exclusive
  kernel::Task<AddressSpace*> f = kernel::sys_fork(*s.m.k, *s.m.mm, std::string("child"));
  AddressSpace& child = *kernel::run_sync(f);
  run(kernel::user_access(*s.m.k, 1, child, Vaddr{kBase}, true));  // the child's COW copy
  const Pfn parent_page = s.pte().pfn(), child_page = child.pt().leaf(Vaddr{kBase}).pfn();
  REQUIRE(parent_page != child_page);
  run(kernel::shrink_folio_list(*s.m.k, {parent_page, child_page}));
  REQUIRE(s.pte().swp_type() == Pte::SwpType::Swap);
  REQUIRE(child.pt().leaf(Vaddr{kBase}).swp_type() == Pte::SwpType::Swap);
  CHECK(s.pte().swp_offset() != child.pt().leaf(Vaddr{kBase}).swp_offset());
  CHECK(s.m.k->swap().slots_in_use() == 2);
}
