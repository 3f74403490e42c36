// SPDX-License-Identifier: MIT
// The real system call on this machine next to the simulated kernel path, per page, for N pages
// of populated private anonymous 4 KiB memory. The target: the simulation is no slower per page
// than the real kernel.
//
//   BM_Real/<path>/N               the system call on this host (THP disabled for the process with
//                                  PR_SET_THP_DISABLE and for the region with MADV_NOHUGEPAGE)
//   BM_Sim/<path>/<policy>/N       kernel::<path> run to completion with run_sync() on a Kernel
//                                  with an SVA-bound device (AMD IOMMUv2 decoding) that has
//                                  touched a few pages; no event sink attached (bus inactive)
//
// Paths: munmap, madvise_dontneed, fork, mremap_pte (MREMAP_MAYMOVE|MREMAP_FIXED from a
// PMD-aligned source to a destination one page past a PMD boundary: move_ptes() extents),
// mremap_pmd (PMD-aligned source and destination: move_normal_pmd() whole tables), mprotect_ro
// (PROT_READ). Real fork is timed from the call to its return in the parent (copy_page_range()
// and the rest of dup_mmap()); BM_Real/fork_wait also includes the child's _exit(0) teardown and
// waitpid(). Both real fork benchmarks also report net_ns_per_page: the fork of this process
// without the region (base_us, measured before the region is mapped) subtracted.
//
// Counters: ns_per_page = timed wall ns / (iterations*N); cpu_ns_per_page = the same in thread
// CPU time (CLOCK_THREAD_CPUTIME_ID, user + system), which leaves out time spent preempted and is
// the steadier figure on a loaded machine.
//
// Every iteration builds its own state outside the timed region, except mremap, which moves the
// same pages back and forth (A -> B, B -> A: every move has the same extents); only the call
// itself is timed (UseManualTime with wall time, hence the /manual_time suffix).
#include <benchmark/benchmark.h>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/kernel.h"
#include "kernel/mprotect.h"
#include "kernel/mremap.h"
#include "kernel/sva.h"
#include "kernel/task.h"
#include "kernel/zap.h"

