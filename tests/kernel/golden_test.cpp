// SPDX-License-Identifier: MIT
// Golden event orders: each simulated path under each policy, from a fixed starting state, must
// produce exactly the ordered events stored in tests/golden/<path>__<policy>.txt. Any change of
// order fails. To accept a deliberate change: TLBSIM_UPDATE_GOLDEN=1 ./tlbsim_tests "[golden]"
// (or scripts/update-golden.sh), then review the diff.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "kernel/brk.h"
#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/ksm.h"
#include "kernel/locking.h"
#include "kernel/migrate.h"
#include "kernel/mmap.h"
#include "kernel/mprotect.h"
#include "kernel/mremap.h"
#include "kernel/reclaim.h"
#include "kernel/thp.h"
#include "kernel/zap.h"
#include "support/recording_sink.h"
#include "support/update_request.h"

using namespace tlbsim;
using namespace tlbsim::kernel;

namespace {

constexpr uint64_t kBase = 0x40000000;  // 2 MiB aligned
constexpr uint64_t kPages = 4;

/// The events a golden file records: what the primer's orderings are made of.
bool recorded(const Event& e) {
  switch (e.kind) {
    case EventKind::PteStore: return std::string(e.func) != "hardware A/D update";
    case EventKind::CpuFlush:
    case EventKind::Notifier:
    case EventKind::InvCmd:
    case EventKind::InvSync:
    case EventKind::FrameFree:
    case EventKind::Copy:
    case EventKind::Lock:
    case EventKind::Unlock: return true;
    default: return false;
  }
}

struct Setup {
  std::string arch = "x86";
  bool huge = false;  ///< map one anonymous THP at kBase instead of kPages small pages
};

std::string run_path(const std::string& policy, const Setup& st,
                     const std::function<Task<>(Kernel&, AddressSpace&, test::SvaMachine&)>& path) {
  MachineConfig cfg;
  // The device's driver is the one the policy's release ships: AMD on x86, SMMUv3 on arm64.
  const char* driver = "amd";
  if (st.arch == "arm64") {
    cfg.arch = Arch::Arm64;
    cfg.cpu.fault_drops_entry = false;
    driver = "arm-smmu-v3";
  }
  const SvaDecoding dec = resolve_decoding(driver, *find_policy(policy))->decoding;
  test::SvaMachine m(policy, dec, cfg);
  Kernel& k = *m.k;
  AddressSpace& mm = *m.mm;
  mm.set_cpumask(3);  // the mm has run on both CPUs: flushes need IPIs
  if (st.huge) {
    mmap_region(k, mm, Vaddr{kBase}, kPmdSize, kVmRead | kVmWrite, 0, 0);
    map_huge_anon(k, mm, Vaddr{kBase});
  } else {
    mmap_region(k, mm, Vaddr{kBase}, kPages * kPageSize, kVmRead | kVmWrite, 0, 0);
    populate(k, mm, Vaddr{kBase}, kPages * kPageSize, true);
  }
  // The device caches every page, so each path has secondary translations to invalidate.
  for (uint64_t i = 0; i < kPages; ++i) REQUIRE(m.io().dma(m.dev, *mm.pasid(), Vaddr{kBase + i * kPageSize}, true).ok());
  const uint64_t from = k.bus().next_seq();
  Task<> t = path(k, mm, m);
  run_sync(t);
  k.check_invariants();
  std::ostringstream os;
  for (const Event& e : m.rec.events())
    if (e.seq.value() >= from && recorded(e)) os << describe(e, k.bus().actor_names()) << "\n";
  return os.str();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The 1-based number of the first line where `got` differs from `want`; 0 if they are equal.
size_t first_difference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (size_t line = 1;; ++line) {
    const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return want == got ? 0 : line;  // a missing final newline differs too
    if (ha != hb || la != lb) return line;
  }
}

std::string golden_path(const std::string& name, const std::string& policy) {
  return std::string(TLBSIM_SOURCE_DIR) + "/tests/golden/" + name + "__" + policy + ".txt";
}

void check_golden(const std::string& name, const std::string& policy, const std::string& got) {
  const std::string path = golden_path(name, policy);
  if (test::update_requested(std::getenv("TLBSIM_UPDATE_GOLDEN"))) {
    std::ofstream(path, std::ios::binary) << got;
    return;
  }
  const std::string want = slurp(path);
  INFO("golden file " << path << " differs from line " << first_difference(want, got) << " (TLBSIM_UPDATE_GOLDEN=1 rewrites it)");
  REQUIRE_FALSE(want.empty());
  CHECK(first_difference(want, got) == 0);
}

struct Path {
  const char* name;
  Setup setup;
  std::function<Task<>(Kernel&, AddressSpace&, test::SvaMachine&)> run;
};

Task<> fork_path(Kernel& k, AddressSpace& mm) { co_await sys_fork(k, mm, std::string("child")); }
Task<> cow_path(Kernel& k, AddressSpace& mm) {
  co_await sys_fork(k, mm, std::string("child"));
  co_await user_access(k, 0, mm, Vaddr{kBase}, true);
}
Task<> migrate_path(Kernel& k, AddressSpace& mm) {
  const Pfn p = mm.pt().leaf(Vaddr{kBase}).pfn();
  const std::vector<Pfn> isolated = isolate_migratepages_block(k, std::vector<Pfn>{p});
  co_await migrate_pages(k, isolated);
}
Task<> reclaim_path(Kernel& k, AddressSpace& mm) {
  std::vector<Pfn> pages;
  for (uint64_t i = 0; i < kPages; ++i) pages.push_back(mm.pt().leaf(Vaddr{kBase + i * kPageSize}).pfn());
  co_await shrink_folio_list(k, pages);
}
Task<> ksm_path(Kernel& k, AddressSpace& mm) {
  co_await ksm_merge(k, mm, Vaddr{kBase}, kNoPfn);
  const Pfn kpage = mm.pt().leaf(Vaddr{kBase}).pfn();
  co_await ksm_merge(k, mm, Vaddr{kBase + kPageSize}, kpage);
}
/// Swap-out of the first page, then a device read of it: the IOPF handler's do_swap_page().
Task<> swap_in_path(Kernel& k, AddressSpace& mm, test::SvaMachine& m) {
  const std::vector<Pfn> pages{mm.pt().leaf(Vaddr{kBase}).pfn()};  // a local: GCC 12 and braced co_await arguments
  co_await shrink_folio_list(k, pages);
  co_await device_dma(k, 0, m.dev, mm, Vaddr{kBase}, false);
}
/// HMM_DMIRROR_MIGRATE of the set-up pages, then a device write to the first: the IOPF
/// handler's do_swap_page() -> migrate_to_ram() brings it back.
Task<> migrate_vma_path(Kernel& k, AddressSpace& mm, test::SvaMachine& m) {
  co_await dmirror_migrate(k, mm, VaRange{kBase, kBase + kPages * kPageSize});
  co_await device_dma(k, 0, m.dev, mm, Vaddr{kBase}, true);
}
Task<> split_path(Kernel& k, AddressSpace& mm) {
  co_await mmap_write_lock(k, mm);
  co_await __split_huge_pmd(k, mm, *mm.find_vma(kBase), Vaddr{kBase});
  mmap_write_unlock(k, mm);
}

const std::vector<Path>& paths() {
  static const std::vector<Path> all{
      {"munmap", {}, [](Kernel& k, AddressSpace& mm, auto&) { return sys_munmap(k, mm, Vaddr{kBase}, kPages * kPageSize); }},
      {"madvise_dontneed",
       {},
       [](Kernel& k, AddressSpace& mm, auto&) { return madvise_dontneed(k, mm, Vaddr{kBase}, kPages * kPageSize); }},
      {"madvise_free", {}, [](Kernel& k, AddressSpace& mm, auto&) { return madvise_free(k, mm, Vaddr{kBase}, kPages * kPageSize); }},
      {"exit_mmap", {}, [](Kernel& k, AddressSpace& mm, auto&) { return exit_mmap(k, mm); }},
      {"fork", {}, [](Kernel& k, AddressSpace& mm, auto&) { return fork_path(k, mm); }},
      {"wp_page_copy", {}, [](Kernel& k, AddressSpace& mm, auto&) { return cow_path(k, mm); }},
      {"mremap_ptes",
       {},
       [](Kernel& k, AddressSpace& mm, auto&) { return sys_mremap(k, mm, Vaddr{kBase}, kPages * kPageSize, Vaddr{kBase + 0x10000000}); }},
      {"mmap_fixed",
       {},
       [](Kernel& k, AddressSpace& mm, auto&) {
         return sys_mmap(k, mm, MmapRequest{.addr = kBase, .len = kPages * kPageSize, .writable = true, .fixed = true});
       }},
      {"brk_shrink",
       {},
       [](Kernel& k, AddressSpace& mm, auto&) {
         // The set-up mapping is the heap: brk(start_brk) gives all of it back.
         mm.set_start_brk(kBase, kBase + kPages * kPageSize);
         return sys_brk(k, mm, Vaddr{kBase});
       }},
      {"mprotect_ro", {}, [](Kernel& k, AddressSpace& mm, auto&) { return sys_mprotect(k, mm, Vaddr{kBase}, kPages * kPageSize, false); }},
      {"migrate", {}, [](Kernel& k, AddressSpace& mm, auto&) { return migrate_path(k, mm); }},
      {"reclaim", {}, [](Kernel& k, AddressSpace& mm, auto&) { return reclaim_path(k, mm); }},
      {"ksm", {}, [](Kernel& k, AddressSpace& mm, auto&) { return ksm_path(k, mm); }},
      {"munmap_thp", {.huge = true}, [](Kernel& k, AddressSpace& mm, auto&) { return sys_munmap(k, mm, Vaddr{kBase}, kPmdSize); }},
      {"swap_in", {}, [](Kernel& k, AddressSpace& mm, test::SvaMachine& m) { return swap_in_path(k, mm, m); }},
      {"migrate_vma", {}, [](Kernel& k, AddressSpace& mm, test::SvaMachine& m) { return migrate_vma_path(k, mm, m); }},
      {"split_huge_pmd", {.huge = true}, [](Kernel& k, AddressSpace& mm, auto&) { return split_path(k, mm); }},
      {"munmap_arm64",
       {.arch = "arm64"},
       [](Kernel& k, AddressSpace& mm, auto&) { return sys_munmap(k, mm, Vaddr{kBase}, kPages * kPageSize); }},
      {"reclaim_arm64", {.arch = "arm64"}, [](Kernel& k, AddressSpace& mm, auto&) { return reclaim_path(k, mm); }},
  };
  return all;
}

}  // namespace

