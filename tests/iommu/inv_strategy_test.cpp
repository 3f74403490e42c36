// SPDX-License-Identifier: MIT
// IOMMU invalidation strategies: how many commands and syncs one request becomes, and which
// cached translations it drops.
#include <catch2/catch.hpp>

#include "iommu/inv_strategy.h"
#include "iommu/iommu.h"
#include "model/page_table.h"
#include "support/recording_sink.h"

namespace tlbsim::iommu {
namespace {

constexpr MmId kMm{0};
constexpr uint32_t kPasid = 3;

struct Machine {
  Machine() : mem({}, bus), pt(mem, kMm), io(0, IommuConfig{}, mem, cost) {
    dev = io.add_device(DeviceConfig{.name = "dev0"});
    io.bind(dev, Pasid{kPasid}, WalkContext{kMm, kPasid, pt.pgd()});
  }
  EventBus bus;
  PhysMem mem;
  PageTable pt;
  CostModel cost{};
  Iommu io;
  uint16_t dev = 0;
  /// Translations for pages [0, n) in the IOTLB and the ATC.
  void fill(uint64_t n) {
    for (uint64_t v = 0; v < n; ++v) {
      io.iotlb().fill(kPasid, kMm, Vaddr{v << kPageShift}, Pfn{uint32_t(100 + v)}, true, false, "test");
      io.atc(dev).fill(kPasid, kMm, Vaddr{v << kPageShift}, Pfn{uint32_t(100 + v)}, true, false, "test");
    }
  }
  bool cached(uint64_t page) { return io.iotlb().lookup(kPasid, Vaddr{page << kPageShift}) != nullptr; }
  bool in_atc(uint64_t page) { return io.atc(dev).lookup(kPasid, Vaddr{page << kPageShift}) != nullptr; }
  void run(IommuStrategy s, uint64_t first, uint64_t pages) {
    strategy_invalidate(io, s, Pasid{kPasid}, first << kPageShift, (first + pages) << kPageShift);
  }
  uint64_t commands() { return io.counters().iommu_commands + io.counters().atc_commands; }
};

TEST_CASE("aligned_blocks covers a range exactly with naturally aligned power-of-two blocks", "[iommu][strategy]") {
  using B = std::vector<std::pair<uint64_t, uint64_t>>;
  CHECK(aligned_blocks(0, 8) == B{{0, 8}});
  CHECK(aligned_blocks(3, 9) == B{{3, 4}, {4, 8}, {8, 9}});
  CHECK(aligned_blocks(5, 6) == B{{5, 6}});
  CHECK(aligned_blocks(4, 4).empty());
  for (uint64_t first = 0; first < 40; ++first)
    for (uint64_t n = 1; n < 70; ++n) {
      uint64_t at = first;
      for (auto [b, e] : aligned_blocks(first, first + n)) {
        REQUIRE(b == at);
        const uint64_t size = e - b;
        REQUIRE((size & (size - 1)) == 0);
        REQUIRE(b % size == 0);
        at = e;
      }
      REQUIRE(at == first + n);
    }
}

TEST_CASE("per-page submits every command synchronously, cmdq queues them behind one sync", "[iommu][strategy]") {
  Machine a, b;
  a.run({IommuStrategyKind::PerPage, 0}, 4, 10);
  b.run({IommuStrategyKind::Cmdq, 0}, 4, 10);
  CHECK(a.io.counters().iommu_commands == 10);
  CHECK(a.io.counters().atc_commands == 10);
  CHECK(a.io.counters().syncs == 20);
  CHECK(b.commands() == 20);
  CHECK(b.io.counters().syncs == 1);
  CHECK(b.io.counters().iommu_ns == 20 * b.cost.iommu_cmd + b.cost.iommu_sync + b.cost.atc_inv_rtt);
}

TEST_CASE("range issues one command per aligned block and cache", "[iommu][strategy]") {
  Machine m;
  m.fill(16);
  m.run({IommuStrategyKind::Range, 0}, 3, 6);  // pages 3..8: blocks 3, 4-7, 8
  CHECK(m.io.counters().iommu_commands == 3);
  CHECK(m.io.counters().atc_commands == 3);
  CHECK(m.io.counters().syncs == 1);
  for (uint64_t p = 0; p < 16; ++p) {
    INFO("page " << p);
    CHECK(m.cached(p) == (p < 3 || p > 8));
    CHECK(m.in_atc(p) == (p < 3 || p > 8));
  }
}

TEST_CASE("full-above invalidates page by page up to its threshold and the whole PASID above it", "[iommu][strategy]") {
  const IommuStrategy s{IommuStrategyKind::FullAbove, 4};
  SECTION("at the threshold: per page, translations outside the range survive") {
    Machine m;
    m.fill(8);
    m.run(s, 0, 4);
    CHECK(m.commands() == 8);
    CHECK_FALSE(m.cached(3));
    CHECK(m.cached(4));
    CHECK(m.in_atc(7));
  }
  SECTION("above it: one PASID-wide command per cache, everything dropped") {
    Machine m;
    m.fill(8);
    m.run(s, 0, 5);
    CHECK(m.commands() == 2);
    CHECK(m.io.counters().syncs == 1);
    CHECK(m.io.counters().iommu_ns == 2 * m.cost.iommu_pasid_cmd + m.cost.iommu_sync + m.cost.atc_inv_rtt);
    CHECK_FALSE(m.cached(7));
    CHECK_FALSE(m.in_atc(7));
  }
}

TEST_CASE("the full request (0, -1) is PASID-wide under every strategy, an empty one issues nothing", "[iommu][strategy]") {
  for (auto k : {IommuStrategyKind::PerPage, IommuStrategyKind::Cmdq, IommuStrategyKind::Range, IommuStrategyKind::FullAbove,
                 IommuStrategyKind::Full}) {
    Machine m;
    strategy_invalidate(m.io, {k, 511}, Pasid{kPasid}, 0, kFlushAll);
    CHECK(m.commands() == 2);
    Machine e;
    strategy_invalidate(e.io, {k, 511}, Pasid{kPasid}, 0x5000, 0x5000);
    CHECK(e.commands() == 0);
    CHECK(e.io.counters().syncs == 0);
    CHECK_FALSE(widens_to_pasid({k, 511}, 0x5000, 0x5000));
  }
  CHECK(over_threshold({IommuStrategyKind::FullAbove, 511}, 512));
  CHECK_FALSE(over_threshold({IommuStrategyKind::FullAbove, 511}, 511));
  CHECK_FALSE(over_threshold({IommuStrategyKind::Cmdq, 0}, 1u << 30));
}

}  // namespace
}  // namespace tlbsim::iommu
