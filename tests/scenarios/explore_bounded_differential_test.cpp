// SPDX-License-Identifier: MIT
// The bounded explorer against brute force: on generated scenarios (tests/support/scenario_gen.h),
// DPOR under a preemption bound K must reach exactly the outcomes that running every schedule
// with at most K preemptions reaches. This is what "Never within K preemptions" promises.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <set>

#include "kernel/policy.h"
#include "scenarios/errors.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "support/enumerate.h"
#include "support/sample_size.h"
#include "support/scenario_gen.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;
using namespace tlbsim::test;

namespace {

/// Bounded enumeration beyond this many schedules is skipped (and counted).
constexpr uint64_t kMaxSchedules = 20000;
constexpr int kMaxBound = 2;

struct Totals {
  uint64_t scenarios = 0, rejected = 0, searches = 0, too_large = 0, schedules = 0, executions = 0;
};

void check_seed(uint64_t seed, Totals& t) {
  const std::string text = generate_scenario(seed, 0);
  ScenarioFile f;
  try {
    f = parse_scenario_text(text, "generated.json");
  } catch (const ScenarioError&) {
    ++t.rejected;
    return;
  }
  ++t.scenarios;
  const ScenarioSpec& s = f.scenarios.at(0);
  for (int bound = 0; bound <= kMaxBound; ++bound)
    for (const char* pol : {"old", "fixed"}) {
      const Enumerated all = enumerate_all(s, *kernel::find_policy(pol), bound, kMaxSchedules);
      if (all.capped) {
        ++t.too_large;
        continue;
      }
      // The default split at the first step, and a deeper one (2 to 4 steps, by seed).
      for (const unsigned split : {1u, 2u + static_cast<unsigned>(seed % 3)}) {
        ExploreOptions eo;
        eo.preemptions = bound;
        eo.split_depth = split;
        const ExploreResult r = explore(s, *kernel::find_policy(pol), eo);
        ++t.searches;
        t.schedules += all.schedules;
        t.executions += r.executions + r.pruned;
        INFO("seed " << seed << " (generate_scenario(" << seed << ", 0)) at bound " << bound << " under " << pol << ", split depth "
                     << split << ": " << all.schedules << " schedules, " << all.outcomes.size() << " distinct outcomes; explore: "
                     << r.executions << " executions, " << r.pruned << " pruned, " << r.distinct_outcomes << " distinct outcomes\n"
                     << text);
        CHECK(r.executions <= all.schedules);
        // Every execution DPOR runs is one of the bounded schedules, so equal counts mean equal sets.
        CHECK(r.distinct_outcomes == all.outcomes.size());
        CHECK(explored_properties(r) == all.properties);
      }
    }
}

void run_bounded_differential(const char* what, uint64_t first, uint64_t count) {
  const auto start = std::chrono::steady_clock::now();
  Totals t;
  for (uint64_t seed = first; seed < first + count; ++seed) check_seed(seed, t);
  std::fprintf(
      stderr,
      "%s: %llu seeds, %llu scenarios (%llu rejected by the loader), %llu bounded searches at bounds 0..%d, "
      "split at the first step and deeper (%llu too large to enumerate); %llu schedules enumerated, %llu DPOR executions; %.1f s\n",
      what, static_cast<unsigned long long>(count), static_cast<unsigned long long>(t.scenarios),
      static_cast<unsigned long long>(t.rejected), static_cast<unsigned long long>(t.searches), kMaxBound,
      static_cast<unsigned long long>(t.too_large), static_cast<unsigned long long>(t.schedules),
      static_cast<unsigned long long>(t.executions), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  CHECK(t.rejected * 20 < count);
  CHECK(t.searches * 10 >= count * 2 * 2 * (kMaxBound + 1) * 8);  // most searches are small enough to check
}

}  // namespace

TEST_CASE("explore: bounded DPOR reaches every outcome of every schedule within the bound on a sample of generated scenarios",
          "[scenarios][explore]") {
  run_bounded_differential("bounded explore differential (sample)", 0, sample_size(40));
}

TEST_CASE("explore: bounded DPOR reaches every outcome of every schedule within the bound on 1000 generated scenarios",
          "[scenarios][explore][slow]") {
  run_bounded_differential("bounded explore differential (1000)", 0, 1000);
}
