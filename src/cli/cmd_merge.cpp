// SPDX-License-Identifier: MIT
// tlbsim merge: the shards of an exploration or a sweep (explore/sweep --shard K/N --json FILE)
// combined into the report and files that the unsharded command writes, byte for byte
// (docs/scale-out.md).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

#include "cli/cli_common.h"
#include "cli/explore_output.h"
#include "cli/explore_request.h"
#include "cli/output_set.h"
#include "cli/shard_file.h"
#include "cli/sweep_output.h"
#include "cli/sweep_request.h"
#include "cli/sweep_shard.h"
#include "kernel/policy.h"
#include "model/saturating.h"
#include "scenarios/explore.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

std::string shard_name(const ShardFile& f) {
  return f.path + " (shard " + std::to_string(f.shard.index + 1) + "/" + std::to_string(f.shard.count) + ")";
}

/// Tokens as a command line would show them: 'a' 'b c'.
std::string words(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& t : tokens) out += (out.empty() ? "'" : " '") + t + "'";
  return out.empty() ? "(none)" : out;
}

/// Every shard of one search, once each, written by this build: else a UsageError naming the shard.
void check_shards(const std::vector<ShardFile>& shards) {
  const ShardFile& first = shards.front();
  std::map<uint64_t, const ShardFile*> seen;
  for (const ShardFile& f : shards) {
    if (f.command != first.command)
      throw UsageError(shard_name(f) + " is a shard of tlbsim " + command_name(f.command) + ", " + shard_name(first) + " of tlbsim " +
                       command_name(first.command));
    if (f.build != build_id())
      throw UsageError(shard_name(f) + " was written by tlbsim build " + f.build + ", this is build " + build_id() +
                       ": merge with the tlbsim that ran the shards");
    if (f.tokens != first.tokens)
      throw UsageError(shard_name(f) + " ran with other options than " + shard_name(first) + ": " + words(f.tokens) + " against " +
                       words(first.tokens));
    if (f.shard.count != first.shard.count)
      throw UsageError(shard_name(f) + " is of a split into " + std::to_string(f.shard.count) + " shards, " + shard_name(first) +
                       " of one into " + std::to_string(first.shard.count));
    if (f.files != first.files) throw UsageError(shard_name(f) + " read other input files, or other contents, than " + shard_name(first));
    if (const auto [it, fresh] = seen.emplace(f.shard.index, &f); !fresh)
      throw UsageError(f.path + " and " + it->second->path + " are both shard " + std::to_string(f.shard.index + 1) + "/" +
                       std::to_string(f.shard.count));
  }
  std::string missing;
  for (uint64_t k = 0; k < first.shard.count && missing.size() < 200; ++k)
    if (!seen.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k + 1);
  if (!missing.empty())
    throw UsageError("shards missing of " + std::to_string(first.shard.count) + ": " + missing +
                     (seen.size() + 1 < first.shard.count ? ", ..." : ""));
}

/// How evenly the work fell, on stderr (stdout is the unsharded output): `per_shard[k]` is shard
/// k's share in `unit`. Run side by side on equal machines, the shards take about the largest
/// share of one process's time; an even split would take 1/N.
void print_balance(const char* unit, const std::vector<uint64_t>& per_shard) {
  if (per_shard.size() < 2) return;
  uint64_t total = 0;
  for (const uint64_t v : per_shard) total = sat_add(total, v);
  const auto lo = std::min_element(per_shard.begin(), per_shard.end());
  const auto hi = std::max_element(per_shard.begin(), per_shard.end());
  const double n = static_cast<double>(per_shard.size());
  const double share = total ? static_cast<double>(*hi) / static_cast<double>(total) : 0.0;
  std::fprintf(stderr,
               "merge: %zu shards, %s per shard %llu to %llu (mean %.0f, shard %zu the largest): side by side they take about %.3f of "
               "one process's time (an even split: %.3f)\n",
               per_shard.size(), unit, static_cast<unsigned long long>(*lo), static_cast<unsigned long long>(*hi),
               static_cast<double>(total) / n, static_cast<size_t>(hi - per_shard.begin()) + 1, share, 1 / n);
}

/// The files the shards read must be as they were: else a UsageError naming the file.
void check_inputs(const ShardFile& first, const char* what) {
  for (const FileFingerprint& f : first.files)
    if (fingerprint(f.path) != f)
      throw UsageError(std::string(what) + " " + f.path +
                       " changed since the shards read it (or is another file here: run merge where the shards ran)");
}

