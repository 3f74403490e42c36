// SPDX-License-Identifier: MIT
// What user space is told when the kernel refuses (kernel/outcome.h): the system call's -errno,
// the signal of a fault no VMA allows, each an event naming the call. Before these events a
// refused op was only a Call in the trace, and a scenario could not tell it had lost its effect.
#include <catch2/catch.hpp>

#include "kernel/fault.h"
#include "kernel/mmap.h"
#include "kernel/mprotect.h"
#include "kernel/mremap.h"
#include "kernel/path_checks.h"
#include "kernel/zap.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {

constexpr uint64_t kBase = 0x40000000;
constexpr uint64_t kLen = 4 * kPageSize;

void run(kernel::Task<> t) { kernel::run_sync(t); }

/// The SyscallError events recorded, as "call -ERRNO".
std::vector<std::string> errors(const Recorder& r) {
  std::vector<std::string> out;
  for (const Event* e : r.of(EventKind::SyscallError))
    out.push_back(std::string(e->func) + " -" + std::string(to_string(Errno{static_cast<uint16_t>(e->new_val)})));
  return out;
}

/// kLen of private anonymous memory at kBase (read-write unless `flags` say otherwise),
/// populated for writing when `populated`, with the recorder cleared.
struct Mapped {
  SvaMachine m;
  kernel::Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  explicit Mapped(bool populated, uint32_t flags = kVmRead | kVmWrite) {
    kernel::mmap_region(k, mm, Vaddr{kBase}, kLen, flags, 0, 0);
    if (populated) kernel::populate(k, mm, Vaddr{kBase}, kLen, true);
    m.rec.clear();
  }
};

}  // namespace

TEST_CASE("mprotect returns -EINVAL for an unaligned start and -ENOMEM where no VMA maps, and changes nothing", "[kernel]") {
  Mapped x(true);
  auto& [m, k, mm] = x;
  run(kernel::sys_mprotect(k, mm, Vaddr{kBase + 1}, kPageSize, false));
  run(kernel::sys_mprotect(k, mm, Vaddr{kBase + kLen}, kPageSize, false));
  CHECK(errors(m.rec) == std::vector<std::string>{"mprotect -EINVAL", "mprotect -ENOMEM"});
  CHECK(m.rec.count(EventKind::PteStore) == 0);
  CHECK(mm.pt().leaf(Vaddr{kBase}).writable());
}

TEST_CASE("mprotect over a hole changes the VMAs before it and then returns -ENOMEM", "[kernel]") {
  Mapped x(false);
  auto& [m, k, mm] = x;
  run(kernel::sys_mprotect(k, mm, Vaddr{kBase}, 2 * kLen, false));
  CHECK(errors(m.rec) == std::vector<std::string>{"mprotect -ENOMEM"});
  CHECK_FALSE(mm.find_vma(kBase)->writable());
}

TEST_CASE("madvise(MADV_DONTNEED) over a hole zaps the mapped part, then returns -ENOMEM", "[kernel]") {
  Mapped x(true);
  auto& [m, k, mm] = x;
  run(kernel::madvise_dontneed(k, mm, Vaddr{kBase}, 2 * kLen));
  CHECK(errors(m.rec) == std::vector<std::string>{"madvise -ENOMEM"});
  CHECK_FALSE(mm.pt().leaf(Vaddr{kBase}).present());
  // Inside one VMA there is no hole and no error.
  kernel::populate(k, mm, Vaddr{kBase}, kLen, true);
  m.rec.clear();
  run(kernel::madvise_free(k, mm, Vaddr{kBase}, kLen));
  CHECK(m.rec.count(EventKind::SyscallError) == 0);
}

TEST_CASE("mremap returns -EINVAL for overlapping ranges and -EFAULT for a source no VMA holds", "[kernel]") {
  Mapped x(false);
  auto& [m, k, mm] = x;
  run(kernel::sys_mremap(k, mm, Vaddr{kBase}, kLen, Vaddr{kBase + kPageSize}));
  run(kernel::sys_mremap(k, mm, Vaddr{kBase + 2 * kLen}, kLen, Vaddr{kBase + 8 * kLen}));
  CHECK(errors(m.rec) == std::vector<std::string>{"mremap -EINVAL", "mremap -EFAULT"});
  CHECK(mm.find_vma(kBase) != nullptr);
}

