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

/// The permutation of 0..n-1 with lexicographic rank `rank` modulo n! (factorial number system).
std::vector<size_t> permutation(size_t n, uint64_t rank) {
  // fact[i] = i!, saturating: a batch of 21 or more commands has more orders than any rank.
  std::vector<uint64_t> fact(n + 1, 1);
  for (size_t i = 1; i <= n; ++i) fact[i] = fact[i - 1] > UINT64_MAX / i ? UINT64_MAX : fact[i - 1] * i;
  if (fact[n] != UINT64_MAX) rank %= fact[n];
  std::vector<size_t> left(n);
  std::iota(left.begin(), left.end(), size_t{0});
  std::vector<size_t> out;
  for (size_t i = n; i > 0; --i) {
    const size_t pick = static_cast<size_t>(rank / fact[i - 1]);
    rank %= fact[i - 1];
    out.push_back(left[pick]);
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return out;
}

}  // namespace

Task<> complete_batch(iommu::Iommu& io, const char* func) {
  iommu::InvalidationQueue& q = io.queue();
  switch (io.config().batch_order) {
    case iommu::BatchOrder::InOrder: break;
    case iommu::BatchOrder::AtcFirst:
      if (q.atc_behind_iotlb()) {
        q.complete_atc_first(func);
        co_await yield_point("IOTLB invalidations still pending");
      }
      break;
    case iommu::BatchOrder::Enumerated: {
      const size_t n = q.pending();
      if (n < 2) break;
      // Indices into the batch as queued; each completion removes one, so map them as we go.
      const std::vector<size_t> order = permutation(n, io.next_batch_rank());
      std::vector<size_t> queued(n);
      std::iota(queued.begin(), queued.end(), size_t{0});
      for (size_t k = 0; k + 1 < n; ++k) {
        size_t pos = 0;
        while (queued[pos] != order[k]) ++pos;
        q.complete_one(pos, func);
        queued.erase(queued.begin() + static_cast<std::ptrdiff_t>(pos));
        co_await yield_point("IOMMU batch partly completed");
      }
      break;
    }
  }
  q.sync(func);
}

}  // namespace tlbsim::kernel::sva_cmd
