// SPDX-License-Identifier: MIT
// struct page bookkeeping (kernel/page): a count never goes below zero, a frame is never freed
// twice; anon_vma_prepare() gives a private file VMA one anon_vma, which rmap_walk() follows to
// its COW pages.
#include <catch2/catch.hpp>

#include "kernel/fault.h"
#include "kernel/kernel.h"
#include "kernel/page.h"
#include "kernel/policy.h"
#include "kernel/rmap_test_support.h"
#include "model/check.h"

namespace tlbsim {

TEST_CASE("put_page frees at zero and reports a put that would drive the count negative", "[kernel]") {
  kernel::Kernel k(kernel::MachineConfig{}, *kernel::find_policy("fixed"));
  const Pfn p = k.mem().alloc(FrameKind::Anon, 1, 0, "test");
  kernel::get_page(k, p);
  CHECK(k.mem().refcount(p) == 2);
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

namespace {
constexpr uint64_t kFileBase = 0x2000000;

const Vma& vma_at(const AddressSpace& mm, uint64_t va) {
  const Vma* v = mm.find_vma(va);
  REQUIRE(v);
  return *v;
}
}  // namespace

TEST_CASE("a private file VMA gets its anon_vma at the first COW fault, and rmap_walk finds the COW page through it", "[kernel]") {
  test::SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const uint32_t f = k.create_file("f", 4);
  kernel::mmap_region(k, mm, Vaddr{kFileBase}, 4 * kPageSize, kVmRead | kVmWrite, f, 0);
  kernel::populate(k, mm, Vaddr{kFileBase}, kPageSize, false);  // a read maps the page-cache page
  CHECK(vma_at(mm, kFileBase).anon_vma == 0);
  kernel::populate(k, mm, Vaddr{kFileBase + kPageSize}, kPageSize, true);  // do_cow_fault()
  const uint32_t av = vma_at(mm, kFileBase).anon_vma;
  REQUIRE(av != 0);
  const Pfn cow = mm.pt().leaf(Vaddr{kFileBase + kPageSize}).pfn();
  CHECK(k.mem().frame(cow).kind == FrameKind::Anon);
  CHECK(k.mem().frame(cow).owner == av);
  const auto targets = kernel::rmap_vmas(k, cow);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].mm == &mm);
  CHECK(targets[0].addr == kFileBase + kPageSize);
  // A write to the read-mapped page copies it (wp_page_copy()) under the same anon_vma.
  kernel::populate(k, mm, Vaddr{kFileBase}, kPageSize, true);
  CHECK(vma_at(mm, kFileBase).anon_vma == av);
  CHECK(k.mem().frame(mm.pt().leaf(Vaddr{kFileBase}).pfn()).owner == av);
  kernel::check_anon_rmap(k);
}

TEST_CASE("two first COW faults racing in one private file VMA share the anon_vma the first one gave it", "[kernel]") {
  test::SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const uint32_t f = k.create_file("f", 4);
  kernel::mmap_region(k, mm, Vaddr{kFileBase}, 4 * kPageSize, kVmRead | kVmWrite, f, 0);
  // Fault A copies the VMA (anon_vma still 0) and stops at its first scheduling point; fault B
  // then runs whole and gives the VMA its anon_vma; A must adopt it, not make a second one.
  kernel::Task<kernel::FaultResult> a = kernel::handle_mm_fault(k, mm, Vaddr{kFileBase}, true);
  kernel::Task<> ta = [](kernel::Task<kernel::FaultResult>& t) -> kernel::Task<> { co_await t; }(a);
  test::Stepper sa(ta);
  REQUIRE(sa.step());
  REQUIRE_FALSE(sa.done());
  CHECK(vma_at(mm, kFileBase).anon_vma == 0);
  kernel::Task<kernel::FaultResult> b = kernel::handle_mm_fault(k, mm, Vaddr{kFileBase + kPageSize}, true);
  REQUIRE(kernel::run_sync(b) == kernel::FaultResult::Handled);
  const uint32_t av = vma_at(mm, kFileBase).anon_vma;
  REQUIRE(av != 0);
  sa.finish();
  CHECK(vma_at(mm, kFileBase).anon_vma == av);
  CHECK(k.mem().frame(mm.pt().leaf(Vaddr{kFileBase}).pfn()).owner == av);
  CHECK(k.mem().frame(mm.pt().leaf(Vaddr{kFileBase + kPageSize}).pfn()).owner == av);
  kernel::check_anon_rmap(k);
}

TEST_CASE("check_anon_rmap reports a mapped anonymous page for which rmap_walk finds no VMA", "[kernel]") {
  test::SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  kernel::mmap_region(k, mm, Vaddr{kFileBase}, kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(k, mm, Vaddr{kFileBase}, kPageSize, true);
  kernel::check_anon_rmap(k);
  // The page's anon_vma is not the VMA's: a walk from the page misses its mapping.
  k.mem().frame_mut(mm.pt().leaf(Vaddr{kFileBase}).pfn()).owner += 100;
  CHECK_THROWS_WITH(kernel::check_anon_rmap(k), Catch::Contains("rmap_walk() finds no VMA"));
}

}  // namespace tlbsim
