// SPDX-License-Identifier: MIT
#include "scenarios/batching_workload.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/migrate.h"
#include "kernel/mremap.h"
#include "kernel/reclaim.h"
#include "kernel/sva_strategy.h"
#include "kernel/task.h"
#include "kernel/zap.h"
#include "model/page_table_bound.h"
#include "model/saturating.h"
#include "scenarios/detector.h"

namespace tlbsim::scenarios {

const std::vector<WorkloadInfo>& workloads() {
  // Bytes per page: at 262,144 pages under the costlier of iommu:per-page and cpu:per-page
  // (iommu:cmdq, iommu:range, iommu:full-above:511 and cpu:deferred took less), the most
  // measured was 2.2 KiB (munmap-dense), 3.8 (munmap-sparse), 1.9 (madv-dontneed), 1.4 (fork),
  // 2.4 (mremap), 3.9 (migrate) and 7.9 (reclaim); a quarter more, rounded up.
  static const std::vector<WorkloadInfo> all{
      {Workload::MunmapDense, "munmap-dense", "munmap() of N populated pages (zap, mmu_gather flush)", 1, 3072},
      {Workload::MunmapSparse, "munmap-sparse", "munmap() of a 2N-page range with every other page populated", 1, 5120},
      {Workload::MadvDontneed, "madv-dontneed", "MADV_DONTNEED of N populated pages", 1, 2560},
      {Workload::Fork, "fork", "fork() of an mm whose N pages are spread over V VMAs (COW write-protect, flush_tlb_mm)", 1, 2048},
      {Workload::Mremap, "mremap", "mremap() of N pages to a destination one page past a PMD boundary (move_ptes)", 1, 3072},
      {Workload::Migrate, "migrate", "migrate_pages() of N pages, one folio at a time (flush_tlb_page each)", 2, 5120},
      {Workload::Reclaim, "reclaim", "shrink_folio_list() of N clean page-cache pages scattered one in four (tlb_ubc)", 4, 10240},
  };
  return all;
}

const WorkloadInfo* find_workload(std::string_view name) {
  for (const auto& w : workloads())
    if (w.name == name) return &w;
  return nullptr;
}

namespace {

constexpr uint64_t kWorkingSet = kWorkloadWorkingSetBase;
constexpr uint64_t kRange = kWorkloadRangeBase;
constexpr uint64_t kMremapDst = 0x1000000000;  // 64 GiB, + one page: PTE-by-PTE moves
constexpr unsigned kCpu = 0;

/// Bytes per page of the working set (populated, touched before and after the path: 2.75 KiB
/// measured with 196,608 pages each) and per VMA of fork's range (2.9 KiB measured: 262,144
/// pages over 262,144 VMAs against over 100), a quarter more, rounded up.
constexpr uint64_t kWorkingSetBytesPerPage = 3584;
constexpr uint64_t kForkBytesPerVma = 3840;

/// Where the path's populated pages are (addresses), and the range the path is given.
struct Layout {
  std::vector<uint64_t> pages;
  uint64_t start = kRange;
  uint64_t len = 0;
};

Layout build_range(kernel::Kernel& k, AddressSpace& mm, const WorkloadParams& p) {
  Layout l;
  const uint64_t n = p.pages;
  const uint32_t rw = kVmRead | kVmWrite;
  switch (p.workload) {
    case Workload::MunmapSparse:
      l.len = 2 * n * kPageSize;
      kernel::mmap_region(k, mm, Vaddr{kRange}, l.len, rw, 0, 0);
      for (uint64_t i = 0; i < n; ++i) l.pages.push_back(kRange + 2 * i * kPageSize);
      break;
    case Workload::Fork: {
      // V VMAs of N/V pages (the remainder in the last), a guard page between neighbours.
      const uint64_t v = std::max<uint64_t>(1, std::min<uint64_t>(p.vmas, n));
      uint64_t at = kRange;
      for (uint64_t i = 0; i < v; ++i) {
        const uint64_t pages = n / v + (i + 1 == v ? n % v : 0);
        kernel::mmap_region(k, mm, Vaddr{at}, pages * kPageSize, rw, 0, 0);
        for (uint64_t j = 0; j < pages; ++j) l.pages.push_back(at + j * kPageSize);
        at += (pages + 1) * kPageSize;
      }
      l.len = at - kRange;
      break;
    }
    case Workload::Reclaim: {
      // A shared file mapping read in: clean page-cache pages, one in four reclaimed.
      l.len = 4 * n * kPageSize;
      const uint32_t file = k.create_file("data", 4 * n);
      kernel::mmap_region(k, mm, Vaddr{kRange}, l.len, kVmRead | kVmShared, file, 0);
      kernel::populate(k, mm, Vaddr{kRange}, l.len, false);
      for (uint64_t i = 0; i < n; ++i) l.pages.push_back(kRange + 4 * i * kPageSize);
      return l;
    }
    default:
      l.len = n * kPageSize;
      kernel::mmap_region(k, mm, Vaddr{kRange}, l.len, rw, 0, 0);
      for (uint64_t i = 0; i < n; ++i) l.pages.push_back(kRange + i * kPageSize);
      break;
  }
  for (uint64_t va : l.pages) kernel::populate(k, mm, Vaddr{va}, kPageSize, true);
  return l;
}

kernel::Task<> fork_child(kernel::Kernel& k, AddressSpace& mm) { co_await kernel::sys_fork(k, mm, std::string("child")); }

kernel::Task<> migrate_each(kernel::Kernel& k, std::vector<Pfn> pfns) {
  const std::vector<Pfn> isolated = kernel::isolate_migratepages_block(k, pfns);
  co_await kernel::migrate_pages(k, isolated);
}

std::vector<Pfn> pfns_of(AddressSpace& mm, const std::vector<uint64_t>& pages) {
  std::vector<Pfn> out;
  for (uint64_t va : pages) out.push_back(mm.pt().leaf(Vaddr{va}).pfn());
  return out;
}

kernel::Task<> the_path(kernel::Kernel& k, AddressSpace& mm, const WorkloadParams& p, const Layout& l) {
  switch (p.workload) {
    case Workload::MunmapDense:
    case Workload::MunmapSparse: return kernel::sys_munmap(k, mm, Vaddr{l.start}, l.len);
    case Workload::MadvDontneed: return kernel::madvise_dontneed(k, mm, Vaddr{l.start}, l.len);
    case Workload::Fork: return fork_child(k, mm);
    case Workload::Mremap: return kernel::sys_mremap(k, mm, Vaddr{l.start}, l.len, Vaddr{kMremapDst + kPageSize});
    case Workload::Migrate: return migrate_each(k, pfns_of(mm, l.pages));
    case Workload::Reclaim: return kernel::shrink_folio_list(k, pfns_of(mm, l.pages));
  }
  return kernel::sys_munmap(k, mm, Vaddr{l.start}, l.len);
}

}  // namespace

MemoryEstimate estimate_workload(const WorkloadParams& p) {
  const WorkloadInfo& info =
      *std::find_if(workloads().begin(), workloads().end(), [&](const WorkloadInfo& w) { return w.workload == p.workload; });
  const uint64_t n = p.pages;
  const uint64_t ws = std::max(p.cpu_working_set, p.device_working_set);
  const uint64_t vmas = p.workload == Workload::Fork ? std::max<uint64_t>(1, std::min<uint64_t>(p.vmas, n)) : 1;
  // The span build_range() maps: reclaim's file is 4N pages, the sparse range 2N, fork's VMAs
  // have a guard page between them.
  const uint64_t span_per_page = p.workload == Workload::Reclaim ? 4 : p.workload == Workload::MunmapSparse ? 2 : 1;
  const uint64_t span = sat_add(sat_mul(n, span_per_page), vmas);
  // Tables for the span twice (fork's child copies them, mremap's destination gets its own),
  // for the working set, and the PGD.
  const uint64_t tables = sat_add(sat_add(sat_mul(max_tables_for_range(span), 2), max_tables_for_range(ws)), 1);
  MemoryEstimate e;
  e.frames = sat_add(sat_add(sat_mul(n, info.frames_per_page), ws), tables);
  const uint64_t range_bytes = sat_mul(n, info.bytes_per_page);
  const uint64_t ws_bytes = sat_mul(ws, kWorkingSetBytesPerPage);
  const uint64_t vma_bytes = p.workload == Workload::Fork ? sat_mul(vmas, kForkBytesPerVma) : 0;
  e.bytes = sat_add(sat_add(kEstimateBaseBytes, range_bytes), sat_add(ws_bytes, vma_bytes));
  for (const auto& [key, b] :
       {std::pair{"--sizes", range_bytes}, std::pair{"--vmas", vma_bytes},
        std::pair{p.cpu_working_set >= p.device_working_set ? "--cpu-working-set" : "--device-working-set", ws_bytes}})
    if (b > e.largest_bytes) {
      e.largest_bytes = b;
      e.largest = key;
    }
  return e;
}

WorkloadResult run_workload(const WorkloadParams& p) {
  const kernel::Policy* policy = kernel::find_policy(p.policy);
  if (!policy) throw std::invalid_argument("unknown policy '" + p.policy + "'");
  if (p.pages == 0) throw std::invalid_argument("a workload needs at least one page");
  if (p.cpu_working_set > kMaxWorkingSetPages || p.device_working_set > kMaxWorkingSetPages)
    throw std::invalid_argument("a working set is limited to " + std::to_string(kMaxWorkingSetPages) + " pages");
  kernel::MachineConfig cfg;
  if (const MemoryEstimate e = estimate_workload(p); e.frames > cfg.mem.max_frames)
    throw std::invalid_argument("the workload may need up to " + std::to_string(e.frames) + " frames, more than the model's " +
                                std::to_string(cfg.mem.max_frames));
  cfg.cost = p.cost;
  kernel::apply_cpu_strategy(cfg, p.cpu);
  kernel::Kernel k(cfg, *policy);
  EventLog log;
  k.bus().add_sink(&log);

  AddressSpace& mm = k.create_mm("mm");
  mm.set_cpumask(3);  // ran on both CPUs: every flush is a shootdown, and reclaim may defer
  iommu::Iommu& io = k.add_iommu(iommu::IommuConfig{});
  const uint16_t dev = io.add_device(iommu::DeviceConfig{.name = "dev0", .ats = p.device_ats});
  kernel::iommu_sva_bind_device_strategy(k, mm, io, dev, Pasid{1}, p.iommu);
  const Pasid pasid = *mm.pasid();

  // No working set (both options 0): no VMA, since mmap() of 0 bytes maps nothing.
  if (const uint64_t ws = std::max(p.cpu_working_set, p.device_working_set); ws > 0) {
    kernel::mmap_region(k, mm, Vaddr{kWorkingSet}, ws * kPageSize, kVmRead | kVmWrite, 0, 0);
    kernel::populate(k, mm, Vaddr{kWorkingSet}, ws * kPageSize, true);
  }
  const Layout l = build_range(k, mm, p);

  const WalkContext ctx = k.walk_context(mm);
  // Translations of the range first, then the working set, so the working set is what the
  // caches hold most recently.
  for (uint64_t i = 0; i < p.range_touched && i < l.pages.size(); ++i) {
    k.cpu(kCpu).access(ctx, Vaddr{l.pages[i]}, false);
    io.dma(dev, pasid, Vaddr{l.pages[i]}, false);
  }
  auto touch_working_set = [&](uint64_t* cpu_misses) {
    for (uint64_t i = 0; i < p.cpu_working_set; ++i)
      if (!k.cpu(kCpu).access(ctx, Vaddr{kWorkingSet + i * kPageSize}, false).cached && cpu_misses) ++*cpu_misses;
    for (uint64_t i = 0; i < p.device_working_set; ++i) io.dma(dev, pasid, Vaddr{kWorkingSet + i * kPageSize}, false);
  };
  touch_working_set(nullptr);

  const iommu::CostCounters cpu0 = k.cpu_counters();
  const iommu::CostCounters io0 = io.counters();
  {
    kernel::Task<> t = the_path(k, mm, p, l);
    kernel::run_sync(t);
  }
  WorkloadResult r;
  touch_working_set(&r.cpu_refills);
  r.frames = k.mem().frames_total();
  r.cpu_refill_ns = sat_mul(r.cpu_refills, p.cost.cpu_walk);
  r.cpu = k.cpu_counters() - cpu0;
  r.iommu = io.counters() - io0;
  k.check_invariants();
  const DetectorResult det = detect(log.events());
  r.all_windows = det.windows.size();
  for (const Window& w : det.windows) r.windows += class_info(w.cls).memory_freed;
  return r;
}

}  // namespace tlbsim::scenarios
