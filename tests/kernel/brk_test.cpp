// SPDX-License-Identifier: MIT
// brk(2) (kernel/brk.h): growing extends the heap VMA or links one and maps nothing; shrinking
// is munmap's route (downgrade, unmap_region); the refusals; fork copies the break.
#include <catch2/catch.hpp>

#include "kernel/brk.h"
#include "kernel/fork.h"
#include "kernel/path_checks.h"
#include "kernel/rmap_test_support.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {

constexpr uint64_t kHeap = 0x40000000;
constexpr uint64_t kPages = 4;

void run(kernel::Task<> t) { kernel::run_sync(t); }

uint64_t page(uint64_t n) { return kHeap + n * kPageSize; }

bool refused(const Recorder& r) {
  return r.find([](const Event& e) { return is_error(e, "brk", Errno::Enomem) || is_call(e, "brk: below start_brk"); }) != Recorder::npos;
}

}  // namespace

TEST_CASE("brk growing the heap links an anonymous VMA at start_brk, then extends it, and maps nothing", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  mm.set_start_brk(kHeap, kHeap);
  m.rec.clear();
  run(kernel::sys_brk(k, mm, Vaddr{page(2)}));
  const Vma* v = mm.find_vma(kHeap);
  REQUIRE(v != nullptr);
  CHECK(v->start == kHeap);
  CHECK(v->end == page(2));
  CHECK(v->anon());
  CHECK(v->writable());
  CHECK(v->is_cow());
  const Vma first = *v;
  run(kernel::sys_brk(k, mm, Vaddr{page(kPages)}));
  REQUIRE(mm.vmas().size() == 1);
  v = mm.find_vma(page(3));
  REQUIRE(v != nullptr);
  CHECK(v->seq == first.seq);  // vma_merge() extended it: the same VMA and anon_vma
  CHECK(v->anon_vma == first.anon_vma);
  CHECK(v->end == page(kPages));
  CHECK(mm.brk() == page(kPages));
  CHECK(mm.start_brk() == kHeap);
  CHECK(m.rec.count(EventKind::PteStore) == 0);
  CHECK(m.rec.count(EventKind::CpuFlush) == 0);
  CHECK_FALSE(refused(m.rec));
}

TEST_CASE("brk beside a mapping it cannot merge with (read-only) links a VMA of its own", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const Vma data = kernel::mmap_region(k, mm, Vaddr{kHeap - kPageSize}, kPageSize, kVmRead, 0, 0);
  mm.set_start_brk(kHeap, kHeap);
  run(kernel::sys_brk(k, mm, Vaddr{page(1)}));
  REQUIRE(mm.vmas().size() == 2);
  const Vma* heap = mm.find_vma(kHeap);
  REQUIRE(heap != nullptr);
  CHECK(heap->seq != data.seq);
  CHECK(mm.find_vma(kHeap - kPageSize)->end == kHeap);
}

SCENARIO("brk shrinking the heap unmaps as munmap does: downgraded lock, every cache flushed before the pages are freed",
         "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  mm.set_start_brk(kHeap, kHeap);
  run(kernel::sys_brk(k, mm, Vaddr{page(kPages)}));
  kernel::populate(k, mm, Vaddr{kHeap}, kPages * kPageSize, true);
  device_touch(m, kHeap, page(kPages), true);
  cpu_touch(k, mm, kHeap, page(kPages), true);
  m.rec.clear();
  run(kernel::sys_brk(k, mm, Vaddr{page(1)}));
  const Recorder& r = m.rec;
  THEN("[" + policy + "] the break moved, the heap ends there, the rest of it is gone") {
    CHECK(mm.brk() == page(1));
    REQUIRE(mm.find_vma(kHeap) != nullptr);
    CHECK(mm.find_vma(kHeap)->end == page(1));
    CHECK(mm.find_vma(page(1)) == nullptr);
    CHECK(mm.pt().leaf(Vaddr{kHeap}).present());
    for (uint64_t i = 1; i < kPages; ++i) CHECK(mm.pt().leaf(Vaddr{page(i)}).none());
  }
  THEN("[" + policy + "] unmap_region() runs under the read lock, and the caches lose the pages before they are freed") {
    const size_t down =
        r.find([](const Event& e) { return is_unlock(e, "mm.mmap_lock") && std::string(e.func) == "mmap_write_downgrade"; });
    REQUIRE(down != Recorder::npos);
    const size_t read_unlock =
        r.find([](const Event& e) { return is_unlock(e, "mm.mmap_lock") && std::string(e.func) == "mmap_read_unlock"; });
    REQUIRE(read_unlock != Recorder::npos);
    const std::vector<size_t> frees = indices(r, [](const Event& e) { return e.kind == EventKind::FrameFree; });
    REQUIRE(frees.size() == kPages - 1);
    CHECK(down < frees.front());
    CHECK(frees.back() < read_unlock);
    const size_t inv = r.find(is_secondary_inv);
    REQUIRE(inv != Recorder::npos);
    CHECK(inv < frees.front());
    require_secondary_coherent(m, mm);
    require_cpu_coherent(k, mm);
  }
}

TEST_CASE("brk is refused below start_brk and within a page of the next mapping, leaving the break alone", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  kernel::mmap_region(k, mm, Vaddr{page(5)}, kPageSize, kVmRead | kVmWrite, 0, 0);
  mm.set_start_brk(kHeap, kHeap);
  SECTION("below start_brk") {
    run(kernel::sys_brk(k, mm, Vaddr{kHeap - kPageSize}));
    CHECK(refused(m.rec));
    CHECK(mm.brk() == kHeap);
  }
  SECTION("up to the next mapping: no guard page left") {
    run(kernel::sys_brk(k, mm, Vaddr{page(5)}));
    CHECK(refused(m.rec));
    CHECK(mm.brk() == kHeap);
    CHECK(mm.find_vma(kHeap) == nullptr);
  }
  SECTION("a page short of it: allowed") {
    run(kernel::sys_brk(k, mm, Vaddr{page(4)}));
    CHECK_FALSE(refused(m.rec));
    CHECK(mm.brk() == page(4));
    REQUIRE(mm.find_vma(page(3)) != nullptr);
  }
}

TEST_CASE("fork's child starts with the parent's break, and its own brk leaves the parent's heap alone", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  mm.set_start_brk(kHeap, kHeap);
  run(kernel::sys_brk(k, mm, Vaddr{page(2)}));
  kernel::Task<AddressSpace*> fork = kernel::sys_fork(k, mm, std::string("child"));
  AddressSpace& child = *kernel::run_sync(fork);
  CHECK(child.start_brk() == kHeap);
  CHECK(child.brk() == page(2));
  run(kernel::sys_brk(k, child, Vaddr{kHeap}));
  CHECK(child.find_vma(kHeap) == nullptr);
  CHECK(mm.find_vma(kHeap) != nullptr);
  CHECK(mm.brk() == page(2));
}
