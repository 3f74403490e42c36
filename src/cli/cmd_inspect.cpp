// SPDX-License-Identifier: MIT
// tlbsim validate and tlbsim list: look at scenario files and the registries without running.
#include <cstdio>
#include <iostream>

#include "cli/cli_common.h"
#include "kernel/flush_strategy.h"
#include "kernel/policy.h"
#include "kernel/sva.h"
#include "scenarios/batching_workload.h"
#include "scenarios/errors.h"
#include "scenarios/metrics.h"
#include "scenarios/ops.h"
#include "scenarios/printable.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

int cmd_validate(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim validate FILE...");
  opts.add_options()("help,h", "show this help")("file", po::value<std::vector<std::string>>(), "scenario files");
  add_max_memory_option(opts);
  const auto vm = parse(args, opts, "file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  if (!vm.count("file")) throw UsageError("validate needs at least one FILE");
  const LoadLimits limits = read_limits(vm);
  std::vector<Diagnostic> diags;
  for (const auto& f : vm["file"].as<std::vector<std::string>>()) {
    try {
      const ScenarioFile sf = load_scenario_file(f, limits);
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
  std::cout << "policies (--policy all; --policy versions: the releases, oldest first):\n";
  for (const auto& p : kernel::policies())
    std::printf("  %-20s %s\n", p.name.c_str(), (p.release.empty() ? p.description : "[" + p.release + "] " + p.description).c_str());
  std::cout << "\ndriver families (a device's decoding follows the policy's release):\n";
  for (const auto& f : kernel::drivers()) {
    std::string per;
    for (const kernel::Policy* p : kernel::release_policies())
      per += (per.empty() ? "" : ", ") + p->name + " " + std::string(kernel::resolve_decoding(f.name, *p)->name);
    std::printf("  %-24s %s\n  %-24s   %s\n", std::string(f.name).c_str(), std::string(f.description).c_str(), "", per.c_str());
  }
  std::cout << "\ndriver decodings:\n";
  for (const auto& d : kernel::decodings()) std::printf("  %-24s %s\n", std::string(d.name).c_str(), std::string(d.description).c_str());
  std::cout << "\ninvalidation strategies (tlbsim sweep; N = threshold in pages):\n";
  for (const auto& st : kernel::strategies())
    std::printf("  %-24s %s\n", (std::string(st.name) + (st.takes_threshold ? ":N" : "")).c_str(), std::string(st.description).c_str());
  std::cout << "\nbatching workloads (tlbsim sweep --workload):\n";
  for (const auto& w : workloads()) std::printf("  %-24s %s\n", std::string(w.name).c_str(), std::string(w.description).c_str());
  std::cout << "\nmetrics (expect, verdicts; in report order):\n";
  for (const auto& m : metrics()) std::printf("  %-24s %s\n", std::string(m.name).c_str(), std::string(m.counts).c_str());
  std::cout << "\nops:\n";
  for (const auto& o : ops()) {
    const char* kind = o.kind == ThreadKind::Cpu ? "cpu" : o.kind == ThreadKind::Device ? "device" : "kernel";
    std::printf("  %-20s %-7s %s\n", std::string(o.name()).c_str(), kind, std::string(o.models).c_str());
  }
  const std::vector<std::string> files =
      vm.count("file") ? vm["file"].as<std::vector<std::string>>() : std::vector<std::string>{default_file()};
  for (const auto& f : files) {
    const ScenarioFile sf = load_scenario_file(f);
    std::cout << "\nscenarios in " << f << ":\n";
    for (const auto& s : sf.scenarios) std::printf("  %-40s %s\n", s.name.c_str(), escape_unprintable(s.source).c_str());
  }
  return kExitOk;
}

}  // namespace tlbsim::cli
