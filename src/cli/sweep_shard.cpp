// SPDX-License-Identifier: MIT
#include "cli/sweep_shard.h"

#include <iterator>
#include <utility>

namespace tlbsim::cli {

using namespace tlbsim::scenarios;
using OJ = nlohmann::ordered_json;
using J = nlohmann::json;

using shard_json::fail;
using shard_json::member;

namespace {

/// Every counter of a side, by the name the shard file gives it.
constexpr std::pair<const char*, uint64_t iommu::CostCounters::*> kCounters[] = {
    {"cpu_flushes", &iommu::CostCounters::cpu_flushes},
    {"cpu_flush_ns", &iommu::CostCounters::cpu_flush_ns},
    {"iommu_commands", &iommu::CostCounters::iommu_commands},
    {"atc_commands", &iommu::CostCounters::atc_commands},
    {"syncs", &iommu::CostCounters::syncs},
    {"iommu_ns", &iommu::CostCounters::iommu_ns},
    {"iotlb_misses", &iommu::CostCounters::iotlb_misses},
    {"atc_misses", &iommu::CostCounters::atc_misses},
    {"refill_ns", &iommu::CostCounters::refill_ns},
    {"sec_inv_requests", &iommu::CostCounters::sec_inv_requests},
};

static_assert(std::size(kCounters) * sizeof(uint64_t) == sizeof(iommu::CostCounters), "a CostCounters field missing from kCounters");

/// The result's own counters, by name.
constexpr std::pair<const char*, uint64_t WorkloadResult::*> kTotals[] = {
    {"cpu_refills", &WorkloadResult::cpu_refills},
    {"cpu_refill_ns", &WorkloadResult::cpu_refill_ns},
    {"windows", &WorkloadResult::windows},
    {"all_windows", &WorkloadResult::all_windows},
};

OJ counters_json(const iommu::CostCounters& c) {
  OJ o;
  for (const auto& [name, field] : kCounters) o[name] = c.*field;
  return o;
}

/// Member `key` of `obj` (at `at`), a non-negative integer.
uint64_t number_at(const std::string& path, const J& obj, const std::string& at, const char* key) {
  return shard_json::number(path, shard_json::member(path, obj, at, key), at + "/" + key);
}

iommu::CostCounters counters_from(const std::string& path, const J& obj, const std::string& at) {
  iommu::CostCounters c;
  for (const auto& [name, field] : kCounters) c.*field = number_at(path, obj, at, name);
  return c;
}

}  // namespace

std::string sweep_shard_document(const ShardHeader& h, const std::vector<SweepCell>& cells, const SweepRequest& rq,
                                 const std::vector<SweepCellResult>& done) {
  OJ out = OJ::array();
  for (const SweepCellResult& d : done) {
    OJ r;
    r["cpu"] = counters_json(d.result.cpu);
    r["iommu"] = counters_json(d.result.iommu);
    for (const auto& [name, field] : kTotals) r[name] = d.result.*field;
    const SweepCell& c = cells.at(d.cell);
    out.push_back(OJ{{"cell", d.cell}, {"strategy", rq.strategies.at(c.strategy).label}, {"pages", c.pages}, {"result", std::move(r)}});
  }
  return shard_document(h, "cells", std::move(out));
}

std::vector<SweepCellResult> read_sweep_cells(const ShardFile& f, const std::vector<SweepCell>& cells, const SweepRequest& rq) {
  std::vector<SweepCellResult> out;
  for (size_t i = 0; i < f.cells.size(); ++i) {
    const std::string at = "/cells/" + std::to_string(i);
    const J& c = f.cells[i];
    const uint64_t index = number_at(f.path, c, at, "cell");
    if (index >= cells.size()) fail(f.path, at + "/cell", "expected a cell below " + std::to_string(cells.size()) + ", the grid's size");
    const J& label = member(f.path, c, at, "strategy");
    const std::string want = rq.strategies[cells[index].strategy].label;
    if (!label.is_string() || label.get<std::string>() != want)
      fail(f.path, at + "/strategy", "expected \"" + want + "\", cell " + std::to_string(index) + "'s strategy");
    if (number_at(f.path, c, at, "pages") != cells[index].pages)
      fail(f.path, at + "/pages", "expected " + std::to_string(cells[index].pages) + ", cell " + std::to_string(index) + "'s size");
    const J& r = member(f.path, c, at, "result");
    SweepCellResult d{.cell = index, .result = {}};
    d.result.cpu = counters_from(f.path, member(f.path, r, at + "/result", "cpu"), at + "/result/cpu");
    d.result.iommu = counters_from(f.path, member(f.path, r, at + "/result", "iommu"), at + "/result/iommu");
    for (const auto& [name, field] : kTotals) d.result.*field = number_at(f.path, r, at + "/result", name);
    out.push_back(d);
  }
  return out;
}

}  // namespace tlbsim::cli
