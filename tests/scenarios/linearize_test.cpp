// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

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

namespace {
/// The greedy orders with every pair asked: each step waits for every earlier step of another
/// thread that must precede it. few_switch_orders() asks only the latest such step of each thread.
std::vector<std::vector<int>> every_pair_orders(const std::vector<int>& threads, const std::vector<std::vector<bool>>& before) {
  const size_t n = threads.size();
  int nthreads = 0;
  for (int t : threads) nthreads = std::max(nthreads, t + 1);
  std::vector<std::vector<int>> out;
  for (int start = 0; start < nthreads; ++start) {
    std::vector<size_t> next(static_cast<size_t>(nthreads), 0);  // steps of each thread taken
    std::vector<bool> done(n, false);
    auto front = [&](int t) -> std::optional<size_t> {
      size_t k = 0;
      for (size_t i = 0; i < n; ++i)
        if (threads[i] == t && k++ == next[static_cast<size_t>(t)]) return i;
      return std::nullopt;
    };
    auto ready = [&](int t) {
      const std::optional<size_t> j = front(t);
      if (!j) return false;
      for (size_t i = 0; i < *j; ++i)
        if (threads[i] != t && before[i][*j] && !done[i]) return false;
      return true;
    };
    if (!ready(start)) continue;
    std::vector<int> order;
    int cur = start;
    while (order.size() < n) {
      if (!ready(cur)) {
        cur = -1;
        for (int t = 0; t < nthreads && cur < 0; ++t)
          if (ready(t)) cur = t;
        if (cur < 0) break;
      }
      done[*front(cur)] = true;
      ++next[static_cast<size_t>(cur)];
      order.push_back(cur);
    }
    if (order.size() == n) out.push_back(std::move(order));
  }
  return out;
}
}  // namespace

TEST_CASE("few_switch_orders gives the orders that asking every pair gives, on 3000 generated executions", "[scenarios][explore]") {
  std::mt19937_64 rng(20261206);
  size_t asked = 0, pairs = 0;
  for (int c = 0; c < 3000; ++c) {
    const int nthreads = 1 + static_cast<int>(rng() % 6);
    const size_t n = rng() % 40;
    std::vector<int> threads(n);
    for (int& t : threads) t = static_cast<int>(rng() % static_cast<uint64_t>(nthreads));
    // Dense and sparse relations alike; any relation, not only a dependence one.
    const uint64_t percent = rng() % 101;
    std::vector<std::vector<bool>> before(n, std::vector<bool>(n, false));
    for (size_t j = 0; j < n; ++j)
      for (size_t i = 0; i < j; ++i) {
        before[i][j] = rng() % 100 < percent;
        pairs += threads[i] != threads[j];
      }
    const auto got = few_switch_orders(threads, [&](size_t i, size_t j) {
      ++asked;
      REQUIRE(i < j);
      REQUIRE(threads[i] != threads[j]);
      return static_cast<bool>(before[i][j]);
    });
    INFO("case " << c << ", " << n << " steps, " << nthreads << " threads, " << percent << "% of pairs ordered");
    REQUIRE(got == every_pair_orders(threads, before));
  }
  CHECK(asked < pairs);  // the point of asking from j back: fewer questions
}
