// SPDX-License-Identifier: MIT
#pragma once
/// The commands an SVA driver decoding puts on its IOMMU's queue, and the decodings of each
/// driver family (sva_amd.cpp, sva_intel.cpp, sva_smmu.cpp). Internal to the kernel layer:
/// callers go through sva_invalidate() and sva_mm_release() (kernel/sva.h).
#include <cstdint>

#include "iommu/iommu.h"
#include "kernel/sva_decoding.h"
#include "kernel/task.h"
#include "model/types.h"

namespace tlbsim::kernel::sva_cmd {

/// The end of a command's span from its start and length, saturating at the top of the address
/// space (a span reaching it covers every address above start).
inline uint64_t span_end(uint64_t start, uint64_t bytes) {
  const uint64_t e = start + bytes;
  return e < start ? kFlushAll : e;
}
/// A naturally aligned block of 2^order pages containing `addr`, as [start, end); order 52 and
/// above covers the whole 64-bit space.
inline std::pair<uint64_t, uint64_t> block(uint64_t addr, unsigned order) {
  if (order + kPageShift >= 64) return {0, kFlushAll};
  const uint64_t size = uint64_t{1} << (order + kPageShift);
  const uint64_t start = addr & ~(size - 1);
  return {start, span_end(start, size)};
}

inline void iotlb_range(iommu::Iommu& io, Pasid p, VaRange range, const char* func) {
  io.queue().submit(
      iommu::InvCmd{.kind = iommu::InvCmdKind::IotlbRange, .pasid = p.value(), .start = range.lo(), .end = range.hi(), .func = func});
}
inline void iotlb_pasid(iommu::Iommu& io, Pasid p, const char* func) {
  io.queue().submit(iommu::InvCmd{.kind = iommu::InvCmdKind::IotlbPasid, .pasid = p.value(), .start = 0, .end = kFlushAll, .func = func});
}
inline void atc_range(iommu::Iommu& io, Pasid p, uint16_t dev, VaRange range, const char* func) {
  io.queue().submit(iommu::InvCmd{
      .kind = iommu::InvCmdKind::AtcRange, .pasid = p.value(), .start = range.lo(), .end = range.hi(), .device = dev, .func = func});
}
inline void atc_all(iommu::Iommu& io, Pasid p, uint16_t dev, const char* func) {
  io.queue().submit(
      iommu::InvCmd{.kind = iommu::InvCmdKind::AtcAll, .pasid = p.value(), .start = 0, .end = kFlushAll, .device = dev, .func = func});
}
inline void atc_nopasid_all(iommu::Iommu& io, Pasid p, uint16_t dev, const char* func) {
  io.queue().submit(iommu::InvCmd{
      .kind = iommu::InvCmdKind::AtcNoPasidAll, .pasid = p.value(), .start = 0, .end = kFlushAll, .device = dev, .func = func});
}

/// The driver waits for its batch (`func`: qi_submit_sync(), iommu_completion_wait(), CMD_SYNC):
/// every queued command completes, in the order the IOMMU's BatchOrder allows. Only where the
/// order can matter does the thread suspend, so a device may translate between two completions.
Task<> complete_batch(iommu::Iommu& io, const char* func);

// The decodings, one function per driver family; `d` selects the release.
Task<> amd_invalidate(iommu::Iommu& io, SvaDecoding d, Pasid p, VaRange range);
Task<> amd_release(iommu::Iommu& io, SvaDecoding d, Pasid p);
/// What AMD's set_dev_pasid() sends after writing `dev`'s GCR3 entry for `p`.
Task<> amd_set_gcr3(iommu::Iommu& io, SvaDecoding d, Pasid p, uint16_t dev);
Task<> intel_invalidate(iommu::Iommu& io, SvaDecoding d, Pasid p, VaRange range);
Task<> smmu_invalidate(iommu::Iommu& io, SvaDecoding d, Pasid p, VaRange inv);

}  // namespace tlbsim::kernel::sva_cmd
