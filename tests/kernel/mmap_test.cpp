// SPDX-License-Identifier: MIT
// mmap(2) at a given address (kernel/mmap.h): MAP_FIXED's unmap under the write lock, the
// -EEXIST of MAP_FIXED_NOREPLACE, MAP_POPULATE, shmem, and VM_MAYWRITE.
#include <catch2/catch.hpp>

#include "kernel/fork.h"
#include "kernel/mmap.h"
#include "kernel/mprotect.h"
#include "kernel/path_checks.h"
#include "kernel/rmap_test_support.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {

constexpr uint64_t kBase = 0x40000000;
constexpr uint64_t kPages = 4;

void run(kernel::Task<> t) { kernel::run_sync(t); }

/// Every page of the mapping at kBase maps the file's page-cache page, read-only.
void require_page_cache_read_only(kernel::Kernel& k, const AddressSpace& mm, uint32_t file) {
  for (uint64_t i = 0; i < kPages; ++i) {
    const Pte p = mm.pt().leaf(Vaddr{kBase + i * kPageSize});
    REQUIRE(p.present());
    CHECK_FALSE(p.writable());
    CHECK(p.pfn() == k.file(file).page(i));
  }
}

kernel::MmapRequest anon(bool writable) { return kernel::MmapRequest{.addr = kBase, .len = kPages * kPageSize, .writable = writable}; }

}  // namespace

SCENARIO("mmap(MAP_FIXED) over a mapped range unmaps it under the write lock and flushes every cache before its pages are freed",
         "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  SvaMachine m(policy);
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const Vma before = kernel::mmap_region(k, mm, Vaddr{kBase}, kPages * kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(k, mm, Vaddr{kBase}, kPages * kPageSize, true);
  device_touch(m, kBase, kBase + kPages * kPageSize, true);
  cpu_touch(k, mm, kBase, kBase + kPages * kPageSize, true);
  m.rec.clear();

  kernel::MmapRequest req = anon(true);
  req.fixed = true;
  run(kernel::sys_mmap(k, mm, req));
  const Recorder& r = m.rec;
  THEN("[" + policy + "] no downgrade: every page and table is freed before mmap_write_unlock") {
    CHECK(r.find([](const Event& e) { return is_unlock(e, "mm.mmap_lock") && std::string(e.func) == "mmap_write_downgrade"; }) ==
          Recorder::npos);
    const size_t unlock = r.find([](const Event& e) { return is_unlock(e, "mm.mmap_lock") && std::string(e.func) == "mmap_write_unlock"; });
    REQUIRE(unlock != Recorder::npos);
    const std::vector<size_t> frees = indices(r, [](const Event& e) { return e.kind == EventKind::FrameFree; });
    REQUIRE(frees.size() >= kPages);
    CHECK(frees.back() < unlock);
    const size_t inv = r.find(is_secondary_inv);
    REQUIRE(inv != Recorder::npos);
    CHECK(inv < frees.front());
  }
  THEN("[" + policy + "] the new mapping is a fresh, empty anonymous VMA and no cache holds the old pages") {
    const Vma* v = mm.find_vma(kBase);
    REQUIRE(v != nullptr);
    CHECK(v->start == kBase);
    CHECK(v->end == kBase + kPages * kPageSize);
    CHECK(v->anon_vma != before.anon_vma);
    for (uint64_t i = 0; i < kPages; ++i) CHECK(mm.pt().leaf(Vaddr{kBase + i * kPageSize}).none());
    require_secondary_coherent(m, mm);
    require_cpu_coherent(k, mm);
  }
}

TEST_CASE("mmap without MAP_FIXED over a mapping fails with -EEXIST and leaves the mapping alone", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  kernel::mmap_region(k, mm, Vaddr{kBase}, kPages * kPageSize, kVmRead | kVmWrite, 0, 0);
  kernel::populate(k, mm, Vaddr{kBase}, kPages * kPageSize, true);
  const Pfn p = mm.pt().leaf(Vaddr{kBase}).pfn();
  m.rec.clear();
  run(kernel::sys_mmap(k, mm, anon(false)));
  CHECK(m.rec.find([](const Event& e) { return is_error(e, "mmap", Errno::Eexist); }) != Recorder::npos);
  CHECK(m.rec.count(EventKind::PteStore) == 0);
  CHECK(mm.pt().leaf(Vaddr{kBase}).pfn() == p);
  CHECK(mm.find_vma(kBase)->writable());
}

TEST_CASE("MAP_POPULATE faults a private writable mapping in for writing and any other for reading", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const uint32_t file = k.create_file("f", kPages);
  SECTION("private, writable: every page its own, writable") {
    kernel::MmapRequest req = anon(true);
    req.populate = true;
    run(kernel::sys_mmap(k, mm, req));
    for (uint64_t i = 0; i < kPages; ++i) {
      const Pte p = mm.pt().leaf(Vaddr{kBase + i * kPageSize});
      REQUIRE(p.present());
      CHECK(p.writable());
      CHECK(k.mem().frame(p.pfn()).kind == FrameKind::Anon);
    }
  }
  SECTION("shared file, writable: the page-cache pages, read-only until a write fault (write notification)") {
    kernel::MmapRequest req = anon(true);
    req.shared = true;
    req.file = file;
    req.populate = true;
    run(kernel::sys_mmap(k, mm, req));
    require_page_cache_read_only(k, mm, file);
  }
  SECTION("private file, read-only: the page-cache pages, read-only") {
    kernel::MmapRequest req = anon(false);
    req.file = file;
    req.pgoff = 0;
    req.populate = true;
    run(kernel::sys_mmap(k, mm, req));
    require_page_cache_read_only(k, mm, file);
  }
}

TEST_CASE("a shared anonymous mapping is shmem: writable on a read fault, and one page for parent and child", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  const uint32_t shm = k.create_file("dev/zero", kPages, true);
  kernel::MmapRequest req = anon(true);
  req.shared = true;
  req.file = shm;
  run(kernel::sys_mmap(k, mm, req));
  run(kernel::user_access(k, 0, mm, Vaddr{kBase}, false));
  const Pte p = mm.pt().leaf(Vaddr{kBase});
  REQUIRE(p.present());
  CHECK(p.writable());  // no vma_wants_writenotify() for shmem
  CHECK_FALSE(p.dirty());
  kernel::Task<AddressSpace*> fork = kernel::sys_fork(k, mm, std::string("child"));
  AddressSpace& child = *kernel::run_sync(fork);
  run(kernel::user_access(k, 1, child, Vaddr{kBase}, true));
  CHECK(child.pt().leaf(Vaddr{kBase}).pfn() == p.pfn());
}

TEST_CASE("every mapping gets VM_MAYWRITE: mprotect makes a private read-only mapping writable", "[kernel]") {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  run(kernel::sys_mmap(k, mm, anon(false)));
  CHECK(mm.find_vma(kBase)->is_cow());
  m.rec.clear();
  run(kernel::sys_mprotect(k, mm, Vaddr{kBase}, kPages * kPageSize, true));
  CHECK(m.rec.count(EventKind::SyscallError) == 0);
  CHECK(mm.find_vma(kBase)->writable());
}
