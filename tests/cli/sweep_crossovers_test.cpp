// SPDX-License-Identifier: MIT
// crossovers(): where the sign of cost(a) - cost(b) changes over the sizes both series share.
#include <catch2/catch.hpp>

#include <cmath>

#include "cli/sweep_crossovers.h"

namespace tlbsim::cli {
namespace {

SweepSeries series(const char* label, std::vector<std::pair<uint64_t, uint64_t>> pts) { return SweepSeries{label, std::move(pts)}; }

TEST_CASE("a crossing between two sizes is interpolated on log(pages)", "[cli][sweep]") {
  // a - b: -20, -10, +10; the sign changes between 2 and 4, half way on the log axis.
  const auto c = crossovers(series("a", {{1, 10}, {2, 20}, {4, 40}}), series("b", {{1, 30}, {2, 30}, {4, 30}}));
  REQUIRE(c.size() == 1);
  CHECK(c[0].a == "a");
  CHECK(c[0].b == "b");
  CHECK(c[0].below == 2);
  CHECK(c[0].above == 4);
  CHECK(c[0].pages == Approx(std::sqrt(8.0)));
  CHECK(c[0].ns == Approx(30.0));
}

TEST_CASE("a sign change through an exact tie is a crossover at the tied size", "[cli][sweep]") {
  // a - b: -5, 0, +5.
  const auto c = crossovers(series("a", {{1, 5}, {2, 10}, {4, 15}}), series("b", {{1, 10}, {2, 10}, {4, 10}}));
  REQUIRE(c.size() == 1);
  CHECK(c[0].below == 1);
  CHECK(c[0].above == 4);
  CHECK(c[0].pages == 2.0);
  CHECK(c[0].ns == 10.0);
  // A run of ties: -5, 0, 0, +5 crosses once, at the first tie.
  const auto run = crossovers(series("a", {{1, 5}, {2, 10}, {4, 10}, {8, 15}}), series("b", {{1, 10}, {2, 10}, {4, 10}, {8, 10}}));
  REQUIRE(run.size() == 1);
  CHECK(run[0].below == 1);
  CHECK(run[0].above == 8);
  CHECK(run[0].pages == 2.0);
}

TEST_CASE("ties the order survives, and ties at either end, are no crossover", "[cli][sweep]") {
  const SweepSeries flat = series("b", {{1, 10}, {2, 10}, {4, 10}, {8, 10}});
  CHECK(crossovers(series("a", {{1, 5}, {2, 10}, {4, 5}, {8, 5}}), flat).empty());     // -, 0, -, -
  CHECK(crossovers(series("a", {{1, 10}, {2, 15}, {4, 20}, {8, 25}}), flat).empty());  // 0, +, +, +
  CHECK(crossovers(series("a", {{1, 5}, {2, 5}, {4, 5}, {8, 10}}), flat).empty());     // -, -, -, 0
  CHECK(crossovers(flat, flat).empty());
}

TEST_CASE("every change of sign is reported, over the sizes both series have", "[cli][sweep]") {
  // a - b at the shared sizes 1, 4, 16: -1, +1, -1 (size 2 exists only in a and is ignored).
  const auto c = crossovers(series("a", {{1, 9}, {2, 100}, {4, 11}, {16, 9}}), series("b", {{1, 10}, {4, 10}, {8, 0}, {16, 10}}));
  REQUIRE(c.size() == 2);
  CHECK(c[0].below == 1);
  CHECK(c[0].above == 4);
  CHECK(c[0].pages == Approx(2.0));
  CHECK(c[1].below == 4);
  CHECK(c[1].above == 16);
  CHECK(c[1].pages == Approx(8.0));
  CHECK(crossovers(series("a", {}), series("b", {{1, 1}})).empty());
}

}  // namespace
}  // namespace tlbsim::cli
