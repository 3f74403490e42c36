// SPDX-License-Identifier: MIT
// CostCounters: the difference of two snapshots is the count over the interval, field by field.
#include <catch2/catch.hpp>

#include "iommu/cost_model.h"

namespace tlbsim::iommu {
namespace {

TEST_CASE("subtracting counter snapshots gives each field's count over the interval", "[iommu][costs]") {
  CostCounters before{.cpu_flushes = 1,
                      .cpu_flush_ns = 2,
                      .iommu_commands = 3,
                      .atc_commands = 4,
                      .syncs = 5,
                      .iommu_ns = 6,
                      .iotlb_misses = 7,
                      .atc_misses = 8,
                      .refill_ns = 9,
                      .sec_inv_requests = 10};
  CostCounters after{.cpu_flushes = 11,
                     .cpu_flush_ns = 22,
                     .iommu_commands = 33,
                     .atc_commands = 44,
                     .syncs = 55,
                     .iommu_ns = 66,
                     .iotlb_misses = 77,
                     .atc_misses = 88,
                     .refill_ns = 99,
                     .sec_inv_requests = 110};
  const CostCounters d = after - before;
  CHECK(d.cpu_flushes == 10);
  CHECK(d.cpu_flush_ns == 20);
  CHECK(d.iommu_commands == 30);
  CHECK(d.atc_commands == 40);
  CHECK(d.syncs == 50);
  CHECK(d.iommu_ns == 60);
  CHECK(d.iotlb_misses == 70);
  CHECK(d.atc_misses == 80);
  CHECK(d.refill_ns == 90);
  CHECK(d.sec_inv_requests == 100);
  const CostCounters zero = after - after;  // NOLINT(misc-redundant-expression): x - x is what is tested
  CHECK(zero.cpu_flushes + zero.cpu_flush_ns + zero.iommu_commands + zero.atc_commands + zero.syncs + zero.iommu_ns + zero.iotlb_misses +
            zero.atc_misses + zero.refill_ns + zero.sec_inv_requests ==
        0);
}

// A counter added to CostCounters must be added to operator+= and operator- (and to the sweep
// shard's field table, which checks the same size): this fails until the test knows it too.
static_assert(sizeof(CostCounters) == 10 * sizeof(uint64_t), "a new CostCounters field: sum it in operator+=, subtract it in operator-");

TEST_CASE("adding counters sums every field, saturating", "[iommu][costs]") {
  CostCounters a{.cpu_flushes = 1,
                 .cpu_flush_ns = 2,
                 .iommu_commands = 3,
                 .atc_commands = 4,
                 .syncs = 5,
                 .iommu_ns = 6,
                 .iotlb_misses = 7,
                 .atc_misses = 8,
                 .refill_ns = 9,
                 .sec_inv_requests = 10};
  const CostCounters b{.cpu_flushes = 100,
                       .cpu_flush_ns = 200,
                       .iommu_commands = 300,
                       .atc_commands = 400,
                       .syncs = 500,
                       .iommu_ns = 600,
                       .iotlb_misses = 700,
                       .atc_misses = 800,
                       .refill_ns = 900,
                       .sec_inv_requests = 1000};
  a += b;
  CHECK(a.cpu_flushes == 101);
  CHECK(a.cpu_flush_ns == 202);
  CHECK(a.iommu_commands == 303);
  CHECK(a.atc_commands == 404);
  CHECK(a.syncs == 505);
  CHECK(a.iommu_ns == 606);
  CHECK(a.iotlb_misses == 707);
  CHECK(a.atc_misses == 808);
  CHECK(a.refill_ns == 909);
  CHECK(a.sec_inv_requests == 1010);
  CostCounters big{.iommu_ns = ~uint64_t{0}};
  big += b;
  CHECK(big.iommu_ns == ~uint64_t{0});
}

}  // namespace
}  // namespace tlbsim::iommu
