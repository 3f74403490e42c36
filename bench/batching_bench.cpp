// SPDX-License-Identifier: MIT
// Invalidation strategies on the batching workloads (src/scenarios/batching_workload.h): each
// iteration builds the machine, runs the kernel path over N pages under one CPU or IOMMU
// strategy, re-touches the working set and runs the detector. The benchmark's own time is the
// simulator's wall time for all of that; the counters are the simulated figures.
//
//   BM_Batching/<workload>/<policy>/<strategy>/N
//
// Counters (from the last iteration; the run is deterministic): sec_inv (secondary-TLB
// invalidation requests), cpu_flushes, commands (IOMMU + ATC), syncs, inv_ns (simulated CPU +
// IOMMU invalidation ns), refill_misses (CPU TLB, IOTLB and ATC misses in the re-touch),
// refill_ns, windows (stale-translation windows the detector found still open when their frame
// or page table was freed; 0 under fixed), stale_windows (the others: the window every path
// has between clearing a PTE and its flush, closed before the free), and
// sim_wall_us (wall time of one iteration).
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <utility>

#include "kernel/flush_strategy.h"
#include "scenarios/batching_workload.h"

namespace tlbsim {
namespace {

void BM_Batching(benchmark::State& state, scenarios::Workload w, std::string policy, const std::string& strategy) {
  std::string err;
  const auto s = kernel::parse_strategy(strategy, &err);
  if (!s) {
    state.SkipWithError(err.c_str());
    return;
  }
  scenarios::WorkloadParams p;
  p.workload = w;
  p.pages = uint64_t(state.range(0));
  p.policy = std::move(policy);
  // The other side is held where its requests stay exact (CPU) or as the kernel has it (IOMMU).
  const bool cpu = s->side == kernel::StrategySide::Cpu;
  p.cpu = cpu ? s->cpu : kernel::parse_strategy("cpu:per-page", nullptr)->cpu;
  p.iommu = cpu ? kernel::parse_strategy("iommu:full-above:511", nullptr)->iommu : s->iommu;
  scenarios::WorkloadResult r;
  double wall_us = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      r = scenarios::run_workload(p);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
    wall_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  state.counters["sec_inv"] = double(r.iommu.sec_inv_requests);
  state.counters["cpu_flushes"] = double(r.cpu.cpu_flushes);
  state.counters["commands"] = double(r.iommu.iommu_commands + r.iommu.atc_commands);
  state.counters["syncs"] = double(r.iommu.syncs);
  state.counters["inv_ns"] = double(r.invalidation_ns());
  state.counters["refill_misses"] = double(r.refill_misses());
  state.counters["refill_ns"] = double(r.cpu_refill_ns + r.iommu.refill_ns);
  state.counters["windows"] = double(r.windows);
  state.counters["stale_windows"] = double(r.all_windows - r.windows);
  state.counters["sim_wall_us"] = state.iterations() ? wall_us / double(state.iterations()) : 0;
}

[[maybe_unused]] const int kRegistered = [] {
  const char* const strategies[] = {"cpu:per-page", "cpu:full-above:33",    "cpu:full",  "cpu:deferred", "iommu:per-page", "iommu:cmdq",
                                    "iommu:range",  "iommu:full-above:511", "iommu:full"};
  for (const auto& w : scenarios::workloads())
    for (const char* policy : {"fixed", "old"})
      for (const char* s : strategies) {
        const std::string name = "BM_Batching/" + std::string(w.name) + "/" + policy + "/" + s;
        benchmark::RegisterBenchmark(name.c_str(), BM_Batching, w.workload, std::string(policy), std::string(s))
            ->Arg(32)
            ->Arg(512)
            ->Unit(benchmark::kMicrosecond);
      }
  return 0;
}();

}  // namespace
}  // namespace tlbsim
