// SPDX-License-Identifier: MIT
// AMD: iommu_v2's mn_invalidate_range() (up to 6.6, removed by 5a0b11a180a9 in 6.7) and the SVA
// domain's sva_arch_invalidate_secondary_tlbs() of v6.10 (1af95763e0a3, amd/pasid.c).
#include <bit>

#include "kernel/sva_commands.h"

namespace tlbsim::kernel::sva_cmd {

namespace {

/// iommu_v2 __flush_pasid(): IOMMU TLB first and wait, then the device ATCs and wait, so an ATC
/// cannot be refilled from a still-stale IOMMU TLB.
Task<> amd_v2_flush_pasid(iommu::Iommu& io, Pasid p, uint64_t address, bool all) {
  if (all)
    iotlb_pasid(io, p, "__flush_pasid");
  else
    iotlb_range(io, p, VaRange{address, span_end(address, kPageSize)}, "__flush_pasid");
  co_await complete_batch(io, "domain_flush_complete");
  for (uint16_t d : io.devices_of(p)) {
    if (!io.device_ats(d)) continue;
    if (all)
      atc_all(io, p, d, "__flush_pasid");
    else
      atc_range(io, p, d, VaRange{address, span_end(address, kPageSize)}, "__flush_pasid");
  }
  co_await complete_batch(io, "domain_flush_complete");
}

/// What build_inv_address(address, size) encodes (amd/iommu.c): one page when the range
/// touches one page; else the naturally aligned block up to the highest bit in which the first
/// and last byte differ (S = 1); all pages when that bit is above 51. A (0, -1) request has
/// size ULONG_MAX, whose page count wraps to 0 (not 1), and bit 63 differs: all pages.
struct InvAddress {
  bool all = false;
  uint64_t start = 0, end = 0;
};
InvAddress build_inv_address(uint64_t address, uint64_t size) {
  // iommu_num_pages(): DIV_ROUND_UP(offset in page + size, PAGE_SIZE), in unsigned long.
  const uint64_t pages = ((address & (kPageSize - 1)) + size + kPageSize - 1) >> kPageShift;
  if (pages == 1) {
    const uint64_t page = address & ~(kPageSize - 1);
    return {false, page, span_end(page, kPageSize)};
  }
  const uint64_t last = address + size - 1;
  const unsigned msb_diff = static_cast<unsigned>(std::bit_width(last ^ address)) - 1;
  if (msb_diff > 51) return {true, 0, kFlushAll};
  const uint64_t span = uint64_t{1} << (msb_diff + 1);
  const uint64_t start = address & ~(span - 1);
  return {false, start, span_end(start, span)};
}

/// amd_iommu_dev_flush_pasid_pages(): INVALIDATE_IOMMU_PAGES (GN = 1, PDE = 1: the
/// page-directory caches too), INVALIDATE_IOTLB_PAGES if the device has ATS, one
/// COMPLETION_WAIT. Unlike iommu_v2 there is no wait between the two.
Task<> flush_pasid_pages(iommu::Iommu& io, uint16_t dev, Pasid p, uint64_t address, uint64_t size, const char* func) {
  const InvAddress a = build_inv_address(address, size);
  if (a.all)
    iotlb_pasid(io, p, func);
  else
    iotlb_range(io, p, VaRange{a.start, a.end}, func);
  if (io.device_ats(dev)) {
    if (a.all)
      atc_all(io, p, dev, func);
    else
      atc_range(io, p, dev, VaRange{a.start, a.end}, func);
  }
  co_await complete_batch(io, "iommu_completion_wait");
}

/// amd_iommu_dev_flush_pasid_all() after update_gcr3() writes `dev`'s GCR3 entry for `p`. Before
/// 8386207f37e9 (v6.12, stable 6.11) it passed its arguments in the wrong order, (pasid 0,
/// address ALL, size pasid): part of PASID 0 was flushed, never `p`'s IOTLB, ATC and cached
/// GCR3 entries.
Task<> flush_pasid_all(iommu::Iommu& io, SvaDecoding d, Pasid p, uint16_t dev) {
  constexpr uint64_t kAllPagesAddress = 0x7ffffffffffff000;  // CMD_INV_IOMMU_ALL_PAGES_ADDRESS
  if (d == SvaDecoding::Amd610)
    co_await flush_pasid_pages(io, dev, Pasid{0}, kAllPagesAddress, p.value(), "amd_iommu_dev_flush_pasid_all (PASID 0)");
  else
    co_await flush_pasid_pages(io, dev, p, 0, kAllPagesAddress, "amd_iommu_dev_flush_pasid_all");
}

}  // namespace

Task<> amd_invalidate(iommu::Iommu& io, SvaDecoding d, Pasid p, VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  if (d == SvaDecoding::AmdV2) {
    // mn_invalidate_range(): both ends in one page -> amd_iommu_flush_page(), else the whole PASID.
    if ((start ^ (end - 1)) < kPageSize)
      co_await amd_v2_flush_pasid(io, p, start & ~(kPageSize - 1), false);
    else
      co_await amd_v2_flush_pasid(io, p, 0, true);
    co_return;
  }
  // sva_arch_invalidate_secondary_tlbs(): under sva_pdom->lock, each {device, PASID} of the
  // domain gets its own flush, the IOMMU command repeated per device.
  for (uint16_t dev : io.devices_of(p)) co_await flush_pasid_pages(io, dev, p, start, end - start, "amd_iommu_dev_flush_pasid_pages");
}

Task<> amd_set_gcr3(iommu::Iommu& io, SvaDecoding d, Pasid p, uint16_t dev) {
  if (d == SvaDecoding::AmdV2) {
    // iommu_v2 amd_iommu_bind_pasid() -> amd_iommu_domain_set_gcr3() -> __set_gcr3(), which
    // flushes the whole PASID (__amd_iommu_flush_tlb()).
    co_await amd_v2_flush_pasid(io, p, 0, true);
    co_return;
  }
  // update_gcr3() sends after setting an entry what it sends after clearing one (amd_release()),
  // wrong PASID included before 8386207f37e9: an entry the IOMMU cached for this PASID from its
  // previous mm stays ("the old value of GCR3 from a previous process attached to the same
  // PASID", the fix's commit text).
  co_await flush_pasid_all(io, d, p, dev);
}

Task<> amd_release(iommu::Iommu& io, SvaDecoding d, Pasid p) {
  // sva_mn_release() -> remove_dev_pasid() -> amd_iommu_clear_gcr3(): the GCR3 entry is
  // cleared, so new walks fail, then amd_iommu_dev_flush_pasid_all(). Before 8386207f37e9
  // (v6.12, stable 6.11) it passed its arguments in the wrong order, (pasid 0, address ALL,
  // size pasid): one page of PASID 0 was flushed and the released PASID's IOTLB and ATC
  // entries stayed.
  const std::vector<uint16_t> devs = io.devices_of(p);
  io.unbind_pasid(p);
  for (uint16_t dev : devs) co_await flush_pasid_all(io, d, p, dev);
}

}  // namespace tlbsim::kernel::sva_cmd
