// SPDX-License-Identifier: MIT
// tlbsim sweep: one batching workload over range sizes under each invalidation strategy; prints
// a table and a crossover table, writes CSV and an SVG plot (cost against range size).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/numeric_option.h"
#include "cli/output_set.h"
#include "cli/sweep_crossovers.h"
#include "cli/sweep_svg.h"
#include "kernel/flush_strategy.h"
#include "scenarios/batching_workload.h"
#include "scenarios/costs.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

const char* const kDefaultStrategies =
    "cpu:per-page,cpu:full-above:33,cpu:full,iommu:per-page,iommu:cmdq,iommu:range,iommu:full-above:511,iommu:full";
const char* const kDefaultSizes = "1,2,4,8,16,24,32,33,34,48,64,96,128,192,256,384,511,512,768,1024,1536,2048,3072,4096";

/// The kernel's own per-page/whole-space constant for the strategy that issues what the kernel
/// issues below it: x86 INVLPG per page up to tlb_single_page_flush_ceiling (33); SMMUv3 one
/// TLBI per page behind one CMD_SYNC below CMDQ_MAX_TLBI_OPS (512). 0: none to compare with.
uint64_t kernel_constant(const std::string& label) {
  if (label == "cpu:per-page") return 33;
  if (label == "iommu:cmdq") return 512;
  return 0;
}

struct Row {
  std::string strategy;
  kernel::StrategySide side;
  uint64_t pages;
  WorkloadResult r;
  uint64_t inv_ns() const { return side == kernel::StrategySide::Cpu ? r.cpu.cpu_flush_ns : r.iommu.iommu_ns; }
  uint64_t misses() const { return side == kernel::StrategySide::Cpu ? r.cpu_refills : r.iommu.iotlb_misses + r.iommu.atc_misses; }
  uint64_t refill_ns() const { return side == kernel::StrategySide::Cpu ? r.cpu_refill_ns : r.iommu.refill_ns; }
  uint64_t total_ns() const { return inv_ns() + refill_ns(); }
};

/// The largest range a sweep runs (--sizes), and so the most VMAs fork can spread it over.
constexpr uint64_t kMaxSweepPages = uint64_t{1} << 20;

std::vector<uint64_t> parse_sizes(const std::vector<std::string>& args) {
  std::vector<uint64_t> out;
  for (const auto& s : split_commas(args)) out.push_back(parse_uint_option("--sizes", s, 1, kMaxSweepPages));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty()) throw UsageError("--sizes needs at least one size");
  return out;
}

kernel::Strategy parse_or_throw(const std::string& spec, const char* opt) {
  std::string err;
  auto s = kernel::parse_strategy(spec, &err);
  if (!s) throw UsageError(std::string(opt) + ": " + err);
  return *s;
}

bool is_whole(const std::string& label) { return label == "cpu:full" || label == "iommu:full"; }

}  // namespace

