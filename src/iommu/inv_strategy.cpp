// SPDX-License-Identifier: MIT
#include "iommu/inv_strategy.h"

#include <algorithm>
#include <bit>

#include "iommu/iommu.h"

namespace tlbsim::iommu {

namespace {

const char* const kSite = "strategy invalidate";
const char* const kSync = "strategy sync";

uint64_t span_end(uint64_t start, uint64_t bytes) {
  const uint64_t e = start + bytes;
  return e < start ? kFlushAll : e;
}

void iotlb(Iommu& io, Pasid p, uint64_t start, uint64_t end) {
  io.queue().submit(InvCmd{.kind = InvCmdKind::IotlbRange, .pasid = p.value(), .start = start, .end = end, .func = kSite});
}
void atc(Iommu& io, Pasid p, uint16_t dev, uint64_t start, uint64_t end) {
  io.queue().submit(InvCmd{.kind = InvCmdKind::AtcRange, .pasid = p.value(), .start = start, .end = end, .device = dev, .func = kSite});
}

std::vector<uint16_t> ats_devices(Iommu& io, Pasid p) {
  std::vector<uint16_t> out;
  for (uint16_t d : io.devices_of(p))
    if (io.device_ats(d)) out.push_back(d);
  return out;
}

/// The IOMMU TLB's commands come before the ATCs' in the queue, so a sync completes them first
/// and an ATC cannot be refilled from a still-stale IOTLB (as __flush_pasid() orders them).
void whole_pasid(Iommu& io, Pasid p) {
  io.queue().submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = p.value(), .start = 0, .end = kFlushAll, .func = kSite});
  for (uint16_t d : ats_devices(io, p))
    io.queue().submit(InvCmd{.kind = InvCmdKind::AtcAll, .pasid = p.value(), .start = 0, .end = kFlushAll, .device = d, .func = kSite});
  io.queue().sync(kSync);
}

}  // namespace

uint64_t request_pages(uint64_t start, uint64_t end) {
  if (end <= start) return 0;
  const uint64_t first = start >> kPageShift;
  const uint64_t last = (end - 1) >> kPageShift;
  return last - first + 1;
}

bool over_threshold(const IommuStrategy& s, uint64_t pages) {
  switch (s.kind) {
    case IommuStrategyKind::Full: return true;
    case IommuStrategyKind::FullAbove: return pages > s.threshold_pages;
    default: return false;
  }
}

bool widens_to_pasid(const IommuStrategy& s, uint64_t start, uint64_t end) {
  if (start == 0 && end == kFlushAll) return true;
  // A request covering no page has nothing to widen: even Full queues nothing and syncs nothing.
  const uint64_t pages = request_pages(start, end);
  return pages != 0 && over_threshold(s, pages);
}

std::vector<std::pair<uint64_t, uint64_t>> aligned_blocks(uint64_t first_page, uint64_t end_page) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t a = first_page;
  while (a < end_page) {
    uint64_t size = std::bit_floor(end_page - a);
    if (a != 0) size = std::min(size, uint64_t{1} << std::countr_zero(a));
    out.emplace_back(a, a + size);
    a += size;
  }
  return out;
}

void strategy_invalidate(Iommu& io, const IommuStrategy& s, Pasid p, uint64_t start, uint64_t end) {
  if (widens_to_pasid(s, start, end)) {
    whole_pasid(io, p);
    return;
  }
  const uint64_t pages = request_pages(start, end);
  if (pages == 0) return;  // nothing to invalidate, nothing queued, no sync
  const uint64_t first = start >> kPageShift;
  const std::vector<uint16_t> devs = ats_devices(io, p);
  switch (s.kind) {
    case IommuStrategyKind::PerPage:
      // Each descriptor its own synchronous submission, as qi_submit_sync() per descriptor did
      // before VT-d batched IOTLB and device-TLB invalidations (6.12).
      for (uint64_t i = 0; i < pages; ++i) {
        const uint64_t va = (first + i) << kPageShift;
        iotlb(io, p, va, span_end(va, kPageSize));
        io.queue().sync(kSync);
        for (uint16_t d : devs) {
          atc(io, p, d, va, span_end(va, kPageSize));
          io.queue().sync(kSync);
        }
      }
      return;
    case IommuStrategyKind::Range:
      for (const auto& [b, e] : aligned_blocks(first, first + pages))
        iotlb(io, p, b << kPageShift, span_end(b << kPageShift, (e - b) << kPageShift));
      for (uint16_t d : devs)
        for (const auto& [b, e] : aligned_blocks(first, first + pages))
          atc(io, p, d, b << kPageShift, span_end(b << kPageShift, (e - b) << kPageShift));
      io.queue().sync(kSync);
      return;
    case IommuStrategyKind::Cmdq:
    case IommuStrategyKind::FullAbove:
    case IommuStrategyKind::Full:
      // One command per page into the queue, then one sync at the flush point (SMMUv3's TLBI
      // loop ending in CMD_SYNC; VT-d's batched qi_batch_flush_descs()).
      for (uint64_t i = 0; i < pages; ++i) {
        const uint64_t va = (first + i) << kPageShift;
        iotlb(io, p, va, span_end(va, kPageSize));
      }
      for (uint16_t d : devs)
        for (uint64_t i = 0; i < pages; ++i) {
          const uint64_t va = (first + i) << kPageShift;
          atc(io, p, d, va, span_end(va, kPageSize));
        }
      io.queue().sync(kSync);
      return;
  }
}

}  // namespace tlbsim::iommu
