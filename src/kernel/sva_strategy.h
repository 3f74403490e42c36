// SPDX-License-Identifier: MIT
#pragma once
/// An SVA notifier subscriber that turns each secondary-TLB invalidation request into commands
/// with a user-chosen IOMMU strategy (iommu/inv_strategy.h) instead of a driver's decoding, so
/// strategies can be swept on the same kernel paths.
#include "iommu/inv_strategy.h"
#include "kernel/kernel.h"

namespace tlbsim::kernel {

class SvaStrategyMmu : public SecondaryMmu {
 public:
  SvaStrategyMmu(iommu::Iommu& iommu, iommu::IommuStrategy strategy, Pasid pasid) : m_iommu(iommu), m_strategy(strategy), m_pasid(pasid) {}
  std::string name() const override;
  Task<> invalidate_secondary_tlbs(Kernel& k, AddressSpace& mm, VaRange range) override;
  Task<> release(Kernel& k, AddressSpace& mm) override;

 private:
  iommu::Iommu& m_iommu;
  iommu::IommuStrategy m_strategy;
  Pasid m_pasid;
};

/// iommu_sva_bind_device() with `strategy` in place of a driver decoding.
void iommu_sva_bind_device_strategy(Kernel& k, AddressSpace& mm, iommu::Iommu& iommu, uint16_t device, Pasid pasid,
                                    iommu::IommuStrategy strategy);

}  // namespace tlbsim::kernel
