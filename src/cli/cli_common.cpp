// SPDX-License-Identifier: MIT
#include "cli/cli_common.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/numeric_option.h"
#include "kernel/policy.h"
#include "scenarios/errors.h"

namespace tlbsim::cli {

std::string default_file() {
  if (std::filesystem::exists("scenarios.json")) return "scenarios.json";
  return std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json";
}

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in) {
    size_t start = 0;
    while (start <= s.size()) {
      const size_t c = s.find(',', start);
      const std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
      if (!part.empty()) out.push_back(part);
      if (c == std::string::npos) break;
      start = c + 1;
    }
  }
  return out;
}

std::vector<std::string> resolve_policies(const std::vector<std::string>& args) {
  std::vector<std::string> policies;
  for (const auto& p : split_commas(args)) {
    if (p == "all") {
      for (const auto& x : kernel::policies()) policies.push_back(x.name);
    } else if (p == "versions") {
      for (const kernel::Policy* x : kernel::release_policies()) policies.push_back(x->name);
    } else if (!kernel::find_policy(p)) {
      throw UsageError("unknown policy \"" + p + "\" (see 'tlbsim list')");
    } else {
      policies.push_back(p);
    }
  }
  return policies;
}

std::vector<std::string> policies_for(const scenarios::ScenarioSpec& s, const std::vector<std::string>& explicit_policies) {
  if (!explicit_policies.empty()) return explicit_policies;
  std::vector<std::string> out{"old", "fixed"};
  for (const auto& p : s.policies)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

std::vector<std::string> explore_policies_for(const scenarios::ScenarioSpec& s, const std::vector<std::string>& explicit_policies) {
  std::vector<std::string> out = policies_for(s, explicit_policies);
  if (!explicit_policies.empty()) return out;
  for (const auto& [p, stated] : s.verdicts)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

std::vector<scenarios::ScenarioFile> load_all(const std::vector<std::string>& files, const scenarios::LoadLimits& limits) {
  std::vector<scenarios::ScenarioFile> loaded;
  std::vector<scenarios::Diagnostic> diags;
  for (const auto& f : files) {
    try {
      loaded.push_back(scenarios::load_scenario_file(f, limits));
    } catch (const scenarios::ScenarioError& e) {
      diags.insert(diags.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!diags.empty()) throw scenarios::ScenarioError(diags);
  return loaded;
}

void check_scenario_names(const std::vector<scenarios::ScenarioFile>& loaded, const std::set<std::string>& only) {
  for (const auto& name : only) {
    bool found = false;
    for (const auto& f : loaded)
      for (const auto& s : f.scenarios) found |= s.name == name;
    if (!found) throw UsageError("no scenario named \"" + name + "\" in the given files");
  }
}

void add_selection_options(po::options_description& opts, const char* scenario_help) {
  opts.add_options()("file", po::value<std::vector<std::string>>(), "scenario files (default: the bundled scenarios.json)")(
      "policy,p", po::value<std::vector<std::string>>(),
      "policies: old,fixed (default, plus those a scenario expects), all, versions (the release policies, oldest first), or names")(
      "scenario,s", po::value<std::vector<std::string>>(), scenario_help);
  add_max_memory_option(opts);
}

void add_max_memory_option(po::options_description& opts) {
  opts.add_options()("max-memory", po::value<std::string>()->default_value(std::to_string(scenarios::kDefaultMaxMemoryMib)),
                     "refuse a scenario or workload whose estimated memory for one run is over this many MiB (1 to 2^40)");
}

scenarios::LoadLimits read_limits(const po::variables_map& vm) {
  return scenarios::LoadLimits{.max_memory_mib = *uint_option(vm, "max-memory", 1, uint64_t{1} << 40)};
}

Selection read_selection(const po::variables_map& vm) {
  Selection sel;
  sel.files = vm.count("file") ? vm["file"].as<std::vector<std::string>>() : std::vector<std::string>{default_file()};
  if (vm.count("policy")) sel.policies = resolve_policies(vm["policy"].as<std::vector<std::string>>());
  if (vm.count("scenario"))
    for (const auto& s : split_commas(vm["scenario"].as<std::vector<std::string>>())) sel.only.insert(s);
  sel.limits = read_limits(vm);
  return sel;
}

void add_progress_option(po::options_description& opts) {
  opts.add_options()("progress", po::value<std::string>(),
                     "print a progress line on stderr every SECONDS, more than 0 (default: on a terminal only, redrawn in place)");
}

po::variables_map parse(const std::vector<std::string>& args, po::options_description& opts, const char* positional) {
  po::positional_options_description pos;
  if (positional) pos.add(positional, -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

}  // namespace tlbsim::cli
