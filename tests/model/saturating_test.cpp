// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "model/saturating.h"

using namespace tlbsim;

TEST_CASE("sat_add and sat_mul stop at 2^64-1 instead of wrapping", "[model]") {
  CHECK(sat_add(1, 2) == 3);
  CHECK(sat_add(kSaturated - 1, 1) == kSaturated);
  CHECK(sat_add(kSaturated, kSaturated) == kSaturated);
  CHECK(sat_mul(uint64_t{1} << 24, uint64_t{1} << 39) == uint64_t{1} << 63);
  CHECK(sat_mul(uint64_t{1} << 24, uint64_t{1} << 40) == kSaturated);
  CHECK(sat_mul(0, kSaturated) == 0);
}
