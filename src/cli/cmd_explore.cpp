// SPDX-License-Identifier: MIT
// tlbsim explore: every interleaving (up to partial-order equivalence) or a random sample of
// them, per scenario and policy: Never / Sometimes / Always per window class, finding and
// expectation, with the shortest witness schedule, replayable with `tlbsim run --schedule`.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "cli/explore_output.h"
#include "cli/explore_request.h"
#include "cli/numeric_option.h"
#include "cli/output_set.h"
#include "cli/progress.h"
#include "cli/shard_file.h"
#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/witness_export.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

/// One line per scenario and policy: what this shard ran.
std::string shard_line(const ExploreJob& j, const Shard& sh, const ExplorePart& p, ExploreOptions::Mode mode) {
  uint64_t executions = 0, pruned = 0;
  bool stopped = false;
  for (const TaskResult& t : p.done) {
    executions += t.result.executions;
    pruned += t.result.pruned;
    stopped = stopped || t.result.stopped;
  }
  std::string out = j.spec->name + " under " + j.policy + ": shard " + std::to_string(sh.index + 1) + "/" + std::to_string(sh.count) + ", ";
  if (mode == ExploreOptions::Mode::Exhaustive) out += std::to_string(p.done.size()) + " of " + std::to_string(p.tasks) + " tasks, ";
  out += std::to_string(executions) + " executions, " + std::to_string(pruned) + " pruned";
  if (stopped) out += ", stopped by the budget";
  return out + "\n";
}

}  // namespace

