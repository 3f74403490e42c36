// SPDX-License-Identifier: MIT
// Dealing work items to shards (deal_to_shard, shard_loads): every item to exactly one shard,
// the same assignment whichever shard asks, largest first to the least loaded shard, and the
// loads of the greedy bound (no shard above the mean plus the largest item).
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include "scenarios/shard.h"

using namespace tlbsim::scenarios;

TEST_CASE("deal_to_shard gives every item to exactly one shard, for many generated lists and shard counts", "[shard]") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    const size_t items = rng() % 40;
    std::vector<uint64_t> est(items);
    for (auto& e : est) e = 1 + rng() % (round % 3 == 0 ? 1 : 1000);
    const uint64_t count = 1 + rng() % 50;
    INFO("round " << round << ": " << items << " items, " << count << " shards");
    std::vector<int> owners(items, 0);
    std::vector<uint64_t> load(count, 0);
    for (uint64_t k = 0; k < count; ++k) {
      const std::vector<size_t> own = deal_to_shard(est, Shard{.index = k, .count = count});
      CHECK(std::is_sorted(own.begin(), own.end()));
      for (const size_t i : own) {
        REQUIRE(i < items);
        ++owners[i];
        load[k] += est[i];
      }
    }
    CHECK(std::all_of(owners.begin(), owners.end(), [](int n) { return n == 1; }));
    CHECK(shard_loads(est, est, count) == load);
    // List scheduling, largest first: no shard carries more than the mean plus the largest item.
    if (items > 0) {
      const uint64_t sum = std::accumulate(est.begin(), est.end(), uint64_t{0});
      const uint64_t biggest = *std::max_element(est.begin(), est.end());
      CHECK(*std::max_element(load.begin(), load.end()) * count <= sum + biggest * count);
    }
  }
}

TEST_CASE("deal_to_shard: equal estimates are dealt round robin, more shards than items leave the rest empty", "[shard]") {
  const std::vector<uint64_t> equal(7, 1);
  CHECK(deal_to_shard(equal, Shard{.index = 0, .count = 3}) == std::vector<size_t>{0, 3, 6});
  CHECK(deal_to_shard(equal, Shard{.index = 2, .count = 3}) == std::vector<size_t>{2, 5});
  CHECK(deal_to_shard(equal, Shard{.index = 0, .count = 1}).size() == 7);
  CHECK(deal_to_shard(equal, Shard{.index = 8, .count = 9}).empty());
  // Largest first: the 16 alone on shard 1, the rest on shard 2 (ties to the lower shard).
  const std::vector<uint64_t> est{4, 16, 4, 4, 4};
  CHECK(deal_to_shard(est, Shard{.index = 0, .count = 2}) == std::vector<size_t>{1});
  CHECK(deal_to_shard(est, Shard{.index = 1, .count = 2}) == std::vector<size_t>{0, 2, 3, 4});
  // shard_loads adds what the items really cost, dealt by the estimates.
  CHECK(shard_loads(est, {1, 2, 3, 4, 5}, 2) == std::vector<uint64_t>{2, 13});
}
