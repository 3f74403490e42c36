// SPDX-License-Identifier: MIT
#pragma once
/// Interleaving exploration of one scenario under one policy: every schedule up to partial-order
/// equivalence (stateless DPOR with sleep sets, re-executing the scenario from scratch under a
/// forced schedule prefix), or a seeded random sample. Each answer is Never / Sometimes / Always
/// over the executions explored, with the shortest schedule that shows it. See docs/explore.md.
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/runner.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

struct ExploreOptions {
  enum class Mode { Exhaustive, Random } mode = Mode::Exhaustive;
  uint64_t runs = 1000;        ///< random mode: schedules sampled
  uint64_t seed = 1;           ///< random mode: first seed
  uint64_t max_steps = 0;      ///< step budget per execution; 0: the scenario's max_steps
  unsigned jobs = 1;           ///< worker threads; results do not depend on it
  /// Exhaustive mode: at most this many preemptions per schedule (a switch away from a thread
  /// that could have continued); negative: unbounded. Switches after a thread blocks or
  /// finishes are free.
  int preemptions = -1;
  std::atomic<uint64_t>* progress = nullptr;  ///< executions finished so far (for a progress line)
  std::string file;            ///< for error messages
};

/// `tlbsim explore`'s preemption bound when neither the command line nor the scenario names one.
inline constexpr int kDefaultPreemptions = 2;
/// The bound a scenario is explored under: the one asked for, else the scenario's own
/// ("explore": {"preemptions": N}), else the default.
inline int preemption_bound(const ScenarioSpec& s, std::optional<int> requested) {
  return requested ? *requested : s.explore_preemptions.value_or(kDefaultPreemptions);
}

enum class Verdict { Never, Sometimes, Always };
std::string_view to_string(Verdict v);

/// A schedule: the thread index of every step after priming.
using Schedule = std::vector<int>;
/// Context switches of a schedule: steps whose thread differs from the previous step's.
unsigned context_switches(const Schedule& s);
/// Witness order: fewer context switches, then shorter, then lexicographically smaller.
bool witness_less(const Schedule& a, const Schedule& b);
/// The schedule in scenario syntax, as a JSON array: ["dev:2","T1:5","dev"].
std::string schedule_text(const ScenarioSpec& s, const Schedule& sched);

struct PropertyResult {
  std::string name;
  Verdict verdict = Verdict::Never;
  uint64_t count = 0;               ///< executions in which it holds
  std::optional<Schedule> witness;  ///< the least execution in which it holds (per witness_less)
};

struct BudgetExceeded {
  Schedule schedule;
  std::vector<ThreadOutcome> threads;
};

struct ExploreResult {
  std::string scenario;
  std::string policy;
  ExploreOptions::Mode mode = ExploreOptions::Mode::Exhaustive;
  uint64_t executions = 0;  ///< executions run to their end (completed, deadlocked or over budget)
  uint64_t pruned = 0;      ///< executions cut short because every runnable thread was asleep
  uint64_t distinct_outcomes = 0;
  int preemptions = -1;  ///< the bound explored under (negative: none)
  double naive_interleavings = 0;  ///< multinomial of per-thread step counts of the first execution
  /// Of those, the interleavings with at most `preemptions` preemptions: what plain enumeration
  /// under the same bound would run. Equal to naive_interleavings when unbounded; 0 when the
  /// step counts are too large to count them (more than kMaxBoundedCountStates states).
  double naive_bounded = 0;
  /// Window classes, findings and run statuses ("freed", "use-after-free", "deadlock", ...).
  std::vector<PropertyResult> properties;
  /// The scenario's expectations for this policy: verdict of "the bound holds"; the witness is a
  /// counterexample (an execution where it fails), kept when the verdict is not Always.
  std::vector<PropertyResult> expectations;
  std::optional<BudgetExceeded> budget;  ///< the least schedule that exceeded the step budget
  /// The least schedule under which the model itself failed a consistency check, and the check.
  std::optional<std::pair<Schedule, std::string>> invariant;
};

/// Interleavings of threads with `counts` steps each, in which a thread that still has steps
/// left is switched away from at most `preemptions` times (negative: any number). Blocking is
/// ignored, so this is the count plain enumeration would face. 0 if the count needs more than
/// kMaxBoundedCountStates memo states or kMaxBoundedCountSteps steps.
inline constexpr size_t kMaxBoundedCountStates = size_t{1} << 22;
/// ... or more steps in all than this (the count recurses once per step).
inline constexpr uint64_t kMaxBoundedCountSteps = 10000;
double bounded_interleavings(const std::vector<uint64_t>& counts, int preemptions);

ExploreResult explore(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt);

/// Run one schedule (as explore found it) to its end and return the run, for witnesses.
RunResult replay(const ScenarioSpec& s, const kernel::Policy& policy, const Schedule& sched, uint64_t max_steps = 0);

}  // namespace tlbsim::scenarios