TEST_CASE("every simulated path produces its golden event order under each policy", "[kernel][policy][golden]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  for (const Path& p : paths()) {
    SECTION(std::string(p.name) + " under " + policy) { check_golden(p.name, policy, run_path(policy, p.setup, p.run)); }
  }
}

TEST_CASE("munmap, fork, mremap, reclaim and migrate produce their golden event order under each mainline release policy",
          "[kernel][policy][golden]") {
  const std::string policy = GENERATE(as<std::string>{}, "v6.10", "v6.11", "v6.12", "v6.15", "v6.16", "v6.17", "v6.18", "v6.19", "v7.1");
  for (const Path& p : paths()) {
    const std::string name = p.name;
    if (name != "munmap" && name != "fork" && name != "mremap_ptes" && name != "reclaim" && name != "migrate" && name != "munmap_arm64" &&
        name != "reclaim_arm64")
      continue;
    SECTION(name + " under " + policy) { check_golden(p.name, policy, run_path(policy, p.setup, p.run)); }
  }
}

TEST_CASE("golden files are rewritten only with TLBSIM_UPDATE_GOLDEN=1, and a changed order is a difference", "[kernel][golden]") {
  CHECK(test::update_requested("1"));
  for (const char* other : {static_cast<const char*>(nullptr), "", "0", "yes", "true", " 1", "1 "})
    CHECK_FALSE(test::update_requested(other));
  // A stored order with two of its events swapped: found at the first line that moved.
  const std::string want = slurp(golden_path("munmap", "fixed"));
  REQUIRE(!want.empty());
  std::vector<std::string> lines;
  std::istringstream in(want);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  size_t i = 0;
  while (i + 1 < lines.size() && lines[i] == lines[i + 1]) ++i;
  REQUIRE(i + 1 < lines.size());
  std::swap(lines[i], lines[i + 1]);
  std::string swapped;
  for (const std::string& l : lines) swapped += l + "\n";
  CHECK(first_difference(want, want) == 0);
  CHECK(first_difference(want, swapped) == i + 1);
  CHECK(first_difference(want, want.substr(0, want.size() - 1)) != 0);
}