TEST_CASE("a user access no VMA allows is a SIGSEGV at its address, and no error return", "[kernel]") {
  Mapped x(false, kVmRead);
  auto& [m, k, mm] = x;
  run(kernel::user_access(k, 0, mm, Vaddr{kBase + kLen}, false));
  run(kernel::user_access(k, 0, mm, Vaddr{kBase}, true));
  const auto signals = m.rec.of(EventKind::Signal);
  REQUIRE(signals.size() == 2);
  CHECK(signals[0]->va == kBase + kLen);
  CHECK(signals[1]->va == kBase);
  CHECK(signals[0]->new_val == static_cast<uint64_t>(Signal::Sigsegv));
  CHECK(m.rec.count(EventKind::SyscallError) == 0);
}

TEST_CASE("madvise(MADV_DONTNEED) over two VMAs and a hole zaps each VMA's part in a bracket of its own", "[kernel]") {
  Mapped x(true);
  auto& [m, k, mm] = x;
  // A second VMA one page past the first: [kBase, +kLen) hole [kBase + kLen, +1 page) [.., +kLen).
  constexpr uint64_t kSecond = kBase + kLen + kPageSize;
  kernel::mmap_region(k, mm, Vaddr{kSecond}, kLen, kVmRead | kVmWrite, 0, 0);
  kernel::populate(k, mm, Vaddr{kSecond}, kLen, true);
  m.rec.clear();
  run(kernel::madvise_dontneed(k, mm, Vaddr{kBase + kPageSize}, kSecond + kPageSize - (kBase + kPageSize)));
  std::vector<std::pair<uint64_t, uint64_t>> brackets;
  for (const Event& e : m.rec.events())
    if (is_notifier(e, "mmu_notifier_invalidate_range_start")) brackets.emplace_back(e.va, e.end);
  // madvise_walk_vmas(): one zap_page_range() per VMA, over its part only; none over the hole.
  CHECK(brackets == std::vector<std::pair<uint64_t, uint64_t>>{{kBase + kPageSize, kBase + kLen}, {kSecond, kSecond + kPageSize}});
  CHECK_FALSE(mm.pt().leaf(Vaddr{kBase + kPageSize}).present());
  CHECK_FALSE(mm.pt().leaf(Vaddr{kSecond}).present());
  CHECK(mm.pt().leaf(Vaddr{kBase}).present());
  CHECK(mm.pt().leaf(Vaddr{kSecond + kPageSize}).present());
  CHECK(errors(m.rec) == std::vector<std::string>{"madvise -ENOMEM"});
}

TEST_CASE("madvise(MADV_FREE) stops with -EINVAL at a VMA that is not anonymous, MADV_DONTNEED at a VM_PFNMAP one", "[kernel]") {
  Mapped x(true);
  auto& [m, k, mm] = x;
  // [kBase, +kLen) anonymous, then a pfnmap VMA, then another anonymous VMA, all adjacent.
  const uint64_t pfnmap = kBase + kLen, after = pfnmap + kPageSize;
  kernel::mmap_region(k, mm, Vaddr{pfnmap}, kPageSize, kVmRead | kVmWrite | kVmPfnMap, 0, 0);
  kernel::mmap_region(k, mm, Vaddr{after}, kLen, kVmRead | kVmWrite, 0, 0);
  kernel::populate(k, mm, Vaddr{after}, kLen, true);
  m.rec.clear();
  run(kernel::madvise_dontneed(k, mm, Vaddr{kBase}, after + kLen - kBase));
  CHECK(errors(m.rec) == std::vector<std::string>{"madvise -EINVAL"});
  // The VMA before the refused one was zapped, the one after it was not.
  CHECK_FALSE(mm.pt().leaf(Vaddr{kBase}).present());
  CHECK(mm.pt().leaf(Vaddr{after}).present());
  m.rec.clear();
  run(kernel::madvise_free(k, mm, Vaddr{kBase}, after + kLen - kBase));
  CHECK(errors(m.rec) == std::vector<std::string>{"madvise -EINVAL"});
}
