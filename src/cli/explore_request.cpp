// SPDX-License-Identifier: MIT
#include "cli/explore_request.h"

#include "cli/numeric_option.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

void add_explore_options(po::options_description& opts) {
  add_selection_options(opts, "explore only these scenarios");
  opts.add_options()("mode", po::value<std::string>()->default_value("exhaustive"),
                     "exhaustive (every schedule up to reordering of independent steps) or random")(
      "runs", po::value<std::string>()->default_value("1000"), "random mode: schedules to sample (at least 1)")(
      "seed", po::value<std::string>()->default_value("1"), "random mode: seed of the first schedule (0 to 2^64-1)")(
      "max-steps", po::value<std::string>(), "step budget per execution, 1 to 2^32 (default: the scenario's max_steps)")(
      "preemptions", po::value<std::string>(),
      "exhaustive mode: one search with at most this many preemptions per schedule, -1 (unbounded) to 64. Default: iterative context "
      "bounding from the scenario's \"explore\" bound (else 0) up, until a search completes unbounded or the budget runs out "
      "(docs/explore.md)")(
      "budget-executions", po::value<std::string>()->default_value(std::to_string(kDefaultExecutionBudget)),
      "exhaustive mode: executions per scenario and policy, over all bounds (0: no limit); deterministic, the same for every --jobs")(
      "budget", po::value<std::string>(),
      "exhaustive mode: also stop each scenario and policy after this many seconds, more than 0 (the output then depends on the machine's "
      "speed)")("split-depth", po::value<std::string>()->default_value("1"),
                "exhaustive mode: split the search into one task per schedule prefix of this many steps, 1 to 16; deeper gives more, "
                "smaller tasks to share among --jobs and --shard (counts change, verdicts do not; docs/scale-out.md)");
}

ExploreRequest read_explore_request(const po::variables_map& vm) {
  ExploreRequest rq;
  rq.sel = read_selection(vm);
  ExploreOptions& eo = rq.eo;
  const std::string mode = vm["mode"].as<std::string>();
  if (mode == "exhaustive")
    eo.mode = ExploreOptions::Mode::Exhaustive;
  else if (mode == "random")
    eo.mode = ExploreOptions::Mode::Random;
  else
    throw UsageError("--mode: expected exhaustive or random, got \"" + mode + "\"");
  eo.runs = *uint_option(vm, "runs", 1, kMaxU64);
  eo.seed = *uint_option(vm, "seed", 0, kMaxU64);
  // The same limit as a scenario's own max_steps.
  eo.max_steps = uint_option(vm, "max-steps", 1, uint64_t{1} << 32).value_or(0);
  if (const auto k = int_option(vm, "preemptions", -1, kMaxExplorePreemptions)) rq.preemptions = static_cast<int>(*k);
  eo.max_executions = *uint_option(vm, "budget-executions", 0, kMaxU64);
  eo.split_depth = static_cast<unsigned>(*uint_option(vm, "split-depth", 1, kMaxSplitDepth));
  rq.seconds = seconds_option(vm, "budget", 1e9);
  return rq;
}

std::vector<ExploreJob> explore_jobs(const std::vector<ScenarioFile>& loaded, const Selection& sel) {
  check_scenario_names(loaded, sel.only);
  std::vector<ExploreJob> jobs;
  for (const ScenarioFile& f : loaded)
    for (const ScenarioSpec& s : f.scenarios) {
      if (!sel.selects(s)) continue;
      for (const auto& p : explore_policies_for(s, sel.policies)) jobs.push_back(ExploreJob{&f, &s, p});
    }
  return jobs;
}

}  // namespace tlbsim::cli
