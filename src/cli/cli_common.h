// SPDX-License-Identifier: MIT
#pragma once
/// What every tlbsim subcommand shares: exit statuses, option parsing and file loading (output
/// files: output_set.h). Each subcommand lives in its own file and is listed once in main.cpp.
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "scenarios/loader.h"

namespace tlbsim::cli {

namespace po = boost::program_options;

constexpr int kExitOk = 0, kExitExpectation = 1, kExitUsage = 2, kExitInternal = 3;

/// A command line that cannot be followed; reported in one line with exit status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// scenarios.json in the working directory if there is one, else the bundled one.
std::string default_file();

/// "a,b" "c" -> a b c; empty parts dropped.
std::vector<std::string> split_commas(const std::vector<std::string>& in);

/// Policy names from --policy values ("all" expands); throws UsageError for an unknown name.
std::vector<std::string> resolve_policies(const std::vector<std::string>& args);

/// The policies to run `s` under: `explicit_policies` if --policy named any; otherwise old and
/// fixed (6.0 and 6.6), then each further policy the scenario states expectations for.
std::vector<std::string> policies_for(const scenarios::ScenarioSpec& s, const std::vector<std::string>& explicit_policies);

/// The policies to explore `s` under: as policies_for(), and without --policy also each further
/// policy the scenario states verdicts for, so that the default search checks every stated
/// verdict (a verdict under a policy neither old, fixed nor in `expect` was never checked).
std::vector<std::string> explore_policies_for(const scenarios::ScenarioSpec& s, const std::vector<std::string>& explicit_policies);

/// Load every file before running anything: bad input anywhere means no report at all, so all
/// diagnostics are collected and thrown together as one ScenarioError.
std::vector<scenarios::ScenarioFile> load_all(const std::vector<std::string>& files, const scenarios::LoadLimits& limits = {});

/// Throws UsageError if a name in `only` names no scenario in `loaded`.
void check_scenario_names(const std::vector<scenarios::ScenarioFile>& loaded, const std::set<std::string>& only);

/// What `run` and `explore` are asked to cover: the scenario files (the default file if none is
/// named), the policies --policy named (empty: policies_for's default per scenario) and the
/// scenarios --scenario named (empty: every scenario).
struct Selection {
  std::vector<std::string> files;
  std::vector<std::string> policies;
  std::set<std::string> only;
  scenarios::LoadLimits limits;  ///< --max-memory

  bool selects(const scenarios::ScenarioSpec& s) const { return only.empty() || only.count(s.name) > 0; }
};

/// Adds the positional "file", "policy,p", "scenario,s" and "max-memory" options;
/// `scenario_help` says what the command does with the scenarios it is given.
void add_selection_options(po::options_description& opts, const char* scenario_help);

/// The Selection from options added by add_selection_options; throws UsageError for an unknown
/// policy.
Selection read_selection(const po::variables_map& vm);

/// Adds "--max-memory MIB" (add_selection_options() does), and reads it.
void add_max_memory_option(po::options_description& opts);
scenarios::LoadLimits read_limits(const po::variables_map& vm);

/// Adds "--progress SECONDS" (cli/progress.h), the same for every long command.
void add_progress_option(po::options_description& opts);

po::variables_map parse(const std::vector<std::string>& args, po::options_description& opts, const char* positional);

int cmd_run(const std::vector<std::string>& args);
int cmd_validate(const std::vector<std::string>& args);
int cmd_list(const std::vector<std::string>& args);
int cmd_sweep(const std::vector<std::string>& args);
int cmd_explore(const std::vector<std::string>& args);
int cmd_merge(const std::vector<std::string>& args);
int cmd_import(const std::vector<std::string>& args);
int cmd_record(const std::vector<std::string>& args);

}  // namespace tlbsim::cli