namespace tlbsim {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPmd = uint64_t{2} << 20;
constexpr uint64_t kPud = uint64_t{1} << 30;

double ns_between(Clock::time_point a, Clock::time_point b) {
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

/// Thread CPU time (user + system of the calling thread): unlike wall time, it leaves out the
/// time this thread spends preempted on a shared machine.
uint64_t thread_cpu_ns() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

/// A wall-clock and thread-CPU-time stamp.
struct Stamp {
  Clock::time_point wall;
  uint64_t cpu;
  static Stamp now() {
    const uint64_t c = thread_cpu_ns();
    return Stamp{Clock::now(), c};
  }
};

/// Per-benchmark accumulation of timed nanoseconds; sets the manual iteration time (wall) and,
/// at the end, the ns_per_page (wall) and cpu_ns_per_page (thread CPU time) counters.
struct Timer {
  double wall_ns = 0;
  double cpu_ns = 0;
  void add(benchmark::State& state, const Stamp& a, const Stamp& b) {
    const double w = ns_between(a.wall, b.wall);
    wall_ns += w;
    cpu_ns += double(b.cpu - a.cpu);
    state.SetIterationTime(w * 1e-9);
  }
  void finish(benchmark::State& state, uint64_t pages) const {
    if (state.iterations() == 0) return;
    const double total_pages = double(state.iterations()) * double(pages);
    state.counters["ns_per_page"] = wall_ns / total_pages;
    state.counters["cpu_ns_per_page"] = cpu_ns / total_pages;
    state.SetItemsProcessed(int64_t(state.iterations() * pages));
  }
};

// ---------------------------------------------------------------------------------------------
// Real system calls.

std::string errmsg(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

/// Disable THP for this process once (inherited by fork children).
bool thp_disabled() {
  static const bool ok = prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0;
  return ok;
}

/// An anonymous mapping owned by the benchmark; unmapped on destruction unless released.
struct Region {
  void* addr = MAP_FAILED;
  size_t len = 0;
  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() { reset(); }
  void reset() {
    if (addr != MAP_FAILED) munmap(addr, len);
    addr = MAP_FAILED;
    len = 0;
  }
  /// The caller unmapped (or moved) it.
  void release() {
    addr = MAP_FAILED;
    len = 0;
  }
  uint64_t begin() const { return reinterpret_cast<uint64_t>(addr); }
};

/// N populated, writable, private anonymous 4 KiB pages at `fixed` (MAP_FIXED, inside a
/// reservation the caller owns) or anywhere. MAP_POPULATE on a writable private mapping
/// write-faults every page (a real frame each, not the zero page); every page is written once
/// more after MADV_NOHUGEPAGE so nothing is left to fault.
bool map_populated(benchmark::State& state, Region& r, uint64_t pages, void* fixed = nullptr) {
  if (!thp_disabled()) {
    state.SkipWithError(errmsg("prctl(PR_SET_THP_DISABLE)").c_str());
    return false;
  }
  const size_t len = pages * kPage;
  const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | (fixed ? MAP_FIXED : 0);
  void* p = mmap(fixed, len, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED) {
    state.SkipWithError(errmsg("mmap(MAP_POPULATE)").c_str());
    return false;
  }
  r.addr = p;
  r.len = len;
  if (madvise(p, len, MADV_NOHUGEPAGE) != 0) {
    state.SkipWithError(errmsg("madvise(MADV_NOHUGEPAGE)").c_str());
    return false;
  }
  auto* bytes = static_cast<volatile unsigned char*>(p);
  for (uint64_t i = 0; i < pages; ++i) bytes[i * kPage] = static_cast<unsigned char>(i | 1);
  return true;
}

/// A PROT_NONE reservation of `len` bytes plus slack, and an address inside it aligned to
/// `align` but not to 1 GiB (so the kernel cannot move whole PUD entries), plus `offset`.
bool reserve(benchmark::State& state, Region& r, uint64_t len, uint64_t align, uint64_t offset, uint64_t* at) {
  const size_t total = len + align + kPmd + offset;
  void* p = mmap(nullptr, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    state.SkipWithError(errmsg("mmap(PROT_NONE reservation)").c_str());
    return false;
  }
  r.addr = p;
  r.len = total;
  uint64_t a = (r.begin() + align - 1) & ~(align - 1);
  if (a % kPud == 0) a += kPmd;
  *at = a + offset;
  return true;
}

/// Each iteration maps N fresh populated pages (untimed) and times `call` on them alone; `call`
/// returns what the system call does (0, or -1 with errno), and a failure skips the benchmark
/// naming `what`. `unmaps`: the call leaves nothing for Region to unmap.
template <class Call>
void real_on_populated(benchmark::State& state, const char* what, bool unmaps, Call call) {
  const uint64_t n = uint64_t(state.range(0));
  Timer timer;
  for (auto _ : state) {
    Region r;
    if (!map_populated(state, r, n)) break;
    const Stamp t0 = Stamp::now();
    const int rc = call(r);
    const Stamp t1 = Stamp::now();
    if (rc != 0) {
      state.SkipWithError(errmsg(what).c_str());
      break;
    }
    if (unmaps) r.release();
    timer.add(state, t0, t1);
  }
  timer.finish(state, n);
}

void BM_Real_munmap(benchmark::State& state) {
  real_on_populated(state, "munmap", true, [](Region& r) { return munmap(r.addr, r.len); });
}

void BM_Real_madvise_dontneed(benchmark::State& state) {
  real_on_populated(state, "madvise(MADV_DONTNEED)", false, [](Region& r) { return madvise(r.addr, r.len, MADV_DONTNEED); });
}

void BM_Real_mprotect_ro(benchmark::State& state) {
  real_on_populated(state, "mprotect(PROT_READ)", false, [](Region& r) { return mprotect(r.addr, r.len, PROT_READ); });
}

/// mremap(MREMAP_MAYMOVE|MREMAP_FIXED) of N pages between a PMD-aligned address A and an
/// address B that is PMD-aligned or one page past a PMD boundary (neither 1 GiB aligned, so the
/// kernel cannot move whole PUD entries). The pages go A -> B, B -> A, ... (every move has the
/// same extents), so only the first iteration pays for mapping them. The range a move vacates is
/// reserved again with a PROT_NONE mapping (untimed), which the next move replaces.
void real_mremap(benchmark::State& state, bool dst_pmd_aligned) {
  const uint64_t n = uint64_t(state.range(0));
  const uint64_t len = n * kPage;
  Region res_a, res_b, pages;
  uint64_t at[2] = {0, 0};
  if (!reserve(state, res_a, len, kPmd, 0, &at[0])) return;
  if (!reserve(state, res_b, len, kPmd, dst_pmd_aligned ? 0 : kPage, &at[1])) return;
  if (!map_populated(state, pages, n, reinterpret_cast<void*>(at[0]))) return;  // NOLINT(performance-no-int-to-ptr): an mmap address
  pages.release();                                                              // inside res_a (or res_b), unmapped with it
  Timer timer;
  int from = 0;
  for (auto _ : state) {
    void* const src = reinterpret_cast<void*>(at[from]);      // NOLINT(performance-no-int-to-ptr): an mmap address
    void* const dst = reinterpret_cast<void*>(at[1 - from]);  // NOLINT(performance-no-int-to-ptr)
    const Stamp t0 = Stamp::now();
    void* p = mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    const Stamp t1 = Stamp::now();
    if (p == MAP_FAILED) {
      state.SkipWithError(errmsg("mremap").c_str());
      break;
    }
    if (p != dst) {
      state.SkipWithError("mremap moved elsewhere than MREMAP_FIXED asked");
      break;
    }
    timer.add(state, t0, t1);
    if (mmap(src, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != src) {
      state.SkipWithError(errmsg("mmap(PROT_NONE) over the vacated range").c_str());
      break;
    }
    from = 1 - from;
  }
  timer.finish(state, n);
}
void BM_Real_mremap_pte(benchmark::State& state) { real_mremap(state, false); }
void BM_Real_mremap_pmd(benchmark::State& state) { real_mremap(state, true); }

/// fork() with the child calling _exit(0) at once. `fork_only`: the fork() call in the parent;
/// otherwise until waitpid() has reaped the child (its wall time includes the child's teardown;
/// its thread CPU time does not, that runs in the child). Returns false (and skips) on failure.
bool timed_fork(benchmark::State& state, bool fork_only, Stamp* from, Stamp* to) {
  const Stamp t0 = Stamp::now();
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  const Stamp t1 = Stamp::now();
  if (pid < 0) {
    state.SkipWithError(errmsg("fork").c_str());
    return false;
  }
  int status = 0;
  pid_t w;
  do {
    w = waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  const Stamp t2 = Stamp::now();
  if (w != pid) {
    state.SkipWithError(errmsg("waitpid").c_str());
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    state.SkipWithError("fork child did not exit with status 0");
    return false;
  }
  *from = t0;
  *to = fork_only ? t1 : t2;
  return true;
}

void real_fork(benchmark::State& state, bool fork_only) {
  const uint64_t n = uint64_t(state.range(0));
  if (!thp_disabled()) {
    state.SkipWithError(errmsg("prctl(PR_SET_THP_DISABLE)").c_str());
    return;
  }
  // The fork of this process without the region: the minimum of a few.
  double base_wall = 1e30, base_cpu = 1e30;
  for (int i = 0; i < 5; ++i) {
    Stamp a{}, b{};
    if (!timed_fork(state, fork_only, &a, &b)) return;
    base_wall = std::min(base_wall, ns_between(a.wall, b.wall));
    base_cpu = std::min(base_cpu, double(b.cpu - a.cpu));
  }
  Region r;
  if (!map_populated(state, r, n)) return;
  Timer timer;
  for (auto _ : state) {
    Stamp a{}, b{};
    if (!timed_fork(state, fork_only, &a, &b)) break;
    timer.add(state, a, b);
    // The parent's PTEs are now write-protected (COW); make them writable again so every
    // iteration starts from the same state (a write fault per page, reusing the page; untimed).
    auto* bytes = static_cast<volatile unsigned char*>(r.addr);
    for (uint64_t i = 0; i < n; ++i) bytes[i * kPage] = static_cast<unsigned char>(i | 1);
  }
  timer.finish(state, n);
  if (state.iterations() > 0) {
    const double iters = double(state.iterations());
    state.counters["base_us"] = base_wall * 1e-3;
    state.counters["net_ns_per_page"] = (timer.wall_ns / iters - base_wall) / double(n);
    state.counters["net_cpu_ns_per_page"] = (timer.cpu_ns / iters - base_cpu) / double(n);
  }
}
void BM_Real_fork(benchmark::State& state) { real_fork(state, true); }
void BM_Real_fork_wait(benchmark::State& state) { real_fork(state, false); }

// ---------------------------------------------------------------------------------------------
// Simulated paths.

constexpr uint64_t kSimBase = 0x40000000;   // 1 GiB: PMD aligned
constexpr uint64_t kSimDst = 0x1000000000;  // 64 GiB: PMD aligned, far from the source
constexpr uint64_t kDeviceTouched = 8;      // pages the device has translated (IOTLB/ATC)

/// One mm with N populated pages and an SVA-bound device (AMD IOMMUv2 decoding) that has read
/// the first few pages; no event sink, so the bus is inactive. As tests/support/recording_sink.h's
/// SvaMachine, minus the recorder.
struct SimMachine {
  SimMachine(const kernel::Policy& policy, uint64_t pages) : k(std::make_unique<kernel::Kernel>(kernel::MachineConfig{}, policy)) {
    mm = &k->create_mm("mm");
    iommu::IommuConfig ic;
    for (const auto& d : kernel::decodings())
      if (d.decoding == kernel::SvaDecoding::AmdV2) ic.kind = d.kind();
    iommu::Iommu& io = k->add_iommu(ic);
    dev = io.add_device(iommu::DeviceConfig{.name = "dev0"});
    kernel::iommu_sva_bind_device(*k, *mm, io, dev, Pasid{1}, kernel::SvaDecoding::AmdV2);
    mm->set_cpumask(3);  // the mm has run on both CPUs: flushes need IPIs
    kernel::mmap_region(*k, *mm, Vaddr{kSimBase}, pages * kPage, kVmRead | kVmWrite, 0, 0);
    kernel::populate(*k, *mm, Vaddr{kSimBase}, pages * kPage, true);
    device_touch(kSimBase, pages);
  }
  /// The device reads the first few pages at `base` (IOTLB and ATC entries to invalidate).
  void device_touch(uint64_t base, uint64_t pages) {
    for (uint64_t i = 0; i < kDeviceTouched && i < pages; ++i)
      ok = ok && k->iommu(0).dma(dev, *mm->pasid(), Vaddr{base + i * kPage}, false).ok();
  }
  std::unique_ptr<kernel::Kernel> k;
  AddressSpace* mm = nullptr;
  uint16_t dev = 0;
  bool ok = true;
};

enum class SimPath { Munmap, DontNeed, Fork, MremapPte, MremapPmd, MprotectRo };

kernel::Task<> sim_fork(kernel::Kernel& k, AddressSpace& mm) { co_await kernel::sys_fork(k, mm, std::string("child")); }

kernel::Task<> sim_task(SimPath p, kernel::Kernel& k, AddressSpace& mm, uint64_t len) {
  switch (p) {
    case SimPath::Munmap: return kernel::sys_munmap(k, mm, Vaddr{kSimBase}, len);
    case SimPath::DontNeed: return kernel::madvise_dontneed(k, mm, Vaddr{kSimBase}, len);
    case SimPath::Fork: return sim_fork(k, mm);
    case SimPath::MprotectRo: return kernel::sys_mprotect(k, mm, Vaddr{kSimBase}, len, false);
    case SimPath::MremapPte:
    case SimPath::MremapPmd: break;  // sim_mremap()
  }
  return kernel::sys_munmap(k, mm, Vaddr{kSimBase}, len);
}

/// Run `t` to completion, timed. False (and skips) if the model throws (a failed check).
bool run_timed(benchmark::State& state, Timer& timer, const std::function<kernel::Task<>()>& make) {
  try {
    // Creating the coroutine is part of the call (its frame is allocated here).
    const Stamp t0 = Stamp::now();
    kernel::Task<> t = make();
    kernel::run_sync(t);
    const Stamp t1 = Stamp::now();
    timer.add(state, t0, t1);
    return true;
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return false;
  }
}

std::unique_ptr<SimMachine> build(benchmark::State& state, const kernel::Policy& policy, uint64_t n) {
  try {
    auto m = std::make_unique<SimMachine>(policy, n);
    if (m->ok) return m;
    state.SkipWithError("device DMA failed during setup");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  return nullptr;
}

/// sys_mremap() between A = kSimBase (PMD aligned) and B = kSimDst (+ one page unless
/// `pmd_aligned`), A -> B, B -> A, ... as BM_Real/mremap_*, on one machine; after each move the
/// device reads a few pages at the new address again (untimed).
void sim_mremap(benchmark::State& state, const kernel::Policy& policy, bool pmd_aligned) {
  const uint64_t n = uint64_t(state.range(0));
  const uint64_t at[2] = {kSimBase, kSimDst + (pmd_aligned ? 0 : kPage)};
  auto m = build(state, policy, n);
  if (!m) return;
  Timer timer;
  int from = 0;
  for (auto _ : state) {
    if (!run_timed(state, timer, [&] { return kernel::sys_mremap(*m->k, *m->mm, Vaddr{at[from]}, n * kPage, Vaddr{at[1 - from]}); })) break;
    from = 1 - from;
    m->device_touch(at[from], n);
    if (!m->ok) {
      state.SkipWithError("device DMA failed after the move");
      break;
    }
  }
  timer.finish(state, n);
}

void BM_Sim(benchmark::State& state, SimPath path, const std::string& policy_name) {
  const uint64_t n = uint64_t(state.range(0));
  const kernel::Policy* policy = kernel::find_policy(policy_name);
  if (!policy) {
    state.SkipWithError(("unknown policy " + policy_name).c_str());
    return;
  }
  if (path == SimPath::MremapPte || path == SimPath::MremapPmd) return sim_mremap(state, *policy, path == SimPath::MremapPmd);
  Timer timer;
  for (auto _ : state) {
    auto m = build(state, *policy, n);
    if (!m) break;
    if (!run_timed(state, timer, [&] { return sim_task(path, *m->k, *m->mm, n * kPage); })) break;
    m.reset();  // untimed: manual time only counts the path
  }
  timer.finish(state, n);
}

// ---------------------------------------------------------------------------------------------
// Registration: every real benchmark first (so fork copies a process whose heap has not yet
// held simulated machines), then the simulated ones.

void with_sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 12)->Arg(1 << 15)->Arg(1 << 18)->UseManualTime()->Unit(benchmark::kMillisecond);
}

[[maybe_unused]] const int kRegistered = [] {
  struct RealBench {
    const char* name;
    void (*fn)(benchmark::State&);
  };
  const RealBench real[] = {
      {"BM_Real/munmap", BM_Real_munmap},
      {"BM_Real/madvise_dontneed", BM_Real_madvise_dontneed},
      {"BM_Real/fork", BM_Real_fork},
      {"BM_Real/fork_wait", BM_Real_fork_wait},
      {"BM_Real/mremap_pte", BM_Real_mremap_pte},
      {"BM_Real/mremap_pmd", BM_Real_mremap_pmd},
      {"BM_Real/mprotect_ro", BM_Real_mprotect_ro},
  };
  for (const RealBench& r : real) with_sizes(benchmark::RegisterBenchmark(r.name, r.fn));

  struct SimBench {
    const char* name;
    SimPath path;
  };
  const SimBench sim[] = {
      {"munmap", SimPath::Munmap},        {"madvise_dontneed", SimPath::DontNeed}, {"fork", SimPath::Fork},
      {"mremap_pte", SimPath::MremapPte}, {"mremap_pmd", SimPath::MremapPmd},      {"mprotect_ro", SimPath::MprotectRo},
  };
  for (const char* policy : {"fixed", "old"})
    for (const SimBench& s : sim) {
      const std::string name = std::string("BM_Sim/") + s.name + "/" + policy;
      const std::string pol = policy;
      const SimPath path = s.path;
      with_sizes(benchmark::RegisterBenchmark(name.c_str(), [path, pol](benchmark::State& st) { BM_Sim(st, path, pol); }));
    }
  return 0;
}();

}  // namespace
}  // namespace tlbsim
