// SPDX-License-Identifier: MIT
// Intel VT-d: intel_invalidate_range() before and after e7ad6c2a4b1a (svm.c), and from v6.10
// intel_arch_invalidate_secondary_tlbs() on cache tags (cache.c, 4f609dbff51b), in the releases
// that changed what it sends (mainline primer section 2).
#include <bit>

#include "kernel/sva_commands.h"

namespace tlbsim::kernel::sva_cmd {

namespace {

/// intel_flush_svm_range_dev() for one device, each qi_flush_* a synchronous qi_submit_sync().
Task<> svm_flush_range(iommu::Iommu& io, Pasid p, uint64_t address, uint64_t pages) {
  // __roundup_pow_of_two(0) is 1 << 64, which x86 computes as 1: align is one page.
  const uint64_t rounded = pages == 0 ? 1 : std::bit_ceil(pages);
  const unsigned shift = static_cast<unsigned>(std::countr_zero(rounded));
  // A span of 2^52 pages or more makes `1ULL << (VTD_PAGE_SHIFT + shift)` a shift by 64 or more:
  // undefined in C, and x86's SHL masks the count, so the kernel gets 1 << (count & 63). The
  // model does the same (for 2^52 pages, align 1: start == end and nothing is flushed).
  const uint64_t align = uint64_t{1} << ((kPageShift + shift) & 63);
  uint64_t start = address & ~(align - 1);
  const uint64_t end = (address + (pages << kPageShift) + align - 1) & ~(align - 1);
  for (; start < end; start += align) {
    const uint64_t chunk = align >> kPageShift;
    if (chunk == 0) break;  // WARN_ON(!pages) in __flush_svm_range_dev()
    iotlb_range(io, p, VaRange{start, span_end(start, align)}, "qi_flush_piotlb");
    co_await complete_batch(io, "qi_submit_sync");
    for (uint16_t d : io.devices_of(p)) {
      if (!io.device_ats(d)) continue;
      atc_range(io, p, d, VaRange{start, span_end(start, align)}, "qi_flush_dev_iotlb_pasid");
      co_await complete_batch(io, "qi_submit_sync");
    }
    if (start + align < start) break;
  }
}

Task<> svm_flush_all(iommu::Iommu& io, Pasid p) {
  // intel_flush_svm_all() (e7ad6c2a4b1a): PASID-selective PIOTLB and the maximal device-TLB span.
  iotlb_pasid(io, p, "qi_flush_piotlb");
  co_await complete_batch(io, "qi_submit_sync");
  for (uint16_t d : io.devices_of(p)) {
    if (!io.device_ats(d)) continue;
    atc_all(io, p, d, "qi_flush_dev_iotlb_pasid");
    co_await complete_batch(io, "qi_submit_sync");
  }
}

/// What changed in the cache-tag decoder between releases.
struct CacheTagRelease {
  bool widened_pages;     ///< 0a3f6b346301: pages = 1 << mask when the mask was widened
  bool batched;           ///< 705c1cdf1e73: descriptors queued in domain->qi_batch
  bool pasid_full_flush;  ///< 3141153816bf: the full flush's device-TLB descriptor has the PASID
};
CacheTagRelease release_of(SvaDecoding d) {
  switch (d) {
    case SvaDecoding::Intel610: return {false, false, false};
    case SvaDecoding::Intel611: return {true, false, false};
    case SvaDecoding::Intel612: return {true, true, false};
    default: return {true, true, true};  // Intel617, Intel71
  }
}

constexpr unsigned kMaxAgawPfnWidth = 52;  // MAX_AGAW_PFN_WIDTH

/// qi_submit_sync() per descriptor (v6.10, v6.11), or from 705c1cdf1e73 a qi_batch of up to
/// QI_MAX_BATCHED_DESC_COUNT descriptors submitted with one wait descriptor.
class QiSubmit {
 public:
  QiSubmit(iommu::Iommu& io, bool batched) : m_io(io), m_batched(batched) {}
  Task<> added() {
    if (!m_batched || ++m_count == 16) co_await flush();
  }
  /// qi_batch_flush_descs() at the end of the tag walk.
  Task<> finish() {
    if (m_batched && m_count > 0) co_await flush();
  }

