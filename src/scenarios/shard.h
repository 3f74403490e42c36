// SPDX-License-Identifier: MIT
#pragma once
/// Shards: the part of a search or a sweep one process runs (docs/scale-out.md), and how work
/// items are dealt to them. Every scale-out command deals with deal_to_shard(), so the
/// assignment is a function of the item list and the shard count only, as a merge needs.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tlbsim::scenarios {

/// Shard `index` (0-based) of `count`. {0, 1}: all of it.
struct Shard {
  uint64_t index = 0;
  uint64_t count = 1;
};

/// The items (indices into `estimates`, ascending) that shard `s` runs when items are dealt
/// largest estimate first, each to the shard with the least estimated work so far (ties: the
/// lower shard, then the lower item). With more shards than items, item k of that order goes to
/// shard k and the rest get none. Equal estimates make it round robin.
std::vector<size_t> deal_to_shard(const std::vector<uint64_t>& estimates, Shard s);

/// For every shard of `count`, the sum of `actual` over the items deal_to_shard() gives it:
/// what each shard would really run (`actual`: a measured size per item, e.g. executions).
std::vector<uint64_t> shard_loads(const std::vector<uint64_t>& estimates, const std::vector<uint64_t>& actual, uint64_t count);

}  // namespace tlbsim::scenarios
