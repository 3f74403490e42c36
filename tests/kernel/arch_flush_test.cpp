// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "kernel/arch_flush.h"
#include "kernel/flush_strategy.h"
#include "model/saturating.h"
#include "support/recording_sink.h"

namespace tlbsim::kernel {
namespace {

TEST_CASE("a flush whose cost is past 2^64 ns saturates the clock and the CPU counter instead of wrapping", "[kernel]") {
  // The largest cost a costs file allows (2^40 ns per page) over 2^30 pages, page by page.
  MachineConfig cfg;
  cfg.cost.cpu_invlpg = uint64_t{1} << 40;
  apply_cpu_strategy(cfg, parse_strategy("cpu:per-page", nullptr)->cpu);
  test::SvaMachine m("fixed", SvaDecoding::AmdV2, cfg);
  const uint64_t start = 0x100000;
  flush_tlb_range(*m.k, *m.mm, start, start + (uint64_t{1} << 30) * kPageSize);
  CHECK(m.k->cpu_counters().cpu_flush_ns == kSaturated);
  CHECK(m.k->bus().now() == kSaturated);
  flush_tlb_range(*m.k, *m.mm, start, start + kPageSize);  // and stay there
  CHECK(m.k->cpu_counters().cpu_flush_ns == kSaturated);
  CHECK(m.k->bus().now() == kSaturated);
  CHECK(m.k->cpu_counters().cpu_flushes == 2);
}

}  // namespace
}  // namespace tlbsim::kernel
