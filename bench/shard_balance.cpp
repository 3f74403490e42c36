// SPDX-License-Identifier: MIT
// How a sharded exhaustive search balances, measured: runs the whole search once in this
// process (one worker), task by task, timing it, then deals the measured tasks to N shards as
// `explore --shard K/N` does (deal_to_shard() over task_estimates()) and projects the time N
// shards take side by side on N equal cores: the per-shard fixed cost (loading and splitting,
// measured here as task_estimates()) plus the largest shard's executions at the measured rate.
// docs/scale-out.md quotes its output.
//
//   tlbsim_shard_balance FILE SCENARIO POLICY PREEMPTIONS SPLIT_DEPTH N...
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "scenarios/shard.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s FILE SCENARIO POLICY PREEMPTIONS SPLIT_DEPTH N...\n", argv[0]);
    return 2;
  }
  const ScenarioFile file = load_scenario_file(argv[1]);
  const ScenarioSpec* spec = nullptr;
  for (const ScenarioSpec& s : file.scenarios)
    if (s.name == argv[2]) spec = &s;
  const kernel::Policy* policy = kernel::find_policy(argv[3]);
  if (!spec || !policy) {
    std::fprintf(stderr, "no scenario '%s' in %s, or no policy '%s'\n", argv[2], argv[1], argv[3]);
    return 2;
  }
  // As tlbsim explore does (src/cli/cmd_explore.cpp): keep freed machines' memory in the process.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ExploreOptions opt;
  opt.file = argv[1];
  opt.preemptions = std::atoi(argv[4]);
  opt.split_depth = static_cast<unsigned>(std::atoi(argv[5]));
  opt.max_executions = 0;

  auto t0 = std::chrono::steady_clock::now();
  const std::vector<uint64_t> estimates = task_estimates(*spec, *policy, opt);
  const double fixed = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const ExplorePart whole = explore_part(*spec, *policy, opt);
  const double search = seconds_since(t0);
  std::vector<uint64_t> spent(whole.tasks, 0);
  for (const TaskResult& t : whole.done) spent.at(t.index) = t.result.spent;
  const uint64_t total = std::accumulate(spent.begin(), spent.end(), uint64_t{0});
  const double rate = static_cast<double>(total) / (search - fixed);  // the search includes one split
  std::printf("%s under %s, bound %d, split depth %u: %zu tasks, %llu executions in %.2f s (%.0f/s); per-shard fixed cost %.3f s\n",
              spec->name.c_str(), policy->name.c_str(), opt.preemptions, opt.split_depth, estimates.size(),
              static_cast<unsigned long long>(total), search, rate, fixed);
  std::printf("%8s %10s %12s %12s %9s %12s %12s\n", "shards", "tasks/shard", "max execs", "mean execs", "max/mean", "projected s",
              "even split s");
  for (int i = 6; i < argc; ++i) {
    const uint64_t n = std::strtoull(argv[i], nullptr, 10);
    if (n == 0) continue;
    const std::vector<uint64_t> loads = shard_loads(estimates, spent, n);
    const uint64_t most = *std::max_element(loads.begin(), loads.end());
    const double mean = static_cast<double>(total) / static_cast<double>(n);
    std::printf("%8llu %10.1f %12llu %12.0f %9.2f %12.2f %12.2f\n", static_cast<unsigned long long>(n),
                static_cast<double>(estimates.size()) / static_cast<double>(n), static_cast<unsigned long long>(most), mean,
                mean > 0 ? static_cast<double>(most) / mean : 0.0, fixed + static_cast<double>(most) / rate, fixed + mean / rate);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlbsim_shard_balance: %s\n", e.what());
    return 2;
  }
}
