// SPDX-License-Identifier: MIT
#pragma once
/// Interleaving exploration of one scenario under one policy: every schedule up to partial-order
/// equivalence (stateless DPOR, with sleep sets when unbounded, re-executing the scenario from
/// scratch under a forced schedule prefix), or a seeded random sample. Each answer is Never / Sometimes / Always
/// over the executions explored, with the shortest schedule that shows it. See docs/explore.md.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/explore_part.h"
#include "scenarios/runner.h"
#include "scenarios/shard.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// Deepest --split-depth: the task list is built by running every prefix up to it.
inline constexpr unsigned kMaxSplitDepth = 16;

struct ExploreOptions {
  enum class Mode { Exhaustive, Random } mode = Mode::Exhaustive;
  uint64_t runs = 1000;    ///< random mode: schedules sampled
  uint64_t seed = 1;       ///< random mode: first seed
  uint64_t max_steps = 0;  ///< step budget per execution; 0: the scenario's max_steps
  unsigned jobs = 1;       ///< worker threads; results do not depend on it
  /// Exhaustive mode: at most this many preemptions per schedule (a switch away from a thread
  /// that could have continued); negative: unbounded. Switches after a thread blocks or
  /// finishes are free.
  int preemptions = -1;
  std::atomic<uint64_t>* progress = nullptr;  ///< executions finished so far (for a progress line)
  WorkProgress* work = nullptr;               ///< exhaustive mode: the current round's tasks this process runs (for a progress line)
  std::string file;                           ///< for error messages
  /// Exhaustive mode: stop once this many executions (explored and pruned) would be exceeded;
  /// 0: no limit. Counted over the first-step subtrees in thread order, so whether a search
  /// completes does not depend on `jobs` (docs/explore.md, "Budgets").
  uint64_t max_executions = 0;
  /// Exhaustive mode: stop at this time (the result then depends on the machine's speed).
  std::optional<std::chrono::steady_clock::time_point> deadline;
  /// Exhaustive mode: the search is split into tasks, one per schedule prefix of this many
  /// steps (every prefix, not only those a partial-order reduction would pick; sleep sets and
  /// the bound still apply), each explored on its own. 1: one task per first step. The tasks
  /// and so the counts depend on it; the verdicts do not (docs/scale-out.md).
  unsigned split_depth = 1;
  Shard shard;  ///< the part of the search explore_part() runs
};

/// The default of `tlbsim explore --budget-executions`: executions per scenario and policy,
/// summed over the rounds of iterative context bounding.
inline constexpr uint64_t kDefaultExecutionBudget = 30000;

/// The single bound the tests and the benchmark explore a scenario under when they name none.
/// (`tlbsim explore` without --preemptions bounds iteratively instead: explore_rounds().)
inline constexpr int kDefaultPreemptions = 2;
/// A single round's bound: the one asked for, else the scenario's own ("explore":
/// {"preemptions": N}), else kDefaultPreemptions.
inline int preemption_bound(const ScenarioSpec& s, std::optional<int> requested) {
  return requested ? *requested : s.explore_preemptions.value_or(kDefaultPreemptions);
}

enum class Verdict { Never, Sometimes, Always };
std::string_view to_string(Verdict v);

/// Context switches of a schedule: steps whose thread differs from the previous step's.
unsigned context_switches(const Schedule& s);
/// The schedule in scenario syntax, as a JSON array: ["dev:2","T1:5","dev"].
std::string schedule_text(const ScenarioSpec& s, const Schedule& sched);

struct PropertyResult {
  std::string name;
  Verdict verdict = Verdict::Never;
  uint64_t count = 0;               ///< executions in which it holds
  std::optional<Schedule> witness;  ///< the least execution in which it holds (per witness_less)
  /// The verdict is Sometimes only because of an execution of the deeper round that did not
  /// finish (ExploreResult::stopped), and the witness comes from there.
  bool from_stopped = false;
};

/// A round of iterative context bounding that the budget stopped before it finished.
struct StoppedRound {
  int preemptions = 0;
  uint64_t executions = 0;  ///< executions (explored and pruned) it ran before it stopped
};

struct ExploreResult {
  std::string scenario;
  std::string policy;
  ExploreOptions::Mode mode = ExploreOptions::Mode::Exhaustive;
  uint64_t executions = 0;  ///< executions run to their end (completed, deadlocked or over budget)
  uint64_t pruned = 0;      ///< executions cut short because every runnable thread was asleep
  uint64_t distinct_outcomes = 0;
  int preemptions = -1;            ///< the bound explored under (negative: none)
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
  uint64_t max_steps = 0;                ///< the step budget each execution ran under
  /// The least schedule under which the model itself failed a consistency check, and the check.
  std::optional<std::pair<Schedule, std::string>> invariant;
  /// Exhaustive mode: the search these counts come from ran to its end. False when a budget
  /// stopped it and no round completed; then no Never or Always is established.
  bool complete = true;
  /// Exhaustive mode: the preemption bound kept some schedule out. False: the search is the
  /// unbounded one, whatever `preemptions` says.
  bool bound_cut = false;
  /// A deeper round that the budget stopped; its Sometimes verdicts (real schedules) are merged.
  std::optional<StoppedRound> stopped;
  bool deadline_hit = false;  ///< the wall-clock budget stopped a round (output depends on speed)
  uint64_t spent = 0;         ///< executions run over all rounds, explored and pruned
  int rounds = 1;             ///< rounds of iterative context bounding run (the stopped one too)
};

