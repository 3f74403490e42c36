// SPDX-License-Identifier: MIT
// tlbsim: run scenario files under notifier policies and report stale-translation windows.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "kernel/policy.h"
#include "kernel/sva.h"
#include "model/check.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/ops.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"

namespace po = boost::program_options;
using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

constexpr int kExitOk = 0, kExitExpectation = 1, kExitUsage = 2, kExitInternal = 3;

const char* kUsage =
    "usage: tlbsim <command> [options]\n"
    "\n"
    "commands:\n"
    "  run [FILE...]       run scenarios under policies and print the report (default: the bundled scenarios.json)\n"
    "  validate FILE...    check scenario files without running them\n"
    "  list [FILE...]      list policies, driver decodings, ops, and the scenarios in FILEs\n"
    "\n"
    "Run 'tlbsim <command> --help' for a command's options.\n"
    "Exit status: 0 every expectation holds, 1 an expectation failed, 2 bad input or usage.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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

/// Write to a temporary file beside `path`, then rename, so a failed run leaves nothing that
/// looks complete.
void write_atomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError("cannot write " + tmp);
    out << data;
    out.flush();
    if (!out) throw UsageError("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

po::variables_map parse(const std::vector<std::string>& args, po::options_description& opts, const char* positional) {
  po::positional_options_description pos;
  if (positional) pos.add(positional, -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

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
  std::vector<std::string> policy_args = vm.count("policy") ? split_commas(vm["policy"].as<std::vector<std::string>>()) : std::vector<std::string>{};
  const bool explicit_policies = !policy_args.empty();
  std::vector<std::string> policies;
  for (const auto& p : policy_args) {
    if (p == "all") {
      for (const auto& x : kernel::policies()) policies.push_back(x.name);
    } else if (!kernel::find_policy(p)) {
      throw UsageError("unknown policy \"" + p + "\" (see 'tlbsim list')");
    } else {
      policies.push_back(p);
    }
  }
  std::set<std::string> only;
  if (vm.count("scenario"))
    for (const auto& s : split_commas(vm["scenario"].as<std::vector<std::string>>())) only.insert(s);

  // Load everything first: bad input anywhere means no report at all.
  std::vector<ScenarioFile> loaded;
  std::vector<Diagnostic> diags;
  for (const auto& f : files) {
    try {
      loaded.push_back(load_scenario_file(f));
    } catch (const ScenarioError& e) {
      diags.insert(diags.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!diags.empty()) throw ScenarioError(diags);
  for (const auto& name : only) {
    bool found = false;
    for (const auto& f : loaded)
      for (const auto& s : f.scenarios) found |= s.name == name;
    if (!found) throw UsageError("no scenario named \"" + name + "\" in the given files");
  }

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

int cmd_validate(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim validate FILE...");
  opts.add_options()("help,h", "show this help")("file", po::value<std::vector<std::string>>(), "scenario files");
  const auto vm = parse(args, opts, "file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  if (!vm.count("file")) throw UsageError("validate needs at least one FILE");
  std::vector<Diagnostic> diags;
  for (const auto& f : vm["file"].as<std::vector<std::string>>()) {
    try {
      const ScenarioFile sf = load_scenario_file(f);
      std::cout << f << ": " << sf.scenarios.size() << " scenario" << (sf.scenarios.size() == 1 ? "" : "s") << ", valid\n";
    } catch (const ScenarioError& e) {
      diags.insert(diags.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!diags.empty()) throw ScenarioError(diags);
  return kExitOk;
}

int cmd_list(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim list [FILE...]");
  opts.add_options()("help,h", "show this help")("file", po::value<std::vector<std::string>>(), "scenario files");
  const auto vm = parse(args, opts, "file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  std::cout << "policies:\n";
  for (const auto& p : kernel::policies()) std::printf("  %-20s %s\n", p.name.c_str(), p.description.c_str());
  std::cout << "\ndriver decodings:\n";
  for (const auto& d : kernel::decodings()) std::printf("  %-24s %s\n", std::string(d.name).c_str(), std::string(d.description).c_str());
  std::cout << "\nops:\n";
  for (const auto& o : ops()) {
    const char* kind = o.kind == ThreadKind::Cpu ? "cpu" : o.kind == ThreadKind::Device ? "device" : "kernel";
    std::printf("  %-18s %-7s %s\n", std::string(o.name).c_str(), kind, std::string(o.models).c_str());
  }
  const std::vector<std::string> files = vm.count("file") ? vm["file"].as<std::vector<std::string>>() : std::vector<std::string>{default_file()};
  for (const auto& f : files) {
    const ScenarioFile sf = load_scenario_file(f);
    std::cout << "\nscenarios in " << f << ":\n";
    for (const auto& s : sf.scenarios) std::printf("  %-40s %s\n", s.name.c_str(), s.source.c_str());
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      std::cout << kUsage;
      return args.empty() ? kExitUsage : kExitOk;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "run") return cmd_run(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "list") return cmd_list(args);
    std::cerr << "tlbsim: unknown command '" << cmd << "'\n\n" << kUsage;
    return kExitUsage;
  } catch (const ScenarioError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    std::cerr << e.diagnostics().size() << " error" << (e.diagnostics().size() == 1 ? "" : "s") << "; nothing was run\n";
    return kExitUsage;
  } catch (const po::error& e) {
    std::cerr << "tlbsim: " << e.what() << "\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "tlbsim: " << e.what() << "\n";
    return kExitUsage;
  } catch (const InvariantViolation& e) {
    std::cerr << "tlbsim: internal error: " << e.what() << "\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "tlbsim: error: " << e.what() << "\n";
    return kExitInternal;
  }
}
