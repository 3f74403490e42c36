// SPDX-License-Identifier: MIT
#pragma once
/// `tlbsim run --steps`: every scheduler step of a run, as a schedule is written. A hand
/// schedule names threads and counts their steps ("T1:3") or runs a thread to a label
/// ("T1@change_pte_range"); this listing shows, for each step, the thread, the label it resumed
/// at, the op it ran and whether that op returned, and the events it emitted, so a schedule can
/// be written from a run without reading the kernel paths' source.
#include <string>

#include "scenarios/runner.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// One block per step after priming, in order: "step N: THREAD at LABEL (op K NAME[, returns]),
/// E events" and the events indented below it.
std::string step_listing(const ScenarioSpec& s, const RunResult& r);

}  // namespace tlbsim::scenarios
