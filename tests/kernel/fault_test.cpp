// SPDX-License-Identifier: MIT
// The fault paths that keep a fresh page across a scheduling point before mapping it
// (kernel/fault.cpp): wp_page_copy()'s copy and do_swap_page()'s read-back page are off the LRU
// until they are mapped under the PTL, so reclaim cannot isolate and swap out a page that
// nothing maps yet.
#include <catch2/catch.hpp>

#include <string>

#include "kernel/fork.h"
#include "kernel/lru.h"
#include "kernel/path_checks.h"
#include "kernel/reclaim.h"
#include "kernel/rmap_test_support.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {

constexpr uint64_t kBase = 0x400000;

/// The pfn a FrameAlloc event of `func` handed out, or kNoPfn.
Pfn allocated_by(const Recorder& rec, const char* func) {
  const size_t i = rec.find([&](const Event& e) { return e.kind == EventKind::FrameAlloc && std::string(e.func) == func; });
  return i == Recorder::npos ? kNoPfn : rec.events()[i].pfn;
}

/// Whether swap_writepage() wrote `page` out at event `from` or later (the frame may have
/// been swapped out before, under an earlier allocation).
bool written_to_swap(const Recorder& rec, Pfn page, size_t from) {
  return rec.find([&](const Event& e) { return e.kind == EventKind::Copy && e.pfn == page && e.note.rfind("swap slot", 0) == 0; }, from) !=
         Recorder::npos;
}

/// Step `fault` until `func` has allocated its page, then run reclaim on that page: it must
/// leave the page alone. Returns the page.
Pfn reclaim_inside_the_window(SvaMachine& m, Stepper& s, const char* func) {
  REQUIRE(s.step_until([&] { return allocated_by(m.rec, func) != kNoPfn; }));
  const Pfn page = allocated_by(m.rec, func);
  CHECK_FALSE(kernel::page_lru(*m.k, page));
  const uint32_t refs = m.k->mem().refcount(page);
  const size_t from = m.rec.events().size();
  kernel::run_sync(kernel::shrink_folio_list(*m.k, {page}));
  CHECK(m.k->mem().frame(page).allocated);
  CHECK(m.k->mem().refcount(page) == refs);
  CHECK_FALSE(written_to_swap(m.rec, page, from));
  return page;
}

}  // namespace

SCENARIO("a COW copy stays off the LRU until wp_page_copy() maps it, so reclaim cannot take it while the fault waits for the PTL",
         "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);
  kernel::Task<AddressSpace*> f = kernel::sys_fork(*m.k, *m.mm, std::string("child"));
  kernel::run_sync(f);
  const Pfn shared = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  REQUIRE_FALSE(m.mm->pt().leaf(Vaddr{kBase}).writable());

  kernel::Task<> t = kernel::user_access(*m.k, 0, *m.mm, Vaddr{kBase}, true);
  Stepper s(t);
  const Pfn copy = reclaim_inside_the_window(m, s, "wp_page_copy");
  REQUIRE(copy != shared);
  s.finish();
  CHECK(m.mm->pt().leaf(Vaddr{kBase}).pfn() == copy);
  CHECK(kernel::page_lru(*m.k, copy));  // lru_cache_add_inactive_or_unevictable()
  CHECK(m.k->mem().refcount(copy) == 1);
  m.k->check_invariants();
  m.k->mem().check_quiescent();
}

SCENARIO("a page read back from swap stays off the LRU until do_swap_page() holds the PTL, so reclaim cannot write it out unmapped",
         "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  // Shared with a fork child, the slot has two users and the page joins the swap cache.
  const bool forked = GENERATE(false, true);
  SvaMachine m(policy);
  kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);
  if (forked) {
    kernel::Task<AddressSpace*> f = kernel::sys_fork(*m.k, *m.mm, std::string("child"));
    kernel::run_sync(f);
  }
  const Pfn old_page = m.mm->pt().leaf(Vaddr{kBase}).pfn();
  const uint32_t content = m.k->mem().content(old_page);
  kernel::run_sync(kernel::shrink_folio_list(*m.k, {old_page}));
  const Pte swp = m.mm->pt().leaf(Vaddr{kBase});
  REQUIRE(swp.swp_type() == Pte::SwpType::Swap);

  kernel::Task<> t = kernel::user_access(*m.k, 0, *m.mm, Vaddr{kBase}, false);
  Stepper s(t);
  const Pfn page = reclaim_inside_the_window(m, s, "do_swap_page");
  CHECK(m.k->mem().frame(page).swapcache == forked);
  s.finish();
  CHECK(m.mm->pt().leaf(Vaddr{kBase}).pfn() == page);
  CHECK(m.k->mem().content(page) == content);
  CHECK(kernel::page_lru(*m.k, page));
  CHECK(m.k->swap().slot(swp.swp_offset()).cache == (forked ? page : kNoPfn));
  m.k->check_invariants();
  m.k->mem().check_quiescent();
}