 private:
  Task<> flush() {
    m_count = 0;
    co_await complete_batch(m_io, m_batched ? "qi_batch_flush_descs (qi_submit_sync)" : "qi_submit_sync");
  }
  iommu::Iommu& m_io;
  bool m_batched;
  unsigned m_count = 0;
};

/// calculate_psi_aligned_address(start, last): the naturally aligned power-of-two block of
/// pages covering [start, last], as an address, a mask (log2 of its pages) and the page count
/// the PIOTLB descriptor is given.
struct Psi {
  uint64_t address;
  unsigned mask;
  uint64_t pages;
};
Psi calculate_psi_aligned_address(uint64_t start, uint64_t last, bool widened_pages) {
  // aligned_nrpages(start, last - start + 1): pages touched, counted from start's page.
  const uint64_t pages = ((start & (kPageSize - 1)) + (last - start + 1) + kPageSize - 1) >> kPageShift;
  uint64_t aligned_pages = pages == 0 ? 1 : std::bit_ceil(pages);  // x86 __roundup_pow_of_two(0)
  const uint64_t bitmask = aligned_pages - 1;
  unsigned mask = static_cast<unsigned>(std::countr_zero(aligned_pages));
  const uint64_t pfn = start >> kPageShift;
  if (bitmask & pfn) {
    // Not aligned to its own size: widen to the lowest bit above the block where the first and
    // last PFN agree. v6.10 (before c420a2b4e8be) fell back to BITS_PER_LONG, later to 52;
    // both mean every address here, and the model treats a mask of 52 and above as all.
    const uint64_t end_pfn = pfn + pages - 1;
    const uint64_t shared_bits = ~(pfn ^ end_pfn) & ~bitmask;
    mask = shared_bits ? static_cast<unsigned>(std::countr_zero(shared_bits)) : kMaxAgawPfnWidth;
    // 0a3f6b346301 "Fix aligned pages in calculate_psi_aligned_address()": before it the page
    // count stayed the unwidened power of two, so the PIOTLB descriptor, which takes pages,
    // covered only the first aligned_pages of the widened block.
    if (widened_pages) aligned_pages = mask >= 64 ? 0 : uint64_t{1} << mask;
  }
  // ALIGN_DOWN(start, VTD_PAGE_SIZE << mask): a size of 2^64 wraps to 0 and aligns to 0.
  const uint64_t size = mask + kPageShift >= 64 ? 0 : kPageSize << mask;
  return {start & ~(size - 1), mask, aligned_pages};
}

/// qi_flush_piotlb(did, pasid, addr, npages, ih = 0) for the domain's IOTLB tag: a PSI of
/// ilog2(roundup(npages)) pages at addr (aligned down), AM = that order.
void piotlb_psi(iommu::Iommu& io, Pasid p, uint64_t address, uint64_t npages) {
  const uint64_t rounded = npages == 0 ? uint64_t{1} << 63 : std::bit_ceil(npages);
  const auto [s, e] = block(address, static_cast<unsigned>(std::countr_zero(rounded)));
  iotlb_range(io, p, VaRange{s, e}, "qi_flush_piotlb");
}

Task<> cache_tag_flush_range(iommu::Iommu& io, SvaDecoding d, Pasid p, uint64_t start, uint64_t last) {
  const CacheTagRelease r = release_of(d);
  QiSubmit qi(io, r.batched);
  const Psi psi = calculate_psi_aligned_address(start, last, r.widened_pages);
  // The IOTLB tag {iommu, DID, PASID} comes before the device-TLB tags of the same IOMMU.
  // b6fd468a052e (v7.1): a block reaching MAX_AGAW_PFN_WIDTH is a PASID-selective PIOTLB.
  if (d == SvaDecoding::Intel71 && psi.mask >= kMaxAgawPfnWidth)
    iotlb_pasid(io, p, "qi_batch_add_piotlb_all");
  else
    piotlb_psi(io, p, psi.address, psi.pages);
  co_await qi.added();
  for (uint16_t dev : io.devices_of(p)) {
    if (!io.device_ats(dev)) continue;
    const auto [s, e] = block(psi.address, psi.mask);
    if (s == 0 && e == kFlushAll)
      atc_all(io, p, dev, "qi_flush_dev_iotlb_pasid");
    else
      atc_range(io, p, dev, VaRange{s, e}, "qi_flush_dev_iotlb_pasid");
    co_await qi.added();
  }
  co_await qi.finish();
}

Task<> cache_tag_flush_all(iommu::Iommu& io, SvaDecoding d, Pasid p) {
  const CacheTagRelease r = release_of(d);
  QiSubmit qi(io, r.batched);
  // qi_flush_piotlb(..., npages = -1): PASID-selective. The device TLB got the non-PASID
  // descriptor qi_flush_dev_iotlb(..., 0, MAX_AGAW_PFN_WIDTH) until 3141153816bf (v6.17), which
  // made cache_tag_flush_all() cache_tag_flush_range(0, ULONG_MAX) with its PASID.
  iotlb_pasid(io, p, "qi_flush_piotlb");
  co_await qi.added();
  for (uint16_t dev : io.devices_of(p)) {
    if (!io.device_ats(dev)) continue;
    if (r.pasid_full_flush)
      atc_all(io, p, dev, "qi_flush_dev_iotlb_pasid");
    else
      atc_nopasid_all(io, p, dev, "qi_flush_dev_iotlb");
    co_await qi.added();
  }
  co_await qi.finish();
}

}  // namespace

Task<> intel_invalidate(iommu::Iommu& io, SvaDecoding d, Pasid p, VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  const bool full = start == 0 && end == kFlushAll;
  switch (d) {
    case SvaDecoding::IntelSvm: co_await svm_flush_range(io, p, start, (end - start + kPageSize - 1) >> kPageShift); co_return;
    case SvaDecoding::IntelSvmFixed:
      if (full)
        co_await svm_flush_all(io, p);
      else
        co_await svm_flush_range(io, p, start, (end - start + kPageSize - 1) >> kPageShift);
      co_return;
    default:
      // intel_arch_invalidate_secondary_tlbs(): (0, ULONG_MAX) -> cache_tag_flush_all(), else
      // cache_tag_flush_range(start, end - 1, ih = 0), under domain->cache_lock.
      if (full)
        co_await cache_tag_flush_all(io, d, p);
      else
        co_await cache_tag_flush_range(io, d, p, start, end - 1);
      co_return;
  }
}

}  // namespace tlbsim::kernel::sva_cmd
