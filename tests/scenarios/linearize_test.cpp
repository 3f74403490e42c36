// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <set>
#include <utility>

#include "scenarios/linearize.h"

using namespace tlbsim::scenarios;

TEST_CASE("few_switch_orders runs a thread on while nothing it depends on is pending", "[scenarios][explore]") {
  // Steps: A0 B0 A1 B1 A2, where only B1 -> A2 must stay in order. Greedy from A runs A0 A1,
  // then must wait for B1: A A B B A (2 switches, against 4 in the execution).
  const std::vector<int> threads{0, 1, 0, 1, 0};
  const std::set<std::pair<size_t, size_t>> edges{{3, 4}};
  const auto orders = few_switch_orders(threads, [&](size_t i, size_t j) { return edges.count({i, j}) > 0; });
  REQUIRE(orders.size() == 2);
  CHECK(orders[0] == std::vector<int>{0, 0, 1, 1, 0});
  CHECK(orders[1] == std::vector<int>{1, 1, 0, 0, 0});  // from B: B0 B1, then all of A
}

TEST_CASE("few_switch_orders keeps every dependent pair in its order", "[scenarios][explore]") {
  // A chain across threads leaves one order: A0 -> B0 -> A1 -> B1.
  const std::vector<int> threads{0, 1, 0, 1};
  const auto orders = few_switch_orders(threads, [](size_t i, size_t j) { return j == i + 1; });
  REQUIRE(orders.size() == 1);  // B cannot start: B0 waits for A0
  CHECK(orders[0] == threads);
}
