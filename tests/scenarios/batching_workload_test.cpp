// SPDX-License-Identifier: MIT
// Batching workloads on the kernel paths: every workload runs under fixed with no window for
// every strategy; over-invalidation shows up as refills; fork's requests are counted.
#include <catch2/catch.hpp>

#include <utility>

#include "kernel/flush_strategy.h"
#include "kernel/kernel.h"
#include "scenarios/batching_workload.h"

namespace tlbsim::scenarios {
namespace {

WorkloadParams params(Workload w, uint64_t pages, const std::string& cpu, const std::string& io) {
  WorkloadParams p;
  p.workload = w;
  p.pages = pages;
  p.vmas = 8;
  p.cpu_working_set = 32;
  p.device_working_set = 16;
  p.cpu = kernel::parse_strategy(cpu, nullptr)->cpu;
  p.iommu = kernel::parse_strategy(io, nullptr)->iommu;
  return p;
}

TEST_CASE("every workload under fixed opens no stale-translation window, whatever the strategies", "[scenarios][batching]") {
  for (const auto& w : workloads())
    for (const char* cpu : {"cpu:per-page", "cpu:full", "cpu:deferred"})
      for (const char* io : {"iommu:per-page", "iommu:range", "iommu:full-above:4"}) {
        INFO(std::string(w.name) + " " + cpu + " " + io);
        const WorkloadResult r = run_workload(params(w.workload, 12, cpu, io));
        CHECK(r.windows == 0);
        CHECK(r.iommu.sec_inv_requests > 0);
      }
}

TEST_CASE("the detector sees munmap's windows between PTE clear and flush, all closed before the free", "[scenarios][batching]") {
  for (const char* policy : {"old", "fixed"}) {
    WorkloadParams p = params(Workload::MunmapDense, 16, "cpu:per-page", "iommu:cmdq");
    p.policy = policy;
    const WorkloadResult r = run_workload(p);
    INFO(policy);
    CHECK(r.all_windows > 0);
    CHECK(r.windows == 0);
  }
}

TEST_CASE("whole-space invalidation costs refills of the working set, per-page invalidation does not", "[scenarios][batching]") {
  const WorkloadParams pp = params(Workload::MunmapDense, 8, "cpu:per-page", "iommu:cmdq");
  const WorkloadParams cf = params(Workload::MunmapDense, 8, "cpu:full", "iommu:cmdq");
  const WorkloadParams iof = params(Workload::MunmapDense, 8, "cpu:per-page", "iommu:full");
  const WorkloadResult page = run_workload(pp);
  const WorkloadResult cpu_full = run_workload(cf);
  const WorkloadResult io_full = run_workload(iof);
  CHECK(page.cpu_refills == 0);
  CHECK(page.iommu.atc_misses == 0);
  // Every page of the working set was cached before the path; a full flush drops them all.
  CHECK(cpu_full.cpu_refills == cf.cpu_working_set);
  CHECK(cpu_full.cpu_refill_ns == cf.cpu_working_set * cf.cost.cpu_walk);
  // FIXED passes the widened (0, -1) of a full CPU flush on to the IOMMU: its caches go too.
  CHECK(cpu_full.iommu.atc_misses == cf.device_working_set);
  CHECK(io_full.iommu.atc_misses == iof.device_working_set);
  CHECK(io_full.iommu.iotlb_misses == iof.device_working_set);
  CHECK(io_full.cpu_refills == 0);
  CHECK(io_full.iommu.refill_ns == iof.device_working_set * (iof.cost.atc_miss + iof.cost.iotlb_walk));
}

TEST_CASE("a working set that would run into the workload's range is refused", "[scenarios][batching]") {
  WorkloadParams p = params(Workload::MunmapDense, 8, "cpu:per-page", "iommu:cmdq");
  CHECK(kMaxWorkingSetPages * kPageSize == kWorkloadRangeBase - kWorkloadWorkingSetBase);
  p.cpu_working_set = kMaxWorkingSetPages + 1;
  CHECK_THROWS_AS(run_workload(p), std::invalid_argument);
  p.cpu_working_set = 32;
  p.device_working_set = ~uint64_t{0};
  CHECK_THROWS_AS(run_workload(p), std::invalid_argument);
}

TEST_CASE("the workload estimate covers the frames every workload makes, at every size and strategy tried",
          "[scenarios][batching][memory]") {
  for (const auto& w : workloads())
    for (const uint64_t pages : {uint64_t{1}, uint64_t{33}, uint64_t{200}})
      for (const auto& [cpu, io] : {std::pair{"cpu:per-page", "iommu:per-page"}, std::pair{"cpu:full", "iommu:full"}}) {
        WorkloadParams p = params(w.workload, pages, cpu, io);
        // Fork with a VMA per page, the most tables. At most 200 pages: under ASan (-O1) a
        // coroutine's symmetric transfer is no tail call, so the stack grows with each page or
        // VMA a path completes at once, and migrating 600 pages or forking 3000 VMAs overflowed
        // it (the RelWithDebInfo build ran 262,144 of each: docs/scale-out.md, kForkBytesPerVma).
        p.vmas = static_cast<unsigned>(pages);
        const WorkloadResult r = run_workload(p);
        const MemoryEstimate e = estimate_workload(p);
        INFO(std::string(w.name) << " " << pages << " pages " << cpu << " " << io << ": made " << r.frames << " frames, estimated "
                                 << e.frames);
        CHECK(r.frames > pages);
        CHECK(r.frames <= e.frames);
        CHECK(e.bytes > w.bytes_per_page * pages);
      }
}

TEST_CASE("a workload the model has too few frames for is refused before anything is built", "[scenarios][batching][memory]") {
  // Reclaim maps a file of 4N pages: at N = 2^20 that is every one of the model's 2^22 frames
  // before the working set and the page tables.
  WorkloadParams p = params(Workload::Reclaim, uint64_t{1} << 20, "cpu:per-page", "iommu:cmdq");
  CHECK(estimate_workload(p).frames > kernel::MachineConfig{}.mem.max_frames);
  CHECK_THROWS_WITH(run_workload(p), Catch::Contains("frames, more than the model's 4194304"));
  p.pages = uint64_t{1} << 18;
  CHECK(estimate_workload(p).frames <= kernel::MachineConfig{}.mem.max_frames);
}

TEST_CASE("the workload estimate names the option that costs most", "[scenarios][batching][memory]") {
  WorkloadParams p = params(Workload::Fork, 4096, "cpu:per-page", "iommu:cmdq");
  CHECK(estimate_workload(p).largest == "--sizes");
  p.vmas = 4096;
  const MemoryEstimate per_page = estimate_workload(p);
  CHECK(per_page.largest == "--vmas");
  p.vmas = 100000;  // fork spreads the pages over at most one VMA each
  CHECK(estimate_workload(p).bytes == per_page.bytes);
  p.device_working_set = kMaxWorkingSetPages;
  CHECK(estimate_workload(p).largest == "--device-working-set");
}

TEST_CASE("every workload runs with no working set at all", "[scenarios][batching]") {
  for (const auto& w : workloads()) {
    INFO(w.name);
    WorkloadParams p = params(w.workload, 8, "cpu:full", "iommu:full");
    p.cpu_working_set = 0;
    p.device_working_set = 0;
    const WorkloadResult r = run_workload(p);
    CHECK(r.cpu_refills == 0);
    CHECK(r.iommu.atc_misses == 0);
  }
}

TEST_CASE("reclaim flushes once at the end when deferred, once per page otherwise", "[scenarios][batching]") {
  const WorkloadResult deferred = run_workload(params(Workload::Reclaim, 10, "cpu:deferred", "iommu:cmdq"));
  const WorkloadResult each = run_workload(params(Workload::Reclaim, 10, "cpu:per-page", "iommu:cmdq"));
  CHECK(deferred.cpu.cpu_flushes == 1);
  CHECK(each.cpu.cpu_flushes == 10);
}

TEST_CASE("fork of 100 VMAs: one secondary request under fixed, one per COW VMA under old", "[scenarios][batching]") {
  WorkloadParams p = params(Workload::Fork, 200, "cpu:per-page", "iommu:cmdq");
  p.vmas = 100;
  CHECK(run_workload(p).iommu.sec_inv_requests == 1);
  p.policy = "old";
  CHECK(run_workload(p).iommu.sec_inv_requests == 101);  // the 100 VMAs and the working set's
}

TEST_CASE("run_workload rejects an unknown policy and an empty range", "[scenarios][batching]") {
  WorkloadParams p;
  p.policy = "nonesuch";
  CHECK_THROWS_AS(run_workload(p), std::invalid_argument);
  p.policy = "fixed";
  p.pages = 0;
  CHECK_THROWS_AS(run_workload(p), std::invalid_argument);
}

}  // namespace
}  // namespace tlbsim::scenarios
