// SPDX-License-Identifier: MIT
// tlbsim run: every scenario once under each policy, judged, as a text report (and JSON).
#include <algorithm>
#include <iostream>

#include "cli/cli_common.h"
#include "kernel/policy.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

int cmd_run(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim run [FILE...] [options]");
  opts.add_options()("help,h", "show this help")
      ("file", po::value<std::vector<std::string>>(), "scenario files (default: the bundled scenarios.json)")
      ("policy,p", po::value<std::vector<std::string>>(), "policies: old,fixed (default, plus those a scenario expects), all, or names")
      ("scenario,s", po::value<std::vector<std::string>>(), "run only these scenarios")
      ("seed", po::value<uint64_t>(), "seed for random schedules (overrides the scenario's)")
      ("json", po::value<std::string>(), "also write the report as JSON to this file")
      ("check", "run every model invariant check after each step")
      ("events", "print every event of every run (the full witness trace)");
  const auto vm = parse(args, opts, "file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  std::vector<std::string> files = vm.count("file") ? vm["file"].as<std::vector<std::string>>() : std::vector<std::string>{default_file()};
  const std::vector<std::string> policies = vm.count("policy") ? resolve_policies(vm["policy"].as<std::vector<std::string>>()) : std::vector<std::string>{};
  const bool explicit_policies = !policies.empty();
  std::set<std::string> only;
  if (vm.count("scenario"))
    for (const auto& s : split_commas(vm["scenario"].as<std::vector<std::string>>())) only.insert(s);

  const std::vector<ScenarioFile> loaded = load_all(files);
  check_scenario_names(loaded, only);

  RunOptions ro;
  if (vm.count("seed")) ro.seed = vm["seed"].as<uint64_t>();
  ro.check_invariants = vm.count("check") > 0;
  std::string text;
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  bool ok = true;
  for (const ScenarioFile& f : loaded) {
    ro.file = f.path;
    std::vector<ScenarioOutcome> outcomes;
    for (const ScenarioSpec& s : f.scenarios) {
      if (!only.empty() && !only.count(s.name)) continue;
      std::vector<std::string> run_policies = explicit_policies ? policies : std::vector<std::string>{"old", "fixed"};
      if (!explicit_policies)
        for (const auto& p : s.policies)
          if (std::find(run_policies.begin(), run_policies.end(), p) == run_policies.end()) run_policies.push_back(p);
      ScenarioOutcome so{&s, {}};
      for (const auto& p : run_policies) {
        so.policies.push_back(judge(s, run_scenario(s, *kernel::find_policy(p), ro)));
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
  if (vm.count("json")) write_atomically(vm["json"].as<std::string>(), (loaded.size() == 1 ? json[0] : json).dump(2) + "\n");
  std::cout << text;
  return ok ? kExitOk : kExitExpectation;
}

}  // namespace tlbsim::cli
