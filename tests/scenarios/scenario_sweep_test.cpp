// SPDX-License-Identifier: MIT
#include "scenarios/scenario_sweep.h"

#include <catch2/catch.hpp>

#include "kernel/policy.h"
#include "scenarios/loader.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

// A device bound to an mm touches 16 pages, then the CPU unmaps 8 of them and the device reads
// the other 8 again: the IOMMU side's strategy decides how many commands the munmap sends and
// whether the device pays refills for the pages that stayed mapped.
const char* kMunmapHalf = R"({"scenarios": [{
  "name": "munmap-half", "source": "test",
  "devices": [{"name": "dev", "decoding": "amd"}],
  "mms": [{"name": "mm", "bind": ["dev"], "vmas": [{"start": "0x100000", "pages": 16, "populate": "write"}]}],
  "threads": [
    {"name": "D", "device": "dev", "mm": "mm", "ops": [
      {"op": "dma_read", "addr": "0x100000", "pages": 16}, {"op": "dma_read", "addr": "0x108000", "pages": 8}]},
    {"name": "A", "cpu": 0, "mm": "mm", "ops": [{"op": "munmap", "addr": "0x100000", "pages": 8}]}
  ],
  "schedule": ["D:op", "A:op", "D:op"]
}]})";

kernel::Strategy strategy(const char* spec) {
  std::string error;
  const auto s = kernel::parse_strategy(spec, &error);
  REQUIRE(s);
  return *s;
}

ScenarioSweepResult run_with_iommu(const char* spec, const char* policy) {
  const ScenarioFile f = parse_scenario_text(kMunmapHalf, "test.json");
  const kernel::Strategy cpu = strategy("cpu:per-page");
  return run_scenario_strategy(f.scenarios[0], *kernel::find_policy(policy), cpu.cpu, strategy(spec).iommu, f.scenarios[0].cost);
}

}  // namespace

TEST_CASE("a scenario sweep's IOMMU strategy decides the commands the scenario's munmap sends", "[scenarios][sweep]") {
  const ScenarioSweepResult per_page = run_with_iommu("iommu:per-page", "fixed");
  const ScenarioSweepResult range = run_with_iommu("iommu:range", "fixed");
  REQUIRE(per_page.completed);
  REQUIRE(range.completed);
  // One command per unmapped page against one for the range.
  CHECK(per_page.iommu.iommu_commands > range.iommu.iommu_commands);
  CHECK(per_page.iommu.iommu_commands >= 8);
}

TEST_CASE("a scenario sweep charges a full flush's over-invalidation as the device's refills", "[scenarios][sweep]") {
  const ScenarioSweepResult range = run_with_iommu("iommu:range", "fixed");
  const ScenarioSweepResult full = run_with_iommu("iommu:full", "fixed");
  // The pages that stayed mapped lost their IOTLB entries only under the full flush.
  CHECK(full.iommu.iotlb_misses > range.iommu.iotlb_misses);
  CHECK(full.iommu.refill_ns > range.iommu.refill_ns);
}

TEST_CASE("a scenario sweep counts no window after return under the fixed policy for any IOMMU strategy", "[scenarios][sweep]") {
  for (const char* spec : {"iommu:per-page", "iommu:cmdq", "iommu:range", "iommu:full-above:4", "iommu:full"}) {
    INFO(spec);
    const ScenarioSweepResult r = run_with_iommu(spec, "fixed");
    CHECK(r.completed);
    CHECK(r.after_return == 0);
    CHECK(r.unsafe == 0);
  }
}

TEST_CASE("a scenario sweep's totals are the CPU and IOMMU invalidation cost plus the refills", "[scenarios][sweep]") {
  const ScenarioSweepResult r = run_with_iommu("iommu:range", "old");
  CHECK(r.invalidation_ns() == r.cpu.cpu_flush_ns + r.iommu.iommu_ns);
  CHECK(r.total_ns() == r.invalidation_ns() + r.iommu.refill_ns);
  CHECK(r.cpu.cpu_flushes > 0);
}