/// The search of `r` is exhaustive with no bound: it completed and the bound (if any) never
/// kept a schedule out.
inline bool exhaustive_unbounded(const ExploreResult& r) {
  return r.mode == ExploreOptions::Mode::Exhaustive && r.complete && (r.preemptions < 0 || !r.bound_cut);
}

/// Some execution ended before its schedule did: at the step budget, or at a model invariant
/// violation. What the rest of that schedule would have led to was not explored, so no Never or
/// Always is established, whatever the search's scope (verdict_scope(), check_verdicts()).
inline bool cut_short(const ExploreResult& r) { return r.budget.has_value() || r.invariant.has_value(); }

/// Interleavings of threads with `counts` steps each, in which a thread that still has steps
/// left is switched away from at most `preemptions` times (negative: any number). Blocking is
/// ignored, so this is the count plain enumeration would face. 0 if the count needs more than
/// kMaxBoundedCountStates memo states or kMaxBoundedCountSteps steps.
inline constexpr size_t kMaxBoundedCountStates = size_t{1} << 22;
/// ... or more steps in all than this (the count recurses once per step).
inline constexpr uint64_t kMaxBoundedCountSteps = 10000;
double bounded_interleavings(const std::vector<uint64_t>& counts, int preemptions);

ExploreResult explore(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt);

/// Exhaustive mode: the estimated size of every task of the search `opt` describes (its split at
/// opt.split_depth under bound opt.preemptions), in task order: what deal_to_shard() deals the
/// tasks to shards by. For measuring how a split balances (bench/shard_balance.cpp).
std::vector<uint64_t> task_estimates(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt);

/// The part of the search that opt.shard selects, for explore_merge(). Exhaustive mode needs a
/// single round (iterative context bounding decides each round from the whole search).
ExplorePart explore_part(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt);
/// The result of the whole search from parts that together hold every task exactly once (every
/// shard of one count), run with the same options but for opt.shard: the same result as
/// explore(), which is explore_merge() of the one part that holds everything. Throws
/// std::invalid_argument naming a task that is missing or held twice.
ExploreResult explore_merge(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt,
                            const std::vector<ExplorePart>& parts);

/// `tlbsim explore`'s search. With `requested` (--preemptions), one round at that bound. Else
/// first the unbounded search within two thirds of the execution budget (its result, if it completes),
/// then iterative context bounding: rounds at bound floor, floor + 1, ... (floor: the scenario's
/// "explore" bound, else 0) until a round completes that the bound never cut (exhaustive, no
/// bound), or the budget (opt.max_executions over all rounds, opt.deadline) runs out. The
/// result is the deepest completed round's, with the Sometimes verdicts of a stopped deeper
/// round merged in (see docs/explore.md). Random mode: explore() itself.
ExploreResult explore_rounds(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt, std::optional<int> requested);

/// One stated verdict ("verdicts" in the scenario) set against what explore found.
struct VerdictCheck {
  std::string property;
  Verdict stated = Verdict::Never;
  Verdict found = Verdict::Never;
  enum class Status { Holds, Disagrees, NotEstablished } status = Status::Holds;
  std::string detail;               ///< why not established, or what was found instead
  std::optional<Schedule> witness;  ///< a schedule where the property holds, when that disagrees
};
std::string_view to_string(VerdictCheck::Status s);
/// The scenario's stated verdicts for r.policy, by property name. A
/// disagreement needs proof: a real schedule against "never", or a complete unbounded search
/// for "sometimes" and "always". What only a bounded or stopped search supports is
/// NotEstablished, never Holds.
std::vector<VerdictCheck> check_verdicts(const ScenarioSpec& s, const ExploreResult& r);
/// "exhaustive (no bound)", "exhaustive up to K preemptions; bound K+1 not finished within the
/// budget", ... (docs/explore.md).
std::string scope_text(const ExploreResult& r);
/// How far a Never or Always reaches: "exhaustive", "within K preemptions", "not established:
/// search not finished", "random sample".
std::string verdict_scope(const ExploreResult& r);

/// Run one schedule (as explore found it) to its end and return the run, for witnesses.
RunResult replay(const ScenarioSpec& s, const kernel::Policy& policy, const Schedule& sched, uint64_t max_steps = 0);

}  // namespace tlbsim::scenarios
