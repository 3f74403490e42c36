// SPDX-License-Identifier: MIT
#pragma once
/// One run drawn two ways: its happens-before graph (Graphviz DOT, built as a Boost.Graph) and
/// its timeline as Chrome/Perfetto trace-event JSON. Both are pure functions of the run.
#include <string>

#include "scenarios/explore.h"
#include "scenarios/runner.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// The witness `--dot`/`--trace` draw: the named property or expectation (its counterexample),
/// or by default the most severe property that holds somewhere. Null when there is none.
const PropertyResult* pick_witness(const ExploreResult& r, const std::string& name);

/// Nodes: the steps after priming (thread, label, what the step did). Edges: program order, and
/// for dependent steps of different threads (see footprint.h) the order they ran in, reduced to
/// the latest such step of each other thread.
std::string happens_before_dot(const ScenarioSpec& s, const RunResult& r);

/// Trace-event JSON: a track per thread (its steps as spans, its events as instants) and per
/// translation cache (fills, drops, and stale-translation windows as spans coloured by class).
/// Timestamps are event sequence numbers in microseconds, so every event is visible; simulated
/// time is in each event's args. Setup events (before the first scheduled step) are left out.
std::string trace_json(const ScenarioSpec& s, const RunResult& r);

}  // namespace tlbsim::scenarios