/// The explore shards' merged report (stdout) and --json.
int merge_explore(const std::vector<ShardFile>& shards, const std::vector<std::string>& paths, const po::variables_map& vm) {
  if (vm.count("csv") || vm.count("svg"))
    throw UsageError("--csv and --svg are outputs of a sweep; these are shards of tlbsim explore (--json)");
  // The explore command the shards ran, parsed as explore parses it.
  po::options_description explore_opts;
  add_explore_options(explore_opts);
  const ExploreRequest rq = read_explore_request(parse(shards.front().tokens, explore_opts, "file"));
  check_inputs(shards.front(), "scenario file");
  std::vector<NamedPath> inputs = scenario_inputs(rq.sel.files);
  for (const std::string& p : paths) inputs.push_back(NamedPath{"shard file", p});
  OutputSet outputs(inputs, named_outputs(vm, {"json"}));

  const std::vector<ScenarioFile> loaded = load_all(rq.sel.files, rq.sel.limits);
  const std::vector<ExploreJob> jobs = explore_jobs(loaded, rq.sel);
  ExploreOutput output;
  std::vector<uint64_t> spent(shards.size(), 0);  // executions each shard ran, explored and pruned
  for (size_t i = 0; i < jobs.size(); ++i) {
    const ExploreJob& j = jobs[i];
    std::vector<ExplorePart> parts;
    for (const ShardFile& f : shards) {
      if (f.jobs.size() != jobs.size())
        throw UsageError(shard_name(f) + " holds " + std::to_string(f.jobs.size()) + " scenario-policy searches, the options give " +
                         std::to_string(jobs.size()));
      const ShardFile::Job& sj = f.jobs[i];
      if (sj.file != j.file->path || sj.scenario != j.spec->name || sj.policy != j.policy)
        throw UsageError(shard_name(f) + ": search " + std::to_string(i + 1) + " is " + sj.scenario + " under " + sj.policy +
                         ", expected " + j.spec->name + " under " + j.policy);
      parts.push_back(read_part(f, sj, j.spec->threads.size()));
      for (const TaskResult& t : parts.back().done) spent[f.shard.index] = sat_add(spent[f.shard.index], t.result.spent);
    }
    ExploreOptions eo = rq.eo;
    eo.file = j.file->path;
    eo.preemptions = rq.preemptions.value_or(-1);
    ExploreResult r;
    try {
      r = explore_merge(*j.spec, *kernel::find_policy(j.policy), eo, parts);
    } catch (const std::invalid_argument& e) {
      throw UsageError(j.spec->name + " under " + j.policy + ": the shards do not hold one search: " + e.what());
    }
    output.add(j.file->path, *j.spec, r, eo.max_executions);
  }
  if (vm.count("json")) outputs.set("--json", output.json());
  outputs.commit();
  std::cout << output.text();
  print_balance("executions", spent);
  return output.exit_status();
}

/// The sweep shards' merged table (stdout), --csv and --svg.
int merge_sweep(const std::vector<ShardFile>& shards, const std::vector<std::string>& paths, const po::variables_map& vm) {
  if (vm.count("json")) throw UsageError("--json is an output of explore; these are shards of tlbsim sweep (--csv, --svg)");
  // The sweep the shards ran, parsed as sweep parses it.
  po::options_description sweep_opts;
  add_sweep_options(sweep_opts);
  check_inputs(shards.front(), "--costs file");
  const SweepRequest rq = read_sweep_request(parse(shards.front().tokens, sweep_opts, nullptr));
  std::vector<NamedPath> inputs;
  if (rq.costs_file) inputs.push_back(NamedPath{"--costs file", *rq.costs_file});
  for (const std::string& p : paths) inputs.push_back(NamedPath{"shard file", p});
  OutputSet outputs(inputs, named_outputs(vm, {"csv", "svg"}));
  const std::vector<SweepCell> cells = sweep_cells(rq);
  std::vector<std::optional<WorkloadResult>> results(cells.size());
  const std::vector<uint64_t> estimates = cell_estimates(rq, cells);
  std::vector<uint64_t> load(shards.size(), 0);  // each shard's estimated work
  for (const ShardFile& f : shards) {
    const std::vector<SweepCellResult> got = read_sweep_cells(f, cells, rq);
    const std::vector<size_t> want = deal_to_shard(estimates, f.shard);
    for (const size_t i : want) load[f.shard.index] = sat_add(load[f.shard.index], estimates[i]);
    std::vector<size_t> have;
    for (const SweepCellResult& c : got) have.push_back(c.cell);
    if (have != want)
      throw UsageError(shard_name(f) + " holds " + std::to_string(have.size()) + " cells, not the " + std::to_string(want.size()) +
                       " that shard is dealt: it is damaged or of another tlbsim");
    for (const SweepCellResult& c : got) results[c.cell] = c.result;
  }
  std::vector<WorkloadResult> all;
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) throw UsageError("no shard holds cell " + std::to_string(i) + " of the grid");
    all.push_back(*results[i]);
  }
  const SweepOutput out(rq, std::move(all));
  if (vm.count("csv")) outputs.set("--csv", out.csv());
  if (vm.count("svg")) outputs.set("--svg", out.svg());
  outputs.commit();
  std::cout << out.text();
  print_balance("estimated work", load);
  return kExitOk;
}

}  // namespace

int cmd_merge(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim merge SHARD.json... [options]");
  opts.add_options()("help,h", "show this help")("shard-file", po::value<std::vector<std::string>>(),
                                                 "shard files written by tlbsim explore or sweep --shard K/N --json FILE, one per shard")(
      "json", po::value<std::string>(), "explore shards: also write the report as JSON to this file, as explore --json would")(
      "csv", po::value<std::string>(), "sweep shards: write the table as CSV to this file, as sweep --csv would")(
      "svg", po::value<std::string>(), "sweep shards: write the plot as SVG to this file, as sweep --svg would");
  const auto vm = parse(args, opts, "shard-file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  if (!vm.count("shard-file")) throw UsageError("merge needs the shard files (tlbsim merge SHARD.json...)");
  const auto paths = vm["shard-file"].as<std::vector<std::string>>();
  std::vector<ShardFile> shards;
  for (const std::string& p : paths) shards.push_back(read_shard_file(p));
  check_shards(shards);
  return shards.front().command == ShardCommand::Sweep ? merge_sweep(shards, paths, vm) : merge_explore(shards, paths, vm);
}

}  // namespace tlbsim::cli
