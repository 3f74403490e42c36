// SPDX-License-Identifier: MIT
// How a batch of IOMMU invalidation commands completes: in queue order (what the drivers that
// batch an IOTLB and a device-TLB invalidation before one wait assume), or in any order, which
// neither the VT-d nor the AMD IOMMU specification was found to rule out for commands before a
// wait (mainline primer section 7: intel_qi_in_order_within_batch, amd_cmd_in_order_before_wait).
#include <cstdint>
#include <numeric>
#include <vector>

#include "kernel/sva_commands.h"

namespace tlbsim::kernel::sva_cmd {

namespace {

/// n!, saturating: a batch of 21 or more commands has more orders than a rank can name.
uint64_t orders_of(size_t n) {
  uint64_t f = 1;
  for (size_t i = 2; i <= n; ++i) f = f > UINT64_MAX / i ? UINT64_MAX : f * i;
  return f;
}

/// The permutation of 0..n-1 of lexicographic rank `rank` < n! (factorial number system).
std::vector<size_t> permutation(size_t n, uint64_t rank) {
  std::vector<size_t> left(n);
  std::iota(left.begin(), left.end(), size_t{0});
  std::vector<size_t> out;
  for (size_t i = n; i > 0; --i) {
    const uint64_t f = orders_of(i - 1);
    const size_t pick = static_cast<size_t>(rank / f);
    rank %= f;
    out.push_back(left[pick]);
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return out;
}

}  // namespace

Task<> complete_batch(iommu::Iommu& io, const char* func) {
  iommu::InvalidationQueue& q = io.queue();
  const bool any_order = io.config().batch_order == iommu::BatchOrder::AnyOrder;
  if (io.config().batch_order_rank) {
    // The brute force: one command per step, in one of the orders the IOMMU allows.
    // The batch is what is queued now; while this thread waits, another may queue and sync
    // (the model does not hold the driver's queue lock across the wait), completing some of it.
    const std::vector<uint64_t> batch = q.pending_seqs();
    const size_t n = batch.size();
    if (n >= 2) {
      const uint64_t orders = any_order ? orders_of(n) : 1;
      const std::vector<size_t> order = permutation(n, io.choose_batch_order(orders));
      for (size_t k = 0; k + 1 < n; ++k) {
        q.complete_one(batch[order[k]], func);
        co_await yield_point("IOMMU batch partly completed");
      }
    }
  } else if (any_order && q.atc_behind_iotlb()) {
    q.complete_atc_first(func);
    co_await yield_point("IOTLB invalidations still pending");
  }
  q.sync(func);
}

}  // namespace tlbsim::kernel::sva_cmd
