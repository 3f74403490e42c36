// SPDX-License-Identifier: MIT
#pragma once
/// The valid-scenario soak (issue 16): generate valid scenarios (valid_scenario_gen.h), run each
/// under every policy with every invariant checked, under its own schedule and a few seeded
/// random ones, then a short random `explore`; count what ended how. A scenario that validates
/// must never end in an internal error (InvariantViolation, `tlbsim` exit 3), nor in any other
/// exception: the generator writes no explicit schedules, so not even a ScenarioError about an
/// unfollowable schedule has a reason to occur.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/runner.h"
#include "scenarios/spec.h"

namespace tlbsim::test {

struct SoakOptions {
  uint64_t first_seed = 0;
  uint64_t scenarios = 200;
  std::vector<std::string> policies{"old", "fixed"};
  unsigned random_schedules = 2;  ///< seeded random schedules per scenario and policy, besides its own
  uint64_t explore_runs = 20;     ///< explore --mode random runs per scenario and policy (0: none)
  bool verbose = false;           ///< a line per scenario on stderr: seed, seconds, internal errors so far
};

/// One internal error: the first seed that showed it, and how to get there again.
struct SoakFinding {
  uint64_t seed = 0;
  std::string policy;
  std::string how;      ///< "own schedule", "random schedule N", "explore random (schedule [...])"
  std::string message;  ///< the exception's full text
};

struct SoakStats {
  uint64_t scenarios = 0;
  uint64_t loader_rejected = 0;
  uint64_t runs = 0;                                  ///< checked runs (own and random schedules)
  uint64_t explore_runs = 0;                          ///< executions explore ran
  uint64_t internal_errors = 0;                       ///< runs and explorations that ended in an internal error
  std::map<std::string, uint64_t> statuses;           ///< checked runs by end status
  std::map<std::string, uint64_t> first_status_seed;  ///< the first seed that ended so, for each status but "completed"
  std::map<std::string, uint64_t> errors;             ///< internal errors by where they were raised
  std::map<std::string, SoakFinding> first_finding;   ///< by the same key
  std::map<std::string, uint64_t> rejections;         ///< loader messages, for fixing the generator
  std::vector<uint64_t> rejected_seeds;
  double seconds = 0;
};

/// The end status the soak gives a deadlocked checked run of the race the kernel source has
/// (docs/kernel-notes.md section 24, tests/scenarios/kernel-races): a thread waits in
/// migration_entry_wait() in a scenario where ksmd merges pages of an mm that migrate_vma
/// migrates. Counted apart from "deadlock", which stays a model bug.
inline constexpr const char* kKsmWindowStatus = "deadlock in KSM's NULL-stable-node window (a kernel race)";
/// Whether a deadlocked run may be that race (the test above).
bool ksm_window_deadlock(const scenarios::ScenarioSpec& s, const scenarios::RunResult& r);

/// Runs seeds first_seed .. first_seed + scenarios - 1.
SoakStats run_soak(const SoakOptions& opt);

/// The one-line summary: scenarios, loader rejections, runs, end statuses, internal errors by
/// where they were raised, time.
std::string soak_summary(const char* what, const SoakStats& s);

/// An exception's grouping key: "file:line" of the check that failed, else its first line.
std::string error_key(const std::string& what);

/// A run with every invariant checked after each step: seed 0 follows the scenario's own
/// schedule, another seed picks a runnable thread at random at every step.
scenarios::RunResult run_checked(const scenarios::ScenarioSpec& s, const kernel::Policy& policy, uint64_t seed);

}  // namespace tlbsim::test
