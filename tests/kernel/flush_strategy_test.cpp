// SPDX-License-Identifier: MIT
// The strategy registry: parsing "side:name[:N]", and what a CPU strategy does to the machine's
// flush_tlb_mm_range() ceiling and reclaim batching.
#include <catch2/catch.hpp>

#include <set>

#include "kernel/arch_flush.h"
#include "kernel/flush_strategy.h"
#include "support/recording_sink.h"

namespace tlbsim::kernel {
namespace {

TEST_CASE("every registered strategy parses to itself, with its default threshold", "[kernel][strategy]") {
  std::set<std::string> names;
  for (const auto& s : strategies()) {
    CHECK(names.insert(std::string(s.name)).second);
    std::string err;
    const auto p = parse_strategy(s.name, &err);
    REQUIRE(p);
    CHECK(p->side == s.side);
    CHECK(p->label == std::string(s.name) + (s.takes_threshold ? ":" + std::to_string(s.default_threshold) : ""));
  }
}

TEST_CASE("parse_strategy reads thresholds and rejects bad names and numbers", "[kernel][strategy]") {
  std::string err;
  const auto a = parse_strategy("cpu:full-above:8", &err);
  REQUIRE(a);
  CHECK(a->cpu.ceiling == 8);
  CHECK_FALSE(a->cpu.batch_unmap_flush);
  const auto b = parse_strategy("iommu:full-above:100", &err);
  REQUIRE(b);
  CHECK(b->iommu.kind == iommu::IommuStrategyKind::FullAbove);
  CHECK(b->iommu.threshold_pages == 100);
  CHECK(parse_strategy("cpu:deferred", &err)->cpu.batch_unmap_flush);
  for (const char* bad : {"cpu:nothing", "full", "cpu:full:3", "cpu:full-above:", "cpu:full-above:x", "cpu:full-above:-1",
                          "iommu:full-above:12a", "cpu:full-above:99999999999"}) {
    INFO(bad);
    err.clear();
    CHECK_FALSE(parse_strategy(bad, &err));
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("a CPU strategy sets the ceiling flush_tlb_range() widens above", "[kernel][strategy]") {
  for (const char* spec : {"cpu:per-page", "cpu:full-above:4", "cpu:full"}) {
    MachineConfig cfg;
    apply_cpu_strategy(cfg, parse_strategy(spec, nullptr)->cpu);
    test::SvaMachine m("fixed", SvaDecoding::AmdV2, cfg);
    run_sync(flush_tlb_range(*m.k, *m.mm, VaRange{0x100000, 0x100000 + 4 * kPageSize}));
    run_sync(flush_tlb_range(*m.k, *m.mm, VaRange{0x100000, 0x100000 + 5 * kPageSize}));
    std::vector<bool> full;
    for (const Event* e : m.rec.of(EventKind::CpuFlush)) full.push_back(e->va == 0 && e->end == kFlushAll);
    INFO(spec);
    REQUIRE(full.size() == 2);
    const std::string s = spec;
    CHECK(full[0] == (s == "cpu:full"));
    CHECK(full[1] == (s != "cpu:per-page"));
  }
}

}  // namespace
}  // namespace tlbsim::kernel
