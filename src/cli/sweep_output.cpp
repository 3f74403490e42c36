// SPDX-License-Identifier: MIT
#include "cli/sweep_output.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "cli/sweep_crossovers.h"
#include "cli/sweep_svg.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

/// The kernel's own per-page/whole-space constant for the strategy that issues what the kernel
/// issues below it: x86 INVLPG per page up to tlb_single_page_flush_ceiling (33); SMMUv3 one
/// TLBI per page behind one CMD_SYNC below CMDQ_MAX_TLBI_OPS (512). 0: none to compare with.
uint64_t kernel_constant(const std::string& label) {
  if (label == "cpu:per-page") return 33;
  if (label == "iommu:cmdq") return 512;
  return 0;
}

bool is_whole(const std::string& label) { return label == "cpu:full" || label == "iommu:full"; }

/// printf into a string (of any length: strategy labels are the user's).
template <typename... A>
std::string format(const char* fmt, A... a) {
  const int n = std::snprintf(nullptr, 0, fmt, a...);
  if (n <= 0) return {};
  std::string buf(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(buf.data(), buf.size(), fmt, a...);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

using ull = unsigned long long;

}  // namespace

uint64_t SweepOutput::Row::inv_ns() const { return strategy->side == kernel::StrategySide::Cpu ? r.cpu.cpu_flush_ns : r.iommu.iommu_ns; }
uint64_t SweepOutput::Row::misses() const {
  return strategy->side == kernel::StrategySide::Cpu ? r.cpu_refills : r.iommu.iotlb_misses + r.iommu.atc_misses;
}
uint64_t SweepOutput::Row::refill_ns() const { return strategy->side == kernel::StrategySide::Cpu ? r.cpu_refill_ns : r.iommu.refill_ns; }
uint64_t SweepOutput::Row::total_ns() const { return inv_ns() + refill_ns(); }

SweepOutput::SweepOutput(const SweepRequest& rq, std::vector<WorkloadResult> results) : m_rq(rq) {
  const std::vector<SweepCell> cells = sweep_cells(rq);
  if (cells.size() != results.size()) throw std::invalid_argument("SweepOutput: one result per cell");
  for (size_t i = 0; i < cells.size(); ++i) m_rows.push_back(Row{&rq.strategies[cells[i].strategy], cells[i].pages, results[i]});
  const auto& st = rq.strategies;
  for (const auto& s : st) {
    SweepSeries ss{s.label, {}};
    for (const Row& r : m_rows)
      if (r.strategy->label == s.label) ss.points.emplace_back(r.pages, r.total_ns());
    m_series.push_back(std::move(ss));
  }
  // Crossovers between each per-page-style strategy and its side's whole-space one.
  for (size_t i = 0; i < st.size(); ++i)
    for (size_t j = 0; j < st.size(); ++j) {
      if (st[i].side != st[j].side || is_whole(st[i].label) || !is_whole(st[j].label)) continue;
      for (const Crossover& c : crossovers(m_series[i], m_series[j])) m_cross.push_back(c);
    }
}

std::string SweepOutput::text() const {
  std::string out;
  out += format(
      "workload %s, policy %s%s; cost per side: its invalidation ns + refills of the re-touched working set\n"
      "(CPU strategies run with %s, IOMMU strategies with %s; windows: those still open at a free)\n\n",
      m_rq.workload.c_str(), m_rq.policy.c_str(), m_rq.no_ats ? ", device without ATS" : "", m_rq.iommu_base.label.c_str(),
      m_rq.cpu_base.label.c_str());
  out += format("%-22s %6s %7s %7s %8s %7s %11s %8s %11s %11s %7s\n", "strategy", "pages", "sec_inv", "cpu_fl", "commands", "syncs",
                "inv_ns", "misses", "refill_ns", "total_ns", "windows");
  for (const Row& r : m_rows) {
    const uint64_t cmds = r.r.iommu.iommu_commands + r.r.iommu.atc_commands;
    out += format("%-22s %6llu %7llu %7llu %8llu %7llu %11llu %8llu %11llu %11llu %7llu\n", r.strategy->label.c_str(), ull(r.pages),
                  ull(r.r.iommu.sec_inv_requests), ull(r.r.cpu.cpu_flushes), ull(cmds), ull(r.r.iommu.syncs), ull(r.inv_ns()),
                  ull(r.misses()), ull(r.refill_ns()), ull(r.total_ns()), ull(r.r.windows));
  }
  out += "\ncrossovers (where a strategy stops being cheaper than whole-space invalidation):\n";
  out += format("%-22s %-12s %10s %10s %10s %10s\n", "strategy", "vs", "between", "estimate", "kernel", "ratio");
  for (const Crossover& c : m_cross) {
    const uint64_t kc = kernel_constant(c.a);
    const std::string between = format("%llu-%llu", ull(c.below), ull(c.above));
    const std::string kernel = kc ? format("%llu", ull(kc)) : "-";
    const std::string ratio = kc ? format("%.2f", c.pages / double(kc)) : "-";
    out += format("%-22s %-12s %10s %10.0f %10s %10s\n", c.a.c_str(), c.b.c_str(), between.c_str(), c.pages, kernel.c_str(), ratio.c_str());
  }
  if (m_cross.empty()) out += "  (none in this size range)\n";
  return out;
}

std::string SweepOutput::csv() const {
  std::ostringstream csv;
  csv << "workload,policy,strategy,pages,sec_inv_requests,cpu_flushes,iommu_commands,atc_commands,syncs,invalidation_ns,"
         "refill_misses,refill_ns,total_ns,windows,all_windows\n";
  for (const Row& r : m_rows)
    csv << m_rq.workload << "," << m_rq.policy << "," << r.strategy->label << "," << r.pages << "," << r.r.iommu.sec_inv_requests << ","
        << r.r.cpu.cpu_flushes << "," << r.r.iommu.iommu_commands << "," << r.r.iommu.atc_commands << "," << r.r.iommu.syncs << ","
        << r.inv_ns() << "," << r.misses() << "," << r.refill_ns() << "," << r.total_ns() << "," << r.r.windows << "," << r.r.all_windows
        << "\n";
  return csv.str();
}

std::string SweepOutput::svg() const { return sweep_svg("tlbsim sweep: " + m_rq.workload + " under " + m_rq.policy, m_series, m_cross); }

}  // namespace tlbsim::cli
