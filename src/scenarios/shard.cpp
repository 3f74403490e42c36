// SPDX-License-Identifier: MIT
#include "scenarios/shard.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "model/saturating.h"

namespace tlbsim::scenarios {

namespace {

/// The shard of every item (longest-processing-time-first list scheduling on the estimates).
std::vector<uint64_t> assignment(const std::vector<uint64_t>& estimates, uint64_t count) {
  if (count == 0) throw std::invalid_argument("deal_to_shard: no shards");
  std::vector<uint64_t> to(estimates.size(), 0);
  if (count == 1) return to;
  std::vector<size_t> order(estimates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return estimates[a] > estimates[b]; });
  if (count >= estimates.size()) {
    for (size_t k = 0; k < order.size(); ++k) to[order[k]] = k;
    return to;
  }
  std::vector<uint64_t> load(count, 0);
  for (const size_t i : order) {
    const auto least = static_cast<uint64_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] = sat_add(load[least], estimates[i]);
    to[i] = least;
  }
  return to;
}

}  // namespace

std::vector<size_t> deal_to_shard(const std::vector<uint64_t>& estimates, Shard s) {
  const std::vector<uint64_t> to = assignment(estimates, s.count);
  std::vector<size_t> own;
  for (size_t i = 0; i < to.size(); ++i)
    if (to[i] == s.index) own.push_back(i);
  return own;
}

double steady_seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::vector<uint64_t> shard_loads(const std::vector<uint64_t>& estimates, const std::vector<uint64_t>& actual, uint64_t count) {
  if (actual.size() != estimates.size()) throw std::invalid_argument("shard_loads: one actual size per estimate");
  const std::vector<uint64_t> to = assignment(estimates, count);
  std::vector<uint64_t> loads(count, 0);
  for (size_t i = 0; i < to.size(); ++i) loads[to[i]] = sat_add(loads[to[i]], actual[i]);
  return loads;
}

}  // namespace tlbsim::scenarios