int cmd_sweep(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim sweep [options]");
  opts.add_options()("help,h", "show this help")
      ("workload", po::value<std::string>()->default_value("munmap-dense"), "workload (see tlbsim list)")
      ("strategies", po::value<std::vector<std::string>>()->composing(), "strategies, comma-separated (default: all sides' main ones)")
      ("sizes", po::value<std::vector<std::string>>()->composing(), "range sizes in pages, comma-separated, each 1 to 1048576")
      ("policy", po::value<std::string>()->default_value("fixed"), "notifier policy")
      ("costs", po::value<std::string>(), "JSON file overriding cost-model fields")
      ("vmas", po::value<std::string>()->default_value("100"), ("fork: VMAs the pages are spread over, 1 to " + std::to_string(kMaxSweepPages)).c_str())
      ("cpu-working-set", po::value<std::string>()->default_value("512"), ("pages the CPU re-touches after the path, 0 to " + std::to_string(kMaxWorkingSetPages)).c_str())
      ("device-working-set", po::value<std::string>()->default_value("64"), ("pages the device re-touches after the path, 0 to " + std::to_string(kMaxWorkingSetPages)).c_str())
      ("no-ats", "the device has no ATC (no PCIe ATS): only the IOTLB caches its translations")
      ("cpu-base", po::value<std::string>()->default_value("cpu:per-page"), "CPU strategy while sweeping IOMMU strategies")
      ("iommu-base", po::value<std::string>()->default_value("iommu:full-above:511"), "IOMMU strategy while sweeping CPU strategies")
      ("csv", po::value<std::string>(), "write the table as CSV to FILE")
      ("svg", po::value<std::string>(), "write the plot as SVG to FILE");
  const auto vm = parse(args, opts, nullptr);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  std::vector<NamedPath> inputs;
  if (vm.count("costs")) inputs.push_back(NamedPath{"--costs file", vm["costs"].as<std::string>()});
  OutputSet outputs(inputs, named_outputs(vm, {"csv", "svg"}));
  const std::string wname = vm["workload"].as<std::string>();
  const WorkloadInfo* w = find_workload(wname);
  if (!w) throw UsageError("--workload: unknown workload '" + wname + "' (see tlbsim list)");
  const std::vector<std::string> specs = split_commas(vm.count("strategies") ? vm["strategies"].as<std::vector<std::string>>() : std::vector<std::string>{kDefaultStrategies});
  std::vector<kernel::Strategy> strategies;
  for (const auto& s : specs) strategies.push_back(parse_or_throw(s, "--strategies"));
  const std::vector<uint64_t> sizes = parse_sizes(vm.count("sizes") ? vm["sizes"].as<std::vector<std::string>>() : std::vector<std::string>{kDefaultSizes});
  const std::string policy = resolve_policies({vm["policy"].as<std::string>()}).at(0);
  const kernel::Strategy cpu_base = parse_or_throw(vm["cpu-base"].as<std::string>(), "--cpu-base");
  const kernel::Strategy iommu_base = parse_or_throw(vm["iommu-base"].as<std::string>(), "--iommu-base");
  if (cpu_base.side != kernel::StrategySide::Cpu) throw UsageError("--cpu-base needs a cpu: strategy");
  if (iommu_base.side != kernel::StrategySide::Iommu) throw UsageError("--iommu-base needs an iommu: strategy");
  // A working set must fit below the workload's range (see WorkloadParams).
  const uint64_t cpu_ws = *uint_option(vm, "cpu-working-set", 0, kMaxWorkingSetPages);
  const uint64_t device_ws = *uint_option(vm, "device-working-set", 0, kMaxWorkingSetPages);
  const auto vmas = static_cast<unsigned>(*uint_option(vm, "vmas", 1, kMaxSweepPages));
  iommu::CostModel cost{};
  if (vm.count("costs")) cost = load_costs_file(vm["costs"].as<std::string>());

  std::vector<Row> rows;
  for (const auto& s : strategies)
    for (uint64_t n : sizes) {
      WorkloadParams p;
      p.workload = w->workload;
      p.pages = n;
      p.vmas = vmas;
      p.cpu_working_set = cpu_ws;
      p.device_working_set = device_ws;
      p.device_ats = !vm.count("no-ats");
      p.policy = policy;
      p.cost = cost;
      const bool cpu = s.side == kernel::StrategySide::Cpu;
      p.cpu = cpu ? s.cpu : cpu_base.cpu;
      p.iommu = cpu ? iommu_base.iommu : s.iommu;
      rows.push_back(Row{s.label, s.side, n, run_workload(p)});
    }

  std::ostringstream csv;
  csv << "workload,policy,strategy,pages,sec_inv_requests,cpu_flushes,iommu_commands,atc_commands,syncs,invalidation_ns,"
         "refill_misses,refill_ns,total_ns,windows,all_windows\n";
  std::printf("workload %s, policy %s%s; cost per side: its invalidation ns + refills of the re-touched working set\n"
              "(CPU strategies run with %s, IOMMU strategies with %s; windows: those still open at a free)\n\n",
              wname.c_str(), policy.c_str(), vm.count("no-ats") ? ", device without ATS" : "", iommu_base.label.c_str(),
              cpu_base.label.c_str());
  std::printf("%-22s %6s %7s %7s %8s %7s %11s %8s %11s %11s %7s\n", "strategy", "pages", "sec_inv", "cpu_fl", "commands", "syncs",
              "inv_ns", "misses", "refill_ns", "total_ns", "windows");
  for (const Row& r : rows) {
    const uint64_t cmds = r.r.iommu.iommu_commands + r.r.iommu.atc_commands;
    std::printf("%-22s %6llu %7llu %7llu %8llu %7llu %11llu %8llu %11llu %11llu %7llu\n", r.strategy.c_str(), (unsigned long long)r.pages,
                (unsigned long long)r.r.iommu.sec_inv_requests, (unsigned long long)r.r.cpu.cpu_flushes, (unsigned long long)cmds,
                (unsigned long long)r.r.iommu.syncs, (unsigned long long)r.inv_ns(), (unsigned long long)r.misses(),
                (unsigned long long)r.refill_ns(), (unsigned long long)r.total_ns(), (unsigned long long)r.r.windows);
    csv << wname << "," << policy << "," << r.strategy << "," << r.pages << "," << r.r.iommu.sec_inv_requests << "," << r.r.cpu.cpu_flushes
        << "," << r.r.iommu.iommu_commands << "," << r.r.iommu.atc_commands << "," << r.r.iommu.syncs << "," << r.inv_ns() << ","
        << r.misses() << "," << r.refill_ns() << "," << r.total_ns() << "," << r.r.windows << "," << r.r.all_windows << "\n";
  }

  std::vector<SweepSeries> series;
  for (const auto& s : strategies) {
    SweepSeries ss{s.label, {}};
    for (const Row& r : rows)
      if (r.strategy == s.label) ss.points.emplace_back(r.pages, r.total_ns());
    series.push_back(std::move(ss));
  }
  // Crossovers between each per-page-style strategy and its side's whole-space one.
  std::vector<Crossover> cross;
  std::printf("\ncrossovers (where a strategy stops being cheaper than whole-space invalidation):\n");
  std::printf("%-22s %-12s %10s %10s %10s %10s\n", "strategy", "vs", "between", "estimate", "kernel", "ratio");
  for (size_t i = 0; i < strategies.size(); ++i)
    for (size_t j = 0; j < strategies.size(); ++j) {
      if (strategies[i].side != strategies[j].side || is_whole(strategies[i].label) || !is_whole(strategies[j].label)) continue;
      for (const Crossover& c : crossovers(series[i], series[j])) {
        const uint64_t kc = kernel_constant(c.a);
        char between[32], kernel[32] = "-", ratio[32] = "-";
        std::snprintf(between, sizeof between, "%llu-%llu", (unsigned long long)c.below, (unsigned long long)c.above);
        if (kc) {
          std::snprintf(kernel, sizeof kernel, "%llu", (unsigned long long)kc);
          std::snprintf(ratio, sizeof ratio, "%.2f", c.pages / double(kc));
        }
        std::printf("%-22s %-12s %10s %10.0f %10s %10s\n", c.a.c_str(), c.b.c_str(), between, c.pages, kernel, ratio);
        cross.push_back(c);
      }
    }
  if (cross.empty()) std::printf("  (none in this size range)\n");
  if (vm.count("csv")) outputs.set("--csv", csv.str());
  if (vm.count("svg")) outputs.set("--svg", sweep_svg("tlbsim sweep: " + wname + " under " + policy, series, cross));
  outputs.commit();
  return kExitOk;
}

}  // namespace tlbsim::cli
