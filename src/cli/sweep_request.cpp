// SPDX-License-Identifier: MIT
#include "cli/sweep_request.h"

#include <algorithm>
#include <tuple>

#include "cli/cli_common.h"
#include "cli/numeric_option.h"
#include "model/phys_mem.h"
#include "model/saturating.h"
#include "scenarios/costs.h"
#include "scenarios/memory_estimate.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

const char* const kDefaultStrategies =
    "cpu:per-page,cpu:full-above:33,cpu:full,iommu:per-page,iommu:cmdq,iommu:range,iommu:full-above:511,iommu:full";
const char* const kDefaultSizes = "1,2,4,8,16,24,32,33,34,48,64,96,128,192,256,384,511,512,768,1024,1536,2048,3072,4096";

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

/// Sizes every run before any runs: the largest of --sizes decides, since the estimate grows
/// with the pages and does not depend on the strategy. A run the model could not finish (more
/// frames than it has) or that would need more than --max-memory is a usage error, as a
/// scenario file's is a load error.
void check_run_size(const SweepRequest& rq, const LoadLimits& limits) {
  WorkloadParams p = rq.base;
  p.pages = rq.sizes.back();
  const MemoryEstimate e = estimate_workload(p);
  const std::string what = "--sizes " + std::to_string(p.pages) + ": a run of the " + rq.workload + " workload";
  const uint64_t max_frames = PhysMemConfig{}.max_frames;
  if (e.frames > max_frames)
    throw UsageError(what + " may need up to " + std::to_string(e.frames) + " frames, more than the model's " + std::to_string(max_frames) +
                     " (16 GiB of 4 KiB pages)");
  if (e.bytes > sat_mul(limits.max_memory_mib, uint64_t{1} << 20))
    throw UsageError(what + " needs an estimated " + format_bytes(e.bytes) + ", more than --max-memory " +
                     std::to_string(limits.max_memory_mib) + " MiB; the largest part, " + format_bytes(e.largest_bytes) + ", is " +
                     e.largest);
}

kernel::Strategy parse_or_throw(const std::string& spec, const char* opt) {
  std::string err;
  auto s = kernel::parse_strategy(spec, &err);
  if (!s) throw UsageError(std::string(opt) + ": " + err);
  return *s;
}

}  // namespace

void add_sweep_options(po::options_description& opts) {
  opts.add_options()("workload", po::value<std::string>()->default_value("munmap-dense"),
                     "workload (see tlbsim list), or a scenario file (FILE.json, e.g. from tlbsim import) run under each strategy")(
      "strategies", po::value<std::vector<std::string>>()->composing(), "strategies, comma-separated (default: all sides' main ones)")(
      "sizes", po::value<std::vector<std::string>>()->composing(), "range sizes in pages, comma-separated, each 1 to 1048576")(
      "policy", po::value<std::string>()->default_value("fixed"), "notifier policy")("costs", po::value<std::string>(),
                                                                                     "JSON file overriding cost-model fields")(
      "vmas", po::value<std::string>()->default_value("100"),
      ("fork: VMAs the pages are spread over, 1 to " + std::to_string(kMaxSweepPages)).c_str())(
      "cpu-working-set", po::value<std::string>()->default_value("512"),
      ("pages the CPU re-touches after the path, 0 to " + std::to_string(kMaxWorkingSetPages)).c_str())(
      "device-working-set", po::value<std::string>()->default_value("64"),
      ("pages the device re-touches after the path, 0 to " + std::to_string(kMaxWorkingSetPages)).c_str())(
      "no-ats", "the device has no ATC (no PCIe ATS): only the IOTLB caches its translations")(
      "cpu-base", po::value<std::string>()->default_value("cpu:per-page"), "CPU strategy while sweeping IOMMU strategies")(
      "iommu-base", po::value<std::string>()->default_value("iommu:full-above:511"), "IOMMU strategy while sweeping CPU strategies");
  // Every run is sized by its memory estimate before any runs: a scenario workload's by the
  // loader's, a named workload's by estimate_workload() (docs/scale-out.md).
  add_max_memory_option(opts);
}