int cmd_explore(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim explore [FILE...] [options]");
  opts.add_options()("help,h", "show this help");
  add_explore_options(opts);
  opts.add_options()("json", po::value<std::string>(),
                     "also write the report as JSON to this file (with --shard: the shard's part, for tlbsim merge)")(
      "shard", po::value<std::string>(),
      "run shard K of N (K/N, N at most 2^20) of each search and write it to --json for tlbsim merge; exhaustive mode needs --preemptions "
      "(docs/scale-out.md)")("jobs,j", po::value<std::string>()->default_value("1"),
                             "worker threads, 1 to 256 (the output does not depend on it, unless --budget stops a search)")(
      "witness", po::value<std::string>(), "property whose witness --dot/--trace show (default: the worst one found)")(
      "dot", po::value<std::string>(), "write the happens-before graph of the witness (Graphviz); needs one scenario and policy")(
      "trace", po::value<std::string>(), "write the witness as a Chrome/Perfetto trace (JSON); needs one scenario and policy")(
      "time", "print the time each exploration took on stderr");
  add_progress_option(opts);
  const auto vm = parse(args, opts, "file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  const ExploreRequest rq = read_explore_request(vm);
  ExploreOptions eo = rq.eo;
  eo.jobs = static_cast<unsigned>(*uint_option(vm, "jobs", 1, 256));
  const std::optional<Shard> shard = vm.count("shard") ? std::optional(parse_shard(vm["shard"].as<std::string>())) : std::nullopt;
  const bool want_witness = vm.count("dot") || vm.count("trace");
  if (shard) {
    if (!vm.count("json")) throw UsageError("--shard writes the shard's part to --json FILE: name one");
    if (want_witness)
      throw UsageError("--dot and --trace need the whole search: draw them with tlbsim merge's result and tlbsim run --schedule");
    if (eo.mode == ExploreOptions::Mode::Exhaustive && !rq.preemptions)
      throw UsageError(
          "--shard needs --preemptions N (or -1 for the unbounded search): iterative context bounding decides each round from the whole "
          "search");
    eo.shard = *shard;
  }
  OutputSet outputs(scenario_inputs(rq.sel.files), named_outputs(vm, {"json", "dot", "trace"}));

  const std::vector<ScenarioFile> loaded = load_all(rq.sel.files, rq.sel.limits);
  const std::vector<ExploreJob> jobs = explore_jobs(loaded, rq.sel);
  if (want_witness && jobs.size() != 1)
    throw UsageError("--dot and --trace need exactly one scenario and one policy (use --scenario and --policy)");

  // Every execution builds and frees a whole machine; keep freed memory in the process instead
  // of returning it to the OS and faulting it back in thousands of times a second.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  std::atomic<uint64_t> done{0};
  WorkProgress work;
  std::atomic<size_t> current{0};
  eo.progress = &done;
  eo.work = &work;
  // Random mode: the runs this process owns (run i belongs to shard i mod N), for every job.
  const uint64_t owned_runs = eo.runs / eo.shard.count + (eo.shard.index < eo.runs % eo.shard.count ? 1 : 0);
  const uint64_t total = eo.mode == ExploreOptions::Mode::Random ? owned_runs * jobs.size() : 0;
  ProgressReporter progress(
      [&](double seconds) {
        const ExploreJob& j = jobs[std::min(current.load(), jobs.size() - 1)];
        std::string line = shard ? "shard " + std::to_string(shard->index + 1) + "/" + std::to_string(shard->count) + ", " : "";
        line += j.spec->name + " under " + j.policy + " (" + std::to_string(current.load() + 1) + " of " + std::to_string(jobs.size()) +
                "): " + progress_line(done.load(), total, seconds);
        if (const std::string w = work_line("tasks", work, steady_seconds()); !w.empty()) line += "; " + w;
        return line;
      },
      seconds_option(vm, "progress", 1e9));
  ExploreOutput output;
  std::string shard_text;
  std::vector<ShardJob> shard_jobs;
  const auto t_all = std::chrono::steady_clock::now();
  for (const ExploreJob& j : jobs) {
    current = static_cast<size_t>(&j - jobs.data());
    eo.file = j.file->path;
    const auto t0 = std::chrono::steady_clock::now();
    if (rq.seconds)
      eo.deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(*rq.seconds));
    const kernel::Policy& policy = *kernel::find_policy(j.policy);
    if (shard) {
      ExploreOptions round = eo;
      round.preemptions = rq.preemptions.value_or(-1);
      ExplorePart part = explore_part(*j.spec, policy, round);
      shard_text += shard_line(j, *shard, part, eo.mode);
      shard_jobs.push_back(ShardJob{.file = j.file->path, .scenario = j.spec->name, .policy = j.policy, .part = std::move(part)});
    } else {
      const ExploreResult r = explore_rounds(*j.spec, policy, eo, rq.preemptions);
      output.add(j.file->path, *j.spec, r, eo.max_executions);
      if (want_witness) {
        const std::string want = vm.count("witness") ? vm["witness"].as<std::string>() : "";
        const PropertyResult* pick = pick_witness(r, want);
        if (!pick)
          throw UsageError(want.empty() ? "no property holds in any execution: nothing to draw"
                                        : "no witness for \"" + want + "\" (it holds in no execution, or is no property)");
        const RunResult run = replay(*j.spec, policy, *pick->witness, eo.max_steps);
        if (vm.count("dot")) outputs.set("--dot", happens_before_dot(*j.spec, run));
        if (vm.count("trace")) outputs.set("--trace", trace_json(*j.spec, run));
      }
    }
    if (vm.count("time"))
      std::cerr << j.spec->name << " under " << j.policy << ": "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
  }
  if (vm.count("time")) std::cerr << "total: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count() << " s\n";
  progress.stop();
  if (shard) {
    po::options_description mine;
    add_explore_options(mine);
    outputs.set("--json", explore_shard_document(ShardHeader{.command = ShardCommand::Explore,
                                                             .tokens = result_tokens(args, opts, mine, "file"),
                                                             .shard = *shard,
                                                             .files = rq.sel.files},
                                                 shard_jobs));
    outputs.commit();
    std::cout << shard_text;
    return kExitOk;
  }
  if (vm.count("json")) outputs.set("--json", output.json());
  outputs.commit();
  std::cout << output.text();
  return output.exit_status();
}

}  // namespace tlbsim::cli
