// SPDX-License-Identifier: MIT
// tlbsim run: every scenario once under each policy, judged, as a text report (and JSON).
#include <algorithm>
#include <atomic>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/numeric_option.h"
#include "cli/output_set.h"
#include "cli/progress.h"
#include "kernel/policy.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"
#include "scenarios/schedule_option.h"
#include "scenarios/step_listing.h"
#include "scenarios/witness_export.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

/// --schedule: the one selected scenario gets this schedule instead of its own, its steps
/// checked as those of a file are, errors placed in the option's text.
void with_schedule(std::vector<ScenarioFile>& loaded, const Selection& sel, const std::string& text) {
  ScenarioSpec* target = nullptr;
  size_t count = 0;
  for (ScenarioFile& f : loaded)
    for (ScenarioSpec& s : f.scenarios)
      if (sel.selects(s)) {
        ++count;
        target = &s;
      }
  if (count != 1) throw UsageError("--schedule needs exactly one scenario (use --scenario)");
  target->schedule = schedule_from_option(text, *target);
}

}  // namespace

int cmd_run(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim run [FILE...] [options]");
  opts.add_options()("help,h", "show this help");
  add_selection_options(opts, "run only these scenarios");
  opts.add_options()("seed", po::value<std::string>(), "seed for random schedules, 0 to 2^64-1 (overrides the scenario's)")(
      "json", po::value<std::string>(), "also write the report as JSON to this file")(
      "check", "run every model invariant check after each step")("events", "print every event of every run (the full witness trace)")(
      "steps", "print every scheduler step of every run: thread, label, op, events (write a --schedule from it)")(
      "schedule", po::value<std::string>(),
      "replace the schedule of the one selected scenario: a JSON array of steps ('[\"dev:2\",\"T1*\"]') or the same steps separated by "
      "commas")("dot", po::value<std::string>(), "write the happens-before graph of the run (Graphviz); needs one scenario and policy")(
      "trace", po::value<std::string>(), "write the run as a Chrome/Perfetto trace (JSON); needs one scenario and policy");
  add_progress_option(opts);
  const auto vm = parse(args, opts, "file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  const Selection sel = read_selection(vm);
  OutputSet outputs(scenario_inputs(sel.files), named_outputs(vm, {"json", "dot", "trace"}));

  std::vector<ScenarioFile> loaded = load_all(sel.files, sel.limits);
  check_scenario_names(loaded, sel.only);
  if (vm.count("schedule")) with_schedule(loaded, sel, vm["schedule"].as<std::string>());

  RunOptions ro;
  ro.seed = uint_option(vm, "seed", 0, kMaxU64);
  ro.check_invariants = vm.count("check") > 0;
  ro.record_touches = vm.count("dot") > 0;  // the happens-before graph's conflict edges
  // Which run is going ("S under P (i of N)"), and its steps; the reporter thread reads both.
  std::vector<std::string> run_names;
  for (const ScenarioFile& f : loaded)
    for (const ScenarioSpec& s : f.scenarios)
      if (sel.selects(s))
        for (const auto& p : policies_for(s, sel.policies)) run_names.push_back(s.name + " under " + p);
  std::atomic<size_t> current{0};
  std::atomic<uint64_t> steps{0};
  std::atomic<double> run_started{steady_seconds()};
  ro.steps_done = &steps;
  ProgressReporter progress(
      [&](double) -> std::string {
        if (run_names.empty()) return {};
        const size_t i = std::min(current.load(), run_names.size() - 1);
        return run_names[i] + " (" + std::to_string(i + 1) + " of " + std::to_string(run_names.size()) +
               "): " + steps_line(steps.load(), steady_seconds() - run_started.load());
      },
      seconds_option(vm, "progress", 1e9));
  std::string text;
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  bool ok = true;
  std::vector<std::pair<const ScenarioSpec*, RunResult>> single;  // runs to draw with --dot/--trace
  for (const ScenarioFile& f : loaded) {
    ro.file = f.path;
    std::vector<ScenarioOutcome> outcomes;
    for (const ScenarioSpec& s : f.scenarios) {
      if (!sel.selects(s)) continue;
      const std::vector<std::string> run_policies = policies_for(s, sel.policies);
      ScenarioOutcome so{&s, {}};
      for (const auto& p : run_policies) {
        steps = 0;
        run_started = steady_seconds();
        so.policies.push_back(judge(s, run_scenario(s, *kernel::find_policy(p), ro)));
        ++current;
        if (vm.count("dot") || vm.count("trace")) single.emplace_back(&s, so.policies.back().run);
        if (vm.count("steps")) text += step_listing(s, so.policies.back().run);
        if (vm.count("events")) {
          const RunResult& r = so.policies.back().run;
          text += "-- events of " + s.name + " under " + p + "\n";
          for (const Event& e : r.events) text += std::to_string(e.seq.value()) + " " + describe(e, r.actors) + "\n";
        }
      }
      outcomes.push_back(std::move(so));
    }
    text += text_report(f.path, outcomes);
    json.push_back(json_report(f.path, outcomes));
    ok &= all_pass(outcomes);
  }
  progress.stop();
  if (vm.count("dot") || vm.count("trace")) {
    if (single.size() != 1) throw UsageError("--dot and --trace need exactly one scenario and one policy (use --scenario and --policy)");
    if (vm.count("dot")) outputs.set("--dot", happens_before_dot(*single[0].first, single[0].second));
    if (vm.count("trace")) outputs.set("--trace", trace_json(*single[0].first, single[0].second));
  }
  if (vm.count("json")) outputs.set("--json", (loaded.size() == 1 ? json[0] : json).dump(2) + "\n");
  outputs.commit();
  std::cout << text;
  return ok ? kExitOk : kExitExpectation;
}

}  // namespace tlbsim::cli
