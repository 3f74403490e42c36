// SPDX-License-Identifier: MIT
// Interleaving exploration (src/scenarios/explore.cpp) over every bundled scenario under old and
// fixed, at the preemption bound `tlbsim explore` uses by default (the scenario's own, else 2).
//
//   BM_Explore/<scenario>/<policy>            one complete exploration per iteration
//   BM_ExploreUnbounded/<scenario>/<policy>   the same with no preemption bound, for every bundled
//                                             scenario whose unbounded search finishes within
//                                             the default execution budget (docs/explore.md)
//
// Counters: executions = executions explored; pruned = executions cut short by sleep sets;
// naive = interleavings plain enumeration would run (multinomial of the per-thread step counts of
// the least execution, an estimate); enumerated = schedules plain depth-first enumeration under
// the same bound actually runs (tests/support/enumerate.h, run once outside the timing; 0 when
// naive or the count is above kEnumerateCap); reduction = enumerated / (executions +
// pruned), counting every execution the explorer started; execs_per_s = executions and pruned
// per second of wall time.
#include <benchmark/benchmark.h>

#include <string>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "support/enumerate.h"

namespace {

using namespace tlbsim;
using namespace tlbsim::scenarios;

const ScenarioFile& bundled() {
  static const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  return f;
}

/// Plain enumeration beyond this many schedules is left uncounted.
constexpr uint64_t kEnumerateCap = 2'000'000;

void BM_Explore(benchmark::State& state, const ScenarioSpec* s, const kernel::Policy* p, int preemptions) {
  ExploreOptions eo;
  eo.preemptions = preemptions;
  ExploreResult r;
  for (auto _ : state) {
    r = explore(*s, *p, eo);
    benchmark::DoNotOptimize(r.executions);
  }
  // After the loop: not timed. Skipped when the estimate is already past the cap.
  const double naive = r.preemptions < 0 ? r.naive_interleavings : r.naive_bounded;
  double enumerated = 0;
  if (naive > 0 && naive <= static_cast<double>(kEnumerateCap)) {
    const test::Enumerated plain = test::enumerate_all(*s, *p, preemptions, kEnumerateCap);
    if (!plain.capped) enumerated = static_cast<double>(plain.schedules);
  }
  const double started = static_cast<double>(r.executions + r.pruned);
  state.counters["executions"] = static_cast<double>(r.executions);
  state.counters["pruned"] = static_cast<double>(r.pruned);
  state.counters["naive"] = naive;
  state.counters["enumerated"] = enumerated;
  state.counters["reduction"] = started > 0 ? enumerated / started : 0.0;
  state.counters["execs_per_s"] = benchmark::Counter(started * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

const bool kRegistered = [] {
  for (const ScenarioSpec& s : bundled().scenarios)
    for (const char* pol : {"old", "fixed"})
      benchmark::RegisterBenchmark(("BM_Explore/" + s.name + "/" + pol).c_str(), BM_Explore, &s, kernel::find_policy(pol),
                                   preemption_bound(s, std::nullopt))
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1);
  for (const ScenarioSpec& s : bundled().scenarios)
    if (s.name != "intel-svm-full-range-decode" && s.name != "intel-svm-full-range-decode-fixed")  // 2^64 traces
      for (const char* pol : {"old", "fixed"})
        benchmark::RegisterBenchmark(("BM_ExploreUnbounded/" + s.name + "/" + pol).c_str(), BM_Explore, &s, kernel::find_policy(pol), -1)
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
  return true;
}();

}  // namespace
