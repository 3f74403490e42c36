// SPDX-License-Identifier: MIT
#pragma once
/// Invalidation strategies for the IOMMU side: how one secondary-TLB invalidation request
/// [start, end) for a PASID becomes commands in the queue (IOTLB and every ATS device's ATC)
/// and syncs. A strategy is what a user sweeps; a driver decoding (kernel/sva.h) is what one
/// driver does, and uses the threshold rule below where it is simply that rule.
#include <cstdint>
#include <utility>
#include <vector>

#include "model/types.h"

namespace tlbsim::iommu {

class Iommu;

enum class IommuStrategyKind : uint8_t {
  PerPage,    ///< a command per page, each submitted synchronously (a sync after every command)
  Cmdq,       ///< a command per page, all queued, one sync per flush point
  Range,      ///< naturally aligned power-of-two spans (VT-d PSI address mask, SMMUv3 RIL), one sync
  FullAbove,  ///< as Cmdq up to `threshold_pages` pages, else one PASID-wide command per cache
  Full,       ///< always one PASID-wide command per cache
};

struct IommuStrategy {
  IommuStrategyKind kind = IommuStrategyKind::FullAbove;
  /// FullAbove: the largest range still invalidated page by page.
  uint64_t threshold_pages = 511;
};

/// Pages a request covers (end exclusive); 0 for an empty or inverted range.
uint64_t request_pages(uint64_t start, uint64_t end);
/// Whether a FullAbove/Full strategy gives up on `pages` per-page commands for one PASID-wide
/// command (Full: always; FullAbove: more than its threshold; others: never).
bool over_threshold(const IommuStrategy& s, uint64_t pages);
/// Whether `s` turns the request into PASID-wide commands: the full request (0, -1) always does,
/// FullAbove above its threshold, Full for any request covering at least one page (an empty
/// request never widens).
bool widens_to_pasid(const IommuStrategy& s, uint64_t start, uint64_t end);
/// [first, last) page numbers split into naturally aligned power-of-two blocks, largest first
/// where alignment allows: the fewest aligned spans that cover exactly the range.
std::vector<std::pair<uint64_t, uint64_t>> aligned_blocks(uint64_t first_page, uint64_t end_page);
/// Queue (and sync) the commands `s` issues for invalidate(start, end) of `pasid` on `io`.
void strategy_invalidate(Iommu& io, const IommuStrategy& s, Pasid pasid, uint64_t start, uint64_t end);

}  // namespace tlbsim::iommu
