// SPDX-License-Identifier: MIT
// struct page reference counting (kernel/page): a count never goes below zero, a frame is never
// freed twice.
#include <catch2/catch.hpp>

#include "kernel/kernel.h"
#include "kernel/page.h"
#include "kernel/policy.h"
#include "model/check.h"

namespace tlbsim {

TEST_CASE("put_page frees at zero and reports a put that would drive the count negative", "[kernel]") {
  kernel::Kernel k(kernel::MachineConfig{}, *kernel::find_policy("fixed"));
  const Pfn p = k.mem().alloc(FrameKind::Anon, 1, 0, "test");
  kernel::get_page(k, p);
  CHECK(k.mem().frame(p).refcount == 2);
  kernel::put_page(k, p, "test");
  CHECK(k.mem().frame(p).allocated);
  kernel::put_page(k, p, "test");
  CHECK_FALSE(k.mem().frame(p).allocated);
  // One put too many: refcount would be -1 and the frame freed a second time.
  CHECK_THROWS_WITH(kernel::put_page(k, p, "test"), Catch::Contains("put_page on pfn") && Catch::Contains("refcount 0"));
  k.mem().check_invariants();
}

TEST_CASE("page_remove_rmap on an unmapped page is reported", "[kernel]") {
  kernel::Kernel k(kernel::MachineConfig{}, *kernel::find_policy("fixed"));
  const Pfn p = k.mem().alloc(FrameKind::Anon, 1, 0, "test");
  kernel::page_add_rmap(k, p);
  kernel::page_remove_rmap(k, p);
  CHECK_THROWS_WITH(kernel::page_remove_rmap(k, p), Catch::Contains("unmapped pfn"));
}

}  // namespace tlbsim