SweepRequest read_sweep_request(const po::variables_map& vm) {
  SweepRequest rq;
  rq.workload = vm["workload"].as<std::string>();
  const WorkloadInfo* w = find_workload(rq.workload);
  if (!w) throw UsageError("--workload: unknown workload '" + rq.workload + "' (see tlbsim list)");
  SweepStrategies st = read_sweep_strategies(vm);
  rq.strategies = std::move(st.strategies);
  rq.sizes = parse_sizes(vm.count("sizes") ? vm["sizes"].as<std::vector<std::string>>() : std::vector<std::string>{kDefaultSizes});
  rq.policy = resolve_policies({vm["policy"].as<std::string>()}).at(0);
  rq.cpu_base = std::move(st.cpu_base);
  rq.iommu_base = std::move(st.iommu_base);
  rq.no_ats = vm.count("no-ats") > 0;
  WorkloadParams& p = rq.base;
  p.workload = w->workload;
  // A working set must fit below the workload's range (see WorkloadParams).
  p.cpu_working_set = *uint_option(vm, "cpu-working-set", 0, kMaxWorkingSetPages);
  p.device_working_set = *uint_option(vm, "device-working-set", 0, kMaxWorkingSetPages);
  p.vmas = static_cast<unsigned>(*uint_option(vm, "vmas", 1, kMaxSweepPages));
  p.device_ats = !rq.no_ats;
  p.policy = rq.policy;
  if (vm.count("costs")) {
    rq.costs_file = vm["costs"].as<std::string>();
    p.cost = load_costs_file(*rq.costs_file);
  }
  check_run_size(rq, read_limits(vm));
  return rq;
}

SweepStrategies read_sweep_strategies(const po::variables_map& vm) {
  SweepStrategies st;
  const std::vector<std::string> specs =
      split_commas(vm.count("strategies") ? vm["strategies"].as<std::vector<std::string>>() : std::vector<std::string>{kDefaultStrategies});
  for (const auto& s : specs) st.strategies.push_back(parse_or_throw(s, "--strategies"));
  st.cpu_base = parse_or_throw(vm["cpu-base"].as<std::string>(), "--cpu-base");
  st.iommu_base = parse_or_throw(vm["iommu-base"].as<std::string>(), "--iommu-base");
  if (st.cpu_base.side != kernel::StrategySide::Cpu) throw UsageError("--cpu-base needs a cpu: strategy");
  if (st.iommu_base.side != kernel::StrategySide::Iommu) throw UsageError("--iommu-base needs an iommu: strategy");
  return st;
}

std::pair<kernel::CpuStrategy, iommu::IommuStrategy> SweepStrategies::in_force(const kernel::Strategy& s) const {
  const bool cpu = s.side == kernel::StrategySide::Cpu;
  return {cpu ? s.cpu : cpu_base.cpu, cpu ? iommu_base.iommu : s.iommu};
}

std::vector<SweepCell> sweep_cells(const SweepRequest& rq) {
  std::vector<SweepCell> cells;
  for (size_t s = 0; s < rq.strategies.size(); ++s)
    for (const uint64_t n : rq.sizes) cells.push_back(SweepCell{.strategy = s, .pages = n});
  return cells;
}

WorkloadParams cell_params(const SweepRequest& rq, const SweepCell& c) {
  WorkloadParams p = rq.base;
  const SweepStrategies st{.strategies = {}, .cpu_base = rq.cpu_base, .iommu_base = rq.iommu_base};
  p.pages = c.pages;
  std::tie(p.cpu, p.iommu) = st.in_force(rq.strategies.at(c.strategy));
  return p;
}

std::vector<uint64_t> cell_estimates(const SweepRequest& rq, const std::vector<SweepCell>& cells) {
  // A run builds the range (every workload maps a small multiple of its pages), the working
  // sets and, for fork, the VMAs; its time grows with their sum.
  std::vector<uint64_t> estimates;
  for (const SweepCell& c : cells)
    estimates.push_back(sat_add(sat_add(c.pages, rq.base.cpu_working_set), sat_add(rq.base.device_working_set, rq.base.vmas)));
  return estimates;
}

}  // namespace tlbsim::cli
