// SPDX-License-Identifier: MIT
// tlbsim sweep: one batching workload over range sizes under each invalidation strategy; prints
// a table and a crossover table, writes CSV and an SVG plot (cost against range size). With
// --shard K/N it runs the cells shard K is dealt and writes them to --json for tlbsim merge
// (docs/scale-out.md).
#include <iostream>

#include "cli/cli_common.h"
#include "cli/numeric_option.h"
#include "cli/output_set.h"
#include "cli/progress.h"
#include "cli/shard_file.h"
#include "cli/sweep_output.h"
#include "cli/sweep_request.h"
#include "cli/sweep_scenario.h"
#include "cli/sweep_shard.h"
#include "model/saturating.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

int cmd_sweep(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim sweep [options]");
  opts.add_options()("help,h", "show this help");
  add_sweep_options(opts);
  opts.add_options()("csv", po::value<std::string>(), "write the table as CSV to FILE")("svg", po::value<std::string>(),
                                                                                        "write the plot as SVG to FILE")(
      "shard", po::value<std::string>(),
      "run shard K of N (K/N, N at most 2^20) of the grid and write it to --json for tlbsim merge (docs/scale-out.md)")(
      "json", po::value<std::string>(), "with --shard: the shard file to write");
  add_progress_option(opts);
  const auto vm = parse(args, opts, nullptr);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  if (is_scenario_workload(vm["workload"].as<std::string>())) return sweep_scenario_workload(vm);
  const std::optional<Shard> shard = vm.count("shard") ? std::optional(parse_shard(vm["shard"].as<std::string>())) : std::nullopt;
  if (shard && !vm.count("json")) throw UsageError("--shard writes the shard's cells to --json FILE: name one");
  if (!shard && vm.count("json"))
    throw UsageError("--json writes a shard file: it needs --shard K/N (the report is text, --csv and --svg)");
  if (shard && (vm.count("csv") || vm.count("svg")))
    throw UsageError("--csv and --svg need the whole grid: tlbsim merge writes them from the shards");
  std::vector<NamedPath> inputs;
  if (vm.count("costs")) inputs.push_back(NamedPath{"--costs file", vm["costs"].as<std::string>()});
  OutputSet outputs(inputs, named_outputs(vm, {"csv", "svg", "json"}));
  const SweepRequest rq = read_sweep_request(vm);
  const std::vector<SweepCell> cells = sweep_cells(rq);

  const std::vector<uint64_t> estimates = cell_estimates(rq, cells);
  const std::vector<size_t> own = deal_to_shard(estimates, shard.value_or(Shard{}));
  WorkProgress work;
  uint64_t own_estimate = 0;
  for (const size_t i : own) own_estimate = sat_add(own_estimate, estimates[i]);
  work.start(own.size(), own_estimate);
  const std::string what = "sweep " + rq.workload + " under " + rq.policy +
                           (shard ? ", shard " + std::to_string(shard->index + 1) + "/" + std::to_string(shard->count) : "");
  std::vector<SweepCellResult> done;
  {
    const ProgressReporter progress([&](double) { return what + ": " + work_line("cells", work, steady_seconds()); },
                                    seconds_option(vm, "progress", 1e9));
    for (const size_t i : own) {
      done.push_back(SweepCellResult{.cell = i, .result = run_workload(cell_params(rq, cells[i]))});
      work.finish(estimates[i]);
    }
  }
  if (shard) {
    po::options_description mine;
    add_sweep_options(mine);
    const ShardHeader h{.command = ShardCommand::Sweep,
                        .tokens = result_tokens(args, opts, mine, nullptr),
                        .shard = *shard,
                        .files = rq.costs_file ? std::vector<std::string>{*rq.costs_file} : std::vector<std::string>{}};
    outputs.set("--json", sweep_shard_document(h, cells, rq, done));
    outputs.commit();
    std::cout << "sweep " << rq.workload << " under " << rq.policy << ": shard " << shard->index + 1 << "/" << shard->count << ", "
              << done.size() << " of " << cells.size() << " cells\n";
    return kExitOk;
  }
  std::vector<WorkloadResult> results;
  for (SweepCellResult& d : done) results.push_back(d.result);
  const SweepOutput out(rq, std::move(results));
  if (vm.count("csv")) outputs.set("--csv", out.csv());
  if (vm.count("svg")) outputs.set("--svg", out.svg());
  outputs.commit();
  std::cout << out.text();
  return kExitOk;
}

}  // namespace tlbsim::cli
