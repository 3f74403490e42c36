// SPDX-License-Identifier: MIT
// LRU isolation (kernel/lru): an isolated page holds the isolator's reference and cannot be
// isolated twice; a putback returns it to the LRU and drops that reference.
#include <catch2/catch.hpp>

#include "kernel/kernel.h"
#include "kernel/lru.h"
#include "kernel/page.h"
#include "kernel/policy.h"
#include "model/check.h"

namespace tlbsim {

TEST_CASE("an LRU page is isolated once, the isolator's reference keeps it until its putback", "[kernel][lru]") {
  kernel::Kernel k(kernel::MachineConfig{}, *kernel::find_policy("fixed"));
  const Pfn p = k.mem().alloc(FrameKind::Anon, 1, 0, "test");
  REQUIRE(kernel::page_lru(k, p));
  REQUIRE(kernel::get_page_unless_zero(k, p));
  REQUIRE(kernel::test_clear_page_lru(k, p));
  CHECK(k.mem().frame(p).isolated);
  CHECK_FALSE(kernel::page_lru(k, p));
  // A second isolator (another migration, reclaim) loses TestClearPageLRU().
  CHECK_FALSE(kernel::test_clear_page_lru(k, p));
  // The owner lets go: only the isolation's reference is left.
  kernel::put_page(k, p, "test");
  CHECK(k.mem().frame(p).allocated);
  CHECK(k.mem().refcount(p) == 1);
  k.mem().check_invariants();
  kernel::putback_lru_page(k, p, "test");
  CHECK_FALSE(k.mem().frame(p).allocated);
  CHECK_FALSE(k.mem().frame(p).isolated);
  k.mem().check_invariants();
}

TEST_CASE("a free frame gives no reference, and page tables are never LRU pages", "[kernel][lru]") {
  kernel::Kernel k(kernel::MachineConfig{}, *kernel::find_policy("fixed"));
  const Pfn p = k.mem().alloc(FrameKind::File, 1, 0, "test");
  kernel::put_page(k, p, "test");
  CHECK_FALSE(kernel::page_lru(k, p));
  CHECK_FALSE(kernel::get_page_unless_zero(k, p));
  const Pfn table = k.mem().alloc(FrameKind::Table, 0, 0, "test");
  CHECK_FALSE(kernel::page_lru(k, table));
  CHECK_FALSE(kernel::test_clear_page_lru(k, table));
}

TEST_CASE("a reallocated frame starts on the LRU, whatever its last owner left", "[kernel][lru]") {
  kernel::Kernel k(kernel::MachineConfig{}, *kernel::find_policy("fixed"));
  const Pfn p = k.mem().alloc(FrameKind::Anon, 1, 0, "test");
  REQUIRE(kernel::test_clear_page_lru(k, p));
  kernel::put_page(k, p, "test");  // freed while isolated
  const Pfn again = k.mem().alloc(FrameKind::Anon, 2, 0, "test");
  REQUIRE(again == p);  // LIFO reuse
  CHECK(kernel::page_lru(k, again));
}

TEST_CASE("the invariant check reports an isolated frame that is not an LRU page", "[kernel][lru]") {
  kernel::Kernel k(kernel::MachineConfig{}, *kernel::find_policy("fixed"));
  const Pfn table = k.mem().alloc(FrameKind::Table, 0, 0, "test");
  k.mem().frame_mut(table).isolated = true;
  CHECK_THROWS_AS(k.mem().check_invariants(), InvariantViolation);
}

}  // namespace tlbsim
