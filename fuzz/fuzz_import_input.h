// SPDX-License-Identifier: MIT
#pragma once
/// What one input of fuzz_import does, shared by the libFuzzer target and the regression test
/// that replays tests/trace/fuzz/ in the ordinary test suite.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_inputs.h"
#include "trace/import.h"
#include "trace/trace_file.h"

namespace tlbsim::fuzz {

/// `text` as a trace through tlbsim import's path: read_trace(), import_trace() (device on the
/// busiest process, window:4), the loader on the scenario written, and, within fuzz_run's caps,
/// a run under old and fixed with every invariant checked. A trace the importer refuses ends in
/// ImportErrorException, the expected outcome; a written scenario the loader refuses throws
/// std::logic_error (tlbsim import calls it an internal error); any exception of a run (an
/// invariant violated, a schedule the runner cannot follow) propagates. Returns the runs made.
inline int import_input(std::string_view text) {
  uint64_t unreadable = 0;
  const trace::Trace tr = trace::read_trace(text, 8, &unreadable);
  trace::ImportResult r;
  try {
    r = trace::import_trace(
        tr.records,
        {.device = trace::ImportOptions::Device::Busiest, .device_access = trace::ImportOptions::DeviceAccess::Window, .window = 4},
        tr.faults);
  } catch (const trace::ImportErrorException&) {
    return 0;
  }
  scenarios::ScenarioFile f;
  try {
    f = scenarios::parse_scenario_text(r.document.dump(), "imported.json", scenarios::LoadLimits{.max_memory_mib = UINT64_MAX});
  } catch (const scenarios::ScenarioError& e) {
    throw std::logic_error(std::string("import wrote a scenario the loader refuses: ") + e.what());
  }
  scenarios::ScenarioSpec& s = f.scenarios.at(0);
  if (s.max_steps > kMaxSteps) s.max_steps = kMaxSteps;
  if (!small_enough(s)) return 0;
  int runs = 0;
  for (const char* p : {"old", "fixed"}) {
    (void)scenarios::judge(s, scenarios::run_scenario(s, *kernel::find_policy(p), {.check_invariants = true, .file = f.path}));
    ++runs;
  }
  return runs;
}

}  // namespace tlbsim::fuzz
