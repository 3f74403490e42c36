// SPDX-License-Identifier: MIT
#include "kernel/sva_strategy.h"

#include "kernel/sva.h"

namespace tlbsim::kernel {

std::string SvaStrategyMmu::name() const { return "sva(strategy, pasid " + std::to_string(m_pasid.value()) + ")"; }

Task<> SvaStrategyMmu::invalidate_secondary_tlbs(Kernel&, AddressSpace&, VaRange range) {
  ++m_iommu.counters().sec_inv_requests;
  // A strategy submits and syncs in the IOMMU layer: its batches complete in queue order.
  iommu::strategy_invalidate(m_iommu, m_strategy, m_pasid, range.lo(), range.hi());
  co_return;
}

Task<> SvaStrategyMmu::release(Kernel&, AddressSpace&) { co_await sva_mm_release(m_iommu, m_pasid); }

void iommu_sva_bind_device_strategy(Kernel& k, AddressSpace& mm, iommu::Iommu& io, uint16_t device, Pasid pasid,
                                    iommu::IommuStrategy strategy) {
  iommu_sva_bind_device(k, mm, io, device, pasid, [&] { return std::make_unique<SvaStrategyMmu>(io, strategy, pasid); });
}

}  // namespace tlbsim::kernel
