// SPDX-License-Identifier: MIT
#pragma once
/// Plain depth-first enumeration of every schedule of a scenario, with no reduction: the
/// baseline the explorer's DPOR is checked against.
#include <cstdint>
#include <set>
#include <string>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/spec.h"

namespace tlbsim::test {

/// Every schedule of a scenario (with at most `preemptions` preemptions, counted as explore
/// counts them; negative: any number): the outcome key of each run (the detector's metrics,
/// finding kinds and run status, as explore counts distinct outcomes) and the properties that
/// held in at least one run. A run that breaks a model invariant ends at the step that broke it
/// and counts as the outcome "invariant violated: ..." with the property "model invariant
/// violated", as explore counts it.
struct Enumerated {
  uint64_t schedules = 0;
  uint64_t cut = 0;  ///< runs stopped with every runnable thread over the bound (never: continuing is free)
  /// Enumeration stopped after `max_schedules` schedules with more left: the sets are partial.
  bool capped = false;
  std::set<std::string> outcomes;
  std::set<std::string> properties;
};

/// `max_schedules` 0: no cap. With `every_batch_order`, every IOMMU completes its batches one
/// command per step, in every order its device allows (queue order, or with
/// `cmds_complete_in_order` false every permutation): each order is a choice of the enumeration
/// like a thread's step (RunOptions::batch_order).
Enumerated enumerate_all(const scenarios::ScenarioSpec& s, const kernel::Policy& policy, int preemptions = -1, uint64_t max_schedules = 0,
                         bool every_batch_order = false);

/// The properties an exploration found (not Never), named as enumerate_all() names them; deadlock
/// and the step budget are explore's own verdicts, left out.
std::set<std::string> explored_properties(const scenarios::ExploreResult& r);

}  // namespace tlbsim::test
