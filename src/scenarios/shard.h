// SPDX-License-Identifier: MIT
#pragma once
/// Shards: the part of a search or a sweep one process runs (docs/scale-out.md), and how work
/// items are dealt to them. Every scale-out command deals with deal_to_shard(), so the
/// assignment is a function of the item list and the shard count only, as a merge needs.
#include <atomic>
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

/// Seconds on the steady clock (the clock progress lines measure with).
double steady_seconds();

/// How far one process is through the items it was dealt (the tasks of a search round, the
/// cells of a sweep), for a progress line: written by the workers, read by a progress thread.
struct WorkProgress {
  std::atomic<uint64_t> items{0}, items_done{0};
  std::atomic<uint64_t> estimate{0}, estimate_done{0};
  std::atomic<double> started_at{0};  ///< steady_seconds() when the items were dealt
  /// Counting starts over: `n` items of estimated size `est` in all, dealt now.
  void start(uint64_t n, uint64_t est) {
    items_done = 0;
    estimate_done = 0;
    items = n;
    estimate = est;
    started_at = steady_seconds();
  }
  /// One item of estimated size `est` is done.
  void finish(uint64_t est) {
    estimate_done += est;
    ++items_done;
  }
};

}  // namespace tlbsim::scenarios
