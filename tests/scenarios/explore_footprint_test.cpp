// SPDX-License-Identifier: MIT
// Exploration whose soundness rests on recorded footprints (model/touch.h), not on events: cases
// where a step reads state that no event names.
#include <catch2/catch.hpp>

#include "kernel/policy.h"
#include "scenarios/detector.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {
const PropertyResult& property(const ExploreResult& r, const std::string& name) {
  for (const auto& p : r.properties)
    if (p.name == name) return p;
  FAIL("no property " << name);
  throw;
}
}  // namespace

TEST_CASE("explore finds the use-after-free of a PTE table that a walk-cache walk reads without an event", "[scenarios][explore]") {
  // The device's third DMA starts its walk from the IOMMU walk-cache entry that still points at
  // the PTE table khugepaged freed (v6.0, no notifier call). The walk reads that page; no event
  // names the read, and an explorer that built footprints from events alone called the free
  // independent of it and answered Never.
  const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/tests/scenarios/explore/khugepaged-walk-cache-uaf.json");
  const ScenarioSpec& s = f.scenarios.at(0);
  const ExploreResult old = explore(s, *kernel::find_policy("old"), ExploreOptions{});
  const PropertyResult& uaf = property(old, "use-after-free");
  CHECK(uaf.verdict == Verdict::Sometimes);
  REQUIRE(uaf.witness);
  const RunResult run = replay(s, *kernel::find_policy("old"), *uaf.witness);
  CHECK(detect(run).metric("use-after-free") > 0);
  const ExploreResult fixed = explore(s, *kernel::find_policy("fixed"), ExploreOptions{});
  CHECK(property(fixed, "use-after-free").verdict == Verdict::Never);
  CHECK(property(fixed, "table-freed").verdict == Verdict::Never);
}
