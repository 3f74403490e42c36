// SPDX-License-Identifier: MIT
// The dependency relation checked directly against the model: whenever two adjacent steps of
// different threads are called independent, running them in the other order must be possible
// and change nothing that matters: every thread emits the same events (up to sequence numbers
// and simulated time) and the detector reaches the same outcome. A relation that misses a read or
// write no event names (the walk-cache walk into a freed table) fails here on the first schedule
// that puts the two steps side by side, without an exhaustive search.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <tuple>

#include "cli/cli_common.h"
#include "kernel/policy.h"
#include "scenarios/detector.h"
#include "scenarios/explore.h"
#include "scenarios/footprint.h"
#include "scenarios/loader.h"
#include "scenarios/rng.h"
#include "scenarios/runner.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

/// Every scenario whose verdicts users rely on: the bundled ones, the exploration regressions
/// and the model's regressions (tests/scenarios/regressions: locks taken by trylock among them).
std::vector<ScenarioSpec> scenarios_to_check() {
  std::vector<ScenarioSpec> out;
  auto add = [&](const std::string& path) {
    for (ScenarioSpec& s : load_scenario_file(path).scenarios) out.push_back(std::move(s));
  };
  add(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  std::vector<std::string> more;
  for (const char* dir : {"/tests/scenarios/explore", "/tests/scenarios/regressions"})
    for (const auto& e : std::filesystem::directory_iterator(std::string(TLBSIM_SOURCE_DIR) + dir))
      if (e.path().extension() == ".json") more.push_back(e.path().string());
  std::sort(more.begin(), more.end());
  for (const std::string& p : more) add(p);
  return out;
}

/// A schedule drawn at random: each step, a uniformly chosen runnable thread.
Schedule random_schedule(const ScenarioSpec& s, const kernel::Policy& policy, uint64_t seed) {
  SplitMix64 rng(seed);
  RunOptions ro;
  ro.chooser = [&](uint64_t ready, const std::vector<StepRecord>&, const std::vector<Event>&) {
    std::vector<int> r;
    for (int t = 0; t < 64; ++t)
      if (ready >> t & 1) r.push_back(t);
    return r[rng.below(r.size())];
  };
  const RunResult run = run_scenario(s, policy, ro);
  Schedule out;
  for (const StepRecord& st : run.trace)
    if (!st.priming) out.push_back(st.thread);
  return out;
}

/// What one thread did, event by event, without the global sequence numbers and times that any
/// reordering changes.
std::vector<std::string> per_thread_events(const RunResult& r, size_t threads) {
  std::vector<std::ostringstream> o(threads);
  for (const StepRecord& st : r.trace)
    for (size_t i = st.ev_begin; i < st.ev_end; ++i) {
      const Event& e = r.events[i];
      o[static_cast<size_t>(st.thread)] << to_string(e.kind) << ' ' << int(e.flags) << ' ' << int(e.level) << ' ' << to_string(e.holder)
                                        << ' ' << e.mm.value() << ' ' << e.tag << ' ' << e.func << ' ' << e.va << ' ' << e.end << ' '
                                        << e.old_val << ' ' << e.new_val << ' ' << e.pfn.value() << ' ' << e.gen << ' ' << e.aux << ' '
                                        << e.note << '\n';
    }
  std::vector<std::string> out;
  for (auto& s : o) out.push_back(s.str());
  return out;
}

/// The outcome explore compares executions by: every metric, the finding kinds, the run status.
std::string outcome(const RunResult& r) {
  const DetectorResult d = detect(r);
  std::string key;
  for (const std::string& m : metric_names()) key += m + "=" + std::to_string(d.metric(m)) + " ";
  std::set<std::string> kinds;
  for (const Finding& f : d.findings) kinds.insert(f.kind);
  for (const std::string& k : kinds) key += "finding:" + k + " ";
  return key + std::string(to_string(r.status));
}

struct Checked {
  uint64_t pairs = 0;  ///< adjacent independent pairs swapped and re-run
};

/// Swap adjacent pairs of independent steps of `sched` (all of them, or `max_pairs` spread evenly)
/// and check the swapped schedule runs and changes nothing.
void check_schedule(const ScenarioSpec& s, const kernel::Policy& policy, const Schedule& sched, uint64_t max_pairs, Checked& c) {
  const RunResult base = replay(s, policy, sched);
  const size_t threads = s.threads.size();
  std::vector<const StepRecord*> steps;
  for (const StepRecord& st : base.trace)
    if (!st.priming) steps.push_back(&st);
  std::vector<StepActor> actors;
  for (const ThreadSpec& t : s.threads) actors.push_back(StepActor{.device = t.kind == ThreadKind::Device, .cpu = t.cpu});
  // As the explorer computes them: in order, each store reading the frames of what is cached.
  std::vector<Footprint> fps;
  StepFootprints sf;
  for (const StepRecord* st : steps) {
    StepActor a = actors[static_cast<size_t>(st->thread)];
    a.hardware = st->hardware;
    a.returns = st->op_stores;
    fps.push_back(sf.next(base.events, st->ev_begin, st->ev_end, st->touches, a));
  }
  std::vector<size_t> candidates;
  for (size_t i = 0; i + 1 < steps.size(); ++i)
    if (steps[i]->thread != steps[i + 1]->thread && !dependent(fps[i], fps[i + 1])) candidates.push_back(i);
  const size_t stride = candidates.size() > max_pairs ? (candidates.size() + max_pairs - 1) / max_pairs : 1;
  const std::vector<std::string> base_events = per_thread_events(base, threads);
  const std::string base_outcome = outcome(base);
  for (size_t k = 0; k < candidates.size(); k += stride) {
    const size_t i = candidates[k];
    Schedule swapped = sched;
    std::swap(swapped[i], swapped[i + 1]);
    INFO(s.name << ": steps " << i << " (" << s.threads[static_cast<size_t>(steps[i]->thread)].name << " " << steps[i]->label << ") and "
                << i + 1 << " (" << s.threads[static_cast<size_t>(steps[i + 1]->thread)].name << " " << steps[i + 1]->label
                << ") called independent; schedule " << schedule_text(s, sched));
    // (a) Neither disables the other: the second step can run first.
    CHECK((steps[i]->runnable >> steps[i + 1]->thread & 1) == 1);
    const RunResult other = replay(s, policy, swapped);
    REQUIRE(other.steps == base.steps);
    // (b) They commute: each thread did exactly the same, and the detector judged the same.
    CHECK(per_thread_events(other, threads) == base_events);
    CHECK(outcome(other) == base_outcome);
    ++c.pairs;
  }
}

void check_all(uint64_t seeds, uint64_t max_pairs) {
  Checked c;
  std::set<std::string> policies;
  for (const ScenarioSpec& s : scenarios_to_check())
    // As `tlbsim explore` picks them without --policy: old, fixed and every policy the scenario's
    // `expect` and `verdicts` name (the release policies' decodings, batches and
    // kernel_pgtable_work run only under those).
    for (const std::string& pol : cli::explore_policies_for(s, {})) {
      policies.insert(pol);
      for (uint64_t seed = 1; seed <= seeds; ++seed) {
        INFO(s.name << " under " << pol << ", seed " << seed);
        check_schedule(s, *kernel::find_policy(pol), random_schedule(s, *kernel::find_policy(pol), seed), max_pairs, c);
      }
    }
  // The check must have had something to check, under the release policies too.
  CHECK(c.pairs > 100);
  CHECK(policies.count("v7.1") == 1);
  CHECK(policies.size() > 4);
}

}  // namespace

TEST_CASE("steps the explorer calls independent commute on random schedules of every bundled scenario, under every policy it states",
          "[scenarios][explore][footprint][heavy]") {
  check_all(20, 100000);
}

TEST_CASE("steps the explorer calls independent commute on 400 random schedules of every bundled scenario, under every policy it states",
          "[scenarios][explore][footprint][slow]") {
  check_all(400, 100000);
}
